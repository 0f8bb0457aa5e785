import { readBitNetConfig, validateBitNetTensors } from "../engine/bitnet/config.ts";
import { GgufStreamParser } from "../engine/gguf/parser.ts";

/**
 * Checks the start of a file as its bytes arrive, so a wrong file is refused within
 * the first chunk instead of after the whole download. push() gets the shard's bytes
 * in order from offset 0 and returns null until it has seen enough (then anything
 * else, e.g. the parsed header); it throws an Error in words when the file is wrong.
 */
export interface StartValidator {
  push(bytes: Uint8Array): unknown;
}

/** Which file of a model a validator checks. */
export interface ShardInfo {
  index: number;
  count: number;
  /** Bytes, when the server or the file said. */
  size: number | null;
}

export type ValidatorFactory = (shard: ShardInfo) => StartValidator;

/**
 * The store's default check: the GGUF header must parse (the engine's GgufStreamParser),
 * and the first file must be a BitNet model; a single file must also hold the full
 * BitNet tensor set. (Shards after the first of a split set carry only tensors.)
 */
export function bitnetStartCheck(shard: ShardInfo): StartValidator {
  const parser = new GgufStreamParser(shard.size === null ? {} : { fileSize: shard.size });
  let first = true;
  return {
    push(bytes: Uint8Array) {
      if (first && bytes.length > 0) {
        first = false;
        if (looksLikeWebPage(bytes)) {
          throw new Error(
            "the server sent a web page, not a GGUF file (is the URL a direct download link?)",
          );
        }
      }
      const header = parser.push(bytes);
      if (!header) return null;
      if (shard.index === 0) {
        const config = readBitNetConfig(header);
        if (shard.count === 1) validateBitNetTensors(header, config);
      }
      return header;
    },
  };
}

function looksLikeWebPage(bytes: Uint8Array): boolean {
  const head = new TextDecoder().decode(bytes.subarray(0, 64)).trimStart().toLowerCase();
  return head.startsWith("<!doctype") || head.startsWith("<html") || head.startsWith("<?xml");
}
