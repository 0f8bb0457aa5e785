import { beforeEach, describe, expect, it } from "vitest";
import type { StoredModel } from "../../worker/api.ts";
import { useEngineStore } from "./engineStore.ts";
import { useModelManagerStore } from "./modelManagerStore.ts";
import { FakeEngine } from "./testing/fakeEngine.ts";

let engine: FakeEngine;
const SLOW = "https://models.example/slow.gguf";

beforeEach(async () => {
  engine = new FakeEngine();
  useModelManagerStore.setState({
    models: [],
    loaded: null,
    loading: null,
    progress: {},
    error: null,
    memoryWarning: null,
  });
  await useEngineStore.getState().attach(engine);
});

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
};

describe("model store with a fake engine", () => {
  it("refuses a non-http(s) URL in words without calling the engine", async () => {
    expect(await useModelManagerStore.getState().downloadUrl("file:///etc/passwd")).toBeNull();
    expect(useModelManagerStore.getState().error).toBe(
      'Only http and https model URLs are accepted, not "file:".',
    );
    expect(engine.models).toEqual([]);
  });

  it("refuses a file that is not .gguf", async () => {
    await useModelManagerStore.getState().addFile(new File(["x"], "notes.txt"));
    expect(useModelManagerStore.getState().error).toMatch(/"notes.txt" is not a .gguf file/);
  });

  it("shows progress, pauses, resumes to ready and loads the model", async () => {
    const id = `url:${SLOW}`;
    const downloading = useModelManagerStore.getState().downloadUrl(SLOW);
    await until(() => (useModelManagerStore.getState().progress[id]?.bytes ?? 0) >= 2_000_000);
    const p = useModelManagerStore.getState().progress[id];
    expect(p.total).toBe(40_000_000);
    expect(p.rate).toBe(10_000_000);
    expect(p.etaSeconds).toBeCloseTo((40_000_000 - p.bytes) / 10_000_000);

    await useModelManagerStore.getState().pause(id);
    const paused = await downloading;
    expect(paused?.state).toBe("paused");
    expect(useModelManagerStore.getState().progress[id].state).toBe("paused");
    expect(useModelManagerStore.getState().loaded).toBeNull();

    engine.models[0].storedBytes = 39_000_000; // let the rest go quickly
    await useModelManagerStore.getState().resume(id);
    expect(useModelManagerStore.getState().models.find((m) => m.id === id)?.state).toBe("ready");
    expect(useModelManagerStore.getState().progress[id]).toBeUndefined();
    expect(useModelManagerStore.getState().loaded?.modelId).toBe(id);
    expect(useModelManagerStore.getState().error).toBeNull();
  });

  it("never shows a finished download as it was mid-way (no bar jumping back at the end)", async () => {
    const url = "https://models.example/quick.gguf";
    const id = `url:${url}`;
    // Until the download call returns, the engine's list answers as it was first seen
    // mid-download (a list read that started earlier); afterwards it is fresh again.
    const list = engine.listModels.bind(engine);
    const add = engine.addModelFromUrl.bind(engine);
    let ended = false;
    let frozen: StoredModel[] | null = null;
    engine.listModels = async () => {
      const now = await list();
      if (ended) return now;
      if (!frozen && now.some((m) => m.id === id)) frozen = structuredClone(now);
      return structuredClone(frozen ?? now);
    };
    engine.addModelFromUrl = async (...args) => {
      const result = await add(...args);
      ended = true;
      return result;
    };
    // Whenever the progress line is gone, the card draws from the list: it must not be mid-way.
    const stale: StoredModel[] = [];
    const stop = useModelManagerStore.subscribe((s) => {
      const listed = s.models.find((m) => m.id === id);
      if (listed && !s.progress[id] && listed.state === "downloading") stale.push(listed);
    });
    const model = await useModelManagerStore.getState().downloadUrl(url);
    stop();
    expect(model?.state).toBe("ready");
    expect(frozen).not.toBeNull();
    expect(stale).toEqual([]);
  });

  it("cancels quietly: no error, no progress line, nothing stored", async () => {
    const id = `url:${SLOW}`;
    const downloading = useModelManagerStore.getState().downloadUrl(SLOW);
    await until(() => useModelManagerStore.getState().progress[id] !== undefined);
    await useModelManagerStore.getState().cancel(id);
    expect(await downloading).toBeNull();
    expect(useModelManagerStore.getState().error).toBeNull();
    expect(useModelManagerStore.getState().progress[id]).toBeUndefined();
    expect(useModelManagerStore.getState().models).toEqual([]);
  });

  it("reports an engine failure in words", async () => {
    engine.loadModel = async () => {
      throw new Error("The file is not a BitNet model (architecture llama).");
    };
    await useModelManagerStore.getState().downloadUrl("https://models.example/llama.gguf");
    expect(useModelManagerStore.getState().error).toBe(
      "Could not load the model: The file is not a BitNet model (architecture llama).",
    );
  });

  it("asks before loading a model too big for wasm memory, and loads it only when told", async () => {
    const store = useModelManagerStore.getState();
    const model = await store.downloadUrl("https://models.example/huge.gguf");
    expect(model?.state).toBe("ready");
    const warning = useModelManagerStore.getState().memoryWarning;
    expect(warning?.modelId).toBe(model?.id);
    expect(warning?.plan.fits).toBe(false);
    expect(useModelManagerStore.getState().loaded).toBeNull();
    await store.load(model?.id as string, { anyway: true });
    expect(useModelManagerStore.getState().loaded?.modelId).toBe(model?.id);
    expect(useModelManagerStore.getState().memoryWarning).toBeNull();
  });
});
