import { describe, expect, it, vi } from "vitest";
import { MemorySyncDirectory } from "./testing/memory-sync-directory.ts";
import { imageFileName, readRange, WeightImages } from "./weight-images.ts";

const HEADER = 65536;
const STEP = 1 << 20;

/** Bytes that differ at every position (a shifted or dropped byte shows). */
function pattern(length: number, seed = 7): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Byte equality (toEqual walks megabytes element by element, slowly). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function setup() {
  const dir = new MemorySyncDirectory();
  const images = new WeightImages(dir, STEP);
  return { dir, images, store: images.forModel("https://example.com/m.gguf") };
}

const image = pattern(3 * STEP + 12345);
const scales = [0.5, 1.25, 3];

/** Stores the image through `images`, then expects it back exactly in shared memory. */
async function expectSharedReadBack(images: WeightImages): Promise<void> {
  const store = images.forModel("m");
  await store.write(() => image, "layout A", scales);
  const dst = new Uint8Array(new SharedArrayBuffer(image.length));
  expect(await store.read(dst, "layout A")).toEqual(scales);
  expect(sameBytes(dst, image)).toBe(true);
}

describe("WeightImages", () => {
  it("gives back the bytes and scales it stored, in steps, only for the same description", async () => {
    const { images, store } = setup();
    await store.write(() => image, "layout A", scales);
    expect(await images.bytes()).toBe(HEADER + image.length);

    const dst = new Uint8Array(image.length);
    const progress: number[] = [];
    expect(await store.read(dst, "layout A", (f) => progress.push(f))).toEqual(scales);
    expect(sameBytes(dst, image)).toBe(true);
    expect(progress.length).toBeGreaterThanOrEqual(4); // one a step, at least
    expect(progress.every((f, i) => i === 0 || f >= progress[i - 1])).toBe(true);
    expect(progress.at(-1)).toBe(1);

    const other = new Uint8Array(image.length);
    expect(await store.read(other, "layout B")).toBeNull();
    expect(await store.read(new Uint8Array(image.length - 1), "layout A")).toBeNull();
    expect(other.every((b) => b === 0)).toBe(true);
  });

  it("ignores an image whose header checksum fails or whose file is cut short", async () => {
    const { dir, store } = setup();
    await store.write(() => image, "layout A", scales);
    const name = imageFileName("https://example.com/m.gguf");
    const whole = dir.files.get(name) as Uint8Array;

    const badHeader = whole.slice();
    badHeader[20] ^= 1; // inside the JSON
    dir.files.set(name, badHeader);
    expect(await store.read(new Uint8Array(image.length), "layout A")).toBeNull();

    dir.files.set(name, whole.slice(0, whole.length - 1));
    expect(await store.read(new Uint8Array(image.length), "layout A")).toBeNull();

    dir.files.set(name, whole);
    expect(await store.read(new Uint8Array(image.length), "layout A")).toEqual(scales);
  });

  it("throws on bytes that changed after the header was written (the caller reloads)", async () => {
    const { dir, store } = setup();
    await store.write(() => image, "layout A", scales);
    const file = dir.files.get(imageFileName("https://example.com/m.gguf")) as Uint8Array;
    file[HEADER + 2 * STEP] ^= 0x40; // a sampled byte
    await expect(store.read(new Uint8Array(image.length), "layout A")).rejects.toThrow(/damaged/);
  });

  it("leaves no file when a write is stopped, refused by the quota, or the file is held", async () => {
    const { dir, images } = setup();
    const stop = new AbortController();
    const stopped = images.forModel("a", stop.signal);
    const writing = stopped.write(
      () => {
        stop.abort(); // during the first step
        return image;
      },
      "layout A",
      scales,
    );
    await writing;
    expect(dir.files.has(imageFileName("a"))).toBe(false);

    dir.quotaBytes = HEADER + STEP;
    await images.forModel("b").write(() => image, "layout A", scales);
    expect(dir.files.has(imageFileName("b"))).toBe(false);
    dir.quotaBytes = Number.POSITIVE_INFINITY;

    // another tab holds the file: no image this time, and no error
    const held = await dir.open(imageFileName("c"), true);
    await images.forModel("c").write(() => image, "layout A", scales);
    expect(await images.forModel("c").read(new Uint8Array(image.length), "layout A")).toBeNull();
    held?.close();
  });

  it("reads into and writes from shared memory through a staging buffer where views of it are refused", async () => {
    const { dir, store } = setup();
    dir.refuseShared = true;
    const shared = new Uint8Array(new SharedArrayBuffer(image.length));
    shared.set(image);
    await store.write(() => shared, "layout A", scales);
    const dst = new Uint8Array(new SharedArrayBuffer(image.length));
    expect(await store.read(dst, "layout A")).toEqual(scales);
    expect(sameBytes(dst, shared)).toBe(true);
  });

  it("reads half of a shared memory's image through another reader, or all itself when that one fails", async () => {
    for (const works of [true, false]) {
      const dir = new MemorySyncDirectory();
      const parts: number[] = [];
      const images = new WeightImages(dir, STEP, async (fileName, dst, at) => {
        parts.push(dst.length);
        if (!works) return false;
        const file = await dir.open(fileName, false, "read-only");
        if (!file) return false;
        readRange(file, dst, at, STEP);
        file.close();
        return true;
      });
      await expectSharedReadBack(images);
      expect(parts.length).toBe(1);
      expect(parts[0]).toBeGreaterThan(image.length / 3);
      expect(parts[0]).toBeLessThan(image.length);
    }
  });

  it("reads all of it itself, starting no second reader, where read-only handles are exclusive (Firefox)", async () => {
    const dir = new MemorySyncDirectory();
    dir.sharedReadOnly = false;
    const parts: number[] = [];
    const images = new WeightImages(dir, STEP, async (_name, dst) => {
      parts.push(dst.length);
      return false;
    });
    await expectSharedReadBack(images);
    expect(parts).toEqual([]);
  });

  it("stops a second reader that never answers and reads its half itself", async () => {
    const dir = new MemorySyncDirectory();
    let stopped = false;
    const images = new WeightImages(
      dir,
      STEP,
      (_name, _dst, _at, signal) =>
        new Promise((resolve) => {
          signal.addEventListener("abort", () => {
            stopped = true;
            resolve(false);
          });
        }),
    );
    const store = images.forModel("m");
    await store.write(() => image, "layout A", scales);
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const dst = new Uint8Array(new SharedArrayBuffer(image.length));
      const reading = store.read(dst, "layout A");
      await vi.advanceTimersByTimeAsync(10_001);
      expect(await reading).toEqual(scales);
      expect(stopped).toBe(true);
      expect(sameBytes(dst, image)).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it("gives the image up when the browser never answers for a file handle", async () => {
    const { dir, store } = setup();
    await store.write(() => image, "layout A", scales);
    const open = dir.open.bind(dir);
    let lateClosed = false;
    let grant: (() => void) | undefined;
    dir.open = (name, create, mode) =>
      mode === "read-only"
        ? new Promise((resolve) => {
            grant = () =>
              void open(name, create, mode).then((file) => {
                if (file) {
                  const close = file.close.bind(file);
                  file.close = () => {
                    lateClosed = true;
                    close();
                  };
                }
                resolve(file);
              });
          })
        : open(name, create, mode);
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const reading = store.read(new Uint8Array(image.length), "layout A");
      await vi.advanceTimersByTimeAsync(10_001);
      expect(await reading).toBeNull();
    } finally {
      vi.useRealTimers();
    }
    // a handle granted after all is closed, so it holds no lock on the file
    grant?.();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(lateClosed).toBe(true);
  });

  it("deletes a model's image, and a second write replaces the first", async () => {
    const { images, store } = setup();
    await store.write(() => image, "layout A", scales);
    const smaller = pattern(STEP, 3);
    await store.write(() => smaller, "layout B", [2]);
    expect(await images.bytes()).toBe(HEADER + smaller.length);
    expect(await store.read(new Uint8Array(image.length), "layout A")).toBeNull();
    await images.delete("https://example.com/m.gguf");
    expect(await images.bytes()).toBe(0);
    expect(await store.read(new Uint8Array(smaller.length), "layout B")).toBeNull();
  });

  it("keeps only the images of the models it is told are stored", async () => {
    const { images } = setup();
    await images.forModel("a").write(() => image, "layout A", scales);
    await images.forModel("b").write(() => image, "layout A", scales);
    await images.keepOnly(["b", "c"]);
    expect(await images.forModel("a").read(new Uint8Array(image.length), "layout A")).toBeNull();
    expect(await images.forModel("b").read(new Uint8Array(image.length), "layout A")).toEqual(
      scales,
    );
  });

  it("is missing where there is no origin private file system (Node here)", async () => {
    expect(await WeightImages.open()).toBeNull();
  });
});
