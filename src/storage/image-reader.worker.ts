/**
 * Reads part of a weight image (weight-images.ts) into shared memory on a thread of its
 * own, with a read-only sync handle beside the engine worker's; answers { ok }.
 */
import { DIRECTORY, readRange, type SyncFile } from "./weight-images.ts";

interface ReadRequest {
  fileName: string;
  buffer: SharedArrayBuffer;
  offset: number;
  length: number;
  at: number;
}

self.onmessage = async (e: MessageEvent<ReadRequest>) => {
  const { fileName, buffer, offset, length, at } = e.data;
  let file: SyncFile | undefined;
  try {
    const root = await navigator.storage.getDirectory();
    const dir = await root.getDirectoryHandle(DIRECTORY);
    const handle = (await dir.getFileHandle(fileName)) as unknown as {
      createSyncAccessHandle(options: { mode: string }): Promise<SyncFile>;
    };
    file = await handle.createSyncAccessHandle({ mode: "read-only" });
    readRange(file, new Uint8Array(buffer, offset, length), at, 32 << 20);
    self.postMessage({ ok: true });
  } catch {
    self.postMessage({ ok: false });
  } finally {
    file?.close();
  }
};
