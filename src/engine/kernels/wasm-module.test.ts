import { describe, expect, it } from "vitest";
import {
  chooseForms,
  fastestForm,
  formChoice,
  loadKernelModule,
  type TernaryForm,
} from "./wasm-module.ts";

/** A timer that reports fixed milliseconds per form, with a slow first round (warm-up). */
function fakeTimer(ms: Record<number, number>) {
  const calls: TernaryForm[] = [];
  const time = (f: TernaryForm) => {
    calls.push(f);
    return calls.length <= 3 ? 100 : ms[f];
  };
  return { time, calls };
}

describe("ternary form choice", () => {
  it("picks the form the timer reports fastest, each timed in interleaved rounds", () => {
    const { time, calls } = fakeTimer({ 0: 5, 1: 2, 2: 3 });
    expect(fastestForm([0, 1, 2], time)).toBe(1);
    expect(calls).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]);
    expect(fastestForm([0, 1, 2], fakeTimer({ 0: 5, 1: 7, 2: 3 }).time)).toBe(2);
  });

  it("chooses decode and prefill separately (Firefox: dot-add decodes fast, prefills slowly)", () => {
    const chosen = chooseForms(
      [0, 1, 2],
      () => true,
      () => ({
        decode: fakeTimer({ 0: 5, 1: 2, 2: 3 }).time,
        prefill: fakeTimer({ 0: 50, 1: 73, 2: 60 }).time,
      }),
    );
    expect(chosen).toEqual({ forms: [0, 1, 2], decodeForm: 1, prefillForm: 0 });
  });

  it("never picks the prefill-only row-pair form (3) for decode, however fast", () => {
    const chosen = chooseForms(
      [0, 2, 3],
      () => true,
      () => ({
        decode: fakeTimer({ 0: 5, 2: 3, 3: 1 }).time,
        prefill: fakeTimer({ 0: 50, 2: 60, 3: 30 }).time,
      }),
    );
    expect(chosen).toEqual({ forms: [0, 2, 3], decodeForm: 2, prefillForm: 3 });
  });

  it("never picks a form that fails its self-test, however fast", () => {
    const chosen = chooseForms(
      [0, 1, 2],
      (f) => f !== 1,
      () => ({
        decode: fakeTimer({ 0: 5, 1: 1, 2: 3 }).time,
        prefill: fakeTimer({ 0: 5, 1: 1, 2: 6 }).time,
      }),
    );
    expect(chosen).toEqual({ forms: [0, 2], decodeForm: 2, prefillForm: 0 });
  });

  it("does not time a single exact form, and refuses an engine with none", () => {
    const timers = () => {
      throw new Error("timed");
    };
    expect(chooseForms([0, 2], (f) => f === 2, timers)).toEqual({
      forms: [2],
      decodeForm: 2,
      prefillForm: 2,
    });
    expect(() => chooseForms([0, 2], () => false, timers)).toThrow(
      /computes every form .* wrongly/,
    );
  });

  it("loads a module whose chosen forms are exact ones (the i16 forms are exact everywhere)", async () => {
    const mod = await loadKernelModule({ build: "simd128", shared: false });
    expect(mod.forms).toEqual([0, 2, 3, 4]);
    expect(mod.decodeForm).not.toBe(3);
    expect(mod.forms).toContain(mod.decodeForm);
    expect(mod.forms).toContain(mod.prefillForm);
    // one weight layout for both: the lane form decodes and prefills, or does neither
    expect(mod.decodeForm === 4).toBe(mod.prefillForm === 4);
  });

  it("keeps the lane form (4) for prefill when it decodes fastest, and only then", () => {
    const timers = (decode: Record<number, number>) => () => ({
      decode: fakeTimer(decode).time,
      prefill: fakeTimer({ 0: 50, 2: 60, 3: 30, 4: 40 }).time,
    });
    const always = () => true;
    // decodes fastest: prefills too, though the row pairs (3) prefill faster
    expect(chooseForms([0, 2, 3, 4], always, timers({ 0: 5, 2: 3, 4: 2 }))).toEqual({
      forms: [0, 2, 3, 4],
      decodeForm: 4,
      prefillForm: 4,
    });
    // decodes slower: never prefills (its layout would not be there), though faster than 0 and 2
    expect(
      chooseForms([0, 2, 4], always, () => ({
        decode: fakeTimer({ 0: 5, 2: 3, 4: 4 }).time,
        prefill: fakeTimer({ 0: 50, 2: 60, 4: 20 }).time,
      })),
    ).toEqual({ forms: [0, 2, 4], decodeForm: 2, prefillForm: 0 });
  });

  it("keeps an earlier load's choice without timing while it stands, else times afresh", () => {
    const timed = () => ({
      decode: fakeTimer({ 0: 5, 2: 3, 4: 2 }).time,
      prefill: fakeTimer({ 0: 50, 2: 60, 3: 30, 4: 40 }).time,
    });
    const untimed = () => {
      throw new Error("timed");
    };
    const all = () => true;
    // kept: the stored image's layout stays, though the timer would pick the lane form
    expect(chooseForms([0, 2, 3, 4], all, untimed, { decode: 2, prefill: 3 })).toMatchObject({
      decodeForm: 2,
      prefillForm: 3,
    });
    const fresh = { decodeForm: 4, prefillForm: 4 };
    // a form that fails its self-test here, a prefill-only form for decode, or two layouts
    for (const hint of [
      { decode: 2, prefill: 3 } as const,
      { decode: 3, prefill: 3 } as const,
      { decode: 4, prefill: 3 } as const,
      { decode: 2, prefill: 4 } as const,
    ]) {
      const exact = (f: TernaryForm) => !(hint.decode === 2 && hint.prefill === 3 && f === 3);
      expect(chooseForms([0, 2, 3, 4], exact, timed, hint)).toMatchObject(fresh);
    }
    // timed on other kernels (an update): timed afresh; on these: kept
    const saved = { decode: 2, prefill: 3, kernels: "old" } as const;
    expect(chooseForms([0, 2, 3, 4], all, timed, saved, "new")).toMatchObject(fresh);
    expect(chooseForms([0, 2, 3, 4], all, untimed, saved, "old")).toMatchObject({
      decodeForm: 2,
      prefillForm: 3,
    });
    // what storage gives back is checked before it is a choice
    expect(formChoice({ decode: 4, prefill: 4 })).toEqual({ decode: 4, prefill: 4 });
    expect(formChoice({ ...saved, kernels: "k" })).toEqual({ ...saved, kernels: "k" });
    expect(formChoice({ decode: 7, prefill: 4 })).toBeUndefined();
    expect(formChoice(undefined)).toBeUndefined();
  });

  it("names its kernels by their bytes: the same build alike, another build not", async () => {
    const a = await loadKernelModule({ build: "simd128", shared: false, forms: [4] });
    const b = await loadKernelModule({ build: "simd128", shared: false, forms: [4] });
    const shared = await loadKernelModule({ build: "simd128", shared: true, forms: [4] });
    expect(a.kernels).toMatch(/^[0-9a-f]{24}$/);
    expect(b.kernels).toBe(a.kernels);
    expect(shared.kernels).not.toBe(a.kernels);
  });

  it("can be limited to some forms (tests and benchmarks)", async () => {
    const mod = await loadKernelModule({ build: "simd128", shared: false, forms: [4] });
    expect(mod).toMatchObject({ forms: [4], decodeForm: 4, prefillForm: 4 });
  });
});
