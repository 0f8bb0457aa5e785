// Decode speed and per-op profile (KernelModel.profile) after a short prompt and at ~2048
// positions, in Node, for the engine of TREE (default: this checkout), so that two
// checkouts can be run one after the other on the same file. Positions past the prompt are
// decoded over a cache nobody filled: the kernels' speed does not depend on its values,
// and no 2048-token prefill is needed. THREADS_ACTIVE > 0 pins the threads that take part
// (the model's thread tuner would otherwise pick them from the machine's load). KV=bf16 in
// the environment runs the bf16 KV cache instead of f32.
//   node --experimental-wasm-relaxed-simd --import tsx scripts/bench/decode-context.ts MODEL [THREADS] [THREADS_ACTIVE] [ROUNDS] [STEPS] [TREE]
import { resolve } from "node:path";
import { median } from "./run-trit.ts";

const [modelPath, threadsArg, activeArg, roundsArg, stepsArg, treeArg] = process.argv.slice(2);
if (!modelPath) {
  console.error(
    "usage: decode-context.ts MODEL [THREADS] [THREADS_ACTIVE] [ROUNDS] [STEPS] [TREE]",
  );
  process.exit(2);
}
const tree = resolve(treeArg ?? ".");
const { openGgufFile } = await import(`${tree}/src/engine/gguf/node.ts`);
const { loadKernelWeights } = await import(`${tree}/src/engine/kernels/gguf-weights.ts`);
const { KernelModel } = await import(`${tree}/src/engine/kernels/model.ts`);
const steps = Number(stepsArg ?? 8);
const contexts = [64, 2048 - steps];
const model = await KernelModel.create(await loadKernelWeights(await openGgufFile(modelPath)), {
  threads: Number(threadsArg ?? 2),
  maxPositions: 2048 + 1,
  kvCache: process.env.KV === "bf16" ? "bf16" : "f32",
});
const active = Number(activeArg ?? 0);
if (active > 0) {
  // benchmark only: replace the private tuner with a fixed count
  const m = model as unknown as { tuner: object; pool: { active: number } };
  m.tuner = { next: () => active, record() {}, best: active };
  m.pool.active = active;
}
const stepMs = new Map<number, number[]>();
const profiles = new Map<number, Record<string, number>[]>();
for (let r = 0; r < Number(roundsArg ?? 3); r++) {
  for (const start of contexts) {
    model.forward(1, start - 1);
    model.profile(true);
    for (let i = 0; i < steps; i++) {
      const t = performance.now();
      model.forward(1000 + i, start + i);
      stepMs.set(start, [...(stepMs.get(start) ?? []), performance.now() - t]);
    }
    const profile: Record<string, number> = model.takeProfile();
    model.profile(false);
    const perToken = Object.entries(profile).map(([op, ms]) => [op, ms / steps]);
    profiles.set(start, [...(profiles.get(start) ?? []), Object.fromEntries(perToken)]);
  }
}
const result: Record<string, unknown> = {
  tree,
  threads: model.threads,
  active: model.activeThreads,
};
for (const start of contexts) {
  const p = profiles.get(start) ?? [];
  const ops = Object.keys(p[0] ?? {});
  result[`after ${start}`] = {
    tok_s: Number((1000 / median(stepMs.get(start) ?? [])).toFixed(2)),
    ms_per_token: Object.fromEntries(
      ops.map((op) => [op, Number(median(p.map((x) => x[op])).toFixed(2))]),
    ),
  };
}
console.log(JSON.stringify(result));
model.dispose();
process.exit(0);
