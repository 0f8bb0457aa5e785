// The kernel-layout weight image (engine/kernels/weight-image.ts, kept by
// storage/weight-images.ts) against the truth of a load from the file: a model copied back
// from its image gives exactly the logits of one that read and repacked the GGUF, and an
// image that does not match is ignored.
import { afterAll, describe, expect, it } from "vitest";
import { bitnetFile } from "../../test-support/bitnet-file.ts";
import { GgmlType } from "../engine/gguf/index.ts";
import { KernelModel, loadKernelWeights } from "../engine/kernels/index.ts";
import type { TernaryForm } from "../engine/kernels/wasm-module.ts";
import { MemorySyncDirectory } from "../storage/testing/memory-sync-directory.ts";
import { imageFileName, WeightImages } from "../storage/weight-images.ts";

const models: KernelModel[] = [];
afterAll(() => {
  for (const m of models) m.dispose();
});

const fileA = new Blob([bitnetFile(GgmlType.I2_S) as BlobPart]);
const fileB = new Blob([bitnetFile(GgmlType.I2_S, 5) as BlobPart]);

async function load(
  blob: Blob,
  image?: { images: WeightImages; key: string },
  threads = 1,
  forms?: TernaryForm[],
): Promise<KernelModel> {
  const model = await KernelModel.create(await loadKernelWeights(blob), {
    build: "simd128",
    threads,
    forms,
    weightImage: image && { store: image.images.forModel("m"), modelKey: image.key },
  });
  models.push(model);
  return model;
}

/** Logits of a prefill and of decode steps after it (copies). */
function logits(model: KernelModel): Float32Array[] {
  const out = [model.prefill([1, 2, 3, 4], 0).slice()];
  for (let pos = 4; pos < 8; pos++) out.push(model.forward(pos * 7, pos).slice());
  return out;
}

describe("weight images", () => {
  it("a model copied back from its image gives the logits of the file's load", async () => {
    const truth = logits(await load(fileA));
    const images = new WeightImages(new MemorySyncDirectory(), 1 << 16);
    const first = await load(fileA, { images, key: "A" });
    expect(first.fromImage).toBe(false);
    expect(logits(first)).toEqual(truth);
    await first.saveWeightImage(images.forModel("m"), "A");
    expect(await images.bytes()).toBeGreaterThan(0);

    const second = await load(fileA, { images, key: "A" });
    expect(second.fromImage).toBe(true);
    expect(logits(second)).toEqual(truth);
  });

  it("keeps each ternary layout's image apart: the lane form's relaid weights are not the blocks'", async () => {
    const truth = logits(await load(fileA, undefined, 1, [2]));
    const images = new WeightImages(new MemorySyncDirectory(), 1 << 16);
    const lanes = await load(fileA, { images, key: "A" }, 1, [4]);
    expect(lanes.ternaryLayout).toBe("lane pairs");
    expect(logits(lanes)).toEqual(truth);
    await lanes.saveWeightImage(images.forModel("m"), "A");
    const blocks = await load(fileA, { images, key: "A" }, 1, [2]);
    expect(blocks.fromImage).toBe(false);
    expect(logits(blocks)).toEqual(truth);
    await blocks.saveWeightImage(images.forModel("m"), "A");
    const again = await load(fileA, { images, key: "A" }, 1, [2]);
    expect(again.fromImage).toBe(true);
    expect(logits(again)).toEqual(truth);
    const lanesAgain = await load(fileA, { images, key: "A" }, 1, [4]);
    expect(lanesAgain.fromImage).toBe(false);
    expect(logits(lanesAgain)).toEqual(truth);
  });

  it("ignores the image of other bytes (another key) and loads the file", async () => {
    const images = new WeightImages(new MemorySyncDirectory(), 1 << 16);
    const a = await load(fileA, { images, key: "A" });
    await a.saveWeightImage(images.forModel("m"), "A");
    const truthB = logits(await load(fileB));
    const b = await load(fileB, { images, key: "B" });
    expect(b.fromImage).toBe(false);
    expect(logits(b)).toEqual(truthB);
  });

  it("loads the file when the image's bytes are damaged, with none of them left behind", async () => {
    const dir = new MemorySyncDirectory();
    const images = new WeightImages(dir, 1 << 16);
    const truth = logits(await load(fileA));
    const a = await load(fileA, { images, key: "A" });
    await a.saveWeightImage(images.forModel("m"), "A");
    const file = dir.files.get(imageFileName("m")) as Uint8Array;
    // every sampled run of bytes (one per MiB; this image is smaller: the first and last)
    for (let i = 65536; i < 65536 + 64; i++) file[i] ^= 0xff;
    const b = await load(fileA, { images, key: "A" });
    expect(b.fromImage).toBe(false);
    expect(logits(b)).toEqual(truth);
  });

  it("threads over shared memory copy the image through a staging buffer where needed", async () => {
    const dir = new MemorySyncDirectory();
    dir.refuseShared = true;
    const images = new WeightImages(dir, 1 << 16);
    const truth = logits(await load(fileA));
    const a = await load(fileA, { images, key: "A" }, 2);
    await a.saveWeightImage(images.forModel("m"), "A");
    const b = await load(fileA, { images, key: "A" }, 2);
    expect(b.fromImage).toBe(true);
    expect(logits(b)).toEqual(truth);
  });
});

describe("a remembered thread count", () => {
  it("is the count the model starts with, and its logits are the file's", async () => {
    const truth = logits(await load(fileA));
    const model = await KernelModel.create(await loadKernelWeights(fileA), {
      build: "simd128",
      threads: 2,
      threadsHint: 1,
    });
    models.push(model);
    expect(model.activeThreads).toBe(1);
    expect(logits(model)).toEqual(truth);
  });
});
