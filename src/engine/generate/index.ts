export type { ForwardModel } from "../bitnet/forward-model.ts";
export { ChatSession, type ChatTurnResult, type ChatTurnStats } from "./chat-session.ts";
export {
  type GenerateOptions,
  type GenerateResult,
  type GenerationSampler,
  type GenerationTokenizer,
  generate,
  greedyContinuation,
  ModelSession,
} from "./generate.ts";
export { chatPromptTokens, rawPromptTokens } from "./prompt.ts";
