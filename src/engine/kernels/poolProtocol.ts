/**
 * The thread pool's shared control block (in the kernels' wasm memory, 256 bytes) and
 * the kernels it may run. poolWorker.js repeats these numbers (it is plain JavaScript so
 * that Node's worker_threads and browser Workers can both load it unbundled): keep the
 * two in step.
 */
export const CTRL_BYTES = 256;
/** Int32 slots of the control block. */
export const CTRL = {
  /** Bumped by the main thread for each job; workers wait on it. */
  generation: 0,
  /** Workers add 1 when their share is done; the main thread waits on it. */
  done: 1,
  /** Index into POOL_KERNELS. */
  kernel: 2,
  /** Rows (or heads) to split: [begin, end), and the split alignment. */
  begin: 3,
  end: 4,
  align: 5,
  /** Number of extra arguments (in the f64 slots). */
  argCount: 6,
  /** Set to 1 to make the workers exit. */
  stop: 7,
} as const;
/** Float64 slot where the extra arguments start (byte 64). */
export const ARGS_F64 = 8;
export const MAX_ARGS = 24;

/** Kernels whose first two parameters are a [begin, end) range the pool splits. */
export const POOL_KERNELS = [
  "ternary_dots",
  "ternary_dots_batch",
  "head_f32",
  "head_f16",
  "head_i8",
  "attention",
  "stream_read",
  "attention_tokens",
] as const;
export type PoolKernel = (typeof POOL_KERNELS)[number];

/** Thread `index` of `count` gets rows [begin, end) of the job, aligned to `align`. */
export function shareOf(
  index: number,
  count: number,
  begin: number,
  end: number,
  align: number,
): [number, number] {
  const per = Math.ceil((end - begin) / count / align) * align;
  const b = Math.min(end, begin + index * per);
  return [b, Math.min(end, b + per)];
}
