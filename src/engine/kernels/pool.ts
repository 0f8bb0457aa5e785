import type { Arena } from "./arena.ts";
import {
  ARGS_F64,
  CTRL,
  CTRL_BYTES,
  MAX_ARGS,
  MAX_CHUNKS,
  POOL_KERNELS,
  type PoolKernel,
  type PoolWorkerInit,
  SPIN_MS,
  TAG_MASK,
  TAG_SHIFT,
} from "./poolProtocol.ts";
import type { KernelExports, KernelModule } from "./wasm-module.ts";

/** A kernel the pool can split: its first two parameters are a [begin, end) range. */
// biome-ignore lint/suspicious/noExplicitAny: any parameter list after the range
type RangeKernel = (begin: number, end: number, ...args: any[]) => unknown;
/** A range kernel's parameters after the range: a wrong count or order fails tsc. */
export type RangeArgs<F> = F extends (begin: number, end: number, ...args: infer A) => unknown
  ? A
  : never;

/** Chunks per thread in a job: enough that a stalled thread's share is small. */
const CHUNKS_PER_THREAD = 8;

export interface WorkerLike {
  postMessage(message: unknown): void;
  terminate(): unknown;
}

/**
 * Starts one kernel thread; resolves once it has instantiated the kernels. When `signal`
 * aborts first, the thread is ended and the start fails with the signal's reason.
 */
export type ThreadStarter = (init: PoolWorkerInit, signal: AbortSignal) => Promise<WorkerLike>;

/**
 * How long a kernel thread may take to start (its script loaded and the kernels
 * instantiated: tens of milliseconds, usually) before it is given up. Firefox on a busy
 * machine sometimes never runs a new kernel thread's script, and says nothing (3 loads in
 * about 60 journey runs, two busy loops on two cores).
 */
const THREAD_START_MS = 10_000;

const isNode = typeof process !== "undefined" && typeof process.versions?.node === "string";

/**
 * A Node worker_threads thread running poolWorker.ts. Node runs Trit's engine only in
 * tests, benchmarks and scripts, so the TypeScript goes through tsx (a dev dependency):
 * its require hook, because Node 20 applies no module hooks (--import tsx) inside
 * workers; given by path, so it resolves from this repository whatever the working
 * directory.
 */
async function startNodeWorker(init: PoolWorkerInit, signal: AbortSignal): Promise<WorkerLike> {
  const names = ["node:worker_threads", "node:module", "node:url"];
  const [{ Worker }, { createRequire }, { fileURLToPath }] = (await Promise.all(
    names.map((name) => import(/* @vite-ignore */ name)),
  )) as [
    typeof import("node:worker_threads"),
    typeof import("node:module"),
    typeof import("node:url"),
  ];
  const tsx = createRequire(import.meta.url).resolve("tsx/cjs");
  // a variable, not a literal: Vite would copy a literal new URL(…) into the build
  const file = "./poolWorker.ts";
  const entry = fileURLToPath(new URL(file, import.meta.url));
  const worker = new Worker(`require(${JSON.stringify(tsx)}); require(${JSON.stringify(entry)});`, {
    eval: true,
  });
  const ready = new Promise<void>((resolve, reject) => {
    worker.once("message", () => resolve());
    worker.once("error", reject);
    worker.postMessage(init);
  });
  await readyOrEnded(ready, signal, () => worker.terminate());
  worker.unref();
  return worker;
}

/** Starts one kernel thread (a Web Worker, or a Node worker thread). */
export const startKernelThread: ThreadStarter = async (init, signal) => {
  if (isNode) return startNodeWorker(init, signal);
  const worker = new Worker(new URL("./poolWorker.ts", import.meta.url), { type: "module" });
  const ready = new Promise<void>((resolve, reject) => {
    worker.onmessage = () => resolve();
    worker.onerror = (e) => {
      worker.terminate();
      // a script that did not load gives a bare Event, with no message
      reject(
        new Error(`A kernel thread failed to start: ${e.message ?? "its script did not load"}`),
      );
    };
    worker.postMessage(init);
  });
  await readyOrEnded(ready, signal, () => worker.terminate());
  return worker;
};

/** Waits for `ready`; when `signal` aborts first, ends the thread and fails with its reason. */
function readyOrEnded(ready: Promise<void>, signal: AbortSignal, end: () => unknown) {
  return new Promise<void>((resolve, reject) => {
    const giveUp = () => {
      end();
      reject(signal.reason);
    };
    if (signal.aborted) return giveUp();
    signal.addEventListener("abort", giveUp, { once: true });
    ready.then(resolve, reject).finally(() => signal.removeEventListener("abort", giveUp));
  });
}

/**
 * Runs range-split kernels on `threads` threads that share one wasm memory: each job is
 * cut into chunks that the calling thread and the workers claim (poolProtocol.ts); run()
 * returns when all are done. With one thread it calls the kernel directly. The caller
 * must be allowed to block (Atomics.wait): a Web Worker or Node, not a page's main thread.
 */
export class KernelPool<K extends string = PoolKernel, E = KernelExports> {
  private readonly ctrl: Int32Array;
  private readonly args: Float64Array;
  private readonly fns: ((...a: number[]) => void)[];
  private generation = 0;
  // Kept here too: one thread means an unshared memory, whose views growth detaches.
  private activeCount: number;

  private constructor(
    readonly threads: number,
    private readonly kernels: E,
    private readonly names: readonly K[],
    memory: WebAssembly.Memory,
    ctrlOffset: number,
    private readonly workers: WorkerLike[],
  ) {
    this.ctrl = new Int32Array(memory.buffer, ctrlOffset, CTRL_BYTES / 4);
    this.args = new Float64Array(memory.buffer, ctrlOffset, CTRL_BYTES / 8);
    const table = kernels as unknown as Record<string, (...a: number[]) => void>;
    this.fns = names.map((name) => table[name]);
    this.activeCount = threads;
  }

  /** A pool for the product kernels (POOL_KERNELS of the kernel module). */
  static create(
    kernels: KernelExports,
    module: KernelModule,
    arena: Arena,
    threads: number,
  ): Promise<KernelPool> {
    return KernelPool.over(kernels, POOL_KERNELS, module, arena, threads);
  }

  /**
   * A pool for the range kernels `names` of any module built like the kernels (imported
   * memory; the shared build for threads): the workers instantiate `module` over the
   * arena's memory and index kernels by position in `names`.
   */
  static async over<K2 extends string, E2 extends { [name in K2]: RangeKernel }>(
    kernels: E2,
    names: readonly K2[],
    module: Pick<KernelModule, "module" | "shared">,
    arena: Arena,
    threads: number,
    startThread: ThreadStarter = startKernelThread,
    startWaitMs = THREAD_START_MS,
  ): Promise<KernelPool<K2, E2>> {
    if (!Number.isInteger(threads) || threads < 1) {
      throw new Error(`The thread count must be a whole number ≥ 1, got ${threads}.`);
    }
    const ctrlOffset = arena.alloc(CTRL_BYTES, 64);
    if (threads > 1 && !module.shared) {
      throw new Error("Threads need the shared-memory kernel build (and SharedArrayBuffer).");
    }
    const ctrl = new Int32Array(arena.memory.buffer, ctrlOffset, CTRL_BYTES / 4);
    ctrl[CTRL.active] = threads;
    const workers: WorkerLike[] = [];
    for (let i = 1; i < threads; i++) {
      const init = {
        module: module.module,
        memory: arena.memory,
        ctrlOffset,
        kernels: names,
        index: i,
      };
      try {
        // once more after a failure: a thread's script that did not load once (WebKit,
        // offline, in one journey) may load the second time, and one that never ran
        // (Firefox, busy) may run
        const start = () => startThread(init, AbortSignal.timeout(startWaitMs));
        workers.push(await start().catch(start));
      } catch (e) {
        // The threads that started run the model: slower, but it loads (and a thread that
        // does not start says nothing about the stored model).
        const why =
          e instanceof DOMException && e.name === "TimeoutError"
            ? `A kernel thread did not start within ${startWaitMs / 1000} s.`
            : e instanceof Error
              ? e.message
              : String(e);
        console.warn(`${i} of ${threads} kernel threads started; running on those. ${why}`);
        break;
      }
    }
    const started = 1 + workers.length;
    if (started < threads) {
      Atomics.store(ctrl, CTRL.active, started);
      Atomics.notify(ctrl, CTRL.active);
    }
    return new KernelPool<K2, E2>(started, kernels, names, arena.memory, ctrlOffset, workers);
  }

  /** Threads that take part in jobs, 1..threads (KernelModel times decode steps to pick it). */
  get active(): number {
    return this.activeCount;
  }

  set active(count: number) {
    const n = Math.max(1, Math.min(this.threads, Math.floor(count)));
    if (n === this.activeCount) return;
    this.activeCount = n;
    Atomics.store(this.ctrl, CTRL.active, n);
    Atomics.notify(this.ctrl, CTRL.active);
  }

  /**
   * Runs `kernel(b, e, ...args)` over [begin, end) in chunks (multiples of `align`) that
   * this thread and the workers claim until none are left; returns when all are done.
   */
  run<N extends K & keyof E>(
    kernel: N,
    begin: number,
    end: number,
    align: number,
    rangeArgs: RangeArgs<E[N]>,
  ): void {
    const args = rangeArgs as unknown as number[]; // every kernel parameter is a number
    const k = this.names.indexOf(kernel);
    const active = this.active;
    if (active === 1 || end - begin <= align) {
      this.fns[k](begin, end, ...args);
      return;
    }
    if (args.length > MAX_ARGS) throw new Error(`Too many kernel arguments (${args.length}).`);
    const target = Math.min(MAX_CHUNKS, active * CHUNKS_PER_THREAD);
    const rows = Math.ceil((end - begin) / target / align) * align;
    const chunks = Math.ceil((end - begin) / rows);
    const ctrl = this.ctrl;
    const generation = (this.generation + 1) | 0;
    this.generation = generation;
    const tag = generation & TAG_MASK;
    // Close the claim word (new tag, no chunks left) before the parameters change: a
    // worker still holding the previous job's tag must not claim a chunk of this one.
    Atomics.store(ctrl, CTRL.claim, (tag << TAG_SHIFT) | MAX_CHUNKS);
    ctrl[CTRL.kernel] = k;
    ctrl[CTRL.begin] = begin;
    ctrl[CTRL.end] = end;
    ctrl[CTRL.chunkRows] = rows;
    ctrl[CTRL.chunks] = chunks;
    ctrl[CTRL.argCount] = args.length;
    for (let i = 0; i < args.length; i++) this.args[ARGS_F64 + i] = args[i];
    Atomics.store(ctrl, CTRL.completed, 0);
    Atomics.store(ctrl, CTRL.claim, tag << TAG_SHIFT);
    Atomics.store(ctrl, CTRL.generation, generation);
    Atomics.notify(ctrl, CTRL.generation);
    // claim chunks here too, exactly as poolWorker.ts does
    const fn = this.fns[k];
    for (;;) {
      const v = Atomics.load(ctrl, CTRL.claim);
      const c = v & MAX_CHUNKS;
      if (c >= chunks) break;
      if (Atomics.compareExchange(ctrl, CTRL.claim, v, v + 1) !== v) continue;
      const b = begin + c * rows;
      fn(b, Math.min(end, b + rows), ...args);
      Atomics.add(ctrl, CTRL.completed, 1);
    }
    let spins = 0;
    const since = performance.now();
    for (;;) {
      const done = Atomics.load(ctrl, CTRL.completed);
      if (done >= chunks) break;
      if ((++spins & 1023) === 0 && performance.now() - since > SPIN_MS) {
        Atomics.wait(ctrl, CTRL.completed, done, 1);
      }
    }
    if (Atomics.load(ctrl, CTRL.failed) === 1) {
      throw new Error(
        `A kernel thread failed while running ${kernel}; the engine must be reloaded.`,
      );
    }
  }

  /** Stops the worker threads. */
  close(): void {
    if (this.workers.length === 0) return;
    Atomics.store(this.ctrl, CTRL.stop, 1);
    Atomics.add(this.ctrl, CTRL.generation, 1);
    Atomics.notify(this.ctrl, CTRL.generation);
    Atomics.notify(this.ctrl, CTRL.active);
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
  }

  get exports(): E {
    return this.kernels;
  }
}
