/** Reading a GGUF file held in a Blob / File (browser and Node ≥ 20) by slices. */
import { GgufStreamParser } from "./parser.ts";
import { GgufError, type GgufHeader, type GgufTensorInfo } from "./types.ts";

/**
 * Reads the header by slices that grow from 64 KiB to 8 MiB, so a small header costs one
 * read and the file is never copied whole.
 */
export async function readGgufHeader(blob: Blob): Promise<GgufHeader> {
  const parser = new GgufStreamParser({ fileSize: blob.size });
  let offset = 0;
  let chunk = 64 * 1024;
  while (offset < blob.size) {
    const end = Math.min(blob.size, offset + chunk);
    const bytes = new Uint8Array(await blob.slice(offset, end).arrayBuffer());
    const header = parser.push(bytes);
    if (header) return header;
    offset = end;
    chunk = Math.min(chunk * 2, 8 * 1024 * 1024);
  }
  return parser.end();
}

/** The bytes of one tensor, read from its slice of the blob. */
export async function readTensorBytes(
  blob: Blob,
  header: GgufHeader,
  info: GgufTensorInfo,
): Promise<Uint8Array> {
  const start = header.dataOffset + info.offset;
  const end = start + info.byteLength;
  if (end > blob.size) {
    throw new GgufError(
      `tensor "${info.name}" runs past the end of the file: it needs bytes up to ${end} but the file has ${blob.size}`,
    );
  }
  const bytes = new Uint8Array(await blob.slice(start, end).arrayBuffer());
  if (bytes.length !== info.byteLength) {
    throw new GgufError(`tensor "${info.name}": read ${bytes.length} of ${info.byteLength} bytes`);
  }
  return bytes;
}
