/**
 * Where everything lives in the one wasm memory the thread pool shares: the weights in one
 * block (the head, each layer's norms and packed ternary linears, the final norm), then each
 * layer's KV cache, then the scratch of a forward pass (sized for maxBatch tokens). Laid out
 * once at load; weights that stream from a file are read afterwards, in file order, by the
 * returned `loads` (or the whole block is copied back from a stored image: weight-image.ts).
 */
import type { BitNetConfig } from "../bitnet/config.ts";
import type { TernaryMatrix } from "../bitnet/weights.ts";
import type { Arena } from "./arena.ts";
import { Head } from "./head-formats.ts";
import { packedBytes, packedStride, packTernaryCodes, paddedCols, paddedRows } from "./pack.ts";
import { BATCH_SCRATCH_BYTES_PER_ROW, laneInputBytes } from "./wasm-module.ts";

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

/** A norm's weights read when the model asks (see TernarySource's load). */
export interface LazyFloats {
  length: number;
  load: () => Promise<Float32Array>;
}

/** A norm's weights: in hand, or read later. */
export type FloatSource = Float32Array | LazyFloats;

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
  outputNorm: FloatSource;
  layers: {
    attnNorm: FloatSource;
    wq: TernarySource;
    wk: TernarySource;
    wv: TernarySource;
    attnSubNorm: FloatSource;
    wo: TernarySource;
    ffnNorm: FloatSource;
    wGate: TernarySource;
    wUp: TernarySource;
    ffnSubNorm: FloatSource;
    wDown: TernarySource;
  }[];
}

/**
 * How the KV cache stores a value: f32 (exact, as the reference) or bf16 (an f32's upper
 * half, rounded to nearest: half the memory and half the bytes attention reads).
 */
export type KvFormat = "f32" | "bf16";
export const KV_BYTES: Record<KvFormat, number> = { f32: 4, bf16: 2 };

/**
 * The KV cache's layout, the one place that knows it (the kernels in attention.ts follow
 * it): each layer's key cache and value cache are [kvHead][capacity][headDim] values of
 * KV_BYTES[format], so that one KV head's positions are one stream.
 */
export interface KvLayout {
  format: KvFormat;
  /** Positions each KV head holds. */
  capacity: number;
  kvHeads: number;
  headDim: number;
  /** Bytes of one position of one KV head. */
  rowBytes: number;
}

/** Byte offset, inside a layer's key or value cache, of KV head `g` at position `pos`. */
export function kvRowOffset(kv: KvLayout, g: number, pos: number): number {
  return (g * kv.capacity + pos) * kv.rowBytes;
}

/** One layer's weights and KV cache (byte offsets). */
export interface LayerLayout {
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

/** A forward pass's scratch buffers (byte offsets), each sized for maxBatch tokens. */
export type Scratch = Record<
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
  | "unpacked"
  | "laneInputs"
  | "scores"
  | "attInv"
  | "cosSin"
  | "xh"
  | "xhq"
  | "xhPrep"
  | "xhsum"
  | "logits",
  number
>;

export interface MemoryLayout {
  head: Head;
  layers: LayerLayout[];
  outputNorm: number;
  scratch: Scratch;
  /** Bytes between tokens' int8 activations in scratch.xq. */
  xqStride: number;
  /** Int32s between tokens' dots in scratch.dots: the widest stacked linear's rows. */
  dotsStride: number;
  /** Weight reads laid out but not yet done; run them in order, one at a time. */
  loads: (() => Promise<void>)[];
  kv: KvLayout;
  /** The block [start, end) that holds every weight (and nothing else). */
  weights: { start: number; end: number };
  /** Every ternary linear's parts, in layout order (their scales complete the weights). */
  linearParts: PackedLinear["parts"];
}

/** Checks the weights against the config, then lays out the memory (see the file header). */
export function layOutMemory(
  a: Arena,
  weights: KernelWeights,
  maxPositions: number,
  maxBatch: number,
  kvFormat: KvFormat = "f32",
): MemoryLayout {
  const c = weights.config;
  checkShapes(c, weights, maxPositions, maxBatch);
  // the bf16 kernels read eight values a load: other head sizes keep the f32 cache
  const format: KvFormat = kvFormat === "bf16" && c.headDim % 8 === 0 ? "bf16" : "f32";
  const kv: KvLayout = {
    format,
    capacity: maxPositions,
    kvHeads: c.kvHeads,
    headDim: c.headDim,
    rowBytes: c.headDim * KV_BYTES[format],
  };
  const kvCacheBytes = kv.kvHeads * kv.capacity * kv.rowBytes;
  const qDim = c.heads * c.headDim;
  const kvDim = c.kvHeads * c.headDim;
  const loads: (() => Promise<void>)[] = [];

  const floats = (v: FloatSource) => {
    const p = a.alloc(v.length * 4);
    if (v instanceof Float32Array) a.f32(p, v.length).set(v);
    else {
      loads.push(async () => {
        const values = await v.load();
        if (values.length !== v.length) {
          throw new Error(`A norm has ${values.length} values; the config needs ${v.length}.`);
        }
        a.f32(p, v.length).set(values);
      });
    }
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
        loads.push(async () => {
          part.scale = await m.load(a.u8(at, bytes));
        });
      }
      row += paddedRows(m.rows);
    }
    return packed;
  };

  // head first: the biggest block, and the embedding lookup reads it
  const weightsStart = a.alloc(0, 65536);
  const head = Head.place(a, weights.tokenEmbedding, c.vocab, c.hidden, loads);

  const layerWeights = weights.layers.map((l) => ({
    attnNorm: floats(l.attnNorm),
    qkv: linear([l.wq, l.wk, l.wv]),
    attnSubNorm: floats(l.attnSubNorm),
    wo: linear([l.wo]),
    ffnNorm: floats(l.ffnNorm),
    gateUp: linear([l.wGate, l.wUp]),
    ffnSubNorm: floats(l.ffnSubNorm),
    down: linear([l.wDown]),
  }));
  const outputNorm = floats(weights.outputNorm);
  const weightsEnd = a.alloc(0, 65536);
  const linearParts = layerWeights.flatMap((l) =>
    [l.qkv, l.wo, l.gateUp, l.down].flatMap((w) => w.parts),
  );
  // the KV caches after the weights, so that the weights are one block
  const layers = layerWeights.map(
    (l): LayerLayout => ({
      ...l,
      keyCache: a.alloc(kvCacheBytes, 64),
      valueCache: a.alloc(kvCacheBytes, 64),
    }),
  );

  const B = maxBatch;
  const xqStride = Math.max(paddedCols(c.hidden), paddedCols(qDim), paddedCols(c.ffn));
  // the widest stacked linear, rows padded as packed
  const dotsStride = Math.max(
    paddedRows(qDim) + 2 * paddedRows(kvDim),
    paddedRows(c.hidden),
    2 * paddedRows(c.ffn),
  );
  const f32 = (n: number) => a.alloc(n * 4);
  const scratch: Scratch = {
    x: f32(B * c.hidden),
    xb: f32(B * c.hidden),
    xb2: f32(B * c.hidden),
    q: f32(B * qDim),
    k: f32(B * kvDim),
    v: f32(B * kvDim),
    att: f32(B * qDim),
    hb: f32(B * c.ffn),
    hb2: f32(B * c.ffn),
    xq: a.alloc(B * xqStride),
    xsum: a.alloc(B * 4),
    xscale: a.alloc(B * 8),
    dots: a.alloc(B * dotsStride * 4),
    // the prefill kernel's scratch (the row-pair form unpacks weights there)
    unpacked: a.alloc(dotsStride * BATCH_SCRATCH_BYTES_PER_ROW, 64),
    // one token's activations as the lane form reads them (ternary_lane_inputs)
    laneInputs: a.alloc(laneInputBytes(xqStride), 64),
    scores: f32(c.heads * maxPositions),
    attInv: f32(c.heads),
    cosSin: a.alloc(B * c.headDim * 8),
    xh: f32(head.cols),
    xhq: a.alloc(head.cols),
    xhPrep: a.alloc(head.cols * 4),
    xhsum: a.alloc(4),
    logits: f32(c.vocab),
  };
  return {
    head,
    layers,
    outputNorm,
    scratch,
    xqStride,
    dotsStride,
    loads,
    kv,
    weights: { start: weightsStart, end: weightsEnd },
    linearParts,
  };
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
