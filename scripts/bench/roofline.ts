// The benchmark's roofline: the weight bytes a decoded token streams, and the read
// bandwidth of the engine's threads over the engine's own memory. Bench-only: the probe
// kernel (wasm-kernels/assembly/bench-probes.ts) is not part of the shipped kernels.

import type { BitNetConfig } from "../../src/engine/bitnet/config.ts";
import { HEAD_BYTES, type HeadFormat } from "../../src/engine/kernels/head-formats.ts";
import type { KernelModel } from "../../src/engine/kernels/model.ts";
import { packedStride, paddedRows } from "../../src/engine/kernels/pack.ts";
import { KernelPool } from "../../src/engine/kernels/pool.ts";
import { compileBenchWasm } from "./bench-wasm.ts";

/**
 * Bytes of weights one decoded token streams: the packed ternary linears (rows padded to
 * groups of four, as memory-layout.ts stacks them) and the head in `head`'s format.
 */
export function bytesPerToken(c: BitNetConfig, head: HeadFormat): number {
  const qDim = c.heads * c.headDim;
  const kvDim = c.kvHeads * c.headDim;
  const layer =
    (paddedRows(qDim) + 2 * paddedRows(kvDim)) * packedStride(c.hidden) + // q, k, v
    paddedRows(c.hidden) * packedStride(qDim) + // o
    2 * paddedRows(c.ffn) * packedStride(c.hidden) + // gate, up
    paddedRows(c.hidden) * packedStride(c.ffn); // down
  const headCols = Math.ceil(c.hidden / 16) * 16;
  return c.layers * layer + c.vocab * headCols * HEAD_BYTES[head];
}

interface ProbeExports {
  stream_read(chunkBegin: number, chunkEnd: number, base: number, out: number): void;
}

/**
 * Read bandwidth in GB/s of `model.threads` threads (v128 loads, split like a matvec)
 * streaming the model's own memory, which is mostly weights. The best of `repeats`
 * passes (other load on the machine only ever lowers it). Allocates in the model's
 * arena: call it after the model's last forward pass.
 */
export async function measureReadBandwidth(model: KernelModel, repeats = 5): Promise<number> {
  const shared = model.threads > 1;
  const module = await compileBenchWasm(
    shared
      ? new URL("../../wasm-kernels/build/bench-probes-shared.wasm", import.meta.url)
      : new URL("../../wasm-kernels/build/bench-probes.wasm", import.meta.url),
  );
  const arena = model.arena;
  const chunks = Math.floor((arena.used - 65536) / 65536) - 8;
  const out = arena.alloc(chunks * 16 + 64);
  const instance = new WebAssembly.Instance(module, { env: { memory: arena.memory } });
  const probes = instance.exports as unknown as ProbeExports;
  const pool = await KernelPool.over(
    probes,
    ["stream_read"],
    { module, shared },
    arena,
    model.threads,
  );
  try {
    pool.run("stream_read", 0, chunks, 1, [65536, out]); // warm-up
    let best = 0;
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      pool.run("stream_read", 0, chunks, 1, [65536, out]);
      best = Math.max(best, (chunks * 65536) / ((performance.now() - t0) / 1000) / 1e9);
    }
    return best;
  } finally {
    pool.close();
  }
}
