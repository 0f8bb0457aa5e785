// Micro-benchmarks of single kernels on one thread, in whatever context runs them (Node,
// or the browser benchmark page's Worker: `npx tsx scripts/bench/browser.ts --kernels`).
// Matrices are replicated past the caches so that weights stream from memory as in
// decoding. Figures: G multiply-adds/s and GB/s of weight bytes; median of 7.
import { Arena, createMemory } from "../../src/engine/kernels/arena.ts";
import { packedStride, packTernaryCodes, paddedCols } from "../../src/engine/kernels/pack.ts";
import {
  BATCH_SCRATCH_BYTES_PER_ROW,
  formName,
  instantiateKernels,
  type KernelBuild,
  loadKernelModule,
  type TernaryForm,
} from "../../src/engine/kernels/wasm-module.ts";
import { ternaryDots } from "../../src/engine/reference/ops.ts";
import { compileBenchWasm } from "./bench-wasm.ts";

interface CandidateExports {
  lut_dots(groups: number, w: number, quads: number, tables: number, out: number): void;
  lut_tables(x: number, cols: number, tables: number): void;
  relaxed_add_dots(
    rows: number,
    w: number,
    stride: number,
    x: number,
    xSum: number,
    out: number,
  ): void;
  mask_dots4(rows: number, w: number, stride: number, x: number, xSum: number, out: number): void;
}

function candidateModule(build: KernelBuild): Promise<WebAssembly.Module> {
  return compileBenchWasm(
    build === "relaxed-simd"
      ? new URL("../../wasm-kernels/build/candidates-relaxed.wasm", import.meta.url)
      : new URL("../../wasm-kernels/build/candidates-simd128.wasm", import.meta.url),
  );
}

/** Codes (rows × cols, rows a multiple of 16, cols of 4) in lut_dots's layout. */
function packLut(codes: Int8Array, rows: number, cols: number): Uint8Array {
  const quads = cols / 4;
  const out = new Uint8Array(rows * quads);
  for (let g = 0; g < rows / 16; g++) {
    for (let q = 0; q < quads; q++) {
      for (let j = 0; j < 16; j++) {
        const base = (g * 16 + j) * cols + 4 * q;
        const c = (i: number) => codes[base + i] + 1;
        out[(g * quads + q) * 16 + j] = (c(0) + 4 * c(1)) | ((c(2) + 4 * c(3)) << 4);
      }
    }
  }
  return out;
}

export interface KernelFigure {
  build: KernelBuild;
  kernel: string;
  ms: number;
  gmac_s: number;
  gb_s: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export async function benchKernels(builds: KernelBuild[]): Promise<KernelFigure[]> {
  const figures: KernelFigure[] = [];
  for (const build of builds) {
    const mod = await loadKernelModule({ build, shared: false });
    const memory = createMemory(false);
    const a = new Arena(memory);
    const k = instantiateKernels(mod.module, memory);
    const cand = new WebAssembly.Instance(await candidateModule(build), { env: { memory } })
      .exports as unknown as CandidateExports;
    const time = (kernel: string, macs: number, bytes: number, f: () => void) => {
      f();
      const ms: number[] = [];
      for (let i = 0; i < 7; i++) {
        const t = performance.now();
        f();
        ms.push(performance.now() - t);
      }
      const m = median(ms);
      figures.push({ build, kernel, ms: m, gmac_s: macs / m / 1e6, gb_s: bytes / m / 1e6 });
    };
    const fill = (p: number, n: number) => {
      const v = a.u8(p, n);
      for (let i = 0; i < n; i++) v[i] = ((i * 2654435761) >>> 24) & 0xaa; // codes 0..2 only
    };

    // ternary decode: 2560 × 6912 (down projection) × 24 copies = 106 MB
    const rows = 2560;
    const cols = 6912;
    const stride = packedStride(cols);
    const copies = 24;
    const mats: number[] = [];
    for (let i = 0; i < copies; i++) {
      const p = a.alloc(rows * stride);
      fill(p, rows * stride);
      mats.push(p);
    }
    const xs = paddedCols(cols);
    const T = 32;
    const x = a.alloc(T * xs);
    fill(x, T * xs);
    const sums = a.alloc(T * 4);
    const out = a.alloc(T * 6912 * 4);
    const scratch = a.alloc(rows * BATCH_SCRATCH_BYTES_PER_ROW);
    // every exact form is timed (the engine runs the fastest, wasm-module.ts); the lane
    // form reads x as its own inputs (32 tokens' bytes are enough): the values do not
    // change the time
    const modes = mod.forms;
    const form = (f: TernaryForm) => ` (${formName(f, mod.build)})`;
    for (const f of modes) {
      time(`ternary_dots 2560×6912${form(f)}`, copies * rows * cols, copies * rows * stride, () => {
        for (const m of mats) k.ternary_dots(0, rows, m, stride, x, 0, out, f);
      });
    }
    // candidates: checked against the reference on one matrix, then timed on the copies
    let relaxedAddOk = false;
    {
      const [r, cc] = [64, 512];
      const codes = Int8Array.from({ length: r * cc }, (_, i) => ((i * 7919) % 3) - 1);
      const xq = Int8Array.from({ length: cc }, (_, i) => ((i * 37) % 255) - 127);
      const expected = new Int32Array(r);
      ternaryDots(expected, codes, r, cc, xq);
      const xp = a.alloc(cc);
      a.i8(xp, cc).set(xq);
      const tp = a.alloc((cc / 2) * 32);
      const lw = a.alloc(r * (cc / 4));
      a.u8(lw, r * (cc / 4)).set(packLut(codes, r, cc));
      const op = a.alloc(r * 4);
      cand.lut_tables(xp, cc, tp);
      cand.lut_dots(r / 16, lw, cc / 4, tp, op);
      if (a.i32(op, r).some((v, i) => v !== expected[i]))
        throw new Error(`lut_dots is wrong (${build})`);
      if (build === "relaxed-simd") {
        const st = packedStride(cc);
        const pw = a.alloc(r * st);
        packTernaryCodes(a.u8(pw, r * st), codes, r, cc);
        cand.relaxed_add_dots(
          r,
          pw,
          st,
          xp,
          xq.reduce((s2, v) => s2 + v, 0),
          op,
        );
        // Node 20's V8 computes the relaxed dot-add wrongly: then it is not timed
        relaxedAddOk = a.i32(op, r).every((v, i) => v === expected[i]);
        cand.mask_dots4(
          r,
          pw,
          st,
          xp,
          xq.reduce((s2, v) => s2 + v, 0),
          op,
        );
        if (relaxedAddOk && a.i32(op, r).some((v, i) => v !== expected[i]))
          throw new Error("mask_dots4 is wrong");
      }
    }
    const lutTables = a.alloc((cols / 2) * 32);
    time("candidate: lut_tables (per token)", cols, 0, () => cand.lut_tables(x, cols, lutTables));
    time("candidate: lut_dots 2560×6912", copies * rows * cols, copies * rows * stride, () => {
      // same bytes as the 2-bit layout; the content does not change the speed
      for (const m of mats) cand.lut_dots(rows / 16, m, cols / 4, lutTables, out);
    });
    if (relaxedAddOk) {
      time(
        "candidate: relaxed_add_dots 2560×6912",
        copies * rows * cols,
        copies * rows * stride,
        () => {
          for (const m of mats) cand.relaxed_add_dots(rows, m, stride, x, 0, out);
        },
      );
    }
    if (relaxedAddOk) {
      time("candidate: mask_dots4 2560×6912", copies * rows * cols, copies * rows * stride, () => {
        for (const m of mats) cand.mask_dots4(rows, m, stride, x, 0, out);
      });
    }
    for (const f of modes) {
      time(
        `ternary_dots_batch ×${T} tokens${form(f)}`,
        4 * rows * cols * T,
        4 * rows * stride,
        () => {
          for (const m of mats.slice(0, 4)) {
            k.ternary_dots_batch(0, rows, m, stride, x, xs, sums, T, out, rows, f, scratch);
          }
        },
      );
    }

    // head: 32768 rows of the 2560-wide head (168 MB in f16)
    const hRows = 32768;
    const hCols = 2560;
    const h16 = a.alloc(hRows * hCols * 2);
    const hv = a.u16(h16, hRows * hCols);
    for (let i = 0; i < hv.length; i++) hv[i] = 0x2000 + ((i * 40503) & 0x3fff); // normal halves, both signs
    const hx = a.alloc(hCols * 4);
    a.f32(hx, hCols).fill(0.5);
    const hout = a.alloc(hRows * 4);
    time("head_f16", hRows * hCols, hRows * hCols * 2, () =>
      k.head_f16(0, hRows, h16, hCols, hx, 1, hout),
    );
    const h8 = a.alloc(hRows * hCols);
    fill(h8, hRows * hCols);
    const hScales = a.alloc(hRows * 4);
    const x16 = a.alloc(hCols * 4);
    a.i8(x16 + hCols * 2, hCols).fill(77); // |x|: any value ≤ 127
    time("head_i8", hRows * hCols, hRows * hCols, () =>
      k.head_i8(0, hRows, h8, hCols, hScales, x16, 1, hout),
    );

    // attention, one query, 2B4T heads (20 query heads on 5 KV heads of 128), over the
    // caches of 30 layers; multiply-adds: scores and the value sum
    const [heads, kvHeads, headDim, positions] = [20, 5, 128, 1024];
    const q = a.alloc(heads * headDim * 4);
    a.f32(q, heads * headDim).fill(0.01);
    const caches: number[] = [];
    for (let l = 0; l < 30; l++) {
      const kv = a.alloc(2 * kvHeads * positions * headDim * 4);
      a.f32(kv, 2 * kvHeads * positions * headDim).fill(0.02);
      caches.push(kv);
    }
    const scores = a.alloc(heads * positions * 4);
    const aout = a.alloc(heads * headDim * 4);
    const kvBytes = kvHeads * positions * headDim * 4;
    time(
      `attention at ${positions} positions`,
      30 * 2 * heads * positions * headDim,
      30 * 2 * kvBytes,
      () => {
        for (const kv of caches) {
          k.attention(
            0,
            heads,
            aout,
            q,
            kv,
            kv + kvBytes,
            positions - 1,
            heads,
            kvHeads,
            headDim,
            scores,
            positions,
          );
        }
      },
    );
  }
  return figures;
}

export interface FormFigure {
  build: KernelBuild;
  form: string;
  /** G multiply-adds/s: one token over weights streamed from memory (decode). */
  decode: number;
  /** G multiply-adds/s: 32 tokens per call (prefill). */
  prefill: number;
  /** Whether the load-time probe picked this form for decode / prefill. */
  chosen: string;
}

/**
 * The ternary forms of both builds, timed interleaved (round after round, every build and
 * form in each) in short calls (one 2560 × 6912 matrix, streamed from memory, for
 * decode; 256 of its rows × 32 tokens for prefill), the fastest call counting: on a
 * shared machine short calls often run undisturbed, and noise only adds time. The
 * SIMD128-to-relaxed ratio is read within one run. A build the engine cannot compile
 * is left out.
 */
export async function benchTernaryForms(rounds = 40): Promise<FormFigure[]> {
  const rows = 2560;
  const cols = 6912;
  const stride = packedStride(cols);
  const copies = 8;
  const T = 32;
  const prefillRows = 256;
  const xs = paddedCols(cols);
  type Run = { fig: FormFigure; calls: ((copy: number) => void)[]; best: number[] };
  const runs: Run[] = [];
  for (const build of ["simd128", "relaxed-simd"] as const) {
    // an engine without relaxed SIMD (WebKit) times the SIMD128 build alone
    const mod = await loadKernelModule({ build, shared: false }).catch(() => undefined);
    if (!mod) continue;
    const memory = createMemory(false);
    const a = new Arena(memory);
    const k = instantiateKernels(mod.module, memory);
    const mats: number[] = [];
    for (let i = 0; i < copies; i++) {
      const p = a.alloc(rows * stride);
      const v = a.u8(p, rows * stride);
      for (let j = 0; j < v.length; j++) v[j] = ((j * 2654435761) >>> 24) & 0xaa;
      mats.push(p);
    }
    const x = a.alloc(T * xs);
    a.i8(x, T * xs).forEach((_, j, v) => {
      v[j] = ((j * 40503) & 0xff) - 128;
    });
    const sums = a.alloc(T * 4);
    const out = a.alloc(T * rows * 4);
    const scratch = a.alloc(rows * BATCH_SCRATCH_BYTES_PER_ROW);
    // (the lane form reads x as its own inputs and the bytes as its layout: same time)
    for (const f of mod.forms) {
      const chosen = [mod.decodeForm === f ? "decode" : "", mod.prefillForm === f ? "prefill" : ""];
      runs.push({
        fig: {
          build,
          form: formName(f, build),
          decode: 0,
          prefill: 0,
          chosen: chosen.filter(Boolean).join("+"),
        },
        calls: [
          (c) => k.ternary_dots(0, rows, mats[c], stride, x, 0, out, f),
          (c) =>
            k.ternary_dots_batch(
              0,
              prefillRows,
              mats[c],
              stride,
              x,
              xs,
              sums,
              T,
              out,
              rows,
              f,
              scratch,
            ),
        ],
        best: [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY],
      });
    }
    // the lookup-table candidate (its own layout; the same bytes time alike), decode only
    const cand = new WebAssembly.Instance(await candidateModule(build), { env: { memory } })
      .exports as unknown as CandidateExports;
    const tables = a.alloc((cols / 2) * 32);
    cand.lut_tables(x, cols, tables);
    runs.push({
      fig: {
        build,
        form: "candidate: lookup tables (lut_dots)",
        decode: 0,
        prefill: 0,
        chosen: "",
      },
      calls: [(c) => cand.lut_dots(rows / 16, mats[c], cols / 4, tables, out)], // prefill: 0
      best: [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY],
    });
  }
  for (let r = 0; r < rounds; r++) {
    for (const run of runs) {
      run.calls.forEach((call, i) => {
        for (let j = 0; j < 4; j++) {
          const t = performance.now();
          call((r * 4 + j) % copies);
          run.best[i] = Math.min(run.best[i], performance.now() - t);
        }
      });
    }
  }
  return runs.map((run) => ({
    ...run.fig,
    decode: (rows * cols) / run.best[0] / 1e6,
    prefill: (T * prefillRows * cols) / run.best[1] / 1e6,
  }));
}
