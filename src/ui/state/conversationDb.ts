import { createStore, del, entries, get, type UseStore, update } from "idb-keyval";
import { type Conversation, mergeConversations, reviveConversation } from "./conversations.ts";

/**
 * Conversations in IndexedDB, one value per conversation, in a database of their own
 * (the model store keeps its chunks elsewhere). Several tabs write the same records: a
 * save merges with what is stored (mergeConversations) inside one readwrite transaction,
 * which IndexedDB runs alone on that store across tabs, so no tab's turns are lost.
 */
export interface ConversationDb {
  loadAll(): Promise<Conversation[]>;
  /** One conversation as stored (replies other tabs are writing still streaming), or null. */
  load(id: string): Promise<Conversation | null>;
  /** Merges `conversation` into the stored copy; returns what is stored now. */
  save(conversation: Conversation): Promise<Conversation>;
  remove(id: string): Promise<void>;
  /**
   * Aborts the transactions still running, as closing the page would: for a page the
   * browser keeps in its back/forward cache (see src/ui/pageCache.ts).
   */
  abortRunning(): void;
}

export function openConversationDb(
  dbName = "trit-chat",
  storeName = "conversations",
): ConversationDb {
  let opened: UseStore | undefined;
  const running = new Set<IDBTransaction>();
  // Opened on first use: createStore opens the database at once, and importing must not.
  // Every transaction is kept in `running` until it ends, for abortRunning.
  const use: UseStore = (mode, callback) => {
    opened ??= createStore(dbName, storeName);
    return opened(mode, (store) => {
      const transaction = store.transaction;
      running.add(transaction);
      const ended = () => running.delete(transaction);
      transaction.addEventListener("complete", ended);
      transaction.addEventListener("abort", ended);
      return callback(store);
    });
  };
  return {
    async loadAll() {
      const rows = await entries(use);
      const out: Conversation[] = [];
      for (const [, value] of rows) {
        const conversation = reviveConversation(value);
        if (conversation) out.push(conversation);
      }
      return out;
    },
    async load(id) {
      return reviveConversation(await get(id, use), true);
    },
    async save(conversation) {
      let stored = conversation;
      await update(
        conversation.id,
        (old) => {
          const before = reviveConversation(old, true);
          stored = before ? mergeConversations(conversation, before) : conversation;
          return stored;
        },
        use,
      );
      return stored;
    },
    remove: (id) => del(id, use),
    abortRunning() {
      for (const transaction of running) {
        try {
          transaction.abort();
        } catch {
          // it was already committing: it ends by itself
        }
      }
      running.clear();
    },
  };
}

/** An in-memory stand-in with the same behaviour, for environments without IndexedDB. */
export function memoryConversationDb(): ConversationDb {
  const map = new Map<string, Conversation>();
  return {
    async loadAll() {
      return [...map.values()].map((c) => structuredClone(c));
    },
    async load(id) {
      const found = map.get(id);
      return found ? structuredClone(found) : null;
    },
    async save(conversation) {
      const before = map.get(conversation.id);
      const stored = before ? mergeConversations(conversation, before) : conversation;
      map.set(conversation.id, structuredClone(stored));
      return structuredClone(stored);
    },
    async remove(id) {
      map.delete(id);
    },
    abortRunning() {},
  };
}
