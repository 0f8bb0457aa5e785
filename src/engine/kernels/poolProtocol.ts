/**
 * The thread pool's shared control block (in the kernels' wasm memory, 256 bytes), the
 * kernels it may run and the message that starts a worker: what pool.ts (the calling
 * thread) and poolWorker.ts (the other threads) both follow. The kernel names reach the
 * workers in their start message.
 */
export const CTRL_BYTES = 256;
/**
 * Int32 slots of the control block. A job's range is cut into chunks that threads claim
 * one at a time (so a thread the OS has descheduled holds up at most one chunk, and the
 * others take the rest). The claim word holds the job's tag (generation mod 2^22) in its
 * high bits and the next chunk index in its low 10: a thread that read a job's
 * parameters can only claim chunks of that same job. Before writing a new job's
 * parameters the main thread closes the word (new tag, index 1023 = nothing left), and
 * opens it (index 0) just before bumping the generation.
 */
export const CTRL = {
  /** Bumped by the main thread for each job; idle workers wait on it. */
  generation: 0,
  /** Chunks finished; the main thread waits for it to reach `chunks`. */
  completed: 1,
  /** Index into POOL_KERNELS. */
  kernel: 2,
  /** The range [begin, end) and the rows (or heads) per chunk. */
  begin: 3,
  end: 4,
  chunkRows: 5,
  /** Number of extra arguments (in the f64 slots). */
  argCount: 6,
  /** Set to 1 to make the workers exit. */
  stop: 7,
  /** (tag << 10) | next chunk index. */
  claim: 8,
  chunks: 9,
  /** Set to 1 by a worker whose kernel call threw (the chunk still counts as done). */
  failed: 10,
  /**
   * Threads that take part in jobs (the calling thread is index 0): workers at or past it
   * sleep on this word instead of spinning, until it grows again or the pool stops.
   */
  active: 11,
} as const;
export const TAG_SHIFT = 10;
export const MAX_CHUNKS = 1023;
export const TAG_MASK = 0x3fffff;
/** Float64 slot where the extra arguments start (byte 64). */
export const ARGS_F64 = 8;
export const MAX_ARGS = 24;

/**
 * How long (ms) a thread spins on the control block before it sleeps: during a forward
 * pass the next job follows within tens of microseconds, and waking from Atomics.wait is
 * slow (in Chromium 156, decode fell from 19 to 8 tok/s with 0.1 ms spins). The cost: on a
 * machine whose cores are taken by other processes, spinning threads slow each other down
 * (use one thread there).
 */
export const SPIN_MS = 3;

/** What a worker gets to start: the kernels, the shared memory and its place in the pool. */
export interface PoolWorkerInit {
  /** A kernel module built like the kernels (imported memory, the shared build). */
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Byte offset of the control block in `memory`. */
  ctrlOffset: number;
  /** The names of the range kernels, in the order the control block indexes them. */
  kernels: readonly string[];
  /** This thread's place in the pool (the calling thread is 0). */
  index: number;
}

/** Kernels whose first two parameters are a [begin, end) range (rows, heads or tokens) the pool splits. */
export const POOL_KERNELS = [
  "ternary_dots",
  "ternary_dots_batch",
  "ternary_lane_layout",
  "head_f32",
  "head_f16",
  "head_i8",
  "attention",
  "attention_tokens",
  "attention_tokens_bf16",
  "attention_scores",
  "attention_softmax",
  "attention_values",
  "norm_quantize",
  "scale_dots_tokens",
  "rope_cache_tokens",
  "rope_cache_tokens_bf16",
  "gate_tokens",
] as const;
export type PoolKernel = (typeof POOL_KERNELS)[number];
