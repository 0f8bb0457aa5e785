/**
 * GGUF → BitNetWeights for the reference forward pass: every ternary linear as codes
 * {-1, 0, 1} × one scale, norms and the embedding as f32. Reads each tensor through the
 * GGUF reader, whatever type it is stored in (I2_S, TQ1_0, TQ2_0, F16, BF16, F32).
 */

import { BitNetTensorFile, type TensorFileOptions } from "../bitnet/tensor-file.ts";
import type { BitNetWeights, TernaryMatrix } from "../bitnet/weights.ts";
import { readTernary } from "../gguf/index.ts";

export type LoadWeightsOptions = TensorFileOptions;

export async function loadBitNetWeights(
  blob: Blob,
  options: LoadWeightsOptions = {},
): Promise<BitNetWeights> {
  const file = await BitNetTensorFile.open(blob, options);
  const { hidden, vocab } = file.config;
  return file.assemble({
    embedding: () => file.readFloats("token_embd.weight", vocab * hidden),
    linear: async (base, rows, cols): Promise<TernaryMatrix> => {
      const { info, extraScale } = file.linear(base, rows, cols);
      const { codes, scale } = readTernary(info.type, await file.bytes(info), rows * cols);
      const extra = await extraScale();
      file.tensorDone();
      return { rows, cols, codes, scale: scale * extra };
    },
  });
}
