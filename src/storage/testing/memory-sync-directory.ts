import type { SyncDirectory, SyncFile } from "../weight-images.ts";

/**
 * A SyncDirectory in memory with the origin private file system's rules that the image
 * code relies on: one open handle per file (a second open is refused, as another tab's
 * would be) unless all are read-only and `sharedReadOnly` (Firefox has it false: its
 * read-only handles are exclusive too), reads past the end return fewer bytes, writes
 * past the end grow the file.
 * `refuseShared` makes read and write throw a TypeError for a view of a SharedArrayBuffer
 * (an engine without [AllowShared]); `quotaBytes` makes a write past it throw.
 */
export class MemorySyncDirectory implements SyncDirectory {
  readonly files = new Map<string, Uint8Array>();
  /** Open handles per file: "exclusive", or how many read-only ones. */
  private readonly held = new Map<string, "exclusive" | number>();
  refuseShared = false;
  sharedReadOnly = true;
  quotaBytes = Number.POSITIVE_INFINITY;

  async open(name: string, create: boolean, mode?: "read-only"): Promise<SyncFile | null> {
    if (!this.files.has(name)) {
      if (!create) return null;
      this.files.set(name, new Uint8Array(0));
    }
    const held = this.held.get(name);
    if (
      held === "exclusive" ||
      (held !== undefined && (mode !== "read-only" || !this.sharedReadOnly))
    ) {
      throw new DOMException("The file is open elsewhere.", "NoModificationAllowedError");
    }
    this.held.set(name, mode === "read-only" ? (held ?? 0) + 1 : "exclusive");
    const dir = this;
    const checkShared = (view: Uint8Array) => {
      if (dir.refuseShared && view.buffer instanceof SharedArrayBuffer) {
        throw new TypeError("A shared buffer is not accepted here.");
      }
    };
    const bytes = () => dir.files.get(name) ?? new Uint8Array(0);
    return {
      read(buffer, { at }) {
        checkShared(buffer);
        const data = bytes().subarray(at, at + buffer.length);
        buffer.set(data);
        return data.length;
      },
      write(buffer, { at }) {
        checkShared(buffer);
        if (mode === "read-only")
          throw new DOMException("Read-only handle.", "NoModificationAllowedError");
        const end = at + buffer.length;
        if (end > dir.quotaBytes) throw new DOMException("Quota exceeded.", "QuotaExceededError");
        let data = bytes();
        if (end > data.length) {
          const grown = new Uint8Array(end);
          grown.set(data);
          data = grown;
          dir.files.set(name, data);
        }
        data.set(buffer, at);
        return buffer.length;
      },
      getSize: () => bytes().length,
      truncate(size) {
        const data = new Uint8Array(size);
        data.set(bytes().subarray(0, size));
        dir.files.set(name, data);
      },
      flush() {},
      close() {
        const count = dir.held.get(name);
        if (typeof count === "number" && count > 1) dir.held.set(name, count - 1);
        else dir.held.delete(name);
      },
    };
  }

  async remove(name: string): Promise<void> {
    if (this.held.has(name))
      throw new DOMException("The file is open.", "NoModificationAllowedError");
    this.files.delete(name);
  }

  async list(): Promise<{ name: string; size: number }[]> {
    return [...this.files].map(([name, data]) => ({ name, size: data.length }));
  }
}
