/**
 * Tokenizer speed, printed (not asserted): build time from GGUF metadata, encode
 * throughput on the test corpus with a cold and a warm BPE cache, decode throughput.
 * Run: npx tsx scripts/bench/tokenizer-encode.ts
 */
import llama3TokenizerJs from "llama3-tokenizer-js";
import { Tokenizer } from "../../src/engine/tokenizer/tokenizer.ts";
import { llama3TokenizerMetadata } from "../../test-support/llama3-tokenizer-metadata.ts";
import { generatedDocuments, packageDocuments } from "../../test-support/tokenizer-corpus.ts";

const texts = [
  ...packageDocuments().map((d) => d.text),
  ...generatedDocuments(120, 1, { specials: false }),
];
const chars = texts.reduce((n, t) => n + t.length, 0);

let t0 = performance.now();
const metadata = llama3TokenizerMetadata();
const tMetadata = performance.now() - t0;
t0 = performance.now();
const tok = Tokenizer.fromGgufMetadata(metadata);
const tBuild = performance.now() - t0;
console.log(`metadata from tokenizer.json: ${tMetadata.toFixed(0)} ms`);
console.log(`Tokenizer.fromGgufMetadata:   ${tBuild.toFixed(0)} ms`);

function time(label: string, encode: (t: string) => number[]): number[][] {
  const start = performance.now();
  const out = texts.map(encode);
  const ms = performance.now() - start;
  const tokens = out.reduce((n, ids) => n + ids.length, 0);
  console.log(
    `${label.padEnd(30)} ${(chars / ms / 1000).toFixed(2)} M chars/s, ${(tokens / ms / 1000).toFixed(2)} M tokens/s (${chars} chars, ${tokens} tokens, ${ms.toFixed(0)} ms)`,
  );
  return out;
}

const cold = time("encode, cold cache", (t) => tok.encode(t));
time("encode, warm cache", (t) => tok.encode(t));
time("encode parseSpecial, warm", (t) => tok.encode(t, { parseSpecial: true }));
time("llama3-tokenizer-js (ref)", (t) => llama3TokenizerJs.encode(t, { bos: false, eos: false }));

t0 = performance.now();
for (const ids of cold) tok.decode(ids);
let ms = performance.now() - t0;
const tokens = cold.reduce((n, ids) => n + ids.length, 0);
console.log(`${"decode".padEnd(30)} ${(tokens / ms / 1000).toFixed(2)} M tokens/s`);

t0 = performance.now();
for (const ids of cold) {
  const stream = tok.createStreamDecoder();
  for (const id of ids) stream.push(id);
  stream.flush();
}
ms = performance.now() - t0;
console.log(`${"stream decode".padEnd(30)} ${((ms * 1000) / tokens).toFixed(2)} µs per token`);
