// GGUF bytes → KernelModel (I2_S copied, TQ2_0 repacked, TQ1_0 via codes, F16 head kept
// as halves) against the reference model loaded from the same file by load-weights.ts.
import { afterAll, describe, expect, it } from "vitest";
import { bitnetFile } from "../../../test-support/bitnet-file.ts";
import { GgmlType } from "../gguf/index.ts";
import { ReferenceModel } from "../reference/forward.ts";
import { loadBitNetWeights } from "../reference/load-weights.ts";
import { loadKernelWeights } from "./gguf-weights.ts";
import { KernelModel } from "./model.ts";

const models: KernelModel[] = [];
afterAll(() => {
  for (const m of models) m.dispose();
});

describe("loadKernelWeights", () => {
  for (const [name, type] of [
    ["I2_S", GgmlType.I2_S],
    ["TQ2_0", GgmlType.TQ2_0],
    ["TQ1_0", GgmlType.TQ1_0],
  ] as const) {
    it(`runs a ${name} file with an F16 head like the reference does`, async () => {
      const blob = new Blob([bitnetFile(type) as BlobPart]);
      const model = await KernelModel.create(await loadKernelWeights(blob), { build: "simd128" });
      models.push(model);
      expect(model.exactHead).toBe("f16");
      const reference = new ReferenceModel(await loadBitNetWeights(blob));
      const tokens = [1, 2, 3];
      for (let pos = 0; pos < 10; pos++) {
        const a = reference.forward(tokens[pos], pos);
        const b = model.forward(tokens[pos], pos);
        let diff = 0;
        let best = 0;
        for (let i = 0; i < a.length; i++) {
          diff = Math.max(diff, Math.abs(a[i] - b[i]));
          if (a[i] > a[best]) best = i;
        }
        expect(diff).toBeLessThan(1e-3);
        if (pos >= tokens.length - 1) tokens.push(best);
      }
    });
  }
});
