/**
 * The laid-out weights as one stored image: memory-layout.ts puts every weight in one block
 * of wasm memory, so after a load from the file that block (plus the linears' scales) is
 * the whole model in kernel layout. A later load copies it straight back into wasm memory:
 * no file reads, no repacking, no JavaScript copy of a tensor. Where images are kept is the
 * caller's (storage/weight-images.ts keeps them in the origin private file system).
 */
import type { Arena } from "./arena.ts";
import type { MemoryLayout } from "./memory-layout.ts";
import type { TernaryLayout } from "./wasm-module.ts";

/** Bump when the kernel layout (pack.ts, memory-layout.ts, head-formats.ts) changes. */
export const WEIGHT_LAYOUT_VERSION = 1;

/** A place that keeps one model's weight image. */
export interface WeightImageStore {
  /**
   * Copies the stored image into `dst` when one is stored under exactly `description`
   * and is whole; returns its scales, or null (nothing stored, or a stale or damaged
   * image: the caller then loads from the file). `onProgress` gets the fraction copied.
   */
  read(
    dst: Uint8Array,
    description: string,
    onProgress?: (fraction: number) => void,
  ): Promise<number[] | null>;
  /**
   * Stores the image; `view` gives a fresh view of it (a memory.grow may detach an old
   * one). A refusal (storage full, another tab holds the file) only means no image.
   */
  write(view: () => Uint8Array, description: string, scales: number[]): Promise<void>;
}

/**
 * What an image must match to be used: the layout version, the model's identity (given
 * by the caller: which stored file, which bytes), the ternary layout the kernels read
 * (the SIMD128 build may relay the weights) and the layout's sizes and offsets.
 */
export function describeImage(
  modelKey: string,
  layout: MemoryLayout,
  ternary: TernaryLayout,
): string {
  return JSON.stringify({
    version: WEIGHT_LAYOUT_VERSION,
    model: modelKey,
    ternary,
    start: layout.weights.start,
    bytes: layout.weights.end - layout.weights.start,
    head: [layout.head.exact, layout.head.vocab, layout.head.cols],
    linears: layout.linearParts.map((p) => p.rows),
  });
}

/** The linears' scales, in layout order (what the image needs beside its bytes). */
export function imageScales(layout: MemoryLayout): number[] {
  return layout.linearParts.map((p) => p.scale);
}

/** Puts an image's scales back into the layout; false when the count does not match. */
export function restoreScales(layout: MemoryLayout, scales: readonly number[]): boolean {
  if (scales.length !== layout.linearParts.length) return false;
  if (!scales.every((s) => typeof s === "number" && Number.isFinite(s))) return false;
  layout.linearParts.forEach((p, i) => {
    p.scale = scales[i];
  });
  return true;
}

/**
 * Copies a stored image that matches the layout into its weight block and restores the
 * scales; false when there is none (the caller reads the file). An image read that fails
 * half way leaves zeros, not its bytes, under the file's (the head kernels read the rows'
 * padding).
 */
export async function copyBackImage(
  arena: Arena,
  layout: MemoryLayout,
  image: { store: WeightImageStore; modelKey: string; onProgress?: (fraction: number) => void },
  ternary: TernaryLayout,
): Promise<boolean> {
  const { start, end } = layout.weights;
  let scales: number[] | null = null;
  try {
    const description = describeImage(image.modelKey, layout, ternary);
    scales = await image.store.read(arena.u8(start, end - start), description, image.onProgress);
  } catch {
    arena.u8(start, end - start).fill(0);
  }
  if (scales === null) return false;
  if (restoreScales(layout, scales)) return true;
  arena.u8(start, end - start).fill(0);
  return false;
}

/**
 * Stores the layout's weights as an image. A refusal (storage full, no private file
 * system) only means the next load reads the file.
 */
export function saveImage(
  arena: Arena,
  layout: MemoryLayout,
  store: WeightImageStore,
  modelKey: string,
  ternary: TernaryLayout,
): Promise<void> {
  const { start, end } = layout.weights;
  return store.write(
    () => arena.u8(start, end - start),
    describeImage(modelKey, layout, ternary),
    imageScales(layout),
  );
}
