/**
 * The tied output head (and token embedding) in wasm memory, in one of three formats:
 * f16 (the published file's exact halves), f32 (an embedding that is not all halves),
 * or an optional int8 copy (one absmax scale per row: half the bytes of f16, approximate).
 * Rows are padded to `cols` (a multiple of 16) so the head kernels need no tail.
 */
import { floatToHalf, halfToFloat } from "../gguf/index.ts";
import type { Arena } from "./arena.ts";
import type { EmbeddingHalfRows } from "./memory-layout.ts";
import type { KernelPool } from "./pool.ts";

export type HeadFormat = "f16" | "f32" | "int8";

/** Bytes of one head weight in each format. */
export const HEAD_BYTES: Record<HeadFormat, number> = { f16: 2, f32: 4, int8: 1 };

/** Scratch the head kernels use: the normed input, its int8 form and prepared copies. */
export interface HeadScratch {
  /** The final-normed hidden state, zero-padded to cols floats. */
  xh: number;
  xhq: number;
  xhPrep: number;
  xhsum: number;
  logits: number;
}

export class Head {
  /** The int8 copy and its row scales (0 until made). */
  private int8 = 0;
  private int8Scales = 0;
  private useInt8 = false;

  private constructor(
    private readonly arena: Arena,
    readonly vocab: number,
    readonly hidden: number,
    /** Row stride in values: hidden rounded up to 16. */
    readonly cols: number,
    readonly ptr: number,
    /** How the exact head is stored: f16 when every embedding value is a half, else f32. */
    readonly exact: "f16" | "f32",
  ) {}

  /**
   * Places the embedding in the arena as the exact head. An embedding read by rows is
   * only laid out here: its read is pushed onto `loads` (to run after all placement).
   */
  static place(
    arena: Arena,
    emb: Float32Array | Uint16Array | EmbeddingHalfRows,
    vocab: number,
    hidden: number,
    loads: (() => Promise<void>)[],
  ): Head {
    const a = arena;
    const cols = Math.ceil(hidden / 16) * 16;
    let halves: Uint16Array | undefined;
    if (emb instanceof Uint16Array) halves = emb;
    else if (emb instanceof Float32Array) halves = toHalvesIfExact(emb);
    if (!(emb instanceof Float32Array || emb instanceof Uint16Array)) {
      const head = a.alloc(vocab * cols * 2);
      loads.push(async () => {
        const block = 4096; // rows per read: 20 MiB at the 2B4T width
        for (let first = 0; first < vocab; first += block) {
          const count = Math.min(block, vocab - first);
          const rows = await emb.readRows(first, count);
          const dst = a.u16(head, vocab * cols);
          for (let r = 0; r < count; r++) {
            dst.set(rows.subarray(r * hidden, (r + 1) * hidden), (first + r) * cols);
          }
        }
      });
      return new Head(a, vocab, hidden, cols, head, "f16");
    }
    if (halves) {
      const head = a.alloc(vocab * cols * 2);
      const dst = a.u16(head, vocab * cols);
      for (let r = 0; r < vocab; r++) {
        dst.set(halves.subarray(r * hidden, (r + 1) * hidden), r * cols);
      }
      return new Head(a, vocab, hidden, cols, head, "f16");
    }
    const f = emb as Float32Array;
    const head = a.alloc(vocab * cols * 4);
    const dst = a.f32(head, vocab * cols);
    for (let r = 0; r < vocab; r++) {
      dst.set(f.subarray(r * hidden, (r + 1) * hidden), r * cols);
    }
    return new Head(a, vocab, hidden, cols, head, "f32");
  }

  /** Which head the logits come from. */
  get format(): HeadFormat {
    return this.useInt8 ? "int8" : this.exact;
  }

  /**
   * Switches the int8 copy on or off; the copy is made the first time it is switched on
   * (which may grow the memory: the caller renews its views).
   */
  setInt8(on: boolean): void {
    if (on && this.int8 === 0) this.makeInt8();
    this.useInt8 = on;
  }

  private makeInt8(): void {
    const a = this.arena;
    const { vocab, cols } = this;
    const ptr = a.alloc(vocab * cols, 64);
    const scalesPtr = a.alloc(vocab * 4);
    const q = a.i8(ptr, vocab * cols);
    const scales = a.f32(scalesPtr, vocab);
    const row = new Float32Array(cols);
    const src16 = this.exact === "f16" ? a.u16(this.ptr, vocab * cols) : undefined;
    const src32 = this.exact === "f32" ? a.f32(this.ptr, vocab * cols) : undefined;
    for (let r = 0; r < vocab; r++) {
      let max = 0;
      for (let i = 0; i < cols; i++) {
        row[i] = src16 ? halfToFloat(src16[r * cols + i]) : (src32 as Float32Array)[r * cols + i];
        max = Math.max(max, Math.abs(row[i]));
      }
      const scale = max > 0 ? max / 127 : 1;
      scales[r] = scale;
      for (let i = 0; i < cols; i++) q[r * cols + i] = Math.round(row[i] / scale);
    }
    this.int8 = ptr;
    this.int8Scales = scalesPtr;
  }

  /** The embedding of `token` (the exact head's row) as `hidden` floats at dst. */
  embed(token: number, dst: number): void {
    const out = this.arena.f32(dst, this.hidden);
    if (this.exact === "f16") {
      const row = this.arena.u16(this.ptr + token * this.cols * 2, this.hidden);
      for (let i = 0; i < this.hidden; i++) out[i] = halfToFloat(row[i]);
    } else {
      out.set(this.arena.f32(this.ptr + token * this.cols * 4, this.hidden));
    }
  }

  /** logits = head · s.xh, on the pool, in the current format. */
  logits(pool: KernelPool, s: HeadScratch): void {
    const k = pool.exports;
    if (this.useInt8) {
      const xScale = k.quantize(s.xhq, s.xh, this.hidden, this.cols, s.xhsum);
      k.prep_head_i8(s.xhPrep, s.xhq, this.cols);
      pool.run("head_i8", 0, this.vocab, 16, [
        this.int8,
        this.cols,
        this.int8Scales,
        s.xhPrep,
        xScale,
        s.logits,
      ]);
    } else if (this.exact === "f16") {
      const outScale = k.prep_head_f16(s.xhPrep, s.xh, this.cols);
      pool.run("head_f16", 0, this.vocab, 16, [this.ptr, this.cols, s.xhPrep, outScale, s.logits]);
    } else {
      pool.run("head_f32", 0, this.vocab, 16, [this.ptr, this.cols, s.xh, s.logits]);
    }
  }
}

/** The embedding as f16 bits when every value is exactly a half (so f16 loses nothing). */
function toHalvesIfExact(values: Float32Array): Uint16Array | undefined {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const h = floatToHalf(values[i]);
    if (halfToFloat(h) !== values[i]) return undefined;
    out[i] = h;
  }
  return out;
}
