/** The wasm engine's public API: load weights, create the model, run it. */
export { checkBuild } from "./conformance.ts";
export { type LoadKernelWeightsOptions, loadKernelWeights } from "./gguf-weights.ts";
export { type KernelBuild, pickBuild } from "./wasm-module.ts";
export {
  type HeadFormat,
  KernelModel,
  type KernelModelOptions,
  type KernelWeights,
  type TernarySource,
} from "./model.ts";
