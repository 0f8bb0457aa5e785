/** The GGUF reader's public API (browser-safe). Node-only helpers live in ./node.ts. */
export { readGgufHeader, readTensorBytes } from "./blob.ts";
export {
  type EncodedHeader,
  encodeGguf,
  encodeGgufHeader,
  type GgufTensorSpec,
  typedMetadata,
} from "./encode.ts";
export { type GgufParserOptions, GgufStreamParser, parseGgufHeader } from "./parser.ts";
export {
  bf16ToFloat,
  dequantize,
  encodeFloats,
  encodeTernary,
  floatToBf16,
  floatToHalf,
  halfToFloat,
  readTernary,
  roundToHalf,
  type TernaryTensor,
} from "./quants.ts";
export {
  alignUp,
  elementCount,
  GGML_TYPES,
  GGUF_DEFAULT_ALIGNMENT,
  GgmlType,
  type GgmlTypeTraits,
  GgufError,
  type GgufHeader,
  type GgufTensorInfo,
  type GgufTypedValue,
  type GgufTypeTag,
  type GgufValue,
  GgufValueType,
  ggmlTypeName,
  isGgmlType,
  tensorByteLength,
} from "./types.ts";
