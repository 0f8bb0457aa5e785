/**
 * GPT-2 style byte-level alphabet: every byte 0..255 is written as one visible
 * character, so BPE tokens are plain strings. Printable Latin-1 bytes ("!".."~",
 * "¡".."¬", "®".."ÿ") stand for themselves; the other 68 bytes, in increasing
 * order, take the characters U+0100, U+0101, … (so a space, byte 32, is "Ġ").
 */

function isPrintable(byte: number): boolean {
  return (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || byte >= 0xae;
}

/** BYTE_TO_CHAR[b] is the character that stands for byte b. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const table = new Array<string>(256);
  let next = 0x100;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCharCode(isPrintable(b) ? b : next++);
  }
  return table;
})();

/** Code unit of a byte-level character → its byte, or -1 when it stands for none. */
const CHAR_TO_BYTE: Int16Array = (() => {
  const table = new Int16Array(0x200).fill(-1);
  BYTE_TO_CHAR.forEach((ch, b) => {
    table[ch.charCodeAt(0)] = b;
  });
  return table;
})();

/** The bytes a byte-level token string stands for, or null if it holds another character. */
export function tokenTextToBytes(text: string): Uint8Array | null {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const byte = code < 0x200 ? CHAR_TO_BYTE[code] : -1;
    if (byte < 0) return null;
    out[i] = byte;
  }
  return out;
}
