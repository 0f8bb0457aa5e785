/**
 * The fast BitNet forward pass: the reference's steps (src/engine/model/forward.ts, same
 * names, same order) on the wasm kernels, with every buffer in one wasm memory that the
 * thread pool shares. Weights are repacked once at load; a forward pass allocates no
 * wasm memory.
 *
 *   const model = await KernelModel.create(await loadKernelWeights(blob), {
 *     threads: KernelModel.defaultThreads(), maxPositions: 4096 });
 *   let logits = model.prefill(promptTokens, 0);      // batched; logits of the last
 *   logits = model.forward(nextToken, promptTokens.length);
 *   model.setInt8Head(true);                           // optional, faster, approximate
 *   model.dispose();                                   // stops the threads
 */

import { floatToHalf, halfToFloat } from "../gguf/index.ts";
import type { BitNetConfig } from "../model/config.ts";
import type { ForwardModel } from "../model/forward.ts";
import type { BitNetWeights, TernaryMatrix } from "../model/weights.ts";
import { sharedMemoryFacts, singleThreadReason } from "../platform/capabilities.ts";
import { Arena, createMemory } from "./arena.ts";
import {
  instantiateKernels,
  type KernelBuild,
  type KernelExports,
  type KernelModule,
  loadKernelModule,
} from "./loader.ts";
import { packedBytes, packedStride, packTernaryCodes, paddedCols, paddedRows } from "./pack.ts";
import { KernelPool } from "./pool.ts";
import { ThreadTuner } from "./threadTuner.ts";

export interface KernelModelOptions {
  /** Kernel threads (1 = no workers; more need SharedArrayBuffer). Default 1. */
  threads?: number;
  /** Force a build; default: relaxed SIMD when it validates, else SIMD128. */
  build?: KernelBuild;
  /** Positions the KV cache holds; default the model's context length. */
  maxPositions?: number;
  /** Also make the int8 copy of the head at load and use it. Default false. */
  int8Head?: boolean;
  /** Tokens per prefill batch. Default 32. */
  maxBatch?: number;
  /**
   * Attention runs on the pool from this many query × key × dim products up (below it,
   * a pool round trip costs more than the work). Default 2^16.
   */
  attentionPoolMin?: number;
}

/**
 * One or more ternary matrices with the same input, stacked row-wise in one packed block,
 * each padded to whole groups of four rows (see pack.ts).
 */
export interface PackedLinear {
  ptr: number;
  /** All rows, with each part's padding. */
  rows: number;
  cols: number;
  stride: number;
  /** Each stacked matrix: its first row in the block, its rows and its scale, in order. */
  parts: { first: number; rows: number; scale: number }[];
}

/** Where a ternary linear comes from: plain codes, or bytes already in kernel layout. */
export type TernarySource =
  | TernaryMatrix
  | {
      rows: number;
      cols: number;
      /**
       * Reads the tensor, writes it into `dst` in kernel layout and returns its scale.
       * Called one tensor at a time after the memory is laid out, so a loader can stream
       * a file into wasm memory without holding a second copy of the model.
       */
      load: (dst: Uint8Array) => Promise<number>;
    };

/** An f16 token embedding read a block of rows at a time (see TernarySource's load). */
export interface EmbeddingHalfRows {
  /** vocab × hidden. */
  length: number;
  readRows(first: number, count: number): Promise<Uint16Array>;
}

/** The weights the fast engine loads: the reference's, or repack-ready sources. */
export interface KernelWeights {
  config: BitNetConfig;
  /** vocab × hidden: f32 values, or raw f16 bits (the published file's token_embd). */
  tokenEmbedding: Float32Array | Uint16Array | EmbeddingHalfRows;
  outputNorm: Float32Array;
  layers: {
    attnNorm: Float32Array;
    wq: TernarySource;
    wk: TernarySource;
    wv: TernarySource;
    attnSubNorm: Float32Array;
    wo: TernarySource;
    ffnNorm: Float32Array;
    wGate: TernarySource;
    wUp: TernarySource;
    ffnSubNorm: Float32Array;
    wDown: TernarySource;
  }[];
}

interface LayerPtrs {
  attnNorm: number;
  qkv: PackedLinear;
  attnSubNorm: number;
  wo: PackedLinear;
  ffnNorm: number;
  gateUp: PackedLinear;
  ffnSubNorm: number;
  down: PackedLinear;
  keyCache: number;
  valueCache: number;
}

export type HeadFormat = "f16" | "f32" | "int8";

export class KernelModel implements ForwardModel {
  readonly config: BitNetConfig;
  readonly maxPositions: number;
  readonly build: KernelBuild;
  readonly threads: number;
  /** How the exact head is stored: f16 when every embedding value is a half, else f32. */
  readonly exactHead: "f16" | "f32";
  private useInt8Head = false;
  /** The ternary kernels' dotAdd argument (see KernelModule.dotAdd). */
  private readonly dotAdd: 0 | 1;

  private readonly k: KernelExports;
  private readonly layers: LayerPtrs[] = [];
  private readonly outputNorm: number;
  private readonly head: number;
  private headI8 = 0;
  private headI8Scales = 0;
  private bandwidthOut = 0;
  /** Picks how many threads run, from timed decode steps. */
  private readonly tuner: ThreadTuner;
  private readonly hiddenPad: number;
  private readonly maxBatch: number;
  private readonly attentionPoolMin: number;
  // scratch, each sized for maxBatch tokens
  private readonly s: Record<
    | "x"
    | "xb"
    | "xb2"
    | "q"
    | "k"
    | "v"
    | "att"
    | "hb"
    | "hb2"
    | "xq"
    | "xsum"
    | "xscale"
    | "dots"
    | "scores"
    | "cosSin"
    | "xh"
    | "xhq"
    | "xhPrep"
    | "xhsum"
    | "logits",
    number
  >;
  private readonly xqStride: number;
  private readonly dotsStride: number;
  private logitsView: Float32Array;
  private readonly ropeFreqs: Float64Array;
  /** Weight reads the constructor laid out memory for; create() runs them in order. */
  private pendingLoads: (() => Promise<void>)[] = [];

  private constructor(
    readonly arena: Arena,
    private readonly pool: KernelPool,
    weights: KernelWeights,
    module: KernelModule,
    options: KernelModelOptions,
  ) {
    const c = weights.config;
    this.config = c;
    this.build = module.build;
    this.dotAdd = module.dotAdd ? 1 : 0;
    this.threads = pool.threads;
    this.tuner = new ThreadTuner(pool.threads);
    this.k = pool.exports;
    this.maxPositions = options.maxPositions ?? c.contextLength;
    this.maxBatch = options.maxBatch ?? 32;
    this.attentionPoolMin = options.attentionPoolMin ?? 1 << 16;
    checkShapes(c, weights, this.maxPositions, this.maxBatch);
    const a = arena;
    const qDim = c.heads * c.headDim;
    const kvDim = c.kvHeads * c.headDim;
    this.hiddenPad = Math.ceil(c.hidden / 16) * 16;

    const floats = (v: Float32Array) => {
      const p = a.alloc(v.length * 4);
      a.f32(p, v.length).set(v);
      return p;
    };
    const linear = (parts: TernarySource[]): PackedLinear => {
      const cols = parts[0].cols;
      const stride = packedStride(cols);
      const rows = parts.reduce((n, m) => n + paddedRows(m.rows), 0);
      const ptr = a.alloc(rows * stride, 64);
      const packed: PackedLinear = { ptr, rows, cols, stride, parts: [] };
      let row = 0;
      for (const m of parts) {
        const at = ptr + row * stride;
        const bytes = packedBytes(m.rows, m.cols);
        const part = { first: row, rows: m.rows, scale: 0 };
        packed.parts.push(part);
        if ("codes" in m) {
          packTernaryCodes(a.u8(at, bytes), m.codes, m.rows, m.cols);
          part.scale = m.scale;
        } else {
          // a view made now could be detached by a later memory.grow: make it when loading
          this.pendingLoads.push(async () => {
            part.scale = await m.load(a.u8(at, bytes));
          });
        }
        row += paddedRows(m.rows);
      }
      return packed;
    };

    // head first: the biggest block, and the embedding lookup reads it
    const emb = weights.tokenEmbedding;
    let halves: Uint16Array | undefined;
    if (emb instanceof Uint16Array) halves = emb;
    else if (emb instanceof Float32Array) halves = toHalvesIfExact(emb);
    this.exactHead = halves || !(emb instanceof Float32Array) ? "f16" : "f32";
    if (!(emb instanceof Float32Array || emb instanceof Uint16Array)) {
      const head = a.alloc(c.vocab * this.hiddenPad * 2);
      this.head = head;
      this.pendingLoads.push(async () => {
        const block = 4096; // rows per read: 20 MiB at the 2B4T width
        for (let first = 0; first < c.vocab; first += block) {
          const count = Math.min(block, c.vocab - first);
          const rows = await emb.readRows(first, count);
          const dst = a.u16(head, c.vocab * this.hiddenPad);
          for (let r = 0; r < count; r++) {
            dst.set(rows.subarray(r * c.hidden, (r + 1) * c.hidden), (first + r) * this.hiddenPad);
          }
        }
      });
    } else if (halves) {
      this.head = a.alloc(c.vocab * this.hiddenPad * 2);
      const dst = a.u16(this.head, c.vocab * this.hiddenPad);
      for (let r = 0; r < c.vocab; r++) {
        dst.set(halves.subarray(r * c.hidden, (r + 1) * c.hidden), r * this.hiddenPad);
      }
    } else {
      const f = emb as Float32Array;
      this.head = a.alloc(c.vocab * this.hiddenPad * 4);
      const dst = a.f32(this.head, c.vocab * this.hiddenPad);
      for (let r = 0; r < c.vocab; r++) {
        dst.set(f.subarray(r * c.hidden, (r + 1) * c.hidden), r * this.hiddenPad);
      }
    }

    for (const l of weights.layers) {
      this.layers.push({
        attnNorm: floats(l.attnNorm),
        qkv: linear([l.wq, l.wk, l.wv]),
        attnSubNorm: floats(l.attnSubNorm),
        wo: linear([l.wo]),
        ffnNorm: floats(l.ffnNorm),
        gateUp: linear([l.wGate, l.wUp]),
        ffnSubNorm: floats(l.ffnSubNorm),
        down: linear([l.wDown]),
        keyCache: a.alloc(this.maxPositions * kvDim * 4),
        valueCache: a.alloc(this.maxPositions * kvDim * 4),
      });
    }
    this.outputNorm = floats(weights.outputNorm);

    const B = this.maxBatch;
    this.xqStride = Math.max(paddedCols(c.hidden), paddedCols(qDim), paddedCols(c.ffn));
    // the widest stacked linear, rows padded as packed
    this.dotsStride = Math.max(
      paddedRows(qDim) + 2 * paddedRows(kvDim),
      paddedRows(c.hidden),
      2 * paddedRows(c.ffn),
    );
    const f32 = (n: number) => a.alloc(n * 4);
    this.s = {
      x: f32(B * c.hidden),
      xb: f32(B * c.hidden),
      xb2: f32(B * c.hidden),
      q: f32(B * qDim),
      k: f32(B * kvDim),
      v: f32(B * kvDim),
      att: f32(B * qDim),
      hb: f32(B * c.ffn),
      hb2: f32(B * c.ffn),
      xq: a.alloc(B * this.xqStride),
      xsum: a.alloc(B * 4),
      xscale: a.alloc(B * 8),
      dots: a.alloc(B * this.dotsStride * 4),
      scores: f32(c.heads * this.maxPositions),
      cosSin: a.alloc(B * c.headDim * 8),
      xh: f32(this.hiddenPad),
      xhq: a.alloc(this.hiddenPad),
      xhPrep: a.alloc(this.hiddenPad * 4),
      xhsum: a.alloc(4),
      logits: f32(c.vocab),
    };
    this.ropeFreqs = Float64Array.from(
      { length: c.headDim / 2 },
      (_, i) => c.ropeTheta ** (-(2 * i) / c.headDim),
    );
    this.logitsView = a.f32(this.s.logits, c.vocab);
  }

  /** Runs the weight reads the constructor laid out, one at a time, in file order. */
  private async loadPending(): Promise<void> {
    for (const load of this.pendingLoads) await load();
    this.pendingLoads = [];
  }

  /**
   * Threads to use here: the cores the runtime reports (at most 4: decoding is bound by
   * memory bandwidth, which two to four cores saturate) when SharedArrayBuffer is usable
   * (a cross-origin isolated page, a worker of one, or Node), else 1.
   */
  static defaultThreads(): number {
    const isolated =
      globalThis.crossOriginIsolated === true ||
      (typeof process !== "undefined" && typeof process.versions?.node === "string");
    if (!isolated || typeof SharedArrayBuffer !== "function") return 1;
    return Math.max(1, Math.min(4, globalThis.navigator?.hardwareConcurrency ?? 1));
  }

  /** Loads the kernels, starts the threads and repacks the weights into wasm memory. */
  static async create(
    weights: KernelWeights | BitNetWeights,
    options: KernelModelOptions = {},
  ): Promise<KernelModel> {
    const threads = options.threads ?? 1;
    const shared = threads > 1;
    const facts = sharedMemoryFacts();
    if (shared && !facts.hasSharedArrayBuffer) {
      const why = singleThreadReason({ ...facts, wasmThreads: true });
      throw new Error(
        `Threads need SharedArrayBuffer, which is missing here (${why}). Use one thread.`,
      );
    }
    const module = await loadKernelModule({ build: options.build, shared });
    const memory = createMemory(shared);
    const arena = new Arena(memory);
    const kernels = instantiateKernels(module.module, memory);
    const pool = await KernelPool.create(kernels, module, arena, threads);
    try {
      const model = new KernelModel(arena, pool, weights, module, options);
      await model.loadPending();
      if (options.int8Head) model.setInt8Head(true);
      model.probeThreads();
      return model;
    } catch (e) {
      pool.close();
      throw e;
    }
  }

  /** Which head the logits come from. */
  get headFormat(): HeadFormat {
    return this.useInt8Head ? "int8" : this.exactHead;
  }

  /**
   * Switches the int8 copy of the head on or off. The copy (int8, one scale per row,
   * absmax) is made the first time it is switched on: half the bytes of f16 per token.
   */
  setInt8Head(on: boolean): void {
    if (on && this.headI8 === 0) {
      this.makeInt8Head();
      // the memory may have grown, which detaches views of a plain (unshared) memory
      this.logitsView = this.arena.f32(this.s.logits, this.config.vocab);
    }
    this.useInt8Head = on;
  }

  private makeInt8Head(): void {
    const c = this.config;
    const a = this.arena;
    const cols = this.hiddenPad;
    const ptr = a.alloc(c.vocab * cols, 64);
    const scalesPtr = a.alloc(c.vocab * 4);
    const q = a.i8(ptr, c.vocab * cols);
    const scales = a.f32(scalesPtr, c.vocab);
    const row = new Float32Array(cols);
    const src16 = this.exactHead === "f16" ? a.u16(this.head, c.vocab * cols) : undefined;
    const src32 = this.exactHead === "f32" ? a.f32(this.head, c.vocab * cols) : undefined;
    for (let r = 0; r < c.vocab; r++) {
      let max = 0;
      for (let i = 0; i < cols; i++) {
        row[i] = src16 ? halfToFloat(src16[r * cols + i]) : (src32 as Float32Array)[r * cols + i];
        max = Math.max(max, Math.abs(row[i]));
      }
      const scale = max > 0 ? max / 127 : 1;
      scales[r] = scale;
      for (let i = 0; i < cols; i++) q[r * cols + i] = Math.round(row[i] / scale);
    }
    this.headI8 = ptr;
    this.headI8Scales = scalesPtr;
  }

  forward(token: number, pos: number): Float32Array {
    this.checkToken(token);
    this.checkPosition(pos, 1);
    if (this.threads === 1) {
      this.run([token], pos, true);
      return this.logitsView;
    }
    // How many threads run follows timed decode steps (threadTuner.ts); prefill uses the
    // count decoding found fastest.
    const count = this.tuner.next();
    this.pool.active = count;
    const t0 = performance.now();
    this.run([token], pos, true);
    this.tuner.record(count, performance.now() - t0);
    this.pool.active = this.tuner.best;
    return this.logitsView;
  }

  /**
   * Times decode steps (token 0 at position 0, which every real pass overwrites before
   * reading) with each thread count, after one warm-up step, so that the first prefill
   * already runs the fastest count rather than the count the runtime reports.
   */
  private probeThreads(): void {
    if (this.threads === 1) return;
    this.run([0], 0, true);
    for (let round = 0; round < 3; round++) {
      for (let n = 1; n <= this.threads; n++) {
        this.pool.active = n;
        const t0 = performance.now();
        this.run([0], 0, true);
        this.tuner.record(n, performance.now() - t0);
      }
    }
    this.pool.active = this.tuner.best;
  }

  /** The threads that run now: the fastest count the decode steps measured. */
  get activeThreads(): number {
    return this.pool.active;
  }

  /**
   * Runs tokens at positions startPos.. in batches of maxBatch (each weight read once per
   * batch) and returns the logits after the last one (valid until the next call).
   */
  prefill(tokens: ArrayLike<number>, startPos: number): Float32Array {
    if (tokens.length === 0) throw new Error("Prefill needs at least one token.");
    for (let i = 0; i < tokens.length; i++) this.checkToken(tokens[i]);
    this.checkPosition(startPos, tokens.length);
    for (let i = 0; i < tokens.length; i += this.maxBatch) {
      const chunk = Array.from(
        { length: Math.min(this.maxBatch, tokens.length - i) },
        (_, j) => tokens[i + j],
      );
      this.run(chunk, startPos + i, i + chunk.length === tokens.length);
    }
    return this.logitsView;
  }

  reset(): void {
    // Attention reads only positions 0..pos, all written before they are read.
  }

  /**
   * Read bandwidth in GB/s of this engine's threads (v128 loads, split like a matvec),
   * streaming the engine's own memory, which is mostly weights: the benchmark's roofline.
   * The best of `repeats` passes (other load on the machine only ever lowers it).
   */
  measureReadBandwidth(repeats = 5): number {
    const chunks = Math.floor((this.arena.used - 65536) / 65536) - 8;
    if (this.bandwidthOut === 0) {
      this.bandwidthOut = this.arena.alloc(chunks * 16 + 64);
      this.logitsView = this.arena.f32(this.s.logits, this.config.vocab);
    }
    let best = 0;
    const active = this.pool.active;
    this.pool.active = this.threads;
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      this.pool.run("stream_read", 0, chunks, 1, [65536, this.bandwidthOut]);
      best = Math.max(best, (chunks * 65536) / ((performance.now() - t0) / 1000) / 1e9);
    }
    this.pool.active = active;
    return best;
  }

  /** Bytes of weights one decoded token streams: ternary linears and the head in use. */
  get bytesPerToken(): number {
    let bytes = 0;
    for (const l of this.layers) {
      for (const w of [l.qkv, l.wo, l.gateUp, l.down]) bytes += w.rows * w.stride;
    }
    const c = this.config;
    const headBytes = this.useInt8Head ? 1 : this.exactHead === "f16" ? 2 : 4;
    return bytes + c.vocab * this.hiddenPad * headBytes;
  }

  /** Stops the kernel threads. */
  dispose(): void {
    this.pool.close();
  }

  private checkToken(token: number) {
    if (!Number.isInteger(token) || token < 0 || token >= this.config.vocab) {
      throw new Error(`Token id ${token} is outside the vocabulary (0..${this.config.vocab - 1}).`);
    }
  }

  private checkPosition(pos: number, count: number) {
    if (!Number.isInteger(pos) || pos < 0 || pos + count > this.maxPositions) {
      throw new Error(
        `Positions ${pos}..${pos + count - 1} are outside the KV cache (0..${this.maxPositions - 1}).`,
      );
    }
  }

  /**
   * RMSNorm of `count` rows of n floats (src, n floats apart) with `weight` into normOut
   * (may be src), then their int8 quantisation into s.xq, s.xsum, s.xscale; a batch is
   * split by token over the pool.
   */
  private normQuantize(src: number, normOut: number, weight: number, n: number, count: number) {
    const s = this.s;
    this.pool.run("norm_quantize", 0, count, 1, [
      src,
      normOut,
      weight,
      n,
      this.config.normEps,
      s.xq,
      this.xqStride,
      s.xsum,
      s.xscale,
    ]);
  }

  /**
   * out_part[t] = W_part · x_t for the quantised rows in s.xq: integer dots on the pool,
   * then × weight scale / activation scale. outs[i] receives part i (stride rows_i).
   */
  private linear(w: PackedLinear, count: number, outs: number[]) {
    const s = this.s;
    if (count === 1) {
      const xSum = this.arena.i32(s.xsum, 1)[0];
      this.pool.run("ternary_dots", 0, w.rows, 4, [
        w.ptr,
        w.stride,
        s.xq,
        xSum,
        s.dots,
        this.dotAdd,
      ]);
    } else {
      this.pool.run("ternary_dots_batch", 0, w.rows, 4, [
        w.ptr,
        w.stride,
        s.xq,
        this.xqStride,
        s.xsum,
        count,
        s.dots,
        this.dotsStride,
        this.dotAdd,
      ]);
    }
    for (let p = 0; p < w.parts.length; p++) {
      const part = w.parts[p];
      this.pool.run("scale_dots_tokens", 0, count, 1, [
        outs[p],
        s.dots + part.first * 4,
        this.dotsStride,
        part.rows,
        part.scale,
        s.xscale,
      ]);
    }
  }

  /** cos and sin of every RoPE angle for positions pos..pos + count − 1 (once per pass). */
  private setRope(pos: number, count: number) {
    const half = this.config.headDim / 2;
    const cs = this.arena.f64(this.s.cosSin, 2 * half * count);
    for (let t = 0; t < count; t++) {
      for (let i = 0; i < half; i++) {
        const angle = (pos + t) * this.ropeFreqs[i];
        cs[2 * half * t + i] = Math.cos(angle);
        cs[2 * half * t + i + half] = Math.sin(angle);
      }
    }
  }

  private embed(token: number, dst: number) {
    const c = this.config;
    const out = this.arena.f32(dst, c.hidden);
    if (this.exactHead === "f16") {
      const row = this.arena.u16(this.head + token * this.hiddenPad * 2, c.hidden);
      for (let i = 0; i < c.hidden; i++) out[i] = halfToFloat(row[i]);
    } else {
      out.set(this.arena.f32(this.head + token * this.hiddenPad * 4, c.hidden));
    }
  }

  /** The forward pass for `tokens` at positions pos.. (one batch); logits of the last. */
  private run(tokens: number[], pos: number, wantLogits: boolean) {
    const c = this.config;
    const k = this.k;
    const s = this.s;
    const T = tokens.length;
    const qDim = c.heads * c.headDim;
    const H = c.hidden * 4;
    const relu2 = c.activation === "relu2" ? 1 : 0;

    // token embedding
    for (let t = 0; t < T; t++) this.embed(tokens[t], s.x + t * H);
    this.setRope(pos, T);

    for (const w of this.layers) {
      // attention rmsnorm, one int8 quantisation for q, k and v
      this.normQuantize(s.x, s.xb, w.attnNorm, c.hidden, T);

      // qkv matmuls
      this.linear(w.qkv, T, [s.q, s.k, s.v]);

      // RoPE (NEOX) on q and k, then k and v into the cache at pos + t
      this.pool.run("rope_cache_tokens", 0, T, 1, [
        s.q,
        s.k,
        s.v,
        c.heads,
        c.kvHeads,
        c.headDim,
        s.cosSin,
        w.keyCache,
        w.valueCache,
        pos,
        this.maxPositions,
      ]);

      // grouped-query attention over positions 0..pos + t; short contexts stay on this
      // thread (a pool round trip costs more than the work)
      const attnArgs = [
        s.att,
        s.q,
        w.keyCache,
        w.valueCache,
        pos,
        T,
        qDim,
        c.heads,
        c.kvHeads,
        c.headDim,
        s.scores,
        this.maxPositions,
      ];
      if ((pos + T) * T * qDim < this.attentionPoolMin) {
        (k.attention_tokens as (...a: number[]) => void)(0, c.heads, ...attnArgs);
      } else this.pool.run("attention_tokens", 0, c.heads, 1, attnArgs);

      // attn_sub_norm, then the output projection
      this.normQuantize(s.att, s.att, w.attnSubNorm, qDim, T);
      this.linear(w.wo, T, [s.xb2]);

      // residual
      k.add_into(s.x, s.xb2, T * c.hidden);

      // ffn rmsnorm, one quantisation for gate and up
      this.normQuantize(s.x, s.xb, w.ffnNorm, c.hidden, T);

      // gate and up matmuls
      this.linear(w.gateUp, T, [s.hb, s.hb2]);

      // gated activation, ffn_sub_norm, then the down projection
      this.pool.run("gate_tokens", 0, T, 1, [s.hb, s.hb, s.hb2, c.ffn, relu2]);
      this.normQuantize(s.hb, s.hb, w.ffnSubNorm, c.ffn, T);
      this.linear(w.down, T, [s.xb2]);

      // residual
      k.add_into(s.x, s.xb2, T * c.hidden);
    }
    if (!wantLogits) return;

    // final rmsnorm (last token), into the zero-padded head input
    k.rms_norm(s.xh, s.x + (T - 1) * H, this.outputNorm, c.hidden, c.normEps);

    // tied output head
    if (this.useInt8Head) {
      const xScale = k.quantize(s.xhq, s.xh, c.hidden, this.hiddenPad, s.xhsum);
      k.prep_head_i8(s.xhPrep, s.xhq, this.hiddenPad);
      this.pool.run("head_i8", 0, c.vocab, 16, [
        this.headI8,
        this.hiddenPad,
        this.headI8Scales,
        s.xhPrep,
        xScale,
        s.logits,
      ]);
    } else if (this.exactHead === "f16") {
      const outScale = k.prep_head_f16(s.xhPrep, s.xh, this.hiddenPad);
      this.pool.run("head_f16", 0, c.vocab, 16, [
        this.head,
        this.hiddenPad,
        s.xhPrep,
        outScale,
        s.logits,
      ]);
    } else {
      this.pool.run("head_f32", 0, c.vocab, 16, [this.head, this.hiddenPad, s.xh, s.logits]);
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

function checkShapes(c: BitNetConfig, w: KernelWeights, maxPositions: number, maxBatch: number) {
  if (c.headDim % 4 !== 0 || c.headDim * c.heads <= 0) {
    throw new Error(`The kernels need a head dimension that is a multiple of 4, got ${c.headDim}.`);
  }
  if (c.heads % c.kvHeads !== 0) {
    throw new Error(`${c.heads} attention heads do not split into ${c.kvHeads} KV head groups.`);
  }
  if (!Number.isInteger(maxPositions) || maxPositions < 1 || maxPositions > c.contextLength) {
    throw new Error(
      `The KV cache size must be 1..${c.contextLength} positions, got ${maxPositions}.`,
    );
  }
  if (!Number.isInteger(maxBatch) || maxBatch < 1) {
    throw new Error(`The prefill batch must be a whole number ≥ 1, got ${maxBatch}.`);
  }
  if (w.layers.length !== c.layers) {
    throw new Error(`The config has ${c.layers} layers but the weights have ${w.layers.length}.`);
  }
  if (w.tokenEmbedding.length !== c.vocab * c.hidden) {
    throw new Error(
      `The token embedding has ${w.tokenEmbedding.length} values; vocab × hidden is ${c.vocab * c.hidden}.`,
    );
  }
  const qDim = c.heads * c.headDim;
  const kvDim = c.kvHeads * c.headDim;
  const expect = (name: string, m: TernarySource, rows: number, cols: number) => {
    if (m.rows !== rows || m.cols !== cols) {
      throw new Error(`${name} is ${m.rows}×${m.cols}; the config needs ${rows}×${cols}.`);
    }
  };
  w.layers.forEach((l, i) => {
    expect(`Layer ${i} wq`, l.wq, qDim, c.hidden);
    expect(`Layer ${i} wk`, l.wk, kvDim, c.hidden);
    expect(`Layer ${i} wv`, l.wv, kvDim, c.hidden);
    expect(`Layer ${i} wo`, l.wo, c.hidden, qDim);
    expect(`Layer ${i} wGate`, l.wGate, c.ffn, c.hidden);
    expect(`Layer ${i} wUp`, l.wUp, c.ffn, c.hidden);
    expect(`Layer ${i} wDown`, l.wDown, c.hidden, c.ffn);
  });
}
