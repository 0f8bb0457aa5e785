// A kernel thread: instantiates the kernels over the shared memory, then runs its share
// of each job the main thread posts in the control block (see poolProtocol.ts; the
// numbers below must match it). Plain JavaScript, no imports, so that Node's
// worker_threads and browser Workers load the same file.

const GENERATION = 0;
const DONE = 1;
const KERNEL = 2;
const BEGIN = 3;
const END = 4;
const ALIGN = 5;
const ARG_COUNT = 6;
const STOP = 7;
const ARGS_F64 = 8;
const KERNELS = [
  "ternary_dots",
  "ternary_dots_batch",
  "head_f32",
  "head_f16",
  "head_i8",
  "attention",
  "stream_read",
  "attention_tokens",
];
// Spin this long (ms) before sleeping: during a forward pass the next job follows within
// microseconds to a millisecond, and waking from Atomics.wait costs tens of microseconds
// (far more on a busy machine).
const SPIN_MS = 3;

function shareOf(index, count, begin, end, align) {
  const per = Math.ceil((end - begin) / count / align) * align;
  const b = Math.min(end, begin + index * per);
  return [b, Math.min(end, b + per)];
}

function run(init, post) {
  const { module, memory, ctrlOffset, index, count } = init;
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const ctrl = new Int32Array(memory.buffer, ctrlOffset, 64);
  const args = new Float64Array(memory.buffer, ctrlOffset, 32);
  const fns = KERNELS.map((name) => exports[name]);
  post("ready");
  let seen = Atomics.load(ctrl, GENERATION);
  for (;;) {
    let spins = 0;
    let since = performance.now();
    while (Atomics.load(ctrl, GENERATION) === seen) {
      if ((++spins & 1023) === 0 && performance.now() - since > SPIN_MS) {
        Atomics.wait(ctrl, GENERATION, seen);
        since = performance.now();
      }
    }
    seen = Atomics.load(ctrl, GENERATION);
    if (Atomics.load(ctrl, STOP) === 1) return;
    const [b, e] = shareOf(index, count, ctrl[BEGIN], ctrl[END], ctrl[ALIGN]);
    if (b < e) {
      const n = ctrl[ARG_COUNT];
      const extra = [];
      for (let i = 0; i < n; i++) extra.push(args[ARGS_F64 + i]);
      fns[ctrl[KERNEL]](b, e, ...extra);
    }
    Atomics.add(ctrl, DONE, 1);
    Atomics.notify(ctrl, DONE);
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
