// Decode attention of the 2B4T shape (20 query heads on 5 KV heads of 128) over 30 layers'
// caches, in Node on the relaxed build: one thread against the pool's splits, for both KV
// formats, interleaved rounds, median ms per token (30 layers). Checks on the way that
// every split gives the one-thread result bit for bit.
//   node --experimental-wasm-relaxed-simd --import tsx scripts/bench/attention.ts [POSITIONS] [ROUNDS] [THREADS]
import { Arena, createMemory } from "../../src/engine/kernels/arena.ts";
import { KernelPool } from "../../src/engine/kernels/pool.ts";
import { instantiateKernels, loadKernelModule } from "../../src/engine/kernels/wasm-module.ts";
import { median } from "./run-trit.ts";

const [positions, rounds, threads] = process.argv.slice(2).map(Number);
const n = positions || 2048;
const [heads, kvHeads, headDim, layers] = [20, 5, 128, 30];
const mod = await loadKernelModule({ build: "relaxed-simd", shared: true });
const memory = createMemory(true);
const a = new Arena(memory);
const k = instantiateKernels(mod.module, memory);
const pool = await KernelPool.create(k, mod, a, threads || 2);
const qDim = heads * headDim;
const q = a.alloc(qDim * 4);
a.f32(q, qDim).forEach((_, i, v) => {
  v[i] = Math.sin(i * 0.37) * 0.3;
});
const caches = (bytesPerValue: number) =>
  Array.from({ length: layers }, () => {
    const floats = 2 * kvHeads * n * headDim;
    const p = a.alloc(floats * bytesPerValue);
    if (bytesPerValue === 4) {
      a.f32(p, floats).forEach((_, i, v) => {
        v[i] = Math.cos(i * 0.013) * 0.5;
      });
    } else {
      a.u16(p, floats).forEach((_, i, v) => {
        v[i] = 0x3c00 + ((i * 37) % 512);
      });
    }
    return p;
  });
const formats = { f32: caches(4), bf16: caches(2) };
const scores = a.alloc(heads * n * 4);
const inv = a.alloc(heads * 4);
const out = a.alloc(qDim * 4);
const pos = n - 1;
const units = k.attention_value_units(kvHeads, headDim);

type Variant = (kv: number, kvBytes: number, bf16: boolean) => void;
const variants: Record<string, Variant> = {
  "one thread": (kv, kvBytes, bf16) => {
    const args = [out, q, kv, kv + kvBytes, pos, 1, qDim, heads, kvHeads, headDim, scores, n];
    if (bf16) k.attention_tokens_bf16(0, heads, ...(args as Parameters<typeof k.attention>));
    else k.attention_tokens(0, heads, ...(args as Parameters<typeof k.attention>));
  },
  "pool by head": (kv, kvBytes, bf16) => {
    pool.run(bf16 ? "attention_tokens_bf16" : "attention_tokens", 0, heads, 1, [
      out,
      q,
      kv,
      kv + kvBytes,
      pos,
      1,
      qDim,
      heads,
      kvHeads,
      headDim,
      scores,
      n,
    ]);
  },
  "pool three jobs": (kv, kvBytes, bf16) => {
    const f = bf16 ? 1 : 0;
    pool.run("attention_scores", 0, n, 32, [q, kv, heads, kvHeads, headDim, scores, n, f]);
    pool.run("attention_softmax", 0, heads, 1, [scores, pos, n, inv]);
    pool.run("attention_values", 0, units, 1, [
      out,
      kv + kvBytes,
      pos,
      heads,
      kvHeads,
      headDim,
      scores,
      n,
      inv,
      f,
    ]);
  },
};

const times: Record<string, number[]> = {};
for (let r = 0; r < (rounds || 7); r++) {
  for (const [format, list] of Object.entries(formats)) {
    const bf16 = format === "bf16";
    const kvBytes = kvHeads * n * headDim * (bf16 ? 2 : 4);
    let first: Float32Array | null = null;
    for (const [name, run] of Object.entries(variants)) {
      const t0 = performance.now();
      for (const kv of list) run(kv, kvBytes, bf16);
      const ms = performance.now() - t0;
      const key = `${format} ${name}`;
      times[key] = [...(times[key] ?? []), ms];
      const got = a.f32(out, qDim).slice();
      if (first === null) first = got;
      else if (got.some((v, i) => !Object.is(v, first?.[i]))) {
        throw new Error(`${format} ${name} differs from one thread`);
      }
    }
  }
}
pool.close();
const rows = Object.entries(times).map(([name, t]) => ({
  variant: name,
  ms_per_token: Number(median(t.slice(1)).toFixed(2)),
}));
console.log(`decode attention, ${n} positions, ${layers} layers, ${threads || 2} threads`);
console.table(rows);
process.exit(0);
