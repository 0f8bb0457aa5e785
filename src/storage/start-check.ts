/**
 * Checks the start of a file as its bytes arrive, so a wrong file is refused within
 * the first chunk instead of after the whole download. push() gets the shard's bytes
 * in order from offset 0 and returns null until it has seen enough (then anything
 * else, e.g. a parsed header); it throws an Error in words when the file is wrong.
 * The GGUF engineer's GgufStreamParser has this shape and can be plugged in.
 */
export interface StartValidator {
  push(bytes: Uint8Array): unknown;
}

/** Makes a fresh validator for shard `shardIndex` of a model. */
export type ValidatorFactory = (shardIndex: number) => StartValidator;

const MAGIC = [0x47, 0x47, 0x55, 0x46]; // "GGUF"

/** The store's own minimal check: the GGUF magic and a known version. Not a parser. */
export function ggufMagicCheck(): StartValidator {
  const head = new Uint8Array(8);
  let fill = 0;
  return {
    push(bytes: Uint8Array) {
      if (fill >= 8) return { version: new DataView(head.buffer).getUint32(4, true) };
      const n = Math.min(8 - fill, bytes.length);
      head.set(bytes.subarray(0, n), fill);
      fill += n;
      const seen = head.subarray(0, Math.min(fill, 4));
      if (seen.some((b, i) => b !== MAGIC[i])) {
        const text = new TextDecoder().decode(head.subarray(0, fill)).toLowerCase();
        if (text.startsWith("<!doc") || text.startsWith("<html") || text.startsWith("<")) {
          throw new Error(
            "the server sent a web page, not a GGUF file (is the URL a direct download link?)",
          );
        }
        throw new Error('it is not a GGUF file (it does not start with the bytes "GGUF")');
      }
      if (fill < 8) return null;
      const version = new DataView(head.buffer).getUint32(4, true);
      if (version < 1 || version > 3) {
        throw new Error(
          `it is a GGUF file of version ${version}, which Trit cannot read (1–3 only)`,
        );
      }
      return { version };
    },
  };
}
