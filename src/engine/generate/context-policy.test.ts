import { describe, expect, it } from "vitest";
import { contextLimits, planContext } from "./context-policy.ts";

type Role = "system" | "user" | "assistant";
interface Sized {
  role: Role;
  tokens: number;
}

/** A chat: an optional system message, then user/assistant turns of the given sizes. */
function chat(system: number | null, turns: Array<[number, number]>, last: number): Sized[] {
  const out: Sized[] = system === null ? [] : [{ role: "system", tokens: system }];
  for (const [u, a] of turns)
    out.push({ role: "user", tokens: u }, { role: "assistant", tokens: a });
  out.push({ role: "user", tokens: last });
  return out;
}

/** The cost a template would give: BOS and the generation prompt, plus each kept message. */
function costOf(messages: Sized[]) {
  const calls: number[] = [];
  const cost = (keptFrom: number) => {
    calls.push(keptFrom);
    let sum = 4;
    messages.forEach((m, i) => {
      if (m.role === "system" || i >= keptFrom) sum += m.tokens;
    });
    return sum;
  };
  return { cost, calls };
}

/** The truth by brute force: the first user message (or the last one) from which it fits. */
function bruteForce(messages: Sized[], budget: number): number {
  const { cost } = costOf(messages);
  const systemEnd = messages[0]?.role === "system" ? 1 : 0;
  for (let i = systemEnd; i < messages.length; i++) {
    const startsTurn = i === systemEnd || messages[i].role === "user";
    if (startsTurn && cost(i) <= budget) return i;
  }
  return messages.length - 1;
}

describe("context policy", () => {
  it("keeps everything when it fits, asking the cost once", () => {
    const messages = chat(10, [[5, 20]], 5);
    const { cost, calls } = costOf(messages);
    expect(planContext(messages, cost, { budget: 44, limit: 64 })).toEqual({
      keptFrom: 1,
      droppedMessages: 0,
      tokens: 44,
    });
    expect(calls).toEqual([1]);
  });

  it("drops the oldest whole turns, fewest first, and keeps the system prompt", () => {
    // system 10 + BOS/prompt 4; turns of 30 tokens each; the new message 6
    const messages = chat(
      10,
      [
        [10, 20],
        [10, 20],
        [10, 20],
        [10, 20],
      ],
      6,
    );
    const { cost } = costOf(messages);
    // whole: 14 + 120 + 6 = 140; a budget of 100 needs two turns out (140 - 60 = 80)
    const plan = planContext(messages, cost, { budget: 100, limit: 128 });
    expect(plan).toEqual({ keptFrom: 5, droppedMessages: 4, tokens: 80 });
    expect(messages[plan.keptFrom].role).toBe("user");
    // one turn fewer would not fit
    expect(cost(3)).toBeGreaterThan(100);
  });

  it("agrees with a brute-force search on many random chats, always within budget", () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let trial = 0; trial < 300; trial++) {
      const turns = Array.from({ length: rand(12) }, (): [number, number] => [
        1 + rand(40),
        1 + rand(80),
      ]);
      const messages = chat(rand(3) === 0 ? null : 1 + rand(30), turns, 1 + rand(30));
      const { cost } = costOf(messages);
      const budget = 40 + rand(300);
      const limit = budget + rand(100);
      const minimal = cost(messages.length - 1);
      if (minimal > limit) {
        expect(() => planContext(messages, cost, { budget, limit })).toThrow(/too long/);
        continue;
      }
      const plan = planContext(messages, cost, { budget, limit });
      expect(plan.keptFrom).toBe(bruteForce(messages, budget));
      expect(plan.tokens).toBe(cost(plan.keptFrom));
      expect(plan.tokens).toBeLessThanOrEqual(minimal > budget ? limit : budget);
      // the system message is never counted as dropped, and the last message is kept
      const systemEnd = messages[0].role === "system" ? 1 : 0;
      expect(plan.droppedMessages).toBe(plan.keptFrom - systemEnd);
      expect(plan.keptFrom).toBeLessThanOrEqual(messages.length - 1);
    }
  });

  it("keeps only the system prompt and the last message when nothing else fits", () => {
    const messages = chat(20, [[10, 10]], 50);
    const { cost } = costOf(messages);
    // 4 + 20 + 50 = 74 is over the budget but under the limit: the turn runs, with less room
    expect(planContext(messages, cost, { budget: 60, limit: 80 })).toEqual({
      keptFrom: 3,
      droppedMessages: 2,
      tokens: 74,
    });
  });

  it("refuses in words when the last message alone does not fit the context", () => {
    const messages = chat(20, [], 600);
    const { cost } = costOf(messages);
    expect(() => planContext(messages, cost, { budget: 256, limit: 512 })).toThrow(
      "The message is too long for this model: with the system prompt it takes 624 tokens, and the context holds 512. Shorten it or the system prompt.",
    );
  });

  it("gives the reply the room of max tokens, but never more than half the context", () => {
    expect(contextLimits(512, 24)).toEqual({ budget: 488, limit: 512 });
    expect(contextLimits(512, 1000)).toEqual({ budget: 256, limit: 512 });
    expect(contextLimits(4096, 0)).toEqual({ budget: 4095, limit: 4096 });
  });
});
