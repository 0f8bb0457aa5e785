export type { ForwardModel } from "../model/forward.ts";
export {
  type GenerateOptions,
  type GenerateResult,
  type GenerationSampler,
  type GenerationTokenizer,
  generate,
  ModelSession,
} from "./generate.ts";
export { chatPromptTokens, rawPromptTokens } from "./prompt.ts";
