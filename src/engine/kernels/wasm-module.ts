import { relaxedSimd, simd } from "wasm-feature-detect";
import type { KernelExports } from "../../../wasm-kernels/build/kernel-exports.d.ts";

/** Which compiled kernel build runs. */
export type KernelBuild = "relaxed-simd" | "simd128";

/**
 * The wasm exports, typed: generated from the AssemblyScript sources by
 * wasm-kernels/build.mjs (npm run build:kernels), so the signatures live in one place.
 */
export type { KernelExports } from "../../../wasm-kernels/build/kernel-exports.d.ts";

/** What a thread needs to run the kernels: the compiled module and the memory. */
export interface KernelModule {
  build: KernelBuild;
  shared: boolean;
  module: WebAssembly.Module;
  /**
   * Whether the ternary kernels may use i32x4.relaxed_dot_i8x16_i7x16_add_s (their
   * `dotAdd` argument): the relaxed build, on an engine that computes it exactly (Node
   * 20's baseline compiler drops the accumulator).
   */
  dotAdd: boolean;
}

const isNode = typeof process !== "undefined" && typeof process.versions?.node === "string";

function buildUrl(build: KernelBuild, shared: boolean): URL {
  // Literal URLs so that Vite copies each build into the bundle as an asset.
  if (build === "relaxed-simd") {
    return shared
      ? new URL("../../../wasm-kernels/build/kernels-relaxed-shared.wasm", import.meta.url)
      : new URL("../../../wasm-kernels/build/kernels-relaxed.wasm", import.meta.url);
  }
  return shared
    ? new URL("../../../wasm-kernels/build/kernels-simd128-shared.wasm", import.meta.url)
    : new URL("../../../wasm-kernels/build/kernels-simd128.wasm", import.meta.url);
}

async function readBytes(url: URL): Promise<ArrayBuffer | Uint8Array> {
  if (isNode && url.protocol === "file:") {
    const fsName = "node:fs/promises";
    const fs = (await import(/* @vite-ignore */ fsName)) as typeof import("node:fs/promises");
    try {
      return await fs.readFile(url);
    } catch (e) {
      throw new Error(
        `The wasm kernels are not built (${url.pathname} is missing): run \`npm run build:kernels\`. ${String(e)}`,
      );
    }
  }
  const response = await fetch(url);
  if (!response.ok)
    throw new Error(`Could not load the wasm kernels from ${url}: ${response.status}`);
  return await response.arrayBuffer();
}

/** The fastest build this context validates: relaxed SIMD, else SIMD128. */
export async function pickBuild(): Promise<KernelBuild> {
  if (await relaxedSimd()) return "relaxed-simd";
  if (await simd()) return "simd128";
  throw new Error(
    "This browser cannot run WebAssembly SIMD (fixed-width SIMD128), which Trit's kernels need. Use a current Chrome, Edge, Firefox or Safari.",
  );
}

/**
 * Compiles one kernel build (the memory is supplied at instantiation). Without a forced
 * build, a relaxed build that validates but does not compile (WebKit: "invalid extended
 * simd op") or computes a known dot wrongly (engines may implement relaxed SIMD early and
 * differently) is replaced by SIMD128.
 */
export async function loadKernelModule(opts: {
  build?: KernelBuild;
  shared: boolean;
}): Promise<KernelModule> {
  const build = opts.build ?? (await pickBuild());
  const bytes = await readBytes(buildUrl(build, opts.shared));
  const fallBack = !opts.build && build === "relaxed-simd";
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(bytes as BufferSource);
  } catch (e) {
    if (fallBack) return loadKernelModule({ build: "simd128", shared: opts.shared });
    throw new Error(
      `This browser cannot compile Trit's ${build} kernels: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (fallBack && !passes(() => selfTest(module, opts.shared, 0))) {
    return loadKernelModule({ build: "simd128", shared: opts.shared });
  }
  const dotAdd = build === "relaxed-simd" && passes(() => selfTest(module, opts.shared, 1));
  return { build, shared: opts.shared, module, dotAdd };
}

/** A self-test that throws (the build links or traps differently here) fails. */
function passes(test: () => boolean): boolean {
  try {
    return test();
  } catch {
    return false;
  }
}

/**
 * Ternary dots of 4 rows, decode and prefill (4 copies of the activations), with dotAdd 0
 * or 1, against the same sums done in JavaScript. Both kernels run: an engine can have
 * one function in its baseline tier and another optimised, and Node 20's baseline tier
 * computes the dot-add wrongly where its optimised tier does not.
 */
function selfTest(module: WebAssembly.Module, shared: boolean, dotAdd: number): boolean {
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536, shared });
  const k = instantiateKernels(module, memory);
  const bytes = new Uint8Array(memory.buffer);
  const rows = 4;
  const tokens = 4;
  const stride = 32; // one block of 128 columns
  const w = 0x10000;
  const x = w + rows * stride;
  const sums = x + tokens * 128;
  const out = sums + tokens * 4;
  let sum = 0;
  for (let c = 0; c < 128; c++) {
    const v = ((c * 37) % 255) - 127;
    for (let t = 0; t < tokens; t++) bytes[x + t * 128 + c] = v & 0xff;
    sum += v;
  }
  new Int32Array(memory.buffer, sums, tokens).fill(sum);
  const expected: number[] = [];
  for (let r = 0; r < rows; r++) {
    let dot = 0;
    for (let i = 0; i < stride; i++) {
      const byte = (r * 89 + i * 151) & 0xff;
      const clean = byte & ~((byte & (byte >> 1) & 0x55) << 1); // no code 3
      bytes[w + r * stride + i] = clean;
      for (let n = 0; n < 4; n++) {
        const code = (clean >> (6 - 2 * n)) & 3;
        const v = ((((i + 32 * n) * 37) % 255) - 127) | 0;
        dot += (code - 1) * v;
      }
    }
    expected.push(dot);
  }
  const got = new Int32Array(memory.buffer, out, tokens * rows);
  k.ternary_dots(0, rows, w, stride, x, sum, out, dotAdd);
  if (!expected.every((v, i) => got[i] === v)) return false;
  k.ternary_dots_batch(0, rows, w, stride, x, 128, sums, tokens, out, rows, dotAdd);
  return got.every((v, i) => v === expected[i % rows]);
}

/** Instantiates the kernels over a memory (shared when the module is the shared build). */
export function instantiateKernels(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
): KernelExports {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports as unknown as KernelExports;
}
