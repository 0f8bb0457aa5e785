import { describe, expect, it } from "vitest";
import {
  checkImportSize,
  describeImport,
  EXPORT_FORMAT,
  exportJson,
  exportMarkdown,
  fileName,
  MAX_IMPORT_BYTES,
  parseExport,
  planImport,
} from "./chatExport.ts";
import {
  addTurn,
  appendPiece,
  type Conversation,
  finishReply,
  newConversation,
  rename,
} from "./conversations.ts";

/** Conversations built the way the chat store builds them, with every kind of field. */
function sampleChats(): Conversation[] {
  let a = newConversation("c-1", 1000, { settings: { temperature: 0, seed: 42 } });
  a = addTurn(a, "Make a table", { user: "m-1", assistant: "m-2" }, 1001);
  a = appendPiece(a, "m-2", "| a | b |\n|---|---|\n| 1 | 2 |\n\n```js\nx()\n```");
  a = finishReply(
    a,
    "m-2",
    {
      stats: {
        promptTokens: 12,
        prefilledTokens: 12,
        shiftedTokens: 40,
        droppedMessages: 2,
        generatedTokens: 30,
        prefillTokensPerSecond: 81.25,
        decodeTokensPerSecond: 27.4,
        stopReason: "end-of-turn",
      },
    },
    1002,
  );
  a = addTurn(
    a,
    'Now <img src=x onerror="alert(1)"> and ünïcødé 🙂',
    { user: "m-3", assistant: "m-4" },
    1003,
  );
  a = finishReply(a, "m-4", { error: "The reply failed: out of memory" }, 1004);
  let b = newConversation("c-2", 2000, { systemPrompt: "Answer like a pirate.\nBriefly." });
  b = rename(b, "<b>Pirate</b> talk", 2001);
  b = addTurn(b, "Ahoy", { user: "m-5", assistant: "m-6" }, 2002);
  b = appendPiece(b, "m-6", "Arr");
  b = finishReply(
    b,
    "m-6",
    {
      stats: {
        promptTokens: 5,
        prefilledTokens: 2,
        shiftedTokens: 0,
        droppedMessages: 0,
        generatedTokens: 1,
        prefillTokensPerSecond: 0,
        decodeTokensPerSecond: 0,
        stopReason: "aborted",
      },
    },
    2003,
  );
  // A regenerated reply leaves its id behind so another tab's copy cannot bring it back.
  b = { ...b, removedIds: ["m-6-old"] };
  const empty = newConversation("c-3", 3000);
  return [a, b, empty];
}

const refused = (text: string) => {
  const result = parseExport(text);
  expect(result).toHaveProperty("error");
  return (result as { error: string }).error;
};

describe("export → import", () => {
  it("gives back exactly the conversations exported", () => {
    const chats = sampleChats();
    const result = parseExport(exportJson(chats, Date.UTC(2026, 0, 2)));
    expect(result).toEqual({ conversations: chats });
    // The statuses survive: a stopped reply stays stopped, a failed one keeps its error.
    const back = (result as { conversations: Conversation[] }).conversations;
    expect(back[1].messages[1].status).toBe("stopped");
    expect(back[0].messages[3]).toMatchObject({
      status: "failed",
      error: "The reply failed: out of memory",
    });
  });

  it("writes a file that names its format and version", () => {
    const file = JSON.parse(exportJson(sampleChats().slice(0, 1), 0));
    expect(file).toMatchObject({
      format: EXPORT_FORMAT,
      version: 1,
      exportedAt: "1970-01-01T00:00:00.000Z",
    });
    expect(file.conversations).toHaveLength(1);
  });

  it("turns a reply that was still streaming into a stopped one", () => {
    let c = newConversation("c-9", 1);
    c = addTurn(c, "hi", { user: "u", assistant: "r" }, 2);
    const result = parseExport(exportJson([c], 0)) as { conversations: Conversation[] };
    expect(result.conversations[0].messages[1].status).toBe("stopped");
  });
});

describe("a bad or hostile file is refused in words", () => {
  const good = () => JSON.parse(exportJson(sampleChats(), 0));
  const mutate = (change: (file: ReturnType<typeof good>) => void) => {
    const file = good();
    change(file);
    return JSON.stringify(file);
  };

  it("refuses what is not JSON, not an export, or empty", () => {
    expect(refused("hello")).toMatch(/not JSON/);
    expect(refused("<html><script>alert(1)</script></html>")).toMatch(/not JSON/);
    expect(refused("[]")).toMatch(/not a Trit chat export/);
    expect(refused('{"conversations": []}')).toMatch(/not a Trit chat export/);
    expect(refused("")).toMatch(/empty/);
    expect(refused(mutate((f) => (f.version = 2)))).toMatch(/version 2; this Trit reads version 1/);
    expect(refused(mutate((f) => (f.conversations = {})))).toMatch(/not a list/);
  });

  it("refuses a file that is too big before reading it", () => {
    expect(checkImportSize(MAX_IMPORT_BYTES + 1)).toMatch(/too big/);
    expect(checkImportSize(1000)).toBeNull();
    expect(refused(" ".repeat(MAX_IMPORT_BYTES + 1))).toMatch(/too big/);
  });

  it("refuses a wrong shape anywhere, naming where", () => {
    expect(refused(mutate((f) => (f.conversations[1].messages = "x")))).toMatch(
      /Chat 2 \("<b>Pirate<\/b> talk"\) has no list of messages/,
    );
    expect(refused(mutate((f) => (f.conversations[0].messages[0].role = "system")))).toMatch(
      /Chat 1 .*message 1, is neither yours nor a reply/,
    );
    expect(refused(mutate((f) => (f.conversations[0].settings.temperature = 9)))).toMatch(
      /Temperature must be between 0 and 2/,
    );
    expect(refused(mutate((f) => delete f.conversations[2].settings.seed))).toMatch(
      /Seed is not a number/,
    );
    expect(refused(mutate((f) => (f.conversations[0].updatedAt = "yesterday")))).toMatch(
      /not a time/,
    );
    expect(
      refused(mutate((f) => (f.conversations[0].messages[1].stats.stopReason = "boom"))),
    ).toMatch(/stop reason/);
    expect(refused(mutate((f) => (f.conversations[0].messages[1].status = "hacked")))).toMatch(
      /status/,
    );
    expect(refused(mutate((f) => (f.conversations[0].title = "x".repeat(201))))).toMatch(
      /longer than 200/,
    );
    expect(refused(mutate((f) => f.conversations.push(f.conversations[0])))).toMatch(/same id/);
    expect(refused(mutate((f) => (f.conversations[2] = null)))).toMatch(/Chat 3 is not a chat/);
  });

  it("refuses markup or script where only an identifier belongs", () => {
    expect(
      refused(mutate((f) => (f.conversations[0].id = '<img src=x onerror="alert(1)">'))),
    ).toMatch(/Chat 1's id is not an id Trit writes/);
    expect(
      refused(mutate((f) => (f.conversations[0].messages[0].id = "javascript:alert(1)//<"))),
    ).toMatch(/message 1, id is not an id/);
  });

  it("keeps text fields as the text they are, and drops unknown fields", () => {
    const text = mutate((f) => {
      f.conversations[0].title = "<script>alert(1)</script>";
      f.conversations[0].extra = "ignored";
    }).replace('"id":"c-1"', '"__proto__":{"polluted":true},"id":"c-1"');
    expect(text).toContain('"__proto__"');
    const result = parseExport(text) as { conversations: Conversation[] };
    expect(result.conversations[0].title).toBe("<script>alert(1)</script>");
    expect(result.conversations[0]).not.toHaveProperty("extra");
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });
});

describe("planImport (merging)", () => {
  const [a, b, c] = sampleChats();
  it("adds new chats, takes newer copies, and never overwrites a newer copy here", () => {
    const olderA = { ...a, updatedAt: a.updatedAt - 1, title: "old" };
    const newerB = { ...b, updatedAt: b.updatedAt + 10, title: "newer" };
    const plan = planImport([a, b], [olderA, newerB, c]);
    expect(plan.save).toEqual([newerB, c]);
    expect(plan).toMatchObject({ added: 1, updated: 1, kept: 1 });
    expect(describeImport(plan)).toBe(
      "Imported: 1 chat added, 1 chat updated to a newer copy, 1 chat kept as they were (this browser's copy is as new or newer).",
    );
  });
  it("leaves alone the chat a reply is being written into", () => {
    const plan = planImport([a], [{ ...a, updatedAt: a.updatedAt + 5 }], a.id);
    expect(plan.save).toEqual([]);
    expect(plan.kept).toBe(1);
  });
});

describe("exportMarkdown", () => {
  it("writes the title, system prompt, settings and each turn", () => {
    const [, b] = sampleChats();
    expect(exportMarkdown(b)).toBe(
      [
        "# <b>Pirate</b> talk",
        "",
        "> **System prompt:** Answer like a pirate.",
        "> Briefly.",
        "",
        "*Sampling: temperature 0.6, top-k 40, top-p 0.95, min-p 0.05, repetition penalty 1.1, max tokens 512, seed random.*",
        "",
        "## You",
        "",
        "Ahoy",
        "",
        "## Trit",
        "",
        "Arr",
        "",
        "*(stopped)*",
        "",
      ].join("\n"),
    );
  });
  it("names files after the title", () => {
    expect(fileName("Rust: lifetimes & borrows!", "md")).toBe("rust-lifetimes-borrows.md");
    expect(fileName("<>", "json")).toBe("chat.json");
  });
});
