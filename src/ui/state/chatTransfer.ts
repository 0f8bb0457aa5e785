import { errorText } from "../../worker/api.ts";
import { checkImportSize, describeImport, parseExport, planImport } from "./chatExport.ts";
import { useChatStore } from "./chatStore.ts";

/**
 * Imports an export file into the saved chats: checks it whole first (size, then every
 * field), then merges (new chats added, newer copies taken, nothing newer overwritten).
 * Returns what happened in words; a refused file changes nothing.
 */
export async function importChatsFile(
  file: Blob,
): Promise<{ message: string } | { error: string }> {
  const chat = useChatStore.getState();
  if (!chat.hydrated)
    return { error: "Saved chats are still being read; try the import again in a moment." };
  const sizeError = checkImportSize(file.size);
  if (sizeError) return { error: sizeError };
  let text: string;
  try {
    text = await file.text();
  } catch (err) {
    return { error: `Could not read the file: ${errorText(err)}. Nothing was imported.` };
  }
  const parsed = parseExport(text);
  if ("error" in parsed) return parsed;
  const now = useChatStore.getState();
  const plan = planImport(now.conversations, parsed.conversations, now.generation?.conversationId);
  if (plan.save.length > 0) await now.adopt(plan.save);
  return { message: describeImport(plan) };
}
