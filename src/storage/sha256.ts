/**
 * Incremental SHA-256 (FIPS 180-4). WebCrypto's digest() takes the whole input at
 * once; a stored model is read back chunk by chunk, so the whole-file checksum a
 * server publishes is checked with this instead.
 */

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** The running state after a whole number of 64-byte blocks, to store and resume later. */
export interface Sha256State {
  h: number[];
  length: number;
}

export class Sha256 {
  private h = new Uint32Array([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ]);
  private w = new Uint32Array(64);
  private block = new Uint8Array(64);
  private blockFill = 0;
  private length = 0;
  private done = false;

  /** Continues a hash from a saved state. */
  static resume(state: Sha256State): Sha256 {
    if (state.h.length !== 8 || state.length % 64 !== 0) {
      throw new Error("Sha256.resume: not a state saved on a block boundary");
    }
    const hash = new Sha256();
    hash.h.set(state.h);
    hash.length = state.length;
    return hash;
  }

  /** The state so far; only on a block boundary (bytes hashed a multiple of 64). */
  save(): Sha256State {
    if (this.blockFill !== 0 || this.done) {
      throw new Error("Sha256.save: only between whole 64-byte blocks, before digest()");
    }
    return { h: [...this.h], length: this.length };
  }

  update(data: Uint8Array): this {
    if (this.done) throw new Error("Sha256: update() after digest()");
    this.length += data.length;
    let p = 0;
    if (this.blockFill > 0) {
      const n = Math.min(64 - this.blockFill, data.length);
      this.block.set(data.subarray(0, n), this.blockFill);
      this.blockFill += n;
      p = n;
      if (this.blockFill < 64) return this;
      this.compress(this.block, 0);
      this.blockFill = 0;
    }
    for (; p + 64 <= data.length; p += 64) this.compress(data, p);
    if (p < data.length) {
      this.block.set(data.subarray(p), 0);
      this.blockFill = data.length - p;
    }
    return this;
  }

  /** Lowercase hex of the digest. */
  digestHex(): string {
    if (!this.done) {
      const bits = this.length * 8;
      const tail = new Uint8Array((this.blockFill < 56 ? 64 : 128) - this.blockFill);
      tail[0] = 0x80;
      const view = new DataView(tail.buffer);
      // Message length in bits as a 64-bit big-endian number.
      view.setUint32(tail.length - 8, Math.floor(bits / 2 ** 32));
      view.setUint32(tail.length - 4, bits >>> 0);
      this.update(tail);
      this.done = true;
    }
    return [...this.h].map((x) => x.toString(16).padStart(8, "0")).join("");
  }

  private compress(data: Uint8Array, at: number): void {
    const w = this.w;
    for (let i = 0; i < 16; i++) {
      const j = at + 4 * i;
      w[i] = (data[j] << 24) | (data[j + 1] << 16) | (data[j + 2] << 8) | data[j + 3];
    }
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15];
      const b = w[i - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    const h = this.h;
    let a = h[0];
    let b = h[1];
    let c = h[2];
    let d = h[3];
    let e = h[4];
    let f = h[5];
    let g = h[6];
    let hh = h[7];
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (hh + S1 + ch + K[i] + w[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) | 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
  }
}

/** SHA-256 of one buffer with WebCrypto (native speed), as lowercase hex. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((x) => x.toString(16).padStart(2, "0")).join("");
}
