/**
 * `npm run models`: writes the deterministic test and benchmark models into models/.
 *   models/tiny-<format>.gguf       format ∈ i2_s, tq1_0, tq2_0, f16, f32
 *   models/bench-2b4t-<format>.gguf format ∈ i2_s, tq1_0, tq2_0 (2B4T shape, random ternary)
 * `npm run models -- --tiny` writes the tiny ones alone; `--bench` the benchmark ones alone;
 * `--formats i2_s,tq2_0` limits the benchmark formats (each is ~1.2 GB); `--out DIR` writes elsewhere.
 */
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  BITNET_2B4T_SHAPE,
  type ModelShape,
  TINY_SHAPE,
  WEIGHT_FORMATS,
  type WeightFormat,
  writeBitNetModels,
} from "../test-support/bitnet-model.ts";
import { llama3TokenizerGguf } from "../test-support/tokenizer.ts";

export const MODEL_SEED = 20250414; // the 2B4T release date: any fixed number works

const BENCH_FORMATS: WeightFormat[] = ["i2_s", "tq1_0", "tq2_0"];

async function make(
  label: string,
  shape: ModelShape,
  formats: readonly WeightFormat[],
  dir: string,
  prefix: string,
) {
  const started = performance.now();
  const outputs = formats.map((format) => ({
    format,
    path: join(dir, `${prefix}-${format}.gguf`),
  }));
  let lastReport = 0;
  await writeBitNetModels(shape, outputs, {
    seed: MODEL_SEED,
    name: label,
    tokenizer: llama3TokenizerGguf(),
    onTensor: (name, index, total) => {
      if (performance.now() - lastReport > 5000 || index === total - 1) {
        lastReport = performance.now();
        console.log(`  ${label}: tensor ${index + 1}/${total} ${name}`);
      }
    },
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  for (const o of outputs) console.log(`wrote ${o.path}`);
  console.log(
    `${label}: ${seconds} s, peak RSS so far ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
  );
}

async function main(args: string[]) {
  const tinyOnly = args.includes("--tiny");
  const benchOnly = args.includes("--bench");
  const flagValue = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? (args[i + 1] ?? "") : undefined;
  };
  const out = flagValue("--out");
  const formatList = flagValue("--formats");
  const dir = resolve(out ?? "models");
  const formats = formatList === undefined ? BENCH_FORMATS : formatList.split(",");
  const unknown = args.filter(
    (a, i) =>
      !["--tiny", "--bench", "--out", "--formats"].includes(a) &&
      !["--out", "--formats"].includes(args[i - 1]),
  );
  const badFormat = formats.find((f) => !BENCH_FORMATS.includes(f as WeightFormat));
  if (
    unknown.length > 0 ||
    out === "" ||
    formatList === "" ||
    badFormat ||
    (tinyOnly && benchOnly)
  ) {
    console.error(
      `usage: npm run models [-- --tiny | --bench] [--formats ${BENCH_FORMATS.join(",")}] [--out DIR]` +
        (badFormat ? `\n${badFormat} is not a benchmark format` : ""),
    );
    process.exit(2);
  }
  await mkdir(dir, { recursive: true });
  if (!benchOnly) await make("trit tiny bitnet", TINY_SHAPE, WEIGHT_FORMATS, dir, "tiny");
  if (!tinyOnly) {
    const bench = formats as WeightFormat[];
    await make("trit bench 2b4t-shaped", BITNET_2B4T_SHAPE, bench, dir, "bench-2b4t");
  }
}

await main(process.argv.slice(2));
