import type { ChatMessage, ChatTurnStats, SamplingSettings } from "../../worker/api.ts";
import { DEFAULT_SAMPLING, DEFAULT_SYSTEM_PROMPT, normalizeSampling } from "./sampling.ts";

/**
 * Conversations as plain data, and the pure functions that change them. The chat store
 * calls these and persists the result; nothing here touches the engine or storage.
 */
export interface Message {
  id: string;
  role: "user" | "assistant";
  content: string;
  createdAt: number;
  /** When its text or status last changed (absent in messages saved before it existed). */
  updatedAt?: number;
  /** Assistant replies only: how the reply went. */
  status?: "streaming" | "done" | "stopped" | "failed";
  /** Why the reply failed, in words. */
  error?: string;
  stats?: ChatTurnStats;
}

export interface Conversation {
  id: string;
  title: string;
  /** True once the user named it, so the first message no longer renames it. */
  titleEdited: boolean;
  createdAt: number;
  updatedAt: number;
  systemPrompt: string;
  settings: SamplingSettings;
  messages: Message[];
  /**
   * Ids of messages taken out on purpose (a regenerated reply, the turns after an edit), so
   * that merging with another tab's older copy does not bring them back.
   */
  removedIds: string[];
}

export const UNTITLED = "New chat";
const TITLE_LENGTH = 60;

export function newConversation(
  id: string,
  now: number,
  options: { systemPrompt?: string; settings?: Partial<SamplingSettings> } = {},
): Conversation {
  return {
    id,
    title: UNTITLED,
    titleEdited: false,
    createdAt: now,
    updatedAt: now,
    systemPrompt: options.systemPrompt ?? DEFAULT_SYSTEM_PROMPT,
    settings: { ...DEFAULT_SAMPLING, ...options.settings },
    messages: [],
    removedIds: [],
  };
}

/** A title from the first line of the first user message. */
export function titleFrom(text: string): string {
  const line = text.trim().split("\n")[0].replace(/\s+/g, " ").trim();
  if (line.length <= TITLE_LENGTH) return line || UNTITLED;
  return `${line.slice(0, TITLE_LENGTH - 1).trimEnd()}…`;
}

export function rename(conversation: Conversation, title: string, now: number): Conversation {
  const clean = title.replace(/\s+/g, " ").trim();
  if (!clean) throw new Error("A conversation needs a name; it cannot be empty.");
  return { ...conversation, title: clean.slice(0, 200), titleEdited: true, updatedAt: now };
}

/** Adds the user's message and an empty assistant reply that will stream in. */
export function addTurn(
  conversation: Conversation,
  text: string,
  ids: { user: string; assistant: string },
  now: number,
): Conversation {
  if (!text.trim()) throw new Error("The message is empty.");
  const first = conversation.messages.length === 0;
  return {
    ...conversation,
    title: first && !conversation.titleEdited ? titleFrom(text) : conversation.title,
    updatedAt: now,
    messages: [
      ...conversation.messages,
      { id: ids.user, role: "user", content: text, createdAt: now },
      { id: ids.assistant, role: "assistant", content: "", createdAt: now, status: "streaming" },
    ],
  };
}

function updateMessage(
  conversation: Conversation,
  messageId: string,
  change: (m: Message) => Message,
): Conversation {
  const index = conversation.messages.findIndex((m) => m.id === messageId);
  if (index < 0) return conversation;
  const messages = conversation.messages.slice();
  messages[index] = change(messages[index]);
  return { ...conversation, messages };
}

export function appendPiece(
  conversation: Conversation,
  messageId: string,
  piece: string,
  now = Date.now(),
): Conversation {
  return updateMessage(conversation, messageId, (m) => ({
    ...m,
    content: m.content + piece,
    updatedAt: now,
  }));
}

export function finishReply(
  conversation: Conversation,
  messageId: string,
  outcome: { stats: ChatTurnStats } | { error: string },
  now: number,
): Conversation {
  const next = updateMessage(conversation, messageId, (m) =>
    "error" in outcome
      ? { ...m, status: "failed", error: outcome.error, updatedAt: now }
      : {
          ...m,
          updatedAt: now,
          status: outcome.stats.stopReason === "aborted" ? "stopped" : "done",
          stats: outcome.stats,
        },
  );
  return { ...next, updatedAt: now };
}

/**
 * Drops the last assistant reply so it can be generated again, and adds a fresh empty
 * one in its place. Refuses in words when the conversation does not end in a reply.
 */
export function restartLastReply(
  conversation: Conversation,
  newId: string,
  now: number,
): Conversation {
  const last = conversation.messages.at(-1);
  if (last?.role !== "assistant")
    throw new Error("There is no reply at the end of this conversation to regenerate.");
  return {
    ...conversation,
    updatedAt: now,
    messages: [
      ...conversation.messages.slice(0, -1),
      { id: newId, role: "assistant", content: "", createdAt: now, status: "streaming" },
    ],
    removedIds: [...conversation.removedIds, last.id],
  };
}

/**
 * Replaces an earlier user message with new text, forgets everything after it, and adds an
 * empty reply: "edit and continue from there".
 */
export function editUserMessage(
  conversation: Conversation,
  messageId: string,
  text: string,
  assistantId: string,
  now: number,
): Conversation {
  const index = conversation.messages.findIndex((m) => m.id === messageId);
  if (index < 0) throw new Error("That message is no longer in this conversation.");
  if (conversation.messages[index].role !== "user")
    throw new Error("Only your own messages can be edited.");
  if (!text.trim()) throw new Error("The message is empty.");
  const edited: Message = {
    ...conversation.messages[index],
    content: text,
    createdAt: now,
    updatedAt: now,
  };
  return {
    ...conversation,
    title: index === 0 && !conversation.titleEdited ? titleFrom(text) : conversation.title,
    updatedAt: now,
    messages: [
      ...conversation.messages.slice(0, index),
      edited,
      { id: assistantId, role: "assistant", content: "", createdAt: now, status: "streaming" },
    ],
    removedIds: [
      ...conversation.removedIds,
      ...conversation.messages.slice(index + 1).map((m) => m.id),
    ],
  };
}

/**
 * What the engine sees: the system prompt, then every turn before `replyId` (the reply
 * being generated). Failed replies and empty replies are left out.
 */
export function promptMessages(conversation: Conversation, replyId: string): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (conversation.systemPrompt.trim())
    out.push({ role: "system", content: conversation.systemPrompt });
  for (const m of conversation.messages) {
    if (m.id === replyId) break;
    if (m.role === "assistant" && (m.status === "failed" || m.content === "")) continue;
    out.push({ role: m.role, content: m.content });
  }
  return out;
}

/** Newest first. */
export function sortConversations(list: Conversation[]): Conversation[] {
  return list.slice().sort((a, b) => b.updatedAt - a.updatedAt || a.id.localeCompare(b.id));
}

/** Case-insensitive match on the title and on every message; all words must match. */
export function searchConversations(list: Conversation[], query: string): Conversation[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return list;
  return list.filter((c) => {
    const haystack = [c.title, ...c.messages.map((m) => m.content)].join("\n").toLowerCase();
    return words.every((w) => haystack.includes(w));
  });
}

/**
 * Checks a record read back from storage. Returns null for anything that is not a
 * conversation; a reply left "streaming" by a closed tab becomes "stopped" (unless
 * `live`: read while another tab may still be writing it).
 */
export function reviveConversation(value: unknown, live = false): Conversation | null {
  if (typeof value !== "object" || value === null) return null;
  const c = value as Partial<Conversation>;
  if (typeof c.id !== "string" || typeof c.title !== "string" || !Array.isArray(c.messages))
    return null;
  const messages: Message[] = [];
  for (const raw of c.messages as unknown[]) {
    if (typeof raw !== "object" || raw === null) continue;
    const m = raw as Partial<Message>;
    if (typeof m.id !== "string" || typeof m.content !== "string") continue;
    if (m.role !== "user" && m.role !== "assistant") continue;
    const status = m.status === "streaming" && !live ? "stopped" : m.status;
    messages.push({ ...(m as Message), status });
  }
  const createdAt = typeof c.createdAt === "number" ? c.createdAt : 0;
  return {
    id: c.id,
    title: c.title || UNTITLED,
    titleEdited: c.titleEdited === true,
    createdAt,
    updatedAt: typeof c.updatedAt === "number" ? c.updatedAt : createdAt,
    systemPrompt: typeof c.systemPrompt === "string" ? c.systemPrompt : DEFAULT_SYSTEM_PROMPT,
    settings: normalizeSampling(c.settings),
    messages,
    removedIds: Array.isArray(c.removedIds)
      ? c.removedIds.filter((id): id is string => typeof id === "string")
      : [],
  };
}

/** When a message last changed. */
const changedAt = (m: Message) => m.updatedAt ?? m.createdAt;
const FINAL = new Set(["done", "stopped", "failed"]);

/** Of two copies of one message, the newer; on a tie the finished one, then `mine`. */
function newerMessage(mine: Message, theirs: Message): Message {
  if (changedAt(theirs) !== changedAt(mine))
    return changedAt(theirs) > changedAt(mine) ? theirs : mine;
  const mineFinal = FINAL.has(mine.status ?? "done");
  const theirsFinal = FINAL.has(theirs.status ?? "done");
  return theirsFinal && !mineFinal ? theirs : mine;
}

/**
 * Two copies of one conversation made into one, losing nothing either tab typed or
 * received: every message of both (the newer copy of a message both hold), except those
 * either removed on purpose, in the order they were written (a question before its reply).
 * Title, system prompt and settings come from the copy changed last; a title the user set
 * wins over one taken from the first message.
 */
export function mergeConversations(mine: Conversation, theirs: Conversation): Conversation {
  if (mine.id !== theirs.id) throw new Error("Only copies of one conversation can be merged.");
  const removedIds = [...new Set([...mine.removedIds, ...theirs.removedIds])];
  const removed = new Set(removedIds);
  const byId = new Map<string, { message: Message; seen: number }>();
  [...mine.messages, ...theirs.messages].forEach((message, seen) => {
    const known = byId.get(message.id);
    if (!known) byId.set(message.id, { message, seen });
    else known.message = newerMessage(known.message, message);
  });
  const roleRank = (m: Message) => (m.role === "user" ? 0 : 1);
  const messages = [...byId.values()]
    .filter(({ message }) => !removed.has(message.id))
    .sort(
      (a, b) =>
        a.message.createdAt - b.message.createdAt ||
        roleRank(a.message) - roleRank(b.message) ||
        a.seen - b.seen,
    )
    .map(({ message }) => message);
  const later = theirs.updatedAt > mine.updatedAt ? theirs : mine;
  const earlier = later === mine ? theirs : mine;
  const named =
    [later, earlier].find((c) => c.titleEdited) ?? (later.title === UNTITLED ? earlier : later);
  return {
    ...later,
    title: named.title,
    titleEdited: named.titleEdited,
    createdAt: Math.min(mine.createdAt, theirs.createdAt),
    updatedAt: Math.max(mine.updatedAt, theirs.updatedAt),
    messages,
    removedIds,
  };
}

/** An untouched conversation (no message, no name given) that "New chat" can reuse. */
export function isBlank(conversation: Conversation): boolean {
  return conversation.messages.length === 0 && !conversation.titleEdited;
}

/**
 * Where the model's view of the conversation starts: the reply written last says how many
 * of the messages it was given (failed and empty replies are never given) fell out of the
 * context. Returns the index of the first message it still saw and how many fell out, or
 * null when it saw them all.
 */
export function contextStart(
  conversation: Conversation,
): { index: number; droppedMessages: number } | null {
  const withStats = conversation.messages.findLast((m) => m.role === "assistant" && m.stats);
  const dropped = withStats?.stats?.droppedMessages ?? 0;
  if (dropped <= 0) return null;
  let given = 0;
  for (let i = 0; i < conversation.messages.length; i++) {
    const m = conversation.messages[i];
    if (m.role === "assistant" && (m.status === "failed" || m.content === "")) continue;
    if (given === dropped) return { index: i, droppedMessages: dropped };
    given++;
  }
  return null;
}
