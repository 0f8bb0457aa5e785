/** The wasm engine's public API: load weights, create the model, run it. */
export { checkBuild } from "./conformance.ts";
export { type LoadKernelWeightsOptions, loadKernelWeights } from "./load-gguf.ts";
export { type KernelBuild, pickBuild } from "./loader.ts";
export {
  type HeadFormat,
  KernelModel,
  type KernelModelOptions,
  type KernelWeights,
  type TernarySource,
} from "./model.ts";
