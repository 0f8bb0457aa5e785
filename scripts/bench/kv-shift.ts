/**
 * What a context shift costs against recomputing the kept tokens, printed (not asserted).
 * Run: npx tsx scripts/bench/kv-shift.ts [--model models/tiny-i2_s.gguf]
 *
 * 1. The shift on a 2B4T-shaped KV cache (30 layers, 5 KV heads of 128, 4096 positions,
 *    f32 and bf16, head-major as the wasm engine keeps it): the oldest half of the turns leave, the
 *    rest move down and their keys turn (the same code KernelModel.shiftCache runs).
 * 2. On a real model file (default the tiny test model), in one run: KernelModel.shiftCache
 *    against prefilling the same kept tokens from position 0, which is what a session
 *    without the shift has to do.
 * Recomputing on the 2B4T itself is extrapolated from `npm run bench` prefill rates.
 */
import { openAsBlob } from "node:fs";
import { parseArgs } from "node:util";
import { readBitNetConfig } from "../../src/engine/bitnet/config.ts";
import { readGgufHeader } from "../../src/engine/gguf/index.ts";
import { KernelModel, loadKernelWeights } from "../../src/engine/kernels/index.ts";
import { shiftLayerCache, shiftRotation } from "../../src/engine/kernels/kv-shift.ts";

const { values } = parseArgs({ options: { model: { type: "string" } } });
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function time(run: () => void, repeats = 5): number {
  const ms: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    run();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

// 1. 2B4T shape, with each KV cache format
for (const format of ["f32", "bf16"] as const) {
  const layers = 30;
  const layout = { kvHeads: 5, headDim: 128, capacity: 4096 };
  const floats = layout.kvHeads * layout.headDim * layout.capacity;
  // bf16 caches hold bf16 bits: 0x3f00 is 0.5, 0x3e80 is 0.25
  const cache = (value: number, bits: number) =>
    format === "f32" ? new Float32Array(floats).fill(value) : new Uint16Array(floats).fill(bits);
  const keys = Array.from({ length: layers }, () => cache(0.5, 0x3f00));
  const vals = Array.from({ length: layers }, () => cache(0.25, 0x3e80));
  const freqs = Array.from({ length: 64 }, (_, i) => 500000 ** (-(2 * i) / 128));
  const used = 4096;
  const keep = 64; // BOS and a system prompt
  const discard = (used - keep) / 2;
  const rotation = shiftRotation(freqs, discard);
  const ms = time(() => {
    for (let l = 0; l < layers; l++) {
      shiftLayerCache(keys[l], vals[l], layout, keep, discard, used, rotation);
    }
  });
  const kept = used - discard;
  const bytes = format === "f32" ? 4 : 2;
  process.stdout.write(
    `2B4T-shaped KV cache (30 × 2 × 5 × 4096 × 128 ${format} = ${((2 * layers * floats * bytes) / 2 ** 20).toFixed(0)} MiB): ` +
      `shift of ${discard} positions keeping ${kept}: ${ms.toFixed(0)} ms (median of 5)\n` +
      `  recomputing those ${kept} tokens instead at the documented 46–77 prefill tok/s (npm run bench, Chromium): ` +
      `${(kept / 77).toFixed(0)}–${(kept / 46).toFixed(0)} s\n`,
  );
}

// 2. a real file, both ways in one run
{
  const path = values.model ?? "models/tiny-i2_s.gguf";
  const blob = await openAsBlob(path);
  const header = await readGgufHeader(blob);
  const config = readBitNetConfig(header);
  const model = await KernelModel.create(await loadKernelWeights(blob, { header }), { threads: 1 });
  const used = model.maxPositions;
  const keep = 32;
  const discard = Math.floor((used - keep) / 2);
  const tokens = Array.from({ length: used }, (_, i) => (i * 7919 + 13) % config.vocab);
  const kept = [...tokens.slice(0, keep), ...tokens.slice(keep + discard)];
  const shifts: number[] = [];
  const prefills: number[] = [];
  for (let i = 0; i < 5; i++) {
    model.prefill(tokens, 0);
    let t0 = performance.now();
    model.shiftCache(keep, discard, used);
    shifts.push(performance.now() - t0);
    t0 = performance.now();
    model.prefill(kept, 0);
    prefills.push(performance.now() - t0);
  }
  process.stdout.write(
    `${path} (${config.layers} layers, ${config.kvHeads}×${config.headDim} KV, context ${used}), wasm ${model.build}, 1 thread: ` +
      `shift of ${discard} keeping ${kept.length}: ${median(shifts).toFixed(2)} ms; ` +
      `prefilling the ${kept.length} kept tokens instead: ${median(prefills).toFixed(0)} ms (medians of 5)\n`,
  );
  model.dispose();
}
