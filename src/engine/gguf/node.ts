/** Node-only GGUF helpers: open a path as a Blob, and a streaming file writer. */
import { openAsBlob } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { type EncodedHeader, encodeGgufHeader, type GgufTensorSpec } from "./encode.ts";
import { GgufError, type GgufTensorInfo, type GgufTypedValue } from "./types.ts";

/** A GGUF file on disk as a Blob: slices are read lazily, nothing is loaded up front. */
export function openGgufFile(path: string): Promise<Blob> {
  return openAsBlob(path);
}

type Chunks = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/**
 * Writes a GGUF file front to back: the header (metadata + tensor infos) first, then each
 * tensor's data in the declared order, padded to the alignment. Tensor data may come in
 * pieces, so memory stays at one piece however big the file is.
 */
export class GgufWriter {
  private next = 0;
  private position: number;
  private closed = false;
  private current: { info: GgufTensorInfo; written: number } | null = null;

  private constructor(
    private readonly file: FileHandle,
    readonly header: EncodedHeader,
  ) {
    this.position = header.bytes.length;
  }

  static async create(
    path: string,
    metadata: Record<string, GgufTypedValue>,
    tensors: readonly GgufTensorSpec[],
  ): Promise<GgufWriter> {
    const header = encodeGgufHeader(metadata, tensors);
    const file = await open(path, "w");
    try {
      await file.write(header.bytes, 0, header.bytes.length, 0);
    } catch (e) {
      await file.close();
      throw e;
    }
    return new GgufWriter(file, header);
  }

  /** Writes the next tensor whole or from pieces (tensors come in the declared order). */
  async writeTensor(name: string, data: Chunks): Promise<void> {
    const pieces: Iterable<Uint8Array> | AsyncIterable<Uint8Array> =
      data instanceof Uint8Array ? [data] : data;
    for await (const piece of pieces) await this.writePiece(name, piece);
    await this.endTensor(name);
  }

  /** Appends bytes to tensor `name`, starting it if it is the next one. */
  async writePiece(name: string, bytes: Uint8Array): Promise<void> {
    if (!this.current) {
      const info = this.header.tensors[this.next];
      if (!info) throw new GgufError(`tensor "${name}" was not declared (all tensors are written)`);
      if (info.name !== name) {
        throw new GgufError(`tensor "${name}" written out of order: "${info.name}" comes next`);
      }
      const start = this.header.dataOffset + info.offset;
      if (this.position !== start)
        throw new GgufError(`writer is at ${this.position}, expected ${start}`);
      this.current = { info, written: 0 };
    }
    const { info } = this.current;
    if (info.name !== name) throw new GgufError(`tensor "${info.name}" is still being written`);
    if (this.current.written + bytes.length > info.byteLength) {
      throw new GgufError(`tensor "${name}" got more than its ${info.byteLength} bytes`);
    }
    await this.writeAt(bytes);
    this.current.written += bytes.length;
  }

  /** Finishes tensor `name`: checks its size and pads to the next tensor's offset. */
  async endTensor(name: string): Promise<void> {
    if (!this.current) await this.writePiece(name, new Uint8Array(0));
    const { info, written } = this.current as { info: GgufTensorInfo; written: number };
    if (info.name !== name) throw new GgufError(`tensor "${info.name}" is still being written`);
    if (written !== info.byteLength) {
      throw new GgufError(
        `tensor "${name}" got ${written} bytes, its type and shape need ${info.byteLength}`,
      );
    }
    const following = this.header.tensors[this.next + 1];
    const end = following ? this.header.dataOffset + following.offset : this.header.fileSize;
    await this.writeAt(new Uint8Array(end - this.position));
    this.current = null;
    this.next++;
  }

  private async writeAt(bytes: Uint8Array) {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.file.write(
        bytes,
        done,
        bytes.length - done,
        this.position,
      );
      done += bytesWritten;
      this.position += bytesWritten;
    }
  }

  /** Closes the file; throws if a declared tensor was never written. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.file.close();
    if (this.next !== this.header.tensors.length) {
      throw new GgufError(
        `only ${this.next} of ${this.header.tensors.length} tensors were written (next: "${this.header.tensors[this.next].name}")`,
      );
    }
  }
}
