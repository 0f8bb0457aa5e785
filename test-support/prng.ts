const SQRT3 = Math.sqrt(3);

/** A small seeded PRNG (mulberry32): the same seed gives the same model on every machine. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Seeds a stream from a base seed and a label (a tensor name), order-independent. */
  static forLabel(seed: number, label: string): Prng {
    let h = 0x811c9dc5 ^ seed; // FNV-1a over the label, mixed with the seed
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
    return new Prng(h);
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Roughly standard normal (Irwin–Hall sum of four uniforms): cheap and bounded. */
  normal(): number {
    // Four 16-bit uniforms from two draws; their sum has variance 1/3: scale by √3.
    const a = this.nextU32();
    const b = this.nextU32();
    const sum = (a >>> 16) + (a & 0xffff) + (b >>> 16) + (b & 0xffff);
    return (sum / 65536 - 2) * SQRT3;
  }

  /** Fills `out` with -1, 0, +1, each about a third of the time (5 codes per draw). */
  ternary(out: Int8Array) {
    let i = 0;
    while (i < out.length) {
      let x = this.nextU32();
      for (let k = 0; k < 5 && i < out.length; k++, i++) {
        out[i] = (x % 3) - 1;
        x = Math.floor(x / 3);
      }
    }
  }
}
