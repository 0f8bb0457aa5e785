// The SIMD128 and relaxed builds over the same model in one context, interleaved: each
// round times a prefill and a few decode steps on one build, then on the other, so that
// the machine's load falls on both alike. What the SIMD128-to-relaxed ratio is read from
// (`npx tsx scripts/bench/browser.ts --compare MODEL THREADS PROMPT GEN`).
import { loadKernelWeights } from "../../src/engine/kernels/gguf-weights.ts";
import { KernelModel } from "../../src/engine/kernels/model.ts";
import { formName, type KernelBuild } from "../../src/engine/kernels/wasm-module.ts";
import { benchPrompt, median } from "./run-trit.ts";

export interface BuildFigures {
  build: KernelBuild;
  forms: string;
  /** Median over rounds. */
  prefill_tok_s: number;
  decode_tok_s: number;
}

export async function compareBuilds(
  blob: Blob,
  p: { threads: number; promptTokens: number; genTokens: number; rounds?: number },
): Promise<{ builds: BuildFigures[]; simd128_over_relaxed: { prefill: number; decode: number } }> {
  const builds: KernelBuild[] = ["simd128", "relaxed-simd"];
  const models: KernelModel[] = [];
  try {
    for (const build of builds) {
      models.push(
        await KernelModel.create(await loadKernelWeights(blob), {
          threads: p.threads,
          build,
          maxPositions: p.promptTokens + p.genTokens + 1,
        }),
      );
    }
    const prompt = benchPrompt(p.promptTokens);
    for (const m of models) {
      m.prefill(prompt.slice(0, 8), 0); // warm-up: tier-up, page faults
      m.forward(prompt[0], 0);
    }
    const prefill = models.map((): number[] => []);
    const decode = models.map((): number[] => []);
    for (let r = 0; r < (p.rounds ?? 5); r++) {
      models.forEach((m, i) => {
        let t = performance.now();
        m.prefill(prompt, 0);
        prefill[i].push(p.promptTokens / ((performance.now() - t) / 1000));
        t = performance.now();
        for (let g = 0; g < p.genTokens; g++) m.forward(prompt[g], p.promptTokens + g);
        decode[i].push(p.genTokens / ((performance.now() - t) / 1000));
      });
    }
    const figures = models.map((m, i) => ({
      build: m.build,
      forms: `decode ${formName(m.decodeForm, m.build)}, prefill ${formName(m.prefillForm, m.build)}`,
      prefill_tok_s: median(prefill[i]),
      decode_tok_s: median(decode[i]),
    }));
    return {
      builds: figures,
      simd128_over_relaxed: {
        prefill: figures[0].prefill_tok_s / figures[1].prefill_tok_s,
        decode: figures[0].decode_tok_s / figures[1].decode_tok_s,
      },
    };
  } finally {
    for (const m of models) m.dispose();
  }
}
