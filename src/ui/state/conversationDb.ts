import { createStore, del, entries, set, type UseStore } from "idb-keyval";
import { type Conversation, reviveConversation } from "./conversations.ts";

/**
 * Conversations in IndexedDB, one value per conversation, in a database of their own
 * (the model store keeps its chunks elsewhere).
 */
export interface ConversationDb {
  loadAll(): Promise<Conversation[]>;
  save(conversation: Conversation): Promise<void>;
  remove(id: string): Promise<void>;
}

export function openConversationDb(
  dbName = "trit-chat",
  storeName = "conversations",
): ConversationDb {
  let store: UseStore | undefined;
  // Opened on first use: createStore opens the database at once, and importing must not.
  const use = () => {
    store ??= createStore(dbName, storeName);
    return store;
  };
  return {
    async loadAll() {
      const rows = await entries(use());
      const out: Conversation[] = [];
      for (const [, value] of rows) {
        const conversation = reviveConversation(value);
        if (conversation) out.push(conversation);
      }
      return out;
    },
    save: (conversation) => set(conversation.id, conversation, use()),
    remove: (id) => del(id, use()),
  };
}

/** An in-memory stand-in with the same behaviour, for environments without IndexedDB. */
export function memoryConversationDb(): ConversationDb {
  const map = new Map<string, Conversation>();
  return {
    async loadAll() {
      return [...map.values()].map((c) => structuredClone(c));
    },
    async save(conversation) {
      map.set(conversation.id, structuredClone(conversation));
    },
    async remove(id) {
      map.delete(id);
    },
  };
}
