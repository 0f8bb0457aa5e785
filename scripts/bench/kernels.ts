// Micro-benchmarks of single kernels on one thread, in whatever context runs them (Node,
// or the browser benchmark page's Worker: `npx tsx scripts/bench/browser.ts --kernels`).
// Matrices are replicated past the caches so that weights stream from memory as in
// decoding. Figures: G multiply-adds/s and GB/s of weight bytes; median of 7.
import { Arena, createMemory } from "../../src/engine/kernels/arena.ts";
import {
  instantiateKernels,
  type KernelBuild,
  loadKernelModule,
} from "../../src/engine/kernels/loader.ts";
import { packedStride, paddedCols } from "../../src/engine/kernels/pack.ts";

export interface KernelFigure {
  build: KernelBuild;
  kernel: string;
  ms: number;
  gmac_s: number;
  gb_s: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export async function benchKernels(builds: KernelBuild[]): Promise<KernelFigure[]> {
  const figures: KernelFigure[] = [];
  for (const build of builds) {
    const mod = await loadKernelModule({ build, shared: false });
    const memory = createMemory(false);
    const a = new Arena(memory);
    const k = instantiateKernels(mod.module, memory);
    const time = (kernel: string, macs: number, bytes: number, f: () => void) => {
      f();
      const ms: number[] = [];
      for (let i = 0; i < 7; i++) {
        const t = performance.now();
        f();
        ms.push(performance.now() - t);
      }
      const m = median(ms);
      figures.push({ build, kernel, ms: m, gmac_s: macs / m / 1e6, gb_s: bytes / m / 1e6 });
    };
    const fill = (p: number, n: number) => {
      const v = a.u8(p, n);
      for (let i = 0; i < n; i++) v[i] = ((i * 2654435761) >>> 24) & 0xaa; // codes 0..2 only
    };

    // ternary decode: 2560 × 6912 (down projection) × 24 copies = 106 MB
    const rows = 2560;
    const cols = 6912;
    const stride = packedStride(cols);
    const copies = 24;
    const mats: number[] = [];
    for (let i = 0; i < copies; i++) {
      const p = a.alloc(rows * stride);
      fill(p, rows * stride);
      mats.push(p);
    }
    const xs = paddedCols(cols);
    const T = 32;
    const x = a.alloc(T * xs);
    fill(x, T * xs);
    const sums = a.alloc(T * 4);
    const out = a.alloc(T * 6912 * 4);
    time("ternary_dots 2560×6912", copies * rows * cols, copies * rows * stride, () => {
      for (const m of mats) k.ternary_dots(0, rows, m, stride, x, 0, out);
    });
    time(`ternary_dots_batch ×${T} tokens`, 4 * rows * cols * T, 4 * rows * stride, () => {
      for (const m of mats.slice(0, 4)) {
        k.ternary_dots_batch(0, rows, m, stride, x, xs, sums, T, out, rows);
      }
    });

    // head: 32768 rows of the 2560-wide head (168 MB in f16)
    const hRows = 32768;
    const hCols = 2560;
    const h16 = a.alloc(hRows * hCols * 2);
    const hv = a.u16(h16, hRows * hCols);
    for (let i = 0; i < hv.length; i++) hv[i] = 0x2000 + ((i * 40503) & 0x3fff); // normal halves, both signs
    const hx = a.alloc(hCols * 4);
    a.f32(hx, hCols).fill(0.5);
    const hout = a.alloc(hRows * 4);
    time("head_f16", hRows * hCols, hRows * hCols * 2, () =>
      k.head_f16(0, hRows, h16, hCols, hx, hout),
    );
    const h8 = a.alloc(hRows * hCols);
    fill(h8, hRows * hCols);
    const hScales = a.alloc(hRows * 4);
    const x16 = a.alloc(hCols * 2);
    time("head_i8", hRows * hCols, hRows * hCols, () =>
      k.head_i8(0, hRows, h8, hCols, hScales, x16, 1, hout),
    );
  }
  return figures;
}
