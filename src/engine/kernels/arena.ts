/**
 * A bump allocator over one wasm Memory: everything (weights, KV cache, scratch) is
 * allocated once at load, nothing is freed. Offsets are unsigned numbers (memory can
 * pass 2 GiB, so never `| 0` them).
 */
/** Pages a growing arena adds at least (64 MiB), and the most a wasm32 memory has. */
const GROW_STEP = 1024;
const MAX_PAGES = 65536;

export class Arena {
  /** The first 64 KiB stay free for the module's own (tiny) static data. */
  private top = 65536;

  constructor(readonly memory: WebAssembly.Memory) {}

  /** Reserves `bytes` (aligned to `align`, default 64) and returns the offset. */
  alloc(bytes: number, align = 64): number {
    const start = Math.ceil(this.top / align) * align;
    const end = start + bytes;
    if (end > 2 ** 32) {
      throw new Error(
        `Out of wasm memory: needs ${(end / 2 ** 30).toFixed(2)} GiB, the 32-bit limit is 4 GiB.`,
      );
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / 65536);
      // at least GROW_STEP at a time: a model makes hundreds of allocations, and their
      // grows took 0.1-0.8 s in Chromium at load; pages never written cost no memory
      const step = Math.min(Math.max(pages, GROW_STEP), MAX_PAGES - have / 65536);
      try {
        this.memory.grow(step);
      } catch {
        // the step may be what is refused: ask for what is needed
      }
      if (this.memory.buffer.byteLength < end) this.grow(pages, end);
    }
    this.top = end;
    return start;
  }

  private grow(pages: number, end: number) {
    try {
      this.memory.grow(pages);
    } catch (e) {
      throw new Error(
        `The browser refused more memory (asked for ${(end / 2 ** 30).toFixed(2)} GiB in total): ${String(e)}`,
      );
    }
  }

  get used(): number {
    return this.top;
  }

  // Views are made fresh each time: growing the memory detaches old ones (plain memory).
  u8(offset: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, offset, length);
  }
  i8(offset: number, length: number): Int8Array {
    return new Int8Array(this.memory.buffer, offset, length);
  }
  u16(offset: number, length: number): Uint16Array {
    return new Uint16Array(this.memory.buffer, offset, length);
  }
  i32(offset: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, offset, length);
  }
  f32(offset: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, offset, length);
  }
  f64(offset: number, length: number): Float64Array {
    return new Float64Array(this.memory.buffer, offset, length);
  }
}

/** A fresh memory for the kernels: shared (for the thread pool) or plain. */
export function createMemory(shared: boolean, initialBytes = 1 << 24): WebAssembly.Memory {
  return new WebAssembly.Memory({
    initial: Math.ceil(initialBytes / 65536),
    maximum: 65536,
    shared,
  });
}
