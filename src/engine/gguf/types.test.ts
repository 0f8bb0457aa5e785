import { GGMLQuantizationType, GGUFValueType } from "@huggingface/gguf";
import { describe, expect, it } from "vitest";
import { GGML_TYPES, GgmlType, GgufValueType, tensorByteLength } from "./types.ts";

describe("type ids", () => {
  it("metadata value types match @huggingface/gguf's names and ids", () => {
    const ours = Object.entries(GgufValueType).filter(([, v]) => typeof v === "number");
    const theirs = Object.entries(GGUFValueType).filter(([, v]) => typeof v === "number");
    expect(Object.fromEntries(ours)).toEqual(Object.fromEntries(theirs));
  });

  it("tensor type ids match ggml's (I2_S is the BitNet fork's 36)", () => {
    expect(GgmlType.F32).toBe(GGMLQuantizationType.F32);
    expect(GgmlType.F16).toBe(GGMLQuantizationType.F16);
    expect(GgmlType.BF16).toBe(GGMLQuantizationType.BF16);
    expect(GgmlType.TQ1_0).toBe(GGMLQuantizationType.TQ1_0);
    expect(GgmlType.TQ2_0).toBe(GGMLQuantizationType.TQ2_0);
    expect(GgmlType.I2_S).toBe(36);
  });

  it("block sizes: TQ1_0 1.6875 and TQ2_0 2.0625 bits a weight, I2_S n/4 + 32 bytes", () => {
    expect((GGML_TYPES[GgmlType.TQ1_0].blockBytes * 8) / 256).toBe(1.6875);
    expect((GGML_TYPES[GgmlType.TQ2_0].blockBytes * 8) / 256).toBe(2.0625);
    expect(tensorByteLength(GgmlType.I2_S, [2560, 6912])).toBe((2560 * 6912) / 4 + 32);
    expect(tensorByteLength(GgmlType.F16, [2560, 128256])).toBe(2560 * 128256 * 2);
    expect(() => tensorByteLength(GgmlType.TQ2_0, [100, 3], "x")).toThrow(/row length 100/);
  });
});
