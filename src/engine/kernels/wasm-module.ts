import { relaxedSimd, simd } from "wasm-feature-detect";
import type { KernelExports } from "../../../wasm-kernels/build/kernel-exports.d.ts";

/** Which compiled kernel build runs. */
export type KernelBuild = "relaxed-simd" | "simd128";

/**
 * The wasm exports, typed: generated from the AssemblyScript sources by
 * wasm-kernels/build.mjs (npm run build:kernels), so the signatures live in one place.
 */
export type { KernelExports } from "../../../wasm-kernels/build/kernel-exports.d.ts";

/**
 * The ternary kernels' `form` argument (wasm-kernels/assembly/ternary.ts FORM_*): 0 i16
 * pair sums (relaxed i16 dot, or extmul in SIMD128), 1 the relaxed i32 dot-add (relaxed
 * build only), 2 the i16 multiply-add (i32x4.dot_i16x8_s, both builds), 3 (prefill only;
 * decode computes it as form 0) two rows per i16 lane of i32x4.dot_i16x8_s, unpacked once
 * per block for all tokens, 4 two rows per i16 lane from the lane-pair layout (decode and
 * prefill; the weights must be relaid, ternary_lane_layout).
 */
export type TernaryForm = 0 | 1 | 2 | 3 | 4;

/** The forms only ternary_dots_batch has: not candidates for decode. */
const PREFILL_ONLY: readonly TernaryForm[] = [3];

/** The form that reads the lane-pair layout: decode and prefill both take it, or neither. */
export const LANE_FORM: TernaryForm = 4;

/**
 * How the ternary weights are laid out: the shipped blocks (pack.ts), or relaid as lane
 * pairs (wasm-kernels/assembly/ternary-lanes.ts) for the lane form.
 */
export type TernaryLayout = "blocks" | "lane pairs";

export function ternaryLayoutOf(decodeForm: TernaryForm): TernaryLayout {
  return decodeForm === LANE_FORM ? "lane pairs" : "blocks";
}

/** Bytes ternary_lane_inputs writes for `cols` (padded) columns. */
export function laneInputBytes(cols: number): number {
  return (cols / 128) * 528;
}

/**
 * Scratch bytes per matrix row that ternary_dots_batch's `scratch` needs (the row-pair
 * form's unpacked blocks, wasm-kernels/assembly/ternary-pairs.ts PAIRS_SLOT_BYTES / 4).
 */
export const BATCH_SCRATCH_BYTES_PER_ROW = 256;

/** Names of the forms, for benchmarks and diagnostics. */
export function formName(form: TernaryForm, build: KernelBuild): string {
  if (form === 1) return "i32 dot-add";
  if (form === 2) return "i16 multiply-add";
  if (form === 3) return "i16 row pairs";
  if (form === 4) return "i16 lane pairs";
  return build === "relaxed-simd" ? "i16 pairs" : "i16 extmul pairs";
}

/** What a thread needs to run the kernels: the compiled module and the memory. */
export interface KernelModule {
  build: KernelBuild;
  shared: boolean;
  module: WebAssembly.Module;
  /**
   * The ternary forms this engine computes exactly (a self-test each): engines implement
   * relaxed SIMD differently, and Node 20's baseline compiler drops the dot-add's
   * accumulator.
   */
  forms: TernaryForm[];
  /** The fastest exact form for one token (decode), timed at load. */
  decodeForm: TernaryForm;
  /** The fastest exact form for a batch of tokens (prefill), timed at load. */
  prefillForm: TernaryForm;
  /** Which kernels these are (a digest of the build's bytes): saved choices name it. */
  kernels: string;
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
 * differently) is replaced by SIMD128. Then each exact ternary form is timed briefly, and
 * the fastest kept for decode and for prefill: the best form differs per engine and CPU
 * (Firefox's relaxed dot-add is slower than its i16 pairs; in Chromium the dot-add wins on
 * some x86 CPUs and loses on others).
 */
export async function loadKernelModule(opts: {
  build?: KernelBuild;
  shared: boolean;
  /** Only these forms are candidates (tests and benchmarks). */
  forms?: readonly TernaryForm[];
  /** Forms a previous load chose here: kept without timing when they are still exact. */
  hint?: FormChoice;
}): Promise<KernelModule> {
  const build = opts.build ?? (await pickBuild());
  const bytes = await readBytes(buildUrl(build, opts.shared));
  const kernels = await kernelsId(bytes);
  const fallBack = !opts.build && build === "relaxed-simd";
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(bytes as BufferSource);
  } catch (e) {
    if (fallBack) return loadKernelModule({ ...opts, build: "simd128" });
    throw new Error(
      `This browser cannot compile Trit's ${build} kernels: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (fallBack && !passes(() => selfTest(module, opts.shared, 0))) {
    return loadKernelModule({ ...opts, build: "simd128" });
  }
  const buildForms: TernaryForm[] = build === "relaxed-simd" ? [0, 1, 2, 3, 4] : [0, 2, 3, 4];
  const candidates = buildForms.filter((f) => !opts.forms || opts.forms.includes(f));
  const chosen = chooseForms(
    candidates,
    (f) => passes(() => selfTest(module, opts.shared, f)),
    (forms) => timingProbe(module, opts.shared, forms),
    opts.hint,
    kernels,
  );
  return { build, shared: opts.shared, module, kernels, ...chosen };
}

/**
 * Names a kernel build by its bytes, so that a choice timed on other kernels (an update
 * can change which form is fastest) is timed afresh. Without SubtleCrypto (insecure
 * contexts) the build's size stands in.
 */
async function kernelsId(bytes: ArrayBuffer | Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return `${bytes.byteLength} bytes`;
  const digest = new Uint8Array(await subtle.digest("SHA-256", bytes as BufferSource));
  return Array.from(digest.subarray(0, 12), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A self-test that throws (the build links or traps differently here) fails. */
function passes(test: () => boolean): boolean {
  try {
    return test();
  } catch {
    return false;
  }
}

/** A decode and a prefill form, as a load chose them. */
export interface FormChoice {
  decode: TernaryForm;
  prefill: TernaryForm;
  /** The kernels they were timed on (KernelModule.kernels): a hint for others is ignored. */
  kernels?: string;
}

/** A saved choice read back (plain numbers from storage), if it names forms at all. */
export function formChoice(
  saved: { decode: number; prefill: number; kernels?: string } | undefined,
): FormChoice | undefined {
  const isForm = (f: number): f is TernaryForm => [0, 1, 2, 3, 4].includes(f);
  if (!saved || !isForm(saved.decode) || !isForm(saved.prefill)) return undefined;
  const choice: FormChoice = { decode: saved.decode, prefill: saved.prefill };
  if (typeof saved.kernels === "string") choice.kernels = saved.kernels;
  return choice;
}

/**
 * Whether a choice can stand: timed on these kernels, both forms exact here, and one
 * weight layout for both.
 */
function usable(
  choice: FormChoice | undefined,
  forms: readonly TernaryForm[],
  kernels: string | undefined,
): boolean {
  if (!choice) return false;
  const { decode, prefill } = choice;
  return (
    choice.kernels === kernels &&
    forms.includes(decode) &&
    forms.includes(prefill) &&
    !PREFILL_ONLY.includes(decode) &&
    (decode === LANE_FORM) === (prefill === LANE_FORM)
  );
}

/**
 * The exact forms among the candidates (the self-test gates: a fast wrong form is never
 * run), and the fastest of them for decode and for prefill; or the `hint`, a previous
 * load's choice, when it still stands (`kernels`: the build's KernelModule.kernels).
 * Keeping it keeps the weight image's layout: where two forms time alike (WebKit's coarse
 * timer), a fresh choice at every load could relay the weights and throw the stored image
 * away every other time.
 */
export function chooseForms(
  candidates: readonly TernaryForm[],
  exact: (form: TernaryForm) => boolean,
  timers: (forms: readonly TernaryForm[]) => FormTimers,
  hint?: FormChoice,
  kernels?: string,
): Pick<KernelModule, "forms" | "decodeForm" | "prefillForm"> {
  const forms = candidates.filter(exact);
  if (forms.length === 0) {
    throw new Error(
      "This browser computes every form of the ternary kernels wrongly (a self-test failed); Trit cannot run here.",
    );
  }
  // a prefill-only form decodes as form 0 (its self-test checks that too): kept when alone
  const decoding = forms.filter((f) => !PREFILL_ONLY.includes(f));
  const decodeForms = decoding.length > 0 ? decoding : forms;
  if (forms.length === 1) return { forms, decodeForm: forms[0], prefillForm: forms[0] };
  if (hint && usable(hint, forms, kernels)) {
    return { forms, decodeForm: hint.decode, prefillForm: hint.prefill };
  }
  const t = timers(forms);
  const decodeForm = fastestForm(decodeForms, t.decode, 5);
  // one layout for both: the lane form prefills what it decodes, and only it can
  const prefillForm =
    decodeForm === LANE_FORM
      ? LANE_FORM
      : fastestForm(
          forms.filter((f) => f !== LANE_FORM),
          t.prefill,
          5,
        );
  return { forms, decodeForm, prefillForm };
}

/** Milliseconds one form takes, for one token and for a batch. */
export interface FormTimers {
  decode: (form: TernaryForm) => number;
  prefill: (form: TernaryForm) => number;
}

/**
 * The form with the least time, each timed `rounds` times interleaved (the fastest of its
 * rounds counts: the machine's noise only adds time). A single form is not timed.
 */
export function fastestForm(
  forms: readonly TernaryForm[],
  time: (form: TernaryForm) => number,
  rounds = 3,
): TernaryForm {
  if (forms.length === 1) return forms[0];
  const best = forms.map(() => Number.POSITIVE_INFINITY);
  for (let r = 0; r < rounds; r++) {
    forms.forEach((f, i) => {
      best[i] = Math.min(best[i], time(f));
    });
  }
  return forms[best.indexOf(Math.min(...best))];
}

/**
 * Timers of each form on a small 2B4T-shaped matrix (512 × 2560, 320 KB: the compute is
 * what differs between forms): decode runs it 16 times, prefill once over 16 tokens,
 * about a millisecond each (coarse timers give 0.1 ms when not isolated). The warm-up
 * rounds let the engine optimise the kernels before the timed ones (fastestForm).
 */
function timingProbe(
  module: WebAssembly.Module,
  shared: boolean,
  forms: readonly TernaryForm[],
): FormTimers {
  const rows = 512;
  const stride = 2560 / 4;
  const tokens = 16;
  const w = 0x10000;
  const x = w + rows * stride;
  const sums = x + tokens * 2560;
  const out = sums + tokens * 4;
  const scratch = out + tokens * rows * 4;
  const laneInputs = scratch + rows * BATCH_SCRATCH_BYTES_PER_ROW;
  const end = laneInputs + laneInputBytes(2560);
  const memory = new WebAssembly.Memory({
    initial: Math.ceil(end / 65536),
    maximum: 65536,
    shared,
  });
  const k = instantiateKernels(module, memory);
  const bytes = new Uint8Array(memory.buffer);
  for (let i = w; i < sums; i++) bytes[i] = ((i * 2654435761) >>> 24) & 0xaa; // codes 0..2
  k.ternary_lane_inputs(x, 2560 / 128, laneInputs); // the time does not depend on the layout
  const timed = (run: () => void) => {
    const t = performance.now();
    run();
    return performance.now() - t;
  };
  const decode = (f: TernaryForm) =>
    timed(() => {
      const xs = f === LANE_FORM ? laneInputs : x;
      for (let i = 0; i < 16; i++) k.ternary_dots(0, rows, w, stride, xs, 0, out, f);
    });
  const prefill = (f: TernaryForm) =>
    timed(() =>
      k.ternary_dots_batch(0, rows, w, stride, x, 2560, sums, tokens, out, rows, f, scratch),
    );
  // warm up: engines optimise a function after it has run for a while
  for (let i = 0; i < 3; i++) {
    for (const f of forms) {
      decode(f);
      prefill(f);
    }
  }
  return { decode, prefill };
}

/**
 * Ternary dots of 4 rows, decode and prefill (4 copies of the activations), in one form,
 * against the same sums done in JavaScript. Both kernels run: an engine can have
 * one function in its baseline tier and another optimised, and Node 20's baseline tier
 * computes the dot-add wrongly where its optimised tier does not.
 */
function selfTest(module: WebAssembly.Module, shared: boolean, form: TernaryForm): boolean {
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
  const scratch = out + tokens * rows * 4;
  const laneInputs = scratch + rows * BATCH_SCRATCH_BYTES_PER_ROW;
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
  let xs = x;
  if (form === LANE_FORM) {
    k.ternary_lane_layout(0, rows, w, stride, scratch);
    k.ternary_lane_inputs(x, 1, laneInputs);
    xs = laneInputs;
  }
  k.ternary_dots(0, rows, w, stride, xs, sum, out, form);
  if (!expected.every((v, i) => got[i] === v)) return false;
  k.ternary_dots_batch(0, rows, w, stride, x, 128, sums, tokens, out, rows, form, scratch);
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
