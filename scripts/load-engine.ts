/** The engine a command-line tool runs a GGUF on: the wasm kernels or the scalar reference. */

import type { ForwardModel } from "../src/engine/bitnet/forward-model.ts";
import type { GgufHeader } from "../src/engine/gguf/index.ts";
import { loadKernelWeights } from "../src/engine/kernels/gguf-weights.ts";
import type { KvFormat } from "../src/engine/kernels/memory-layout.ts";
import { KernelModel } from "../src/engine/kernels/model.ts";
import { ReferenceModel } from "../src/engine/reference/forward.ts";
import { loadBitNetWeights } from "../src/engine/reference/load-weights.ts";

export type EngineName = "kernels" | "reference";

export async function loadEngine(
  blob: Blob,
  header: GgufHeader,
  engine: EngineName,
  options: {
    threads: number;
    positions: number;
    /** The kernels' approximate formats (KernelModelOptions); default the exact ones. */
    int8Head?: boolean;
    kvCache?: KvFormat;
  },
): Promise<ForwardModel & { dispose?: () => void }> {
  return engine === "kernels"
    ? KernelModel.create(await loadKernelWeights(blob, { header }), {
        threads: options.threads,
        maxPositions: options.positions,
        int8Head: options.int8Head ?? false,
        kvCache: options.kvCache ?? "f32",
      })
    : new ReferenceModel(await loadBitNetWeights(blob, { header }), options.positions);
}
