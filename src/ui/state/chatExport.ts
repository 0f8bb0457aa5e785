import type { ChatTurnStats, GenerationStats, SamplingSettings } from "../../worker/api.ts";
import type { Conversation, Message } from "./conversations.ts";
import { checkSetting, SAMPLING_KEYS, SAMPLING_LIMITS } from "./sampling.ts";

/**
 * Chats as files: one chat as Markdown (to read) or JSON, all chats as one JSON file, and
 * the strict check that reads such a file back. Pure: the chat list component does the
 * downloading, reading and saving.
 *
 * The JSON holds every field a conversation has, so export → import gives the same
 * conversations back. Reading is all or nothing: one bad field refuses the whole file, in
 * words, before anything changes. Text fields (titles, messages, system prompts) may hold
 * any text, HTML included: the app shows them as text, never as markup. Identifiers and
 * the other fields must be exactly what the app writes.
 */

export const EXPORT_FORMAT = "trit-chats";
export const EXPORT_VERSION = 1;
/** Bigger files are refused before they are read (a year of daily chats is a few MB). */
export const MAX_IMPORT_BYTES = 20_000_000;
const MAX_CONVERSATIONS = 10_000;
const MAX_MESSAGES = 10_000;
const MAX_TEXT = 2_000_000;
const ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const STATUSES = ["streaming", "done", "stopped", "failed"] as const;
const STOP_REASONS = ["end-of-turn", "max-tokens", "aborted", "context-full"] as const;
const STAT_COUNTS = ["promptTokens", "prefilledTokens", "generatedTokens"] as const;
/** Counts added after the first exports: a file without them had none (0). */
const LATER_STAT_COUNTS = ["shiftedTokens", "droppedMessages"] as const;
const STAT_RATES = ["prefillTokensPerSecond", "decodeTokensPerSecond"] as const;

export interface ChatExportFile {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  exportedAt: string;
  conversations: Conversation[];
}

/** The JSON file for these conversations (all of them, or one). */
export function exportJson(conversations: Conversation[], now: number): string {
  const file: ChatExportFile = {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exportedAt: new Date(now).toISOString(),
    conversations,
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** One conversation as Markdown, to read or paste elsewhere (import reads the JSON). */
export function exportMarkdown(conversation: Conversation): string {
  const lines = [`# ${oneLine(conversation.title)}`, ""];
  if (conversation.systemPrompt.trim()) {
    lines.push(
      ...conversation.systemPrompt
        .trim()
        .split("\n")
        .map((l, i) => `> ${i === 0 ? "**System prompt:** " : ""}${l}`),
      "",
    );
  }
  const s = conversation.settings;
  lines.push(
    `*Sampling: temperature ${s.temperature}, top-k ${s.topK}, top-p ${s.topP}, min-p ${s.minP}, repetition penalty ${s.repetitionPenalty}, max tokens ${s.maxTokens}, seed ${s.seed === -1 ? "random" : s.seed}.*`,
    "",
  );
  for (const m of conversation.messages) {
    lines.push(`## ${m.role === "user" ? "You" : "Trit"}`, "", m.content.trimEnd());
    if (m.status === "stopped") lines.push("", "*(stopped)*");
    if (m.status === "failed") lines.push("", `*(failed: ${oneLine(m.error ?? "unknown error")})*`);
    lines.push("");
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

/** A file name from a title: letters, digits and dashes. */
export function fileName(title: string, extension: string): string {
  const slug = title
    .normalize("NFKD")
    .replace(/[^\p{L}\p{N}]+/gu, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60)
    .toLowerCase();
  return `${slug || "chat"}.${extension}`;
}

/** Refuses a file by its size alone, before reading it. */
export function checkImportSize(bytes: number): string | null {
  if (bytes > MAX_IMPORT_BYTES)
    return `This file is too big to be a Trit chat export (${(bytes / 1e6).toFixed(1)} MB; the limit is ${MAX_IMPORT_BYTES / 1e6} MB). Nothing was imported.`;
  if (bytes === 0) return "This file is empty. Nothing was imported.";
  return null;
}

/** Reads an export file's text: every conversation in it, or why it was refused. */
export function parseExport(text: string): { conversations: Conversation[] } | { error: string } {
  const sizeError = checkImportSize(text.length);
  if (sizeError) return { error: sizeError };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return {
      error:
        "This file is not a Trit chat export: it is not JSON. Export chats with “Export all chats” and import that file. Nothing was imported.",
    };
  }
  try {
    return { conversations: readFile(data) };
  } catch (err) {
    return { error: `${(err as Error).message} Nothing was imported.` };
  }
}

class Refused extends Error {}
const refuse = (message: string): never => {
  throw new Refused(message);
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function readFile(data: unknown): Conversation[] {
  if (!isRecord(data) || data.format !== EXPORT_FORMAT)
    refuse('This file is not a Trit chat export (it lacks "format": "trit-chats").');
  const file = data as Record<string, unknown>;
  if (file.version !== EXPORT_VERSION)
    refuse(
      `This export has version ${JSON.stringify(file.version)}; this Trit reads version ${EXPORT_VERSION}. Update Trit, or export again.`,
    );
  if (!Array.isArray(file.conversations)) refuse('The file\'s "conversations" is not a list.');
  const list = file.conversations as unknown[];
  if (list.length > MAX_CONVERSATIONS)
    refuse(`The file holds ${list.length} chats; at most ${MAX_CONVERSATIONS} are read.`);
  const seen = new Set<string>();
  return list.map((raw, i) => {
    const conversation = readConversation(raw, `Chat ${i + 1}`);
    if (seen.has(conversation.id))
      refuse(`Chat ${i + 1} has the same id as an earlier chat in the file.`);
    seen.add(conversation.id);
    return conversation;
  });
}

function text(value: unknown, where: string, max = MAX_TEXT): string {
  if (typeof value !== "string") return refuse(`${where} is not text.`);
  if (value.length > max) refuse(`${where} is longer than ${max} characters.`);
  return value;
}

function id(value: unknown, where: string): string {
  if (typeof value !== "string" || !ID.test(value))
    refuse(`${where} is not an id Trit writes (letters, digits, "-", "_", ".", ":").`);
  return value as string;
}

function time(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0)
    refuse(`${where} is not a time.`);
  return value as number;
}

function readConversation(raw: unknown, where: string): Conversation {
  if (!isRecord(raw)) return refuse(`${where} is not a chat.`);
  const cid = id(raw.id, `${where}'s id`);
  const title = text(raw.title, `${where}'s title`, 200);
  const named = `${where} ("${title.slice(0, 40)}")`;
  if (typeof raw.titleEdited !== "boolean") refuse(`${named}: "titleEdited" is not true or false.`);
  if (!Array.isArray(raw.messages)) refuse(`${named} has no list of messages.`);
  const rawMessages = raw.messages as unknown[];
  if (rawMessages.length > MAX_MESSAGES)
    refuse(`${named} has ${rawMessages.length} messages; at most ${MAX_MESSAGES} are read.`);
  if (raw.removedIds !== undefined && !Array.isArray(raw.removedIds))
    refuse(`${named}: "removedIds" is not a list.`);
  const removed = (raw.removedIds ?? []) as unknown[];
  if (removed.length > MAX_MESSAGES)
    refuse(`${named} lists ${removed.length} removed messages; at most ${MAX_MESSAGES} are read.`);
  const removedIds = removed.map((r, i) => id(r, `${named}, removed message ${i + 1},`));
  const ids = new Set<string>();
  const messages = rawMessages.map((m, i) => {
    const message = readMessage(m, `${named}, message ${i + 1},`);
    if (ids.has(message.id)) refuse(`${named} has two messages with the same id.`);
    ids.add(message.id);
    return message;
  });
  return {
    id: cid,
    title,
    titleEdited: raw.titleEdited as boolean,
    createdAt: time(raw.createdAt, `${named}'s creation time`),
    updatedAt: time(raw.updatedAt, `${named}'s last change time`),
    systemPrompt: text(raw.systemPrompt, `${named}'s system prompt`),
    settings: readSettings(raw.settings, named),
    messages,
    removedIds,
  };
}

function readSettings(raw: unknown, where: string): SamplingSettings {
  if (!isRecord(raw)) return refuse(`${where} has no sampling settings.`);
  const out = {} as SamplingSettings;
  for (const key of SAMPLING_KEYS) {
    const value = raw[key];
    if (typeof value !== "number")
      refuse(`${where}: ${SAMPLING_LIMITS[key].label} is not a number.`);
    const checked = checkSetting(key, value as number);
    if ("error" in checked) refuse(`${where}: ${checked.error}`);
    out[key] = value as number;
  }
  return out;
}

function readMessage(raw: unknown, where: string): Message {
  if (!isRecord(raw)) return refuse(`${where} is not a message.`);
  if (raw.role !== "user" && raw.role !== "assistant")
    refuse(`${where} is neither yours nor a reply (role "user" or "assistant").`);
  const message: Message = {
    id: id(raw.id, `${where} id`),
    role: raw.role as Message["role"],
    content: text(raw.content, `${where} text`),
    createdAt: time(raw.createdAt, `${where} time`),
  };
  if (raw.updatedAt !== undefined) message.updatedAt = time(raw.updatedAt, `${where} change time`);
  if (raw.status !== undefined) {
    if (!STATUSES.includes(raw.status as Message["status"] & string))
      refuse(`${where} status is not one Trit writes.`);
    // A reply still streaming when it was exported ended there.
    message.status = raw.status === "streaming" ? "stopped" : (raw.status as Message["status"]);
  }
  if (raw.error !== undefined) message.error = text(raw.error, `${where} error`, 10_000);
  if (raw.stats !== undefined) message.stats = readStats(raw.stats, where);
  return message;
}

function readStats(raw: unknown, where: string): ChatTurnStats {
  if (!isRecord(raw)) return refuse(`${where} stats are not a record.`);
  const count = (key: string) => {
    const v = raw[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0)
      refuse(`${where} stats: ${key} is not a count.`);
    return v as number;
  };
  const rate = (key: string) => {
    const v = raw[key];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0)
      refuse(`${where} stats: ${key} is not a rate.`);
    return v as number;
  };
  if (!STOP_REASONS.includes(raw.stopReason as GenerationStats["stopReason"]))
    refuse(`${where} stats: the stop reason is not one Trit writes.`);
  const [promptTokens, prefilledTokens, generatedTokens] = STAT_COUNTS.map(count);
  const [prefillTokensPerSecond, decodeTokensPerSecond] = STAT_RATES.map(rate);
  const [shiftedTokens, droppedMessages] = LATER_STAT_COUNTS.map((key) =>
    raw[key] === undefined ? 0 : count(key),
  );
  return {
    promptTokens,
    prefilledTokens,
    shiftedTokens,
    droppedMessages,
    generatedTokens,
    prefillTokensPerSecond,
    decodeTokensPerSecond,
    stopReason: raw.stopReason as GenerationStats["stopReason"],
  };
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}

export interface MergePlan {
  /** Conversations to save: new ones and newer copies of ones here. */
  save: Conversation[];
  added: number;
  updated: number;
  /** Already here in the same or a newer version (or being written to right now). */
  kept: number;
}

/**
 * Merges imported conversations into the ones here: new ids are added, an imported copy
 * replaces one here only when it changed later (updatedAt), and `busy` (a reply being
 * written) is never touched. Never loses a newer copy.
 */
export function planImport(
  here: Conversation[],
  imported: Conversation[],
  busy: string | null = null,
): MergePlan {
  const byId = new Map(here.map((c) => [c.id, c]));
  const plan: MergePlan = { save: [], added: 0, updated: 0, kept: 0 };
  for (const c of imported) {
    const mine = byId.get(c.id);
    if (!mine) {
      plan.save.push(c);
      plan.added++;
    } else if (c.id !== busy && c.updatedAt > mine.updatedAt) {
      plan.save.push(c);
      plan.updated++;
    } else plan.kept++;
  }
  return plan;
}

/** What an import did, in words. */
export function describeImport(plan: MergePlan): string {
  const chats = (n: number) => `${n} chat${n === 1 ? "" : "s"}`;
  const parts = [`${chats(plan.added)} added`];
  if (plan.updated) parts.push(`${chats(plan.updated)} updated to a newer copy`);
  if (plan.kept)
    parts.push(`${chats(plan.kept)} kept as they were (this browser's copy is as new or newer)`);
  return `Imported: ${parts.join(", ")}.`;
}
