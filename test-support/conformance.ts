/**
 * Conformance checks of one kernel build against the scalar reference, runnable in any
 * JavaScript context: the Chromium test runs them in a page Worker for both builds
 * (scripts/bench/browser-check.test.ts); Node runs the fuller vitest suites. Returns the
 * failures in words (empty = conformant).
 */

import type { BitNetConfig } from "../src/engine/bitnet/config.ts";
import { Arena, createMemory } from "../src/engine/kernels/arena.ts";
import { KernelModel } from "../src/engine/kernels/model.ts";
import {
  headMajorCache,
  packedBytes,
  packedStride,
  packTernaryCodes,
  paddedCols,
  paddedRows,
} from "../src/engine/kernels/pack.ts";
import {
  BATCH_SCRATCH_BYTES_PER_ROW,
  formName,
  instantiateKernels,
  type KernelBuild,
  LANE_FORM,
  laneInputBytes,
  loadKernelModule,
} from "../src/engine/kernels/wasm-module.ts";
import { ReferenceModel } from "../src/engine/reference/forward.ts";
import {
  attention,
  matVec,
  quantizeActivations,
  rmsNorm,
  ternaryDots,
} from "../src/engine/reference/ops.ts";
import { mulberry32, proportionedConfig, randomBitNetWeights } from "./random-weights.ts";

const conformanceModel: BitNetConfig = proportionedConfig({ layers: 2, contextLength: 32 });

export async function checkBuild(build: KernelBuild, threads: number[]): Promise<string[]> {
  const failures: string[] = [];
  const fail = (what: string) => failures.push(`${build}: ${what}`);
  const rand = mulberry32(7);
  const mod = await loadKernelModule({ build, shared: false });
  const memory = createMemory(false);
  const a = new Arena(memory);
  const k = instantiateKernels(mod.module, memory);
  // quantize's range, [−127, 127]: the row-pair and lane forms are exact there
  const int8s = (n: number) => Int8Array.from({ length: n }, () => Math.floor(rand() * 255) - 127);
  const floats = (n: number, s = 1) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * s);
  const put = (v: Float32Array) => {
    const p = a.alloc(v.length * 4);
    a.f32(p, v.length).set(v);
    return p;
  };

  // ternary dots, decode and prefill, exact
  for (const [rows, cols] of [
    [3, 5],
    [9, 129],
    [13, 300],
    [640, 2560],
  ]) {
    const codes = Int8Array.from({ length: rows * cols }, () => Math.floor(rand() * 3) - 1);
    const stride = packedStride(cols);
    const w = a.alloc(packedBytes(rows, cols));
    packTernaryCodes(a.u8(w, packedBytes(rows, cols)), codes, rows, cols);
    const tokens = 5;
    const xs = paddedCols(cols);
    const x = a.alloc(tokens * xs);
    const sums = a.alloc(tokens * 4);
    const expected: Int32Array[] = [];
    for (let t = 0; t < tokens; t++) {
      const xq = int8s(cols);
      a.i8(x + t * xs, cols).set(xq);
      a.i32(sums + t * 4, 1)[0] = xq.reduce((s, v) => s + v, 0);
      const e = new Int32Array(rows);
      ternaryDots(e, codes, rows, cols, xq);
      expected.push(e);
    }
    const padded = paddedRows(rows);
    const out = a.alloc(tokens * padded * 4);
    const scratch = a.alloc(padded * BATCH_SCRATCH_BYTES_PER_ROW);
    // the lane form reads its own layout and activations (wasm-kernels/assembly/ternary-lanes.ts)
    const bytes = packedBytes(rows, cols);
    const laneW = a.alloc(bytes);
    a.u8(laneW, bytes).set(a.u8(w, bytes));
    k.ternary_lane_layout(0, padded, laneW, stride, scratch);
    const laneX = a.alloc(laneInputBytes(xs));
    k.ternary_lane_inputs(x, xs / 128, laneX);
    for (const form of mod.forms) {
      const what = `${rows}×${cols} (${formName(form, mod.build)})`;
      const [fw, fx] = form === LANE_FORM ? [laneW, laneX] : [w, x];
      k.ternary_dots(0, padded, fw, stride, fx, a.i32(sums, 1)[0], out, form);
      if (a.i32(out, rows).some((v, i) => v !== expected[0][i])) fail(`ternary_dots ${what}`);
      k.ternary_dots_batch(0, padded, fw, stride, x, xs, sums, tokens, out, padded, form, scratch);
      for (let t = 0; t < tokens; t++) {
        if (a.i32(out + t * padded * 4, rows).some((v, i) => v !== expected[t][i])) {
          fail(`ternary_dots_batch ${what} token ${t}`);
        }
      }
    }
  }

  // quantize and rms_norm, bit for bit
  const n = 2560;
  const xv = floats(n, 3);
  xv[0] = 2;
  xv[1] = (2 * 10.5) / 127; // a tie after scaling
  const q = new Int8Array(n);
  const scale = quantizeActivations(q, xv);
  const qp = a.alloc(n);
  const sp = a.alloc(4);
  if (k.quantize(qp, put(xv), n, n, sp) !== scale || a.i8(qp, n).some((v, i) => v !== q[i])) {
    fail("quantize");
  }
  const wn = floats(n);
  const rn = new Float32Array(n);
  rmsNorm(rn, xv, wn, 1e-5);
  const rp = a.alloc(n * 4);
  k.rms_norm(rp, put(xv), put(wn), n, 1e-5);
  if (a.f32(rp, n).some((v, i) => v !== rn[i])) fail("rms_norm");

  // f16 head within 1e-5 · Σ|w·x|; attention within 1e-5
  const hr = 17;
  const bits = Uint16Array.from({ length: hr * n }, (_, i) => (i * 7919) & 0x7bff);
  const hw = Float32Array.from(bits, (h) => {
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    const v = e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15);
    return h & 0x8000 ? -v : v;
  });
  const hx = floats(n);
  const he = new Float32Array(hr);
  matVec(he, hw, hr, n, hx);
  const hp = a.alloc(bits.length * 2);
  a.u16(hp, bits.length).set(bits);
  const ho = a.alloc(hr * 4);
  const hxp = put(hx);
  k.head_f16(0, hr, hp, n, hxp, k.prep_head_f16(hxp, hxp, n), ho);
  a.f32(ho, hr).forEach((v, r) => {
    let mag = 0;
    for (let c = 0; c < n; c++) mag += Math.abs(hw[r * n + c] * hx[c]);
    if (Math.abs(v - he[r]) > 1e-5 * mag) fail(`head_f16 row ${r}`);
  });
  const [heads, kvHeads, headDim, maxPos] = [6, 2, 12, 9];
  const qv = floats(heads * headDim);
  const keys = floats(maxPos * kvHeads * headDim);
  const values = floats(maxPos * kvHeads * headDim);
  const ae = new Float32Array(heads * headDim);
  attention(ae, qv, keys, values, maxPos - 1, heads, kvHeads, headDim);
  const ao = a.alloc(heads * headDim * 4);
  const scores = a.alloc(heads * maxPos * 4);
  k.attention(
    0,
    heads,
    ao,
    put(qv),
    put(headMajorCache(keys, maxPos, kvHeads, headDim)),
    put(headMajorCache(values, maxPos, kvHeads, headDim)),
    maxPos - 1,
    heads,
    kvHeads,
    headDim,
    scores,
    maxPos,
  );
  if (a.f32(ao, heads * headDim).some((v, i) => Math.abs(v - ae[i]) > 1e-5)) fail("attention");

  // the whole model: same greedy tokens as the reference, logits within 1e-3
  const weights = randomBitNetWeights(conformanceModel, 21);
  const reference = new ReferenceModel(weights);
  const refTokens = [1, 2, 3];
  const refLogits: Float32Array[] = [];
  for (let pos = 0; pos < 10; pos++) {
    const l = reference.forward(refTokens[pos], pos).slice();
    refLogits.push(l);
    if (pos >= 2) refTokens.push(l.indexOf(Math.max(...l)));
  }
  for (const t of threads) {
    const model = await KernelModel.create(weights, { build, threads: t, attentionPoolMin: 0 });
    try {
      const tokens = [1, 2, 3];
      for (let pos = 0; pos < 10; pos++) {
        const l = model.forward(tokens[pos], pos);
        let diff = 0;
        for (let i = 0; i < l.length; i++)
          diff = Math.max(diff, Math.abs(l[i] - refLogits[pos][i]));
        if (diff > 1e-3) fail(`model (${t} threads): logits at position ${pos} differ by ${diff}`);
        if (pos >= 2) tokens.push(l.indexOf(Math.max(...l)));
      }
      if (tokens.join() !== refTokens.join()) fail(`model (${t} threads): greedy tokens differ`);
    } finally {
      model.dispose();
    }
  }
  return failures;
}
