/**
 * GGUF → KernelWeights without the codes detour: I2_S tensors copy block by block into
 * the kernel layout, TQ2_0 tensors repack block by block, and an F16 token_embd stays as its
 * half bits (the exact f16 head). Other ternary encodings (TQ1_0, float) go through the
 * GGUF reader's readTernary.
 */

import { BitNetTensorFile, type TensorFileOptions } from "../bitnet/tensor-file.ts";
import { elementCount, GgmlType, GgufError, readTernary } from "../gguf/index.ts";
import type { KernelWeights, LazyFloats, TernarySource } from "./memory-layout.ts";
import { packI2S, packTernaryCodes, packTQ2 } from "./pack.ts";

export type LoadKernelWeightsOptions = TensorFileOptions;

export async function loadKernelWeights(
  blob: Blob,
  options: LoadKernelWeightsOptions = {},
): Promise<KernelWeights> {
  const file = await BitNetTensorFile.open(blob, options);
  const { hidden, vocab } = file.config;

  const linear = async (base: string, rows: number, cols: number): Promise<TernarySource> => {
    const { info, extraScale } = file.linear(base, rows, cols);
    // Read when the model asks, one tensor at a time, straight into wasm memory.
    const load = async (dst: Uint8Array): Promise<number> => {
      const bytes = await file.bytes(info);
      let scale: number;
      if (info.type === GgmlType.I2_S && cols % 128 === 0) {
        scale = packI2S(dst, bytes, rows, cols);
      } else if (info.type === GgmlType.TQ2_0 && cols % 256 === 0) {
        // the tensor's one scale (packTQ2 checks that every nonzero block has it)
        scale = packTQ2(dst, bytes, rows, cols);
      } else {
        const t = readTernary(info.type, bytes, rows * cols);
        scale = t.scale;
        packTernaryCodes(dst, t.codes, rows, cols);
      }
      const extra = await extraScale();
      file.tensorDone();
      return scale * extra;
    };
    return { rows, cols, load };
  };

  const embedding = async (): Promise<KernelWeights["tokenEmbedding"]> => {
    const info = file.tensor("token_embd.weight");
    if (info.type !== GgmlType.F16 || elementCount(info.shape) !== vocab * hidden) {
      return file.readFloats("token_embd.weight", vocab * hidden);
    }
    // The published file's f16 embedding is also the exact head: read it a block of rows
    // at a time into wasm memory, never whole into JS.
    const start = file.header.dataOffset + info.offset;
    return {
      length: vocab * hidden,
      async readRows(first, count) {
        const from = start + first * hidden * 2;
        const bytes = await blob.slice(from, from + count * hidden * 2).arrayBuffer();
        if (bytes.byteLength !== count * hidden * 2) {
          throw new GgufError("The file ends inside token_embd.weight.");
        }
        if (first + count >= vocab) file.tensorDone();
        return new Uint16Array(bytes);
      },
    };
  };

  // Norms too are read when the model asks: a model copied back from a stored image
  // (weight-image.ts) reads nothing from the file.
  const floats = async (name: string, count: number): Promise<LazyFloats> => {
    file.tensor(name);
    return { length: count, load: () => file.readFloats(name, count) };
  };

  return file.assemble({ embedding, linear, floats });
}
