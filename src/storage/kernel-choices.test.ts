import "fake-indexeddb/auto";
import { createStore } from "idb-keyval";
import { describe, expect, it } from "vitest";
import { KernelChoices } from "./kernel-choices.ts";

describe("kernel choices", () => {
  it("gives back what a load saved, per model and starting thread count, and forgets on delete", async () => {
    const choices = new KernelChoices(createStore("choices-test", "thread-choices"));
    expect(await choices.get("m", 2)).toEqual({});
    const forms = { decode: 4, prefill: 4, kernels: "0a1b" };
    await choices.save("m", 2, { threads: 1, forms });
    expect(await choices.get("m", 2)).toEqual({ threads: 1, forms });
    expect(await choices.get("m", 4)).toEqual({});
    expect(await choices.get("other", 2)).toEqual({});
    await choices.delete("m", 2);
    expect(await choices.get("m", 2)).toEqual({});
  });

  it("reads nothing it cannot use: an old bare count, or fields of the wrong kind", async () => {
    const store = createStore("choices-test-2", "thread-choices");
    const choices = new KernelChoices(store);
    await choices.save("m", 2, 2 as never);
    expect(await choices.get("m", 2)).toEqual({});
    await choices.save("m", 2, { threads: 1.5, forms: { decode: "4", prefill: 4 } } as never);
    expect(await choices.get("m", 2)).toEqual({});
    await choices.save("m", 2, { threads: 2, forms: { decode: 2 } } as never);
    expect(await choices.get("m", 2)).toEqual({ threads: 2 });
    await choices.save("m", 2, { forms: { decode: 2, prefill: 3, kernels: 7 } } as never);
    expect(await choices.get("m", 2)).toEqual({ forms: { decode: 2, prefill: 3 } });
  });
});
