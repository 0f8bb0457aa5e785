// A kernel thread: instantiates the kernels over the shared memory, then runs its share
// of each job the main thread posts in the control block (poolProtocol.ts). Browsers load
// it through Vite's worker bundling, Node through worker_threads with tsx (pool.ts).

import {
  ARGS_F64,
  CTRL,
  CTRL_BYTES,
  MAX_CHUNKS,
  type PoolWorkerInit,
  SPIN_MS,
  TAG_MASK,
  TAG_SHIFT,
} from "./poolProtocol.ts";

type Kernel = (begin: number, end: number, ...args: number[]) => unknown;

/** Claims and runs chunks of job `generation` until none are left (see poolProtocol.ts). */
function work(ctrl: Int32Array, args: Float64Array, fns: Kernel[], generation: number): void {
  const tag = generation & TAG_MASK;
  const fn = fns[ctrl[CTRL.kernel]];
  const begin = ctrl[CTRL.begin];
  const end = ctrl[CTRL.end];
  const rows = ctrl[CTRL.chunkRows];
  const chunks = ctrl[CTRL.chunks];
  const extra: number[] = [];
  for (let i = 0; i < ctrl[CTRL.argCount]; i++) extra.push(args[ARGS_F64 + i]);
  for (;;) {
    const v = Atomics.load(ctrl, CTRL.claim);
    if (v >>> TAG_SHIFT !== tag) return;
    const c = v & MAX_CHUNKS;
    if (c >= chunks) return;
    if (Atomics.compareExchange(ctrl, CTRL.claim, v, v + 1) !== v) continue;
    const b = begin + c * rows;
    try {
      fn(b, Math.min(end, b + rows), ...extra);
    } catch {
      // count the chunk anyway so that the main thread does not wait forever; it throws
      Atomics.store(ctrl, CTRL.failed, 1);
    }
    Atomics.add(ctrl, CTRL.completed, 1);
    Atomics.notify(ctrl, CTRL.completed);
  }
}

function run(init: PoolWorkerInit, post: (message: string) => void): void {
  const { module, memory, ctrlOffset, kernels, index } = init;
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const ctrl = new Int32Array(memory.buffer, ctrlOffset, CTRL_BYTES / 4);
  const args = new Float64Array(memory.buffer, ctrlOffset, CTRL_BYTES / 8);
  const fns = kernels.map((name) => exports[name] as Kernel);
  post("ready");
  let seen = Atomics.load(ctrl, CTRL.generation);
  for (;;) {
    // Not taking part: sleep (no spinning) until the pool wants this thread or stops.
    for (let a = Atomics.load(ctrl, CTRL.active); index >= a; a = Atomics.load(ctrl, CTRL.active)) {
      if (Atomics.load(ctrl, CTRL.stop) === 1) return;
      Atomics.wait(ctrl, CTRL.active, a);
      seen = Atomics.load(ctrl, CTRL.generation);
    }
    let spins = 0;
    let since = performance.now();
    while (Atomics.load(ctrl, CTRL.generation) === seen) {
      if ((++spins & 1023) === 0 && performance.now() - since > SPIN_MS) {
        if (index >= Atomics.load(ctrl, CTRL.active)) break;
        Atomics.wait(ctrl, CTRL.generation, seen);
        since = performance.now();
      }
    }
    if (Atomics.load(ctrl, CTRL.generation) === seen) continue; // left the pool while waiting
    seen = Atomics.load(ctrl, CTRL.generation);
    if (Atomics.load(ctrl, CTRL.stop) === 1) return;
    if (index < Atomics.load(ctrl, CTRL.active)) work(ctrl, args, fns, seen);
  }
}

const isNode = typeof process !== "undefined" && typeof process.versions?.node === "string";
if (isNode) {
  const name = "node:worker_threads";
  void (import(/* @vite-ignore */ name) as Promise<typeof import("node:worker_threads")>).then(
    ({ parentPort }) => {
      parentPort?.once("message", (init: PoolWorkerInit) =>
        run(init, (m) => parentPort.postMessage(m)),
      );
    },
  );
} else {
  const scope = self as unknown as {
    onmessage: ((event: MessageEvent<PoolWorkerInit>) => void) | null;
    postMessage(message: unknown): void;
  };
  scope.onmessage = (event) => {
    scope.onmessage = null;
    run(event.data, (m) => scope.postMessage(m));
  };
}
