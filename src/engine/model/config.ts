/** The FFN gate activation: relu² for BitNet b1.58 2B4T, SiLU for llama.cpp's plain `bitnet`. */
export type FfnActivation = "relu2" | "silu";

/** Architecture hyper-parameters of a BitNet model, read once from the GGUF metadata. */
export interface BitNetConfig {
  /** `general.architecture` as the file states it (e.g. `bitnet-b1.58`, `bitnet`). */
  architecture: string;
  layers: number;
  hidden: number;
  ffn: number;
  heads: number;
  kvHeads: number;
  /** hidden / heads. */
  headDim: number;
  vocab: number;
  contextLength: number;
  ropeTheta: number;
  normEps: number;
  activation: FfnActivation;
}
