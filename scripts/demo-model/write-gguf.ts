/**
 * Writes the demo model's GGUF from what scripts/demo-model/export.py dumped: the
 * tensors go through the project's own GGUF writer and I2_S packer, so the file format
 * lives in one place (src/engine/gguf/).
 *
 *   npx tsx scripts/demo-model/write-gguf.ts [EXPORT_DIR] [OUT_FILE]
 *
 * Defaults: scripts/demo-model/out/export → public/demo/trit-demo-brown-i2_s.gguf.
 */
import { readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { BITNET_2B4T_CHAT_TEMPLATE } from "../../src/engine/chat/template.ts";
import {
  encodeGguf,
  encodeTernary,
  GgmlType,
  type GgufTypedValue,
  GgufValueType as T,
} from "../../src/engine/gguf/index.ts";
import { modelMetadata } from "../../test-support/bitnet-model.ts";
import {
  TOKEN_TYPE_CONTROL,
  TOKEN_TYPE_NORMAL,
} from "../../test-support/llama3-tokenizer-metadata.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
export const DEMO_MODEL_FILE = resolve(HERE, "../../public/demo/trit-demo-brown-i2_s.gguf");

interface Manifest {
  config: {
    vocab: number;
    hidden: number;
    layers: number;
    heads: number;
    kv_heads: number;
    ffn: number;
    context: number;
    rope_theta: number;
    eps: number;
  };
  tokens: string[];
  special_tokens: string[];
  merges: string[];
  bos: number;
  eos: number;
  tensors: {
    name: string;
    kind: "f16" | "f32" | "ternary";
    shape: number[];
    file: string;
    scale?: number;
  }[];
}

function tokenizerMetadata(m: Manifest): Record<string, GgufTypedValue> {
  const specials = new Set(m.special_tokens);
  return {
    "tokenizer.ggml.model": { type: T.STRING, value: "gpt2" },
    "tokenizer.ggml.pre": { type: T.STRING, value: "llama-bpe" },
    "tokenizer.ggml.tokens": { type: { array: T.STRING }, value: m.tokens },
    "tokenizer.ggml.token_type": {
      type: { array: T.INT32 },
      value: m.tokens.map((t) => (specials.has(t) ? TOKEN_TYPE_CONTROL : TOKEN_TYPE_NORMAL)),
    },
    "tokenizer.ggml.merges": { type: { array: T.STRING }, value: m.merges },
    "tokenizer.ggml.bos_token_id": { type: T.UINT32, value: m.bos },
    "tokenizer.ggml.eos_token_id": { type: T.UINT32, value: m.eos },
    "tokenizer.ggml.padding_token_id": { type: T.UINT32, value: m.eos },
    "tokenizer.ggml.add_bos_token": { type: T.BOOL, value: true },
    "tokenizer.chat_template": { type: T.STRING, value: BITNET_2B4T_CHAT_TEMPLATE },
  };
}

function tensorData(
  dir: string,
  t: Manifest["tensors"][number],
): { type: GgmlType; data: Uint8Array } {
  const raw = readFileSync(join(dir, t.file));
  const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  if (t.kind === "f16") return { type: GgmlType.F16, data: bytes };
  if (t.kind === "f32") return { type: GgmlType.F32, data: bytes };
  if (t.scale === undefined) throw new Error(`${t.name}: a ternary tensor needs its scale`);
  const codes = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { type: GgmlType.I2_S, data: encodeTernary(GgmlType.I2_S, codes, t.scale) };
}

export function writeDemoGguf(exportDir: string, outFile: string): number {
  const m = JSON.parse(readFileSync(join(exportDir, "manifest.json"), "utf8")) as Manifest;
  const c = m.config;
  const shape = {
    layers: c.layers,
    hidden: c.hidden,
    ffn: c.ffn,
    heads: c.heads,
    kvHeads: c.kv_heads,
    vocab: c.vocab,
    contextLength: c.context,
    ropeTheta: c.rope_theta,
    normEps: c.eps,
  };
  const metadata = modelMetadata(shape, "i2_s", "Trit demo (Brown corpus)", tokenizerMetadata(m));
  const tensors = m.tensors.map((t) => ({
    name: t.name,
    shape: t.shape,
    ...tensorData(exportDir, t),
  }));
  const file = encodeGguf(metadata, tensors);
  writeFileSync(`${outFile}.partial`, file);
  renameSync(`${outFile}.partial`, outFile);
  return statSync(outFile).size;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const exportDir = resolve(process.argv[2] ?? join(HERE, "out/export"));
  const outFile = resolve(process.argv[3] ?? DEMO_MODEL_FILE);
  const size = writeDemoGguf(exportDir, outFile);
  console.log(`wrote ${outFile} (${size} bytes, ${(size / 2 ** 20).toFixed(2)} MiB)`);
}
