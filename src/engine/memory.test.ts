import { afterAll, describe, expect, it } from "vitest";
import { BITNET_2B4T_SHAPE } from "../../test-support/bitnet-model.ts";
import { randomBitNetWeights, smallConfig } from "../../test-support/random-weights.ts";
import type { BitNetConfig } from "./bitnet/config.ts";
import { KernelModel } from "./kernels/index.ts";
import { kvCacheBytes, planModelMemory, WASM32_MAX_BYTES, WORKING_BYTES } from "./memory.ts";

const B2B4T: BitNetConfig = {
  ...BITNET_2B4T_SHAPE,
  architecture: "bitnet-b1.58",
  headDim: BITNET_2B4T_SHAPE.hidden / BITNET_2B4T_SHAPE.heads,
  activation: "relu2",
};

describe("memory planning", () => {
  const models: KernelModel[] = [];
  afterAll(() => {
    for (const m of models) m.dispose();
  });

  it("counts the KV cache the way the kernel engine allocates it", async () => {
    const config = smallConfig();
    const weights = randomBitNetWeights(config);
    const used = async (positions: number) => {
      const model = await KernelModel.create(weights, { threads: 1, maxPositions: positions });
      models.push(model);
      return model.arena.used;
    };
    const [small, big] = [await used(8), await used(32)];
    // Only the KV cache and the attention scores (heads × positions f32) grow with positions.
    const scores = config.heads * (32 - 8) * 4;
    expect(big - small - scores).toBe(kvCacheBytes(config, 32) - kvCacheBytes(config, 8));
  });

  it("fits the 2B4T under the wasm32 ceiling and refuses a model twice its size", () => {
    // 30 layers × (K and V) × 4096 positions × 640 floats × 4 bytes.
    expect(kvCacheBytes(B2B4T, 4096)).toBe(629_145_600);
    const plan = planModelMemory(B2B4T, 1_187_801_280);
    expect(plan).toEqual({
      weightsBytes: 1_187_801_280,
      kvCacheBytes: 629_145_600,
      workingBytes: WORKING_BYTES,
      totalBytes: 1_187_801_280 + 629_145_600 + WORKING_BYTES,
      limitBytes: 2 ** 32,
      fits: true,
    });
    expect(planModelMemory(B2B4T, 3_700_000_000).fits).toBe(false);
    // Right at the ceiling still fits; a byte more does not.
    const room = WASM32_MAX_BYTES - kvCacheBytes(B2B4T, 4096) - WORKING_BYTES;
    expect(planModelMemory(B2B4T, room).fits).toBe(true);
    expect(planModelMemory(B2B4T, room + 1).fits).toBe(false);
  });
});
