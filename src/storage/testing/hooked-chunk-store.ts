import { createStore, type UseStore } from "idb-keyval";

/**
 * The chunk store of a ModelLibrary with dbPrefix `prefix`, whose writes and range reads
 * call `hooks` first: a hook that throws fails the request as a browser would (a quota
 * error, WebKit's bare null for Blob values, IndexedDB's UnknownError on a read).
 */
export function hookedChunkStore(
  prefix: string,
  hooks: { put?: (value: unknown) => void; getAll?: () => void },
): UseStore {
  const base = createStore(`${prefix}-model-chunks`, "chunks");
  return (mode, callback) =>
    base(mode, (store) =>
      callback({
        get: (key: IDBValidKey) => store.get(key),
        getAll: (query: IDBKeyRange) => {
          hooks.getAll?.();
          return store.getAll(query);
        },
        delete: (key: IDBValidKey | IDBKeyRange) => store.delete(key),
        transaction: store.transaction,
        put: (value: unknown, key?: IDBValidKey) => {
          hooks.put?.(value);
          return store.put(value, key);
        },
      } as unknown as IDBObjectStore),
    );
}
