/** The wasm engine's public API: load weights, create the model, run it. */
export { type LoadKernelWeightsOptions, loadKernelWeights } from "./gguf-weights.ts";
export type { HeadFormat } from "./head-formats.ts";
export type { KernelWeights, KvFormat, TernarySource } from "./memory-layout.ts";
export { KernelModel, type KernelModelOptions } from "./model.ts";
export { formChoice, type KernelBuild, pickBuild } from "./wasm-module.ts";
