import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ARGS_F64, CTRL, MAX_CHUNKS, TAG_MASK, TAG_SHIFT } from "./poolProtocol.ts";

// poolWorker.js repeats the protocol's numbers (it loads unbundled, with no imports):
// read them back from its source so the two cannot drift apart.
const source = readFileSync(new URL("./poolWorker.js", import.meta.url), "utf8");
const constant = (name: string): number => {
  const match = source.match(new RegExp(`^const ${name} = (0x[0-9a-f]+|\\d+);`, "m"));
  if (!match) throw new Error(`poolWorker.js has no constant ${name}`);
  return Number(match[1]);
};
const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

describe("the pool worker speaks the pool's protocol", () => {
  it("uses the same control-block slots", () => {
    for (const [key, slot] of Object.entries(CTRL)) expect(constant(snake(key))).toBe(slot);
  });

  it("uses the same claim-word layout and argument offset", () => {
    expect(constant("TAG_SHIFT")).toBe(TAG_SHIFT);
    expect(constant("INDEX_MASK")).toBe(MAX_CHUNKS);
    expect(constant("TAG_MASK")).toBe(TAG_MASK);
    expect(constant("ARGS_F64")).toBe(ARGS_F64);
  });
});
