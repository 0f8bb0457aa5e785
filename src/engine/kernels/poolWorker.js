// A kernel thread: instantiates the kernels over the shared memory, then runs its share
// of each job the main thread posts in the control block (see poolProtocol.ts; the
// numbers below must match it). Plain JavaScript, no imports, so that Node's
// worker_threads and browser Workers load the same file.

const GENERATION = 0;
const COMPLETED = 1;
const KERNEL = 2;
const BEGIN = 3;
const END = 4;
const CHUNK_ROWS = 5;
const ARG_COUNT = 6;
const STOP = 7;
const CLAIM = 8;
const CHUNKS = 9;
const FAILED = 10;
const ACTIVE = 11;
const TAG_SHIFT = 10;
const INDEX_MASK = 1023;
const TAG_MASK = 0x3fffff;
const ARGS_F64 = 8;
// Spin this long (ms) before sleeping: during a forward pass the next job follows within
// tens of microseconds, and waking from Atomics.wait is slow (in Chromium 156, decode fell
// from 19 to 8 tok/s with 0.1 ms spins). The cost: on a machine whose cores are taken by
// other processes, spinning threads slow each other down (use one thread there).
const SPIN_MS = 3;

/** Claims and runs chunks of job `generation` until none are left (see poolProtocol.ts). */
function work(ctrl, args, fns, generation) {
  const tag = generation & TAG_MASK;
  const fn = fns[ctrl[KERNEL]];
  const begin = ctrl[BEGIN];
  const end = ctrl[END];
  const rows = ctrl[CHUNK_ROWS];
  const chunks = ctrl[CHUNKS];
  const extra = [];
  for (let i = 0; i < ctrl[ARG_COUNT]; i++) extra.push(args[ARGS_F64 + i]);
  for (;;) {
    const v = Atomics.load(ctrl, CLAIM);
    if (v >>> TAG_SHIFT !== tag) return;
    const c = v & INDEX_MASK;
    if (c >= chunks) return;
    if (Atomics.compareExchange(ctrl, CLAIM, v, v + 1) !== v) continue;
    const b = begin + c * rows;
    try {
      fn(b, Math.min(end, b + rows), ...extra);
    } catch {
      // count the chunk anyway so that the main thread does not wait forever; it throws
      Atomics.store(ctrl, FAILED, 1);
    }
    Atomics.add(ctrl, COMPLETED, 1);
    Atomics.notify(ctrl, COMPLETED);
  }
}

function run(init, post) {
  // kernels: the names of the range kernels, in the order the control block indexes them;
  // index: this thread's place in the pool (the calling thread is 0)
  const { module, memory, ctrlOffset, kernels, index } = init;
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const ctrl = new Int32Array(memory.buffer, ctrlOffset, 64);
  const args = new Float64Array(memory.buffer, ctrlOffset, 32);
  const fns = kernels.map((name) => exports[name]);
  post("ready");
  let seen = Atomics.load(ctrl, GENERATION);
  for (;;) {
    // Not taking part: sleep (no spinning) until the pool wants this thread or stops.
    for (let a = Atomics.load(ctrl, ACTIVE); index >= a; a = Atomics.load(ctrl, ACTIVE)) {
      if (Atomics.load(ctrl, STOP) === 1) return;
      Atomics.wait(ctrl, ACTIVE, a);
      seen = Atomics.load(ctrl, GENERATION);
    }
    let spins = 0;
    let since = performance.now();
    while (Atomics.load(ctrl, GENERATION) === seen) {
      if ((++spins & 1023) === 0 && performance.now() - since > SPIN_MS) {
        if (index >= Atomics.load(ctrl, ACTIVE)) break;
        Atomics.wait(ctrl, GENERATION, seen);
        since = performance.now();
      }
    }
    if (Atomics.load(ctrl, GENERATION) === seen) continue; // left the pool while waiting
    seen = Atomics.load(ctrl, GENERATION);
    if (Atomics.load(ctrl, STOP) === 1) return;
    if (index < Atomics.load(ctrl, ACTIVE)) work(ctrl, args, fns, seen);
  }
}

const isNode = typeof process !== "undefined" && typeof process.versions?.node === "string";
if (isNode) {
  const name = "node:worker_threads";
  import(/* @vite-ignore */ name).then(({ parentPort }) => {
    parentPort.once("message", (init) => run(init, (m) => parentPort.postMessage(m)));
  });
} else {
  self.onmessage = (event) => {
    self.onmessage = null;
    run(event.data, (m) => self.postMessage(m));
  };
}
