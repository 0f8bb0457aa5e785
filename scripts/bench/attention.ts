// Decode attention of the 2B4T shape (20 query heads on 5 KV heads of 128) over 30 layers'
// caches, in Node on the relaxed build: one thread against the pool's splits, for both KV
// formats, interleaved rounds: median and fastest ms per token (30 layers). Checks on the way that
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

type Run = (kv: number, kvBytes: number, bf16: boolean) => void;
const byHead: Run = (kv, kvBytes, bf16) => {
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
};
const threeJobs: Run = (kv, kvBytes, bf16) => {
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
};
// The pool's chunks run one after another on this thread: the work each split costs (the
// pool cuts 20 heads into chunks of 2, so that a head group's keys and values are read
// twice); on a machine whose cores other processes hold, CPU time is steadier than wall time.
const byHeadWork: Run = (kv, kvBytes, bf16) => {
  const args = [out, q, kv, kv + kvBytes, pos, 1, qDim, heads, kvHeads, headDim, scores, n];
  const kernel = bf16 ? k.attention_tokens_bf16 : k.attention_tokens;
  for (let h = 0; h < heads; h += 2) kernel(h, h + 2, ...(args as Parameters<typeof k.attention>));
};
const variants: Record<string, { run: Run; active: number }> = {
  "one thread": { run: (kv, b, bf16) => withActive(1, () => byHead(kv, b, bf16)), active: 1 },
  "by head, work on one thread": { run: byHeadWork, active: 1 },
  "three jobs, work on one thread": { run: threeJobs, active: 1 },
  "by head on the pool": { run: byHead, active: pool.threads },
  "three jobs on the pool": { run: threeJobs, active: pool.threads },
};
function withActive(count: number, f: () => void) {
  pool.active = count;
  f();
}

const times: Record<string, number[]> = {};
const cpu: Record<string, number[]> = {};
for (let r = 0; r < (rounds || 7); r++) {
  for (const [format, list] of Object.entries(formats)) {
    const bf16 = format === "bf16";
    const kvBytes = kvHeads * n * headDim * (bf16 ? 2 : 4);
    let first: Float32Array | null = null;
    for (const [name, { run, active }] of Object.entries(variants)) {
      pool.active = active;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (const kv of list) run(kv, kvBytes, bf16);
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      const key = `${format} ${name}`;
      times[key] = [...(times[key] ?? []), ms];
      cpu[key] = [...(cpu[key] ?? []), (c.user + c.system) / 1000];
      const got = a.f32(out, qDim).slice();
      if (first === null) first = got;
      else if (got.some((v, i) => !Object.is(v, first?.[i]))) {
        throw new Error(`${format} ${name} differs from one thread`);
      }
    }
  }
}
pool.close();
// the first round warms up; the fastest round is what a quiet machine gives
const rows = Object.entries(times).map(([name, t]) => ({
  variant: name,
  median_ms: Number(median(t.slice(1)).toFixed(2)),
  fastest_ms: Number(Math.min(...t.slice(1)).toFixed(2)),
  // CPU time of every thread of this process (on the pool: spinning included)
  cpu_median_ms: Number(median(cpu[name].slice(1)).toFixed(2)),
}));
console.log(`decode attention, ${n} positions, ${layers} layers, ${threads || 2} threads`);
console.table(rows);
process.exit(0);
