/** A small GGUF file with every metadata type and every tensor type, for tests. */
import { encodeGguf, type GgufTensorSpec } from "./encode.ts";
import { encodeFloats, encodeTernary } from "./quants.ts";
import { GgmlType, type GgufTypedValue, GgufValueType as T } from "./types.ts";

export function sampleMetadata(): Record<string, GgufTypedValue> {
  return {
    "general.architecture": { type: T.STRING, value: "bitnet" },
    "general.alignment": { type: T.UINT32, value: 64 },
    "test.u8": { type: T.UINT8, value: 255 },
    "test.i8": { type: T.INT8, value: -128 },
    "test.u16": { type: T.UINT16, value: 65535 },
    "test.i16": { type: T.INT16, value: -32768 },
    "test.u32": { type: T.UINT32, value: 4294967295 },
    "test.i32": { type: T.INT32, value: -2147483648 },
    "test.f32": { type: T.FLOAT32, value: 0.5 },
    "test.bool": { type: T.BOOL, value: true },
    "test.string": { type: T.STRING, value: "héllo ✓ <|eot_id|>" },
    "test.u64": { type: T.UINT64, value: 18446744073709551615n },
    "test.i64": { type: T.INT64, value: -9223372036854775808n },
    "test.f64": { type: T.FLOAT64, value: 1e-300 },
    "test.empty_string": { type: T.STRING, value: "" },
    "test.string_array": { type: { array: T.STRING }, value: ["a", "", "Ġthe", "日本"] },
    "test.i32_array": { type: { array: T.INT32 }, value: [1, -2, 3] },
    "test.f32_array": { type: { array: T.FLOAT32 }, value: [0.25, -8] },
    "test.bool_array": { type: { array: T.BOOL }, value: [true, false] },
    "test.u64_array": { type: { array: T.UINT64 }, value: [0n, 1n << 40n] },
    "test.empty_array": { type: { array: T.UINT8 }, value: [] },
    "test.nested": {
      type: { array: { array: T.INT16 } },
      value: [[1, 2], [], [-3]],
    },
    "test.nested_strings": {
      type: { array: { array: { array: T.STRING } } },
      value: [[["x"], []], [["y", "z"]]],
    },
  };
}

function codes(n: number): Int8Array {
  return Int8Array.from({ length: n }, (_, i) => ((i * 7) % 3) - 1);
}

export function sampleTensors(): (GgufTensorSpec & { data: Uint8Array })[] {
  const t = (name: string, type: GgmlType, shape: number[], data: Uint8Array) => ({
    name,
    type,
    shape,
    data,
  });
  return [
    t("f32", GgmlType.F32, [3, 2], encodeFloats(GgmlType.F32, [1, 2, 3, 4, 5, 6])),
    t("f16", GgmlType.F16, [4], encodeFloats(GgmlType.F16, [1, -1, 0.5, 0])),
    t("bf16", GgmlType.BF16, [2, 1, 1, 1], encodeFloats(GgmlType.BF16, [1, -3])),
    t("i2_s", GgmlType.I2_S, [128, 2], encodeTernary(GgmlType.I2_S, codes(256), 0.125)),
    t("tq1_0", GgmlType.TQ1_0, [256, 2], encodeTernary(GgmlType.TQ1_0, codes(512), 0.25)),
    t("tq2_0", GgmlType.TQ2_0, [256], encodeTernary(GgmlType.TQ2_0, codes(256), 2)),
  ];
}

export function sampleGguf(): Uint8Array {
  return encodeGguf(sampleMetadata(), sampleTensors());
}
