import { describe, expect, it } from "vitest";
import type { ChatTurnStats } from "../../worker/api.ts";
import {
  addTurn,
  appendPiece,
  type Conversation,
  contextStart,
  editUserMessage,
  finishReply,
  isBlank,
  mergeConversations,
  newConversation,
  promptMessages,
  rename,
  restartLastReply,
  reviveConversation,
  searchConversations,
  sortConversations,
  titleFrom,
  UNTITLED,
} from "./conversations.ts";
import { DEFAULT_SAMPLING } from "./sampling.ts";

const stats = (stopReason: ChatTurnStats["stopReason"]): ChatTurnStats => ({
  promptTokens: 10,
  prefilledTokens: 10,
  shiftedTokens: 0,
  droppedMessages: 0,
  generatedTokens: 3,
  prefillTokensPerSecond: 100,
  decodeTokensPerSecond: 20,
  stopReason,
});

function chatWithOneTurn() {
  let c = newConversation("c1", 1000, { systemPrompt: "Be brief." });
  c = addTurn(c, "What is 2+2?", { user: "u1", assistant: "a1" }, 1001);
  c = appendPiece(c, "a1", "It is ");
  c = appendPiece(c, "a1", "4.");
  return finishReply(c, "a1", { stats: stats("end-of-turn") }, 1002);
}

describe("a conversation's turns", () => {
  it("starts empty with the default settings and the given system prompt", () => {
    const c = newConversation("c1", 5, { settings: { temperature: 0 } });
    expect(c).toMatchObject({
      id: "c1",
      title: UNTITLED,
      createdAt: 5,
      updatedAt: 5,
      messages: [],
    });
    expect(c.settings).toEqual({ ...DEFAULT_SAMPLING, temperature: 0 });
  });

  it("adds a user message and a streaming reply that pieces append to, titled by the first message", () => {
    const c = chatWithOneTurn();
    expect(c.title).toBe("What is 2+2?");
    expect(c.messages.map((m) => [m.role, m.content, m.status])).toEqual([
      ["user", "What is 2+2?", undefined],
      ["assistant", "It is 4.", "done"],
    ]);
    expect(c.messages[1].stats?.generatedTokens).toBe(3);
    expect(c.updatedAt).toBe(1002);
  });

  it("refuses an empty message", () => {
    expect(() =>
      addTurn(newConversation("c", 0), "  \n", { user: "u", assistant: "a" }, 1),
    ).toThrow("The message is empty.");
  });

  it("marks an aborted reply as stopped and a failed one with its reason", () => {
    let c = addTurn(newConversation("c", 0), "hi", { user: "u", assistant: "a" }, 1);
    expect(finishReply(c, "a", { stats: stats("aborted") }, 2).messages[1].status).toBe("stopped");
    c = finishReply(c, "a", { error: "Out of memory." }, 2);
    expect(c.messages[1]).toMatchObject({ status: "failed", error: "Out of memory." });
  });

  it("regenerates only a reply at the end", () => {
    const c = restartLastReply(chatWithOneTurn(), "a2", 2000);
    expect(c.messages.map((m) => [m.id, m.content, m.status])).toEqual([
      ["u1", "What is 2+2?", undefined],
      ["a2", "", "streaming"],
    ]);
    expect(() => restartLastReply(newConversation("x", 0), "a", 1)).toThrow(/no reply/);
  });

  it("edits an earlier user message and forgets everything after it", () => {
    let c = chatWithOneTurn();
    c = addTurn(c, "And 3+3?", { user: "u2", assistant: "a2" }, 1003);
    c = appendPiece(c, "a2", "6.");
    const edited = editUserMessage(c, "u1", "What is 5+5?", "a3", 1004);
    expect(edited.messages.map((m) => [m.id, m.content])).toEqual([
      ["u1", "What is 5+5?"],
      ["a3", ""],
    ]);
    expect(edited.title).toBe("What is 5+5?");
    expect(() => editUserMessage(c, "a1", "x", "a4", 1)).toThrow(
      "Only your own messages can be edited.",
    );
    expect(() => editUserMessage(c, "gone", "x", "a4", 1)).toThrow(/no longer/);
  });

  it("keeps a name the user gave when the first message is edited", () => {
    const c = rename(chatWithOneTurn(), "  Arithmetic  ", 3000);
    expect(c.title).toBe("Arithmetic");
    expect(editUserMessage(c, "u1", "Other", "a9", 3001).title).toBe("Arithmetic");
    expect(() => rename(c, "   ", 1)).toThrow(/cannot be empty/);
  });
});

describe("promptMessages", () => {
  it("sends the system prompt and the turns before the reply being generated, without failed replies", () => {
    let c = chatWithOneTurn();
    c = addTurn(c, "Again?", { user: "u2", assistant: "a2" }, 1);
    c = finishReply(c, "a2", { error: "boom" }, 2);
    c = addTurn(c, "Third", { user: "u3", assistant: "a3" }, 3);
    expect(promptMessages(c, "a3")).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "What is 2+2?" },
      { role: "assistant", content: "It is 4." },
      { role: "user", content: "Again?" },
      { role: "user", content: "Third" },
    ]);
  });
  it("leaves out an empty system prompt", () => {
    const c = addTurn(
      newConversation("c", 0, { systemPrompt: " " }),
      "hi",
      { user: "u", assistant: "a" },
      1,
    );
    expect(promptMessages(c, "a")).toEqual([{ role: "user", content: "hi" }]);
  });
});

describe("titles, sorting and search", () => {
  it("titles from the first line, shortened with an ellipsis", () => {
    expect(titleFrom("  Hello   world \nsecond line")).toBe("Hello world");
    const long = titleFrom("x".repeat(100));
    expect(long.length).toBe(60);
    expect(long.endsWith("…")).toBe(true);
    expect(titleFrom("   ")).toBe(UNTITLED);
  });

  it("sorts newest first and finds by title or message text, all words, any case", () => {
    const a = { ...newConversation("a", 1), title: "Rust lifetimes" };
    const b = addTurn(
      newConversation("b", 2),
      "How do I bake BREAD?",
      { user: "u", assistant: "r" },
      3,
    );
    const c = newConversation("c", 2);
    expect(sortConversations([a, c, b]).map((x) => x.id)).toEqual(["b", "c", "a"]);
    expect(searchConversations([a, b, c], "bread").map((x) => x.id)).toEqual(["b"]);
    expect(searchConversations([a, b, c], "RUST life").map((x) => x.id)).toEqual(["a"]);
    expect(searchConversations([a, b, c], "rust bread")).toEqual([]);
    expect(searchConversations([a, b, c], "  ").length).toBe(3);
  });
});

describe("reviveConversation", () => {
  it("rejects what is not a conversation and repairs what it can", () => {
    expect(reviveConversation(null)).toBeNull();
    expect(reviveConversation({ id: 1 })).toBeNull();
    const revived = reviveConversation({
      id: "c",
      title: "",
      messages: [
        { id: "u", role: "user", content: "hi", createdAt: 1 },
        { id: "a", role: "assistant", content: "he", createdAt: 1, status: "streaming" },
        { id: "x", role: "tool", content: "?" },
        "junk",
      ],
      settings: { temperature: 9 },
    });
    expect(revived?.title).toBe(UNTITLED);
    expect(revived?.messages.map((m) => [m.id, m.status])).toEqual([
      ["u", undefined],
      ["a", "stopped"],
    ]);
    expect(revived?.settings).toEqual(DEFAULT_SAMPLING);
  });
});

/** A whole turn: the question, the reply in pieces, finished; `t` is the time it starts. */
function turn(c: Conversation, n: number, t: number, dropped = 0): Conversation {
  let next = addTurn(c, `Question ${n}`, { user: `u${n}`, assistant: `a${n}` }, t);
  next = appendPiece(next, `a${n}`, `Answer `, t + 1);
  next = appendPiece(next, `a${n}`, `${n}.`, t + 2);
  return finishReply(
    next,
    `a${n}`,
    { stats: { ...stats("end-of-turn"), droppedMessages: dropped } },
    t + 3,
  );
}

const texts = (c: Conversation) => c.messages.map((m) => m.content);

describe("merging two tabs' copies of a conversation", () => {
  const base = turn(newConversation("c", 1000), 1, 1001);

  it("keeps both tabs' turns, in the order they were written", () => {
    const tabA = turn(base, 2, 2000); // A sent a turn and got its reply
    const tabB = turn(base, 3, 3000); // B, still showing the old copy, sent another
    const expected = [
      "Question 1",
      "Answer 1.",
      "Question 2",
      "Answer 2.",
      "Question 3",
      "Answer 3.",
    ];
    expect(texts(mergeConversations(tabB, tabA))).toEqual(expected);
    expect(texts(mergeConversations(tabA, tabB))).toEqual(expected);
    expect(mergeConversations(tabB, tabA).updatedAt).toBe(3003);
  });

  it("takes the newer copy of a message both hold: a finished reply over a half-streamed one", () => {
    let streaming = addTurn(base, "Question 2", { user: "u2", assistant: "a2" }, 2000);
    streaming = appendPiece(streaming, "a2", "Half", 2001);
    const finished = finishReply(
      appendPiece(streaming, "a2", " and whole", 2002),
      "a2",
      { stats: stats("end-of-turn") },
      2003,
    );
    for (const merged of [
      mergeConversations(streaming, finished),
      mergeConversations(finished, streaming),
    ]) {
      expect(merged.messages.at(-1)).toMatchObject({ content: "Half and whole", status: "done" });
      expect(merged.messages).toHaveLength(4);
    }
  });

  it("does not bring back what a tab removed on purpose: a regenerated reply, the turns after an edit", () => {
    const stale = turn(base, 2, 2000);
    const regenerated = restartLastReply(stale, "a2-again", 2100);
    const merged = mergeConversations(stale, regenerated);
    expect(merged.messages.map((m) => m.id)).toEqual(["u1", "a1", "u2", "a2-again"]);
    const edited = editUserMessage(stale, "u1", "Question 1, better", "a1-again", 2200);
    const both = mergeConversations(mergeConversations(stale, edited), turn(stale, 3, 2300));
    // the edit removed a1, u2, a2; the other tab's later turn 3 stays
    expect(both.messages.map((m) => m.id)).toEqual(["u1", "a1-again", "u3", "a3"]);
    expect(both.messages[0].content).toBe("Question 1, better");
  });

  it("keeps the title the user gave, and a real title over an untitled copy", () => {
    const named = rename(base, "My chat", 1500);
    const later = turn(base, 2, 2000);
    expect(mergeConversations(later, named).title).toBe("My chat");
    const blank = { ...newConversation("c", 1000), updatedAt: 5000 };
    expect(mergeConversations(blank, base).title).toBe("Question 1");
    expect(() => mergeConversations(base, newConversation("other", 1))).toThrow(/one conversation/);
  });

  it("survives a copy saved before messages had update times", () => {
    const old = structuredClone(base);
    for (const m of old.messages) delete m.updatedAt;
    expect(texts(mergeConversations(old, turn(base, 2, 2000)))).toHaveLength(4);
  });
});

describe("the model's view of a long conversation", () => {
  it("starts after the messages the last reply said fell out, skipping failed replies", () => {
    let c = turn(newConversation("c", 1), 1, 10);
    c = addTurn(c, "Question 2", { user: "u2", assistant: "a2" }, 20);
    c = finishReply(c, "a2", { error: "boom" }, 21); // never given to the model
    c = turn(c, 3, 30);
    expect(contextStart(c)).toBeNull();
    c = turn(c, 4, 40, 2);
    // given: u1 a1 u2 u3 a3 u4; two fell out (u1, a1): the view starts at u2 (index 2)
    expect(contextStart(c)).toEqual({ index: 2, droppedMessages: 2 });
    c = turn(c, 5, 50, 3);
    // three fell out (u1 a1 u2; the failed a2 was never given): the view starts at u3
    expect(contextStart(c)).toEqual({ index: 4, droppedMessages: 3 });
    expect(c.messages[4].id).toBe("u3");
  });

  it("calls a conversation blank only while untouched", () => {
    expect(isBlank(newConversation("c", 1))).toBe(true);
    expect(isBlank(rename(newConversation("c", 1), "Named", 2))).toBe(false);
    expect(isBlank(turn(newConversation("c", 1), 1, 2))).toBe(false);
  });
});
