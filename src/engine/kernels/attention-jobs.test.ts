// Attention as the forward pass runs it (runAttention: on one thread, by head over the pool,
// or decode's three jobs) against the scalar reference (src/engine/reference/ops.ts), for
// both KV formats, on 1 and 2 threads, at positions on both sides of the kernels' 32-position
// tiles. The splits must also give the one-thread kernel's floats bit for bit.
import { afterAll, describe, expect, it } from "vitest";
import { mulberry32 } from "../../../test-support/random-weights.ts";
import { attention } from "../reference/ops.ts";
import { Arena, createMemory } from "./arena.ts";
import { type AttentionStep, runAttention } from "./attention-jobs.ts";
import { headMajorCache } from "./pack.ts";
import { KernelPool } from "./pool.ts";
import { instantiateKernels, type KernelBuild, loadKernelModule } from "./wasm-module.ts";

const BUILD = (process.env.TRIT_KERNEL_BUILD ?? "simd128") as KernelBuild;
const rand = mulberry32(23);

const pools: KernelPool[] = [];
afterAll(() => {
  for (const p of pools) p.close();
});

async function startPool(threads: number) {
  const shared = threads > 1;
  const mod = await loadKernelModule({ build: BUILD, shared });
  const memory = createMemory(shared);
  const arena = new Arena(memory);
  const pool = await KernelPool.create(instantiateKernels(mod.module, memory), mod, arena, threads);
  pools.push(pool);
  return { arena, pool };
}

/**
 * Random values that bf16 holds exactly (the low 16 bits of each f32 clear), so that the
 * f32 and the bf16 cache hold the same numbers and one reference result checks both.
 */
function bf16Values(n: number, scale: number): Float32Array {
  const v = Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
  const bits = new Uint32Array(v.buffer);
  for (let i = 0; i < n; i++) bits[i] &= 0xffff0000;
  return v;
}

// 2B4T's heads (20 on 5 KV heads of 128); a head dim of 40 (one full and one partial
// 32-output value slice) with groups of 2; a head dim of 12 (f32 only: bf16 needs 8 | dim)
const shapes = [
  { heads: 20, kvHeads: 5, headDim: 128, capacity: 130, positions: [0, 1, 31, 32, 33, 95, 129] },
  { heads: 6, kvHeads: 3, headDim: 40, capacity: 70, positions: [0, 5, 31, 32, 33, 64, 69] },
  { heads: 6, kvHeads: 2, headDim: 12, capacity: 40, positions: [0, 7, 32, 39] },
];

describe("runAttention", () => {
  for (const threads of [1, 2]) {
    for (const { heads, kvHeads, headDim, capacity, positions } of shapes) {
      const formats = headDim % 8 === 0 ? ["f32", "bf16"] : ["f32"];
      for (const format of formats) {
        it(`${threads} thread(s), ${format} cache, ${heads}/${kvHeads} heads × ${headDim}: decode and a batch match the reference within 1e-5 and the one-thread kernel exactly`, async () => {
          const { arena, pool } = await startPool(threads);
          pool.active = threads;
          const bf16 = format === "bf16";
          const qDim = heads * headDim;
          const kvDim = kvHeads * headDim;
          const keys = bf16Values(capacity * kvDim, 2);
          const values = bf16Values(capacity * kvDim, 1);
          const put = (v: Float32Array) => {
            const head = headMajorCache(v, capacity, kvHeads, headDim);
            if (!bf16) {
              const p = arena.alloc(head.length * 4);
              arena.f32(p, head.length).set(head);
              return p;
            }
            const high = Uint16Array.from(new Uint32Array(head.buffer), (b) => b >>> 16);
            const p = arena.alloc(high.length * 2);
            arena.u16(p, high.length).set(high);
            return p;
          };
          const batch = 9; // a batch of queries that crosses a tile boundary
          const q = bf16Values(batch * qDim, 2);
          const qp = arena.alloc(q.length * 4);
          arena.f32(qp, q.length).set(q);
          const step: AttentionStep = {
            out: arena.alloc(batch * qDim * 4),
            q: qp,
            keys: put(keys),
            values: put(values),
            pos: 0,
            tokens: 1,
            heads,
            kvHeads,
            headDim,
            scores: arena.alloc(heads * capacity * 4),
            inv: arena.alloc(heads * 4),
            capacity,
            bf16,
            poolMin: 0, // the pool takes part at every size
          };
          const kernel = bf16 ? "attention_tokens_bf16" : "attention_tokens";
          const oneThread = arena.alloc(batch * qDim * 4);
          const check = (pos: number, tokens: number) => {
            runAttention(pool, { ...step, pos, tokens });
            const got = arena.f32(step.out, tokens * qDim).slice();
            pool.exports[kernel](
              0,
              heads,
              oneThread,
              qp,
              step.keys,
              step.values,
              pos,
              tokens,
              qDim,
              heads,
              kvHeads,
              headDim,
              step.scores,
              capacity,
            );
            expect(got).toEqual(arena.f32(oneThread, tokens * qDim));
            for (let t = 0; t < tokens; t++) {
              const expected = new Float32Array(qDim);
              const qt = q.subarray(t * qDim, (t + 1) * qDim);
              attention(expected, qt, keys, values, pos + t, heads, kvHeads, headDim);
              for (let i = 0; i < qDim; i++) {
                expect(Math.abs(got[t * qDim + i] - expected[i])).toBeLessThan(1e-5);
              }
            }
          };
          for (const pos of positions) check(pos, 1);
          check(28, batch);
          check(capacity - batch, batch);
        });
      }
    }
  }
});
