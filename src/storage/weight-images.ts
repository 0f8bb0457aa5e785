/**
 * Each model's weight image (engine/kernels/weight-image.ts) as one file in the origin
 * private file system, read and written from the engine worker with a sync access handle
 * straight from and into wasm memory. Where the file system or sync handles are missing
 * (Firefox private windows, older WebKit), or a file is refused (storage full, another tab
 * holds it), there is simply no image and models load from their GGUF as before.
 *
 * A file: a 64 KiB header (magic, the JSON's length and checksum, the JSON: what the image
 * describes, its scales, its size and a checksum of sampled bytes), then the image. The
 * header is written last, after the bytes are flushed: a write cut short leaves no header,
 * so a half-written image is never used.
 */

/** The part of FileSystemSyncAccessHandle used here. */
export interface SyncFile {
  read(buffer: Uint8Array, options: { at: number }): number;
  write(buffer: Uint8Array, options: { at: number }): number;
  getSize(): number;
  truncate(size: number): void;
  flush(): void;
  close(): void;
}

/** A directory of files opened for sync access (the origin private file system, or a fake). */
export interface SyncDirectory {
  /**
   * Opens (creating when asked) a file; null when it does not exist and `create` is false.
   * "read-only" lets other read-only handles open it too (where the browser knows the mode).
   */
  open(name: string, create: boolean, mode?: "read-only"): Promise<SyncFile | null>;
  remove(name: string): Promise<void>;
  /** The files' names and sizes. */
  list(): Promise<{ name: string; size: number }[]>;
}

const MAGIC = [0x54, 0x52, 0x49, 0x54, 0x57, 0x49, 0x4d, 0x47]; // "TRITWIMG"
const HEADER_BYTES = 65536;
const STEP = 32 << 20;
/** The private file system's directory of the images. */
export const DIRECTORY = "trit-weight-images";
/** One sampled run of bytes every SAMPLE_EVERY bytes goes into the data checksum. */
const SAMPLE_EVERY = 1 << 20;
const SAMPLE_BYTES = 64;

interface ImageHeader {
  description: string;
  scales: number[];
  bytes: number;
  sampleSum: number;
}

/** FNV-1a (32-bit) of bytes, continuing from `h`. */
function fnv1a(bytes: Uint8Array, h = 0x811c9dc5): number {
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  return h;
}

/** The checksum of a few bytes of every MiB (a full one would cost a second per GB). */
function sampleSum(view: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let at = 0; at < view.length; at += SAMPLE_EVERY) {
    h = fnv1a(view.subarray(at, Math.min(at + SAMPLE_BYTES, view.length)), h);
  }
  return fnv1a(view.subarray(Math.max(0, view.length - SAMPLE_BYTES)), h);
}

/** A file name for a model id (ids hold URL characters). */
export function imageFileName(modelId: string): string {
  const bytes = new TextEncoder().encode(modelId);
  const a = fnv1a(bytes).toString(16).padStart(8, "0");
  const b = fnv1a(bytes, 0x12345678).toString(16).padStart(8, "0");
  return `${a}${b}.weights`;
}

function encodeHeader(h: ImageHeader): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(h));
  if (json.length > HEADER_BYTES - 16) throw new Error("The weight image's header is too long.");
  const out = new Uint8Array(HEADER_BYTES);
  out.set(MAGIC);
  const dv = new DataView(out.buffer);
  dv.setUint32(8, json.length, true);
  dv.setUint32(12, fnv1a(json), true);
  out.set(json, 16);
  return out;
}

function decodeHeader(bytes: Uint8Array): ImageHeader | null {
  if (!MAGIC.every((m, i) => bytes[i] === m)) return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = dv.getUint32(8, true);
  if (length > HEADER_BYTES - 16) return null;
  const json = bytes.subarray(16, 16 + length);
  if (fnv1a(json) !== dv.getUint32(12, true)) return null;
  try {
    const h = JSON.parse(new TextDecoder().decode(json)) as ImageHeader;
    const ok =
      typeof h.description === "string" &&
      Array.isArray(h.scales) &&
      Number.isSafeInteger(h.bytes) &&
      typeof h.sampleSum === "number";
    return ok ? h : null;
  } catch {
    return null;
  }
}

/**
 * Copies file bytes [at, at + dst.length) into dst: straight in when the engine accepts
 * the view (a shared wasm memory is allowed by the spec), else through one staging buffer.
 */
function readInto(file: SyncFile, dst: Uint8Array, at: number, staging: () => Uint8Array): number {
  try {
    return file.read(dst, { at });
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    const buffer = staging().subarray(0, dst.length);
    const n = file.read(buffer, { at });
    dst.set(buffer.subarray(0, n));
    return n;
  }
}

function writeFrom(file: SyncFile, src: Uint8Array, at: number, staging: () => Uint8Array): number {
  try {
    return file.write(src, { at });
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    const buffer = staging().subarray(0, src.length);
    buffer.set(src);
    return file.write(buffer, { at });
  }
}

function isShared(view: Uint8Array): boolean {
  return typeof SharedArrayBuffer === "function" && view.buffer instanceof SharedArrayBuffer;
}

/**
 * Reads file bytes [at, at + dst.length) into dst in steps of `step` bytes; `done` gets
 * the bytes read so far. Throws when the file ends early.
 */
export function readRange(
  file: SyncFile,
  dst: Uint8Array,
  at: number,
  step: number,
  done?: (bytes: number) => void,
): void {
  let staging: Uint8Array | undefined;
  const stage = () => {
    staging ??= new Uint8Array(step);
    return staging;
  };
  for (let i = 0; i < dst.length; i += step) {
    const part = dst.subarray(i, Math.min(i + step, dst.length));
    if (readInto(file, part, at + i, stage) !== part.length) {
      throw new Error("The weight image ended early.");
    }
    done?.(i + part.length);
  }
}

/**
 * Reads file bytes [at, at + dst.length) of an image into `dst` (a view of shared memory)
 * on another thread; false when it could not (the caller reads them itself).
 */
export type PartReader = (
  fileName: string,
  dst: Uint8Array,
  at: number,
  signal: AbortSignal,
) => Promise<boolean>;

/**
 * How long a file system call may go unanswered before the image is given up (the model
 * then loads from its GGUF): a browser that neither grants nor refuses a sync handle must
 * not hang a load.
 */
const OPEN_WAIT_MS = 10_000;

/** `promise`, or `fallback` once `ms` pass first; a late value goes to `late`. */
function within<T>(promise: Promise<T>, ms: number, fallback: T, late?: (value: T) => void) {
  return new Promise<T>((resolve) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      resolve(fallback);
    }, ms);
    void promise.then((value) => {
      if (!done) {
        clearTimeout(timer);
        resolve(value);
      } else late?.(value);
    });
  });
}

/** Weight images in a SyncDirectory, one file per model. */
export class WeightImages {
  constructor(
    private readonly dir: SyncDirectory,
    /** Bytes per read or write call (progress steps, and the staging buffer's size). */
    private readonly step = STEP,
    private readonly partReader?: PartReader,
  ) {}

  /** The images in the origin private file system, or null where it cannot be used. */
  static async open(): Promise<WeightImages | null> {
    const dir = await within(opfsDirectory(DIRECTORY), OPEN_WAIT_MS, null);
    return dir ? new WeightImages(dir, STEP, workerPartReader) : null;
  }

  /**
   * The store of one model's image (`modelId` names its file); a write stops, leaving no
   * image, when `signal` aborts (the model is deleted meanwhile).
   */
  forModel(modelId: string, signal?: AbortSignal) {
    const name = imageFileName(modelId);
    // the kernels' WeightImageStore (engine/kernels/weight-image.ts), by shape: storage
    // does not import the engine, the worker joins the two
    return {
      read: (dst: Uint8Array, description: string, onProgress?: (fraction: number) => void) =>
        this.read(name, dst, description, onProgress),
      write: (view: () => Uint8Array, description: string, scales: number[]) =>
        this.write(name, view, description, scales, signal),
    };
  }

  /** Deletes a model's image (nothing when there is none). */
  async delete(modelId: string): Promise<void> {
    await this.removeFile(imageFileName(modelId));
  }

  /** Removes a file (nothing when it is missing, refused or not answered). */
  private removeFile(name: string): Promise<void> {
    return within(
      this.dir.remove(name).catch(() => undefined),
      OPEN_WAIT_MS,
      undefined,
    );
  }

  /** Deletes the images of models not in `modelIds` (one deleted while its file was held). */
  async keepOnly(modelIds: readonly string[]): Promise<void> {
    const keep = new Set(modelIds.map(imageFileName));
    for (const f of await this.listed()) {
      if (!keep.has(f.name)) await this.removeFile(f.name);
    }
  }

  /** Bytes every image takes. */
  async bytes(): Promise<number> {
    const files = await this.listed();
    return files.reduce((sum, f) => sum + f.size, 0);
  }

  /** The images' files, or none when the file system does not answer. */
  private listed(): Promise<{ name: string; size: number }[]> {
    return within(
      this.dir.list().catch(() => []),
      OPEN_WAIT_MS,
      [],
    );
  }

  private async read(
    name: string,
    dst: Uint8Array,
    description: string,
    onProgress?: (fraction: number) => void,
  ): Promise<number[] | null> {
    const opening = this.dir.open(name, false, "read-only").catch(() => null);
    const file = await within(opening, OPEN_WAIT_MS, null, (f) => f?.close());
    if (!file) return null;
    const stopOther = new AbortController();
    try {
      const headerBytes = new Uint8Array(HEADER_BYTES);
      if (file.read(headerBytes, { at: 0 }) !== HEADER_BYTES) return null;
      const header = decodeHeader(headerBytes);
      if (
        !header ||
        header.description !== description ||
        header.bytes !== dst.length ||
        file.getSize() !== HEADER_BYTES + header.bytes
      ) {
        return null;
      }
      // A shared memory's second half is read by another thread meanwhile (the copy
      // and its page faults are most of a load's time), where the browser lets a second
      // read-only handle open the file. Firefox does not, and there no thread starts for
      // nothing: starting one from this worker blocked it for good now and then (Firefox,
      // busy machine: the load stayed at 0%).
      const half =
        this.partReader && isShared(dst) && (await this.opensTwice(name))
          ? Math.floor(dst.length / 2 / 65536) * 65536
          : dst.length;
      const other =
        half < dst.length
          ? this.partReader?.(name, dst.subarray(half), HEADER_BYTES + half, stopOther.signal)
          : undefined;
      const start = performance.now();
      readRange(file, dst.subarray(0, half), HEADER_BYTES, this.step, (n) =>
        onProgress?.(n / dst.length),
      );
      // the other half is as big: a thread that takes far longer than this one did (or
      // never answers) is stopped, and its half read here
      const wait = Math.max(OPEN_WAIT_MS, 4 * (performance.now() - start));
      if (other && !(await within(other, wait, false))) {
        stopOther.abort();
        readRange(file, dst.subarray(half), HEADER_BYTES + half, this.step);
      }
      onProgress?.(1);
      if (sampleSum(dst) !== header.sampleSum) throw new Error("The weight image is damaged.");
      return header.scales;
    } finally {
      stopOther.abort();
      file.close();
    }
  }

  /** Whether a second read-only handle on `name` opens beside the one held. */
  private async opensTwice(name: string): Promise<boolean> {
    const opening = this.dir.open(name, false, "read-only").catch(() => null);
    const second = await within(opening, OPEN_WAIT_MS, null, (f) => f?.close());
    second?.close();
    return second !== null;
  }

  private async write(
    name: string,
    view: () => Uint8Array,
    description: string,
    scales: number[],
    signal?: AbortSignal,
  ): Promise<void> {
    const opening = this.dir.open(name, true).catch(() => null);
    const file = await within(opening, OPEN_WAIT_MS, null, (f) => f?.close());
    if (!file) return;
    let whole = false;
    try {
      file.truncate(0);
      const bytes = view().length;
      let staging: Uint8Array | undefined;
      const stage = () => {
        staging ??= new Uint8Array(this.step);
        return staging;
      };
      for (let at = 0; at < bytes; at += this.step) {
        if (signal?.aborted) return;
        const part = view().subarray(at, Math.min(at + this.step, bytes));
        if (writeFrom(file, part, HEADER_BYTES + at, stage) !== part.length) return;
        // let the worker answer messages between steps (the UI stays live)
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      file.flush();
      const header = encodeHeader({ description, scales, bytes, sampleSum: sampleSum(view()) });
      if (file.write(header, { at: 0 }) !== HEADER_BYTES) return;
      file.flush();
      whole = true;
    } catch {
      // storage full or the file refused: no image this time
    } finally {
      file.close();
      if (!whole) await this.removeFile(name);
    }
  }
}

/** A SyncDirectory over the origin private file system, or null where it cannot be used. */
async function opfsDirectory(name: string): Promise<SyncDirectory | null> {
  try {
    const storage = globalThis.navigator?.storage;
    if (typeof storage?.getDirectory !== "function") return null;
    if (typeof FileSystemFileHandle === "undefined") return null;
    if (!("createSyncAccessHandle" in FileSystemFileHandle.prototype)) return null;
    const root = await storage.getDirectory();
    const dir = await root.getDirectoryHandle(name, { create: true });
    return {
      async open(file, create, mode) {
        let handle: FileSystemFileHandle;
        try {
          handle = await dir.getFileHandle(file, { create });
        } catch (e) {
          if (!create && e instanceof DOMException && e.name === "NotFoundError") return null;
          throw e;
        }
        // the DOM typings of this TypeScript list sync handles for workers only
        const sync = handle as unknown as {
          createSyncAccessHandle(options?: { mode: string }): Promise<SyncFile>;
        };
        return await sync.createSyncAccessHandle(mode ? { mode } : undefined);
      },
      async remove(file) {
        try {
          await dir.removeEntry(file);
        } catch (e) {
          if (!(e instanceof DOMException && e.name === "NotFoundError")) throw e;
        }
      },
      async list() {
        const out: { name: string; size: number }[] = [];
        // biome-ignore lint/suspicious/noExplicitAny: entries() is missing from older DOM typings
        for await (const [entryName, entry] of (dir as any).entries() as AsyncIterable<
          [string, FileSystemHandle]
        >) {
          if (entry.kind !== "file") continue;
          // a file being written (a sync handle open) may refuse getFile: count it as 0
          const file = await (entry as FileSystemFileHandle).getFile().catch(() => null);
          out.push({ name: entryName, size: file?.size ?? 0 });
        }
        return out;
      },
    };
  } catch {
    return null;
  }
}

/** Reads part of an image in a worker of its own (image-reader.worker.ts). */
const workerPartReader: PartReader = (fileName, dst, at, signal) =>
  new Promise((resolve) => {
    let worker: Worker;
    try {
      worker = new Worker(new URL("./image-reader.worker.ts", import.meta.url), { type: "module" });
    } catch {
      resolve(false);
      return;
    }
    let ended = false;
    const end = (ok: boolean) => {
      if (ended) return;
      ended = true;
      worker.terminate();
      // for the cached-start benchmark's log: whether the second thread did its part
      console.debug(`trit:image second half ${ok ? "read by a second thread" : "read here"}`);
      resolve(ok);
    };
    worker.onmessage = (e: MessageEvent<{ ok: boolean }>) => end(e.data.ok === true);
    worker.onerror = () => end(false);
    signal.addEventListener("abort", () => end(false), { once: true });
    worker.postMessage({
      fileName,
      buffer: dst.buffer,
      offset: dst.byteOffset,
      length: dst.length,
      at,
    });
  });
