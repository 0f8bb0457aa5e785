import * as Comlink from "comlink";
import { create } from "zustand";
import type { ChatTurnStats, SamplingSettings } from "../../worker/api.ts";
import { useChatDefaults } from "./chatDefaults.ts";
import { type ConversationDb, memoryConversationDb, openConversationDb } from "./conversationDb.ts";
import {
  addTurn,
  appendPiece,
  type Conversation,
  editUserMessage,
  finishReply,
  isBlank,
  mergeConversations,
  newConversation,
  promptMessages,
  rename,
  restartLastReply,
  sortConversations,
} from "./conversations.ts";
import { errorText, requireEngine } from "./engineStore.ts";
import { setShareReadyHandler, useModelManagerStore } from "./modelManagerStore.ts";
import { resolveSeed } from "./sampling.ts";

/** The reply being generated right now, and how fast it comes. */
export interface Generation {
  conversationId: string;
  replyId: string;
  startedAt: number;
  firstPieceAt: number | null;
  lastPieceAt: number | null;
  pieces: number;
}

interface ChatState {
  conversations: Conversation[];
  activeId: string | null;
  /** True once the saved conversations are read back. */
  hydrated: boolean;
  search: string;
  /** What is typed in the composer (a share link can fill it). */
  draft: string;
  generation: Generation | null;
  /** Stats of the last finished reply, for the stats bar. */
  lastStats: ChatTurnStats | null;
  /** A chat action that failed, in words. */
  error: string | null;

  hydrate(): Promise<void>;
  create(options?: { settings?: Partial<SamplingSettings>; systemPrompt?: string }): string;
  select(id: string): void;
  rename(id: string, title: string): void;
  remove(id: string): Promise<void>;
  /** Saves whole conversations (an import's plan), replacing any with the same id. */
  adopt(conversations: Conversation[]): Promise<void>;
  setSearch(query: string): void;
  setDraft(text: string): void;
  setSystemPrompt(text: string): void;
  setSettings(change: Partial<SamplingSettings>): void;
  /** Sends the text as a new user message in the active conversation (creating one if needed). */
  send(text: string): Promise<void>;
  /** Esc: asks the engine to stop; the reply keeps what it has. */
  stop(): Promise<void>;
  regenerate(): Promise<void>;
  editAndResend(messageId: string, text: string): Promise<void>;
  dismissError(): void;
}

let db: ConversationDb | null = null;
/** The conversation database; tests may swap it before hydrate(). */
export function useConversationDb(next: ConversationDb): void {
  db = next;
}
function conversationDb(): ConversationDb {
  db ??= typeof indexedDB === "undefined" ? memoryConversationDb() : openConversationDb();
  return db;
}

/** The conversations being saved now, by id: what a save that is aborted would lose. */
const saving = new Map<string, Conversation>();
/** What the saves aborted by abortRunningSaves were writing. */
let aborted: Conversation[] = [];

/**
 * Aborts the saves still running, as closing the page would (src/ui/pageCache.ts); what
 * they were writing is kept for saveAbortedAgain.
 */
export function abortRunningSaves(): void {
  aborted = [...saving.values()];
  db?.abortRunning();
}

/** Saves again what abortRunningSaves aborted (the page is shown again). */
export async function saveAbortedAgain(): Promise<void> {
  const again = aborted;
  aborted = [];
  await Promise.all(again.map((c) => conversationDb().save(c)));
}

const newId = () => crypto.randomUUID();

/** What one tab tells the others about the conversations it changed. */
type TabNews = { kind: "saved"; id: string } | { kind: "removed"; id: string };
const TAB_CHANNEL = "trit-chat";
/** Other tabs of the app, when the browser has BroadcastChannel (null in Node). */
const tabs: BroadcastChannel | null =
  typeof BroadcastChannel === "function" ? new BroadcastChannel(TAB_CHANNEL) : null;

/** Streaming saves at most this often; the start and the end of a reply always save. */
const SAVE_EVERY_MS = 1000;

export const useChatStore = create<ChatState>((set, get) => {
  const lastSaved = new Map<string, number>();

  function current(id: string): Conversation | undefined {
    return get().conversations.find((c) => c.id === id);
  }

  /**
   * Takes in a copy of a conversation from storage (another tab's turns): merged into the
   * one shown, or added when this tab does not have it yet.
   */
  function adopt(stored: Conversation): void {
    set((s) => {
      const known = s.conversations.some((c) => c.id === stored.id);
      const conversations = known
        ? s.conversations.map((c) => (c.id === stored.id ? mergeConversations(c, stored) : c))
        : [...s.conversations, stored];
      return { conversations: sortConversations(conversations) };
    });
  }

  /** Replaces one conversation in the list and saves it (throttled when `streaming`). */
  function put(next: Conversation, streaming = false): void {
    set((s) => ({ conversations: s.conversations.map((c) => (c.id === next.id ? next : c)) }));
    const now = Date.now();
    if (streaming && now - (lastSaved.get(next.id) ?? 0) < SAVE_EVERY_MS) return;
    lastSaved.set(next.id, now);
    saving.set(next.id, next);
    conversationDb()
      .save(next)
      .finally(() => {
        if (saving.get(next.id) === next) saving.delete(next.id);
      })
      .then((stored) => {
        // What another tab wrote meanwhile shows here too; then tell the other tabs.
        if (current(next.id)) adopt(stored);
        tabs?.postMessage({ kind: "saved", id: next.id } satisfies TabNews);
      })
      .catch((err) => set({ error: `Could not save the conversation: ${errorText(err)}` }));
  }

  /** Another tab saved or deleted a conversation: show it as it is now. */
  async function hearFromTab(news: TabNews): Promise<void> {
    if (news.kind === "removed") {
      if (get().generation?.conversationId === news.id) return; // this tab is still writing it
      set((s) => {
        const conversations = s.conversations.filter((c) => c.id !== news.id);
        return {
          conversations,
          activeId: s.activeId === news.id ? (conversations[0]?.id ?? null) : s.activeId,
        };
      });
      return;
    }
    const stored = await conversationDb().load(news.id);
    if (stored) adopt(stored);
  }
  if (tabs) tabs.onmessage = (event: MessageEvent<TabNews>) => void hearFromTab(event.data);

  /** Streams a reply into `replyId` of conversation `id`, which must already hold it. */
  async function generateInto(id: string, replyId: string): Promise<void> {
    const conversation = current(id);
    if (!conversation) return;
    set({
      generation: {
        conversationId: id,
        replyId,
        startedAt: Date.now(),
        firstPieceAt: null,
        lastPieceAt: null,
        pieces: 0,
      },
      error: null,
    });
    // Comlink delivers callback calls on their own port, so the last pieces can arrive after
    // generate() resolved: append them whenever they come, as long as the reply exists.
    const onPiece = Comlink.proxy((piece: string) => {
      const live = current(id);
      if (!live?.messages.some((m) => m.id === replyId)) return;
      const g = get().generation;
      const streaming = g?.replyId === replyId;
      if (streaming) {
        const now = Date.now();
        set({
          generation: {
            ...g,
            pieces: g.pieces + 1,
            firstPieceAt: g.firstPieceAt ?? now,
            lastPieceAt: now,
          },
        });
      }
      put(appendPiece(live, replyId, piece), streaming);
    });
    let outcome: { stats: ChatTurnStats } | { error: string };
    try {
      const stats = await requireEngine().generate(
        id,
        promptMessages(conversation, replyId),
        resolveSeed(conversation.settings),
        onPiece,
      );
      outcome = { stats };
      set({ lastStats: stats });
    } catch (err) {
      outcome = { error: `The reply failed: ${errorText(err)}` };
    }
    // Let pieces still queued on the callback port land before the reply is marked done.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const live = current(id);
    if (live) put(finishReply(live, replyId, outcome, Date.now()));
    set({ generation: null });
  }

  /** Checks that a reply may start now; returns the reason it may not, in words. */
  /**
   * Rewrites the active conversation's history (regenerate, edit), then streams a new
   * reply into it; a refusal (no model, a reply running, a bad edit) ends in words.
   */
  async function rewriteAndReply(
    rewrite: (conversation: Conversation, replyId: string) => Conversation,
  ): Promise<void> {
    const id = get().activeId;
    const conversation = id ? current(id) : undefined;
    const reason = cannotGenerate();
    if (!conversation || reason) {
      if (reason) set({ error: reason });
      return;
    }
    const replyId = newId();
    try {
      put(rewrite(conversation, replyId));
    } catch (err) {
      set({ error: errorText(err) });
      return;
    }
    await generateInto(conversation.id, replyId);
  }

  function cannotGenerate(): string | null {
    if (get().generation) return "A reply is still being written. Stop it first (Esc).";
    const models = useModelManagerStore.getState();
    if (models.loading) return "The model is still loading.";
    if (!models.loaded) return "Load a model first (see Model).";
    return null;
  }

  function change(id: string | null, update: (c: Conversation) => Conversation): void {
    const conversation = id ? current(id) : undefined;
    if (!conversation) return;
    try {
      put(update(conversation));
    } catch (err) {
      set({ error: errorText(err) });
    }
  }

  return {
    conversations: [],
    activeId: null,
    hydrated: false,
    search: "",
    draft: "",
    generation: null,
    lastStats: null,
    error: null,

    async hydrate() {
      try {
        const saved = sortConversations(await conversationDb().loadAll());
        set((s) => {
          // Keep anything created before the saved list arrived.
          const known = new Set(saved.map((c) => c.id));
          const conversations = sortConversations([
            ...s.conversations.filter((c) => !known.has(c.id)),
            ...saved,
          ]);
          return {
            conversations,
            activeId: s.activeId ?? conversations[0]?.id ?? null,
            hydrated: true,
          };
        });
      } catch (err) {
        set({ hydrated: true, error: `Could not read saved conversations: ${errorText(err)}` });
      }
    },

    create(options) {
      // An untouched conversation is reused rather than piling up empty ones.
      const active = get().activeId ? current(get().activeId as string) : undefined;
      const blank = active && isBlank(active) ? active : get().conversations.find(isBlank);
      if (blank) {
        set({ activeId: blank.id, search: "" });
        if (options?.settings || options?.systemPrompt !== undefined) {
          put({
            ...blank,
            systemPrompt: options.systemPrompt ?? blank.systemPrompt,
            settings: { ...blank.settings, ...options.settings },
          });
        }
        return blank.id;
      }
      // Start from the active conversation's settings so a person's choices carry over.
      // With no chat open, start from the defaults set for new chats.
      const base = active ?? useChatDefaults.getState();
      const conversation = newConversation(newId(), Date.now(), {
        systemPrompt: options?.systemPrompt ?? base.systemPrompt,
        settings: { ...base.settings, ...options?.settings },
      });
      set((s) => ({
        conversations: [conversation, ...s.conversations],
        activeId: conversation.id,
        search: "",
      }));
      put(conversation);
      return conversation.id;
    },

    select(id) {
      if (current(id)) set({ activeId: id, error: null });
    },

    rename(id, title) {
      change(id, (c) => rename(c, title, Date.now()));
      set((s) => ({ conversations: sortConversations(s.conversations) }));
    },

    async remove(id) {
      if (get().generation?.conversationId === id) await get().stop();
      set((s) => {
        const conversations = s.conversations.filter((c) => c.id !== id);
        return {
          conversations,
          activeId: s.activeId === id ? (conversations[0]?.id ?? null) : s.activeId,
        };
      });
      lastSaved.delete(id);
      try {
        await conversationDb().remove(id);
        tabs?.postMessage({ kind: "removed", id } satisfies TabNews);
      } catch (err) {
        set({ error: `Could not delete the conversation: ${errorText(err)}` });
      }
    },

    async adopt(list) {
      const ids = new Set(list.map((c) => c.id));
      set((s) => ({
        conversations: sortConversations([
          ...list,
          ...s.conversations.filter((c) => !ids.has(c.id)),
        ]),
        activeId: s.activeId ?? list[0]?.id ?? null,
      }));
      try {
        await Promise.all(list.map((c) => conversationDb().save(c)));
      } catch (err) {
        set({ error: `Could not save the imported conversations: ${errorText(err)}` });
      }
    },

    setSearch(query) {
      set({ search: query });
    },

    setDraft(text) {
      set({ draft: text });
    },

    setSystemPrompt(text) {
      change(get().activeId, (c) => ({ ...c, systemPrompt: text }));
    },

    setSettings(settings) {
      change(get().activeId, (c) => ({ ...c, settings: { ...c.settings, ...settings } }));
    },

    async send(text) {
      if (!text.trim()) return;
      const reason = cannotGenerate();
      if (reason) {
        set({ error: reason });
        return;
      }
      const id =
        get().activeId && current(get().activeId as string)
          ? (get().activeId as string)
          : get().create();
      const replyId = newId();
      const conversation = current(id) as Conversation;
      put(addTurn(conversation, text, { user: newId(), assistant: replyId }, Date.now()));
      set((s) => ({ draft: "", conversations: sortConversations(s.conversations) }));
      await generateInto(id, replyId);
    },

    async stop() {
      if (!get().generation) return;
      try {
        await requireEngine().abortGeneration();
      } catch (err) {
        set({ error: `Could not stop the reply: ${errorText(err)}` });
      }
    },

    regenerate: () =>
      rewriteAndReply((conversation, replyId) =>
        restartLastReply(conversation, replyId, Date.now()),
      ),

    editAndResend: (messageId, text) =>
      rewriteAndReply((conversation, replyId) =>
        editUserMessage(conversation, messageId, text, replyId, Date.now()),
      ),

    dismissError() {
      set({ error: null });
    },
  };
});

// A share link's prompt and settings open a fresh conversation, ready to send.
setShareReadyHandler((prompt, settings) => {
  const chat = useChatStore.getState();
  chat.create({ settings });
  if (prompt) chat.setDraft(prompt);
});
