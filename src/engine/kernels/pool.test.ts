// The thread pool under many back-to-back jobs of changing sizes (the pattern of a
// forward pass): every job's output must be exactly the single-thread result. A worker
// that lagged behind and claimed a chunk of the wrong job would show up here.
import { afterAll, describe, expect, it } from "vitest";
import { mulberry32 } from "../../../test-support/random-weights.ts";
import { ternaryDots } from "../reference/ops.ts";
import { Arena, createMemory } from "./arena.ts";
import { packedStride, packTernaryCodes, paddedCols } from "./pack.ts";
import { KernelPool, startKernelThread, type ThreadStarter } from "./pool.ts";
import { POOL_KERNELS } from "./poolProtocol.ts";
import { instantiateKernels, loadKernelModule } from "./wasm-module.ts";

const pools: KernelPool[] = [];
afterAll(() => {
  for (const p of pools) p.close();
});

/** A pool of `threads` over a fresh memory (shared when threads > 1), closed after the tests. */
async function startPool(threads: number) {
  const shared = threads > 1;
  const mod = await loadKernelModule({ build: "simd128", shared });
  const memory = createMemory(shared);
  const arena = new Arena(memory);
  const pool = await KernelPool.create(instantiateKernels(mod.module, memory), mod, arena, threads);
  pools.push(pool);
  return { memory, arena, pool };
}

describe("KernelPool", () => {
  it("on one thread (unshared memory) still runs jobs after the memory grew", async () => {
    const { memory, arena, pool } = await startPool(1);
    memory.grow(16); // detaches every view of the old buffer
    const rows = 8;
    const cols = 128;
    const codes = Int8Array.from({ length: rows * cols }, (_, i) => ((i * 7) % 3) - 1);
    const stride = packedStride(cols);
    const w = arena.alloc(rows * stride);
    packTernaryCodes(arena.u8(w, rows * stride), codes, rows, cols);
    const xq = Int8Array.from({ length: cols }, (_, i) => ((i * 13) % 255) - 127);
    const x = arena.alloc(paddedCols(cols));
    arena.i8(x, cols).set(xq);
    const out = arena.alloc(rows * 4);
    pool.active = 2; // nothing to choose on one thread
    expect(pool.active).toBe(1);
    pool.run("ternary_dots", 0, rows, 4, [w, stride, x, xq.reduce((a, b) => a + b, 0), out, 0]);
    const expected = new Int32Array(rows);
    ternaryDots(expected, codes, rows, cols, xq);
    expect(Array.from(arena.i32(out, rows))).toEqual(Array.from(expected));
    expect(pool.active).toBe(1);
  });

  it.each([
    ["all 3 threads", false],
    ["1 to 3 taking part, changing between jobs (thread tuning)", true],
  ])(
    "runs 3000 jobs of varying sizes with exact results: %s",
    async (_, changeActive) => {
      const { arena, pool } = await startPool(3);
      const rand = mulberry32(5);
      const rows = 300;
      const cols = 256;
      const codes = Int8Array.from({ length: rows * cols }, () => Math.floor(rand() * 3) - 1);
      const stride = packedStride(cols);
      const w = arena.alloc(rows * stride); // 300 rows: whole groups of four
      packTernaryCodes(arena.u8(w, rows * stride), codes, rows, cols);
      const x = arena.alloc(paddedCols(cols));
      const out = arena.alloc(rows * 4);
      const xq = new Int8Array(cols);
      const expected = new Int32Array(rows);
      for (let job = 0; job < 3000; job++) {
        if (changeActive && job % 7 === 0) pool.active = 1 + Math.floor(rand() * 3);
        for (let i = 0; i < cols; i++) xq[i] = Math.floor(rand() * 255) - 127;
        arena.i8(x, cols).set(xq);
        const end = 4 * (1 + Math.floor((rand() * rows) / 4));
        arena.i32(out, rows).fill(0x7fffffff);
        pool.run("ternary_dots", 0, end, 4, [w, stride, x, xq.reduce((a, b) => a + b, 0), out, 0]);
        ternaryDots(expected, codes, end, cols, xq);
        const got = arena.i32(out, end);
        if (got.some((v, i) => v !== expected[i])) {
          expect(Array.from(got), `job ${job}, rows ${end}`).toEqual(
            Array.from(expected.subarray(0, end)),
          );
        }
      }
      if (changeActive) {
        pool.active = 3;
        expect(pool.active).toBe(3);
        pool.active = 9; // clamped to the threads started
        expect(pool.active).toBe(3);
      }
    },
    60_000,
  );

  describe("a kernel thread that does not start", () => {
    /** A pool of 3 over shared memory whose threads start through `start`. */
    async function startPoolWith(start: ThreadStarter, startWaitMs?: number) {
      const mod = await loadKernelModule({ build: "simd128", shared: true });
      const memory = createMemory(true);
      const arena = new Arena(memory);
      const kernels = instantiateKernels(mod.module, memory);
      const pool = await KernelPool.over(kernels, POOL_KERNELS, mod, arena, 3, start, startWaitMs);
      pools.push(pool);
      return { arena, pool };
    }

    /** Runs 200 ternary dot jobs over every thread that runs, against the scalar reference. */
    function expectExactJobs(arena: Arena, pool: KernelPool) {
      const rand = mulberry32(9);
      const rows = 64;
      const cols = 256;
      const codes = Int8Array.from({ length: rows * cols }, () => Math.floor(rand() * 3) - 1);
      const stride = packedStride(cols);
      const w = arena.alloc(rows * stride);
      packTernaryCodes(arena.u8(w, rows * stride), codes, rows, cols);
      const x = arena.alloc(paddedCols(cols));
      const out = arena.alloc(rows * 4);
      const xq = new Int8Array(cols);
      const expected = new Int32Array(rows);
      pool.active = pool.threads;
      for (let job = 0; job < 200; job++) {
        for (let i = 0; i < cols; i++) xq[i] = Math.floor(rand() * 255) - 127;
        arena.i8(x, cols).set(xq);
        pool.run("ternary_dots", 0, rows, 4, [w, stride, x, xq.reduce((a, b) => a + b, 0), out, 0]);
        ternaryDots(expected, codes, rows, cols, xq);
        expect(Array.from(arena.i32(out, rows)), `job ${job}`).toEqual(Array.from(expected));
      }
    }

    it("is tried once more, then the pool runs on the threads that started, exactly", async () => {
      const tried: number[] = [];
      const { arena, pool } = await startPoolWith(async (init, signal) => {
        tried.push(init.index);
        if (init.index === 2) throw new Error("its script did not load");
        return startKernelThread(init, signal);
      });
      expect(tried).toEqual([1, 2, 2]);
      expect(pool.threads).toBe(2);
      pool.active = 3; // clamped to the threads that started
      expect(pool.active).toBe(2);
      expectExactJobs(arena, pool);
    });

    it("that fails only once starts on the second try", async () => {
      let failures = 0;
      const { arena, pool } = await startPoolWith(async (init, signal) => {
        if (init.index === 1 && failures++ === 0) throw new Error("its script did not load");
        return startKernelThread(init, signal);
      });
      expect(pool.threads).toBe(3);
      expectExactJobs(arena, pool);
    });

    it("that does not answer in time is ended, and the pool runs without it", async () => {
      // a wait no thread start meets: each one is ended as it starts, and tried once more
      const tried: number[] = [];
      const { arena, pool } = await startPoolWith((init, signal) => {
        tried.push(init.index);
        return startKernelThread(init, signal);
      }, 0);
      expect(tried).toEqual([1, 1]);
      expect(pool.threads).toBe(1);
      expectExactJobs(arena, pool);
    });
  });
});
