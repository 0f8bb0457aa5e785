/**
 * The fast BitNet forward pass: the reference's steps (src/engine/reference/forward.ts, same
 * names, same order) on the wasm kernels, with every buffer in one wasm memory that the
 * thread pool shares. Weights are repacked once at load; a forward pass allocates no
 * wasm memory. Where buffers live: memory-layout.ts; the head's formats: head-formats.ts;
 * how many threads: thread-mode.ts; the context shift: kv-shift.ts.
 *
 * About 550 lines on purpose: the forward pass reads top to bottom beside the reference's,
 * step by step, and splitting its steps across files would break that side-by-side reading.
 *
 *   const model = await KernelModel.create(await loadKernelWeights(blob), {
 *     threads: KernelModel.defaultThreads(), maxPositions: 4096 });
 *   let logits = model.prefill(promptTokens, 0);      // batched; logits of the last
 *   logits = model.forward(nextToken, promptTokens.length);
 *   model.setInt8Head(true);                           // optional, faster, approximate
 *   model.dispose();                                   // stops the threads
 */

import type { BitNetConfig } from "../bitnet/config.ts";
import { checkShift, type ForwardModel } from "../bitnet/forward-model.ts";
import type { BitNetWeights } from "../bitnet/weights.ts";
import { sharedMemoryFacts, singleThreadReason } from "../platform/capabilities.ts";
import { Arena, createMemory } from "./arena.ts";
import { runAttention } from "./attention-jobs.ts";
import type { Head, HeadFormat } from "./head-formats.ts";
import { shiftLayerCache, shiftRotation } from "./kv-shift.ts";
import {
  type KernelWeights,
  type KvFormat,
  type KvLayout,
  type LayerLayout,
  layOutMemory,
  type MemoryLayout,
  type PackedLinear,
  type Scratch,
} from "./memory-layout.ts";
import { KernelPool } from "./pool.ts";
import { defaultThreads, ThreadTuner } from "./thread-mode.ts";
import {
  type FormChoice,
  instantiateKernels,
  type KernelBuild,
  type KernelExports,
  type KernelModule,
  LANE_FORM,
  loadKernelModule,
  type TernaryForm,
  type TernaryLayout,
  ternaryLayoutOf,
} from "./wasm-module.ts";
import { copyBackImage, saveImage, type WeightImageStore } from "./weight-image.ts";

export interface KernelModelOptions {
  /** Kernel threads (1 = no workers; more need SharedArrayBuffer). Default 1. */
  threads?: number;
  /** Force a build; default: relaxed SIMD when it validates, else SIMD128. */
  build?: KernelBuild;
  /** Only these ternary forms are candidates (tests and benchmarks); default all. */
  forms?: readonly TernaryForm[];
  /** The forms an earlier load chose on this device (kept if still exact, not re-timed). */
  formsHint?: FormChoice;
  /** Positions the KV cache holds; default the model's context length. */
  maxPositions?: number;
  /** Also make the int8 copy of the head at load and use it. Default false. */
  int8Head?: boolean;
  /**
   * How the KV cache stores keys and values (memory-layout.ts): "f32" (exact, the default)
   * or "bf16" (half the memory; attention within bf16 rounding of the f32 cache's) when
   * the head dimension is a multiple of 8, else f32 (`kv.format` says which).
   */
  kvCache?: KvFormat;
  /** Tokens per prefill batch. Default 32. */
  maxBatch?: number;
  /**
   * Attention runs on the pool from this many query × key × dim products up (below it,
   * a pool round trip costs more than the work). Default 2^16.
   */
  attentionPoolMin?: number;
  /**
   * The thread count an earlier load found fastest here: the load then skips timing
   * every count (1 + 3 × threads decode steps); the first decode steps still time each.
   */
  threadsHint?: number;
  /**
   * Where the weights' kernel-layout image is kept (weight-image.ts): a stored image that
   * matches is copied back instead of reading the file; `fromImage` says which happened.
   */
  weightImage?: {
    store: WeightImageStore;
    /** Which model and which bytes of it (the store's record of the file). */
    modelKey: string;
    onProgress?: (fraction: number) => void;
  };
}

export class KernelModel implements ForwardModel {
  readonly config: BitNetConfig;
  readonly maxPositions: number;
  readonly build: KernelBuild;
  readonly threads: number;
  /** How the exact head is stored: f16 when every embedding value is a half, else f32. */
  readonly exactHead: "f16" | "f32";
  /** The ternary kernels' forms for one token and for a batch (timed at load). */
  readonly decodeForm: TernaryForm;
  readonly prefillForm: TernaryForm;
  /** Which kernel build chose them (KernelModule.kernels). */
  readonly kernels: string;
  /** The KV cache's format and layout (memory-layout.ts). */
  readonly kv: KvLayout;
  /** The weights were copied back from a stored image (weight-image.ts), not read from the file. */
  fromImage = false;

  private readonly k: KernelExports;
  private readonly head: Head;
  private readonly layers: LayerLayout[];
  private readonly outputNorm: number;
  private readonly s: Scratch;
  private readonly xqStride: number;
  private readonly dotsStride: number;
  private readonly maxBatch: number;
  private readonly attentionPoolMin: number;
  /** Picks how many threads run, from timed decode steps. */
  private readonly tuner: ThreadTuner;
  private logitsView: Float32Array;
  private readonly ropeFreqs: Float64Array;
  private readonly layout: MemoryLayout;
  /** Weight reads the layout left to do; create() runs them in order. */
  private pendingLoads: (() => Promise<void>)[];
  /** Milliseconds per op family of the passes since profile(true) (benchmarks only). */
  private opMs: Map<string, number> | null = null;
  private opClock = 0;

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
    this.decodeForm = module.decodeForm;
    this.prefillForm = module.prefillForm;
    this.kernels = module.kernels;
    this.threads = pool.threads;
    this.tuner = new ThreadTuner(pool.threads);
    this.k = pool.exports;
    this.maxPositions = options.maxPositions ?? c.contextLength;
    this.maxBatch = options.maxBatch ?? 32;
    this.attentionPoolMin = options.attentionPoolMin ?? 1 << 16;
    const layout = layOutMemory(
      arena,
      weights,
      this.maxPositions,
      this.maxBatch,
      options.kvCache ?? "f32",
    );
    this.kv = layout.kv;
    this.head = layout.head;
    this.exactHead = layout.head.exact;
    this.layers = layout.layers;
    this.outputNorm = layout.outputNorm;
    this.s = layout.scratch;
    this.xqStride = layout.xqStride;
    this.dotsStride = layout.dotsStride;
    this.pendingLoads = layout.loads;
    this.layout = layout;
    this.ropeFreqs = Float64Array.from(
      { length: c.headDim / 2 },
      (_, i) => c.ropeTheta ** (-(2 * i) / c.headDim),
    );
    this.logitsView = arena.f32(this.s.logits, c.vocab);
  }

  /**
   * Runs the weight reads the constructor laid out, in file order, two at a time: one
   * tensor's bytes arrive while the one before is repacked (at most two tensors are
   * outside wasm memory at once).
   */
  private async loadPending(): Promise<void> {
    const loads = this.pendingLoads;
    let next = 0;
    const lane = async () => {
      while (next < loads.length) await loads[next++]();
    };
    await Promise.all([lane(), lane()]);
    this.pendingLoads = [];
  }

  /** Copies the weights back from a matching stored image (weight-image.ts), else reads the file. */
  private async loadWeights(image: KernelModelOptions["weightImage"]): Promise<void> {
    if (image && (await copyBackImage(this.arena, this.layout, image, this.ternaryLayout))) {
      this.pendingLoads = [];
      this.fromImage = true;
      return;
    }
    await this.loadPending();
    if (this.ternaryLayout === "lane pairs") this.relayTernary();
  }

  /** How the ternary weights are laid out for the chosen forms (an image keeps it). */
  get ternaryLayout(): TernaryLayout {
    return ternaryLayoutOf(this.decodeForm);
  }

  /** Relays every ternary linear, as packed from the file, for the lane form. */
  private relayTernary() {
    for (const l of this.layers) {
      for (const w of [l.qkv, l.wo, l.gateUp, l.down]) {
        this.pool.run("ternary_lane_layout", 0, w.rows, 4, [w.ptr, w.stride, this.s.unpacked]);
      }
    }
  }

  /** Stores the weights as an image (weight-image.ts) that a later load copies back. */
  saveWeightImage(store: WeightImageStore, modelKey: string): Promise<void> {
    return saveImage(this.arena, this.layout, store, modelKey, this.ternaryLayout);
  }

  /** Threads to use here (see thread-mode.ts). */
  static defaultThreads(): number {
    return defaultThreads();
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
    performance.mark("trit:load tensor table");
    const module = await loadKernelModule({
      build: options.build,
      shared,
      forms: options.forms,
      hint: options.formsHint,
    });
    performance.mark("trit:load kernels compiled+timed");
    const memory = createMemory(shared);
    const arena = new Arena(memory);
    const kernels = instantiateKernels(module.module, memory);
    const pool = await KernelPool.create(kernels, module, arena, threads);
    performance.mark("trit:load pool started");
    try {
      const model = new KernelModel(arena, pool, weights, module, options);
      performance.mark("trit:load memory laid out");
      await model.loadWeights(options.weightImage);
      performance.mark("trit:load weights read");
      if (options.int8Head) model.setInt8Head(true);
      model.probeThreads(options.threadsHint);
      performance.mark("trit:load threads probed");
      return model;
    } catch (e) {
      pool.close();
      throw e;
    }
  }

  /** Which head the logits come from. */
  get headFormat(): HeadFormat {
    return this.head.format;
  }

  /**
   * Switches the int8 copy of the head on or off. The copy (int8, one scale per row,
   * absmax) is made the first time it is switched on: half the bytes of f16 per token.
   */
  setInt8Head(on: boolean): void {
    this.head.setInt8(on);
  }

  /**
   * The logits buffer, renewed when a memory.grow detached the old view (a plain,
   * unshared memory: the int8 head copy, or anything allocated in the arena later).
   */
  private logits(): Float32Array {
    if (this.logitsView.length === 0) {
      this.logitsView = this.arena.f32(this.s.logits, this.config.vocab);
    }
    return this.logitsView;
  }

  forward(token: number, pos: number): Float32Array {
    this.checkToken(token);
    this.checkPosition(pos, 1);
    if (this.threads === 1) {
      this.run([token], pos, true);
      return this.logits();
    }
    // How many threads run follows timed decode steps (threadTuner.ts); prefill uses the
    // count decoding found fastest.
    const count = this.tuner.next();
    this.pool.active = count;
    const t0 = performance.now();
    this.run([token], pos, true);
    this.tuner.record(count, performance.now() - t0);
    this.pool.active = this.tuner.best;
    return this.logits();
  }

  /**
   * Times decode steps (token 0 at position 0, which every real pass overwrites before
   * reading) with each thread count, after one warm-up step, so that the first prefill
   * already runs the fastest count rather than the count the runtime reports.
   */
  private probeThreads(hint?: number): void {
    if (this.threads === 1) return;
    if (hint !== undefined && Number.isInteger(hint) && hint >= 1 && hint <= this.threads) {
      this.pool.active = hint;
      return;
    }
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
    return this.logits();
  }

  /**
   * Starts (or stops) timing each op family of the forward passes: one clock read per
   * step, for benchmarks. takeProfile() returns the milliseconds summed so far.
   */
  profile(on: boolean): void {
    this.opMs = on ? new Map() : null;
  }

  takeProfile(): Record<string, number> {
    const out = Object.fromEntries(this.opMs ?? []);
    if (this.opMs) this.opMs = new Map();
    return out;
  }

  /** Adds the time since the previous mark to `op` (when profiling). */
  private mark(op: string) {
    if (this.opMs === null) return;
    const now = performance.now();
    this.opMs.set(op, (this.opMs.get(op) ?? 0) + now - this.opClock);
    this.opClock = now;
  }

  reset(): void {
    // Attention reads only positions 0..pos, all written before they are read.
  }

  shiftCache(keep: number, discard: number, used: number): void {
    checkShift(keep, discard, used, this.maxPositions);
    const kv = this.kv;
    const rotation = shiftRotation(this.ropeFreqs, discard);
    const count = kv.kvHeads * kv.capacity * kv.headDim;
    const view = (ptr: number) =>
      kv.format === "bf16" ? this.arena.u16(ptr, count) : this.arena.f32(ptr, count);
    for (const l of this.layers) {
      shiftLayerCache(view(l.keyCache), view(l.valueCache), kv, keep, discard, used, rotation);
    }
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
      // the lane form reads its own activations (no sum: its dots are Σ x·w already)
      const lanes = this.decodeForm === LANE_FORM;
      if (lanes) this.k.ternary_lane_inputs(s.xq, w.stride / 32, s.laneInputs);
      this.pool.run("ternary_dots", 0, w.rows, 4, [
        w.ptr,
        w.stride,
        lanes ? s.laneInputs : s.xq,
        lanes ? 0 : this.arena.i32(s.xsum, 1)[0],
        s.dots,
        this.decodeForm,
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
        this.prefillForm,
        s.unpacked,
      ]);
    }
    this.mark("ternary dots");
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
    this.mark("norm+quantize");
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

  /** The forward pass for `tokens` at positions pos.. (one batch); logits of the last. */
  private run(tokens: number[], pos: number, wantLogits: boolean) {
    const c = this.config;
    const k = this.k;
    const s = this.s;
    const T = tokens.length;
    const qDim = c.heads * c.headDim;
    const H = c.hidden * 4;
    const relu2 = c.activation === "relu2" ? 1 : 0;

    this.opClock = performance.now();
    // token embedding
    for (let t = 0; t < T; t++) this.head.embed(tokens[t], s.x + t * H);
    this.setRope(pos, T);
    this.mark("embed");

    for (const w of this.layers) {
      // attention rmsnorm, one int8 quantisation for q, k and v
      this.normQuantize(s.x, s.xb, w.attnNorm, c.hidden, T);
      this.mark("norm+quantize");

      // qkv matmuls
      this.linear(w.qkv, T, [s.q, s.k, s.v]);

      // RoPE (NEOX) on q and k, then k and v into the cache at pos + t
      const bf16 = this.kv.format === "bf16";
      this.pool.run(bf16 ? "rope_cache_tokens_bf16" : "rope_cache_tokens", 0, T, 1, [
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
      this.mark("attention");

      // grouped-query attention over positions 0..pos + t (attention-jobs.ts: on this
      // thread or split over the pool)
      runAttention(this.pool, {
        out: s.att,
        q: s.q,
        keys: w.keyCache,
        values: w.valueCache,
        pos,
        tokens: T,
        heads: c.heads,
        kvHeads: c.kvHeads,
        headDim: c.headDim,
        scores: s.scores,
        inv: s.attInv,
        capacity: this.maxPositions,
        bf16,
        poolMin: this.attentionPoolMin,
      });
      this.mark("attention");

      // attn_sub_norm, then the output projection
      this.normQuantize(s.att, s.att, w.attnSubNorm, qDim, T);
      this.mark("norm+quantize");
      this.linear(w.wo, T, [s.xb2]);

      // residual
      k.add_into(s.x, s.xb2, T * c.hidden);
      this.mark("elementwise");

      // ffn rmsnorm, one quantisation for gate and up
      this.normQuantize(s.x, s.xb, w.ffnNorm, c.hidden, T);
      this.mark("norm+quantize");

      // gate and up matmuls
      this.linear(w.gateUp, T, [s.hb, s.hb2]);

      // gated activation, ffn_sub_norm, then the down projection
      this.pool.run("gate_tokens", 0, T, 1, [s.hb, s.hb, s.hb2, c.ffn, relu2]);
      this.mark("elementwise");
      this.normQuantize(s.hb, s.hb, w.ffnSubNorm, c.ffn, T);
      this.mark("norm+quantize");
      this.linear(w.down, T, [s.xb2]);

      // residual
      k.add_into(s.x, s.xb2, T * c.hidden);
      this.mark("elementwise");
    }
    if (!wantLogits) return;

    // final rmsnorm (last token), into the zero-padded head input
    k.rms_norm(s.xh, s.x + (T - 1) * H, this.outputNorm, c.hidden, c.normEps);
    this.mark("norm+quantize");

    // tied output head
    this.head.logits(this.pool, s);
    this.mark("head");
  }
}
