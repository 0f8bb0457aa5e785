import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { openConversationDb } from "./conversationDb.ts";
import { addTurn, appendPiece, finishReply, newConversation } from "./conversations.ts";

describe("conversations in IndexedDB", () => {
  it("saves, reads back across a fresh handle (a reload), and deletes", async () => {
    const db = openConversationDb("test-db-1");
    const one = addTurn(
      newConversation("one", 1),
      "Hello <b>there</b>",
      { user: "u", assistant: "a" },
      2,
    );
    const two = newConversation("two", 3);
    await db.save(one);
    await db.save(two);

    const reopened = openConversationDb("test-db-1");
    const loaded = await reopened.loadAll();
    const byId = new Map(loaded.map((c) => [c.id, c]));
    expect(byId.get("two")).toEqual(two);
    // The reply that was streaming when the "tab closed" comes back as stopped.
    expect(byId.get("one")?.messages.map((m) => [m.content, m.status])).toEqual([
      ["Hello <b>there</b>", undefined],
      ["", "stopped"],
    ]);

    await reopened.remove("one");
    expect((await openConversationDb("test-db-1").loadAll()).map((c) => c.id)).toEqual(["two"]);
  });

  it("skips records that are not conversations", async () => {
    const db = openConversationDb("test-db-2");
    await db.save(newConversation("ok", 1));
    const { createStore, set } = await import("idb-keyval");
    await set("bad", { nope: true }, createStore("test-db-2", "conversations"));
    expect((await db.loadAll()).map((c) => c.id)).toEqual(["ok"]);
  });
});

describe("two tabs saving one conversation", () => {
  it("loses neither tab's turn: a save merges with what the other tab stored", async () => {
    const tabA = openConversationDb("test-db-tabs");
    const tabB = openConversationDb("test-db-tabs");
    const start = newConversation("shared", 1);
    await tabA.save(start);
    const stats = {
      promptTokens: 1,
      prefilledTokens: 1,
      shiftedTokens: 0,
      droppedMessages: 0,
      generatedTokens: 1,
      prefillTokensPerSecond: 1,
      decodeTokensPerSecond: 1,
      stopReason: "end-of-turn" as const,
    };
    // Both tabs hold the empty copy; A sends and gets a reply, then B sends from its old copy.
    const a = finishReply(
      appendPiece(
        addTurn(start, "From A", { user: "ua", assistant: "ra" }, 10),
        "ra",
        "Reply A",
        11,
      ),
      "ra",
      { stats },
      12,
    );
    await tabA.save(a);
    const b = addTurn(start, "From B", { user: "ub", assistant: "rb" }, 20);
    const storedByB = await tabB.save(b);
    expect(storedByB.messages.map((m) => m.content)).toEqual(["From A", "Reply A", "From B", ""]);
    const reloaded = await openConversationDb("test-db-tabs").load("shared");
    expect(reloaded?.messages.map((m) => m.id)).toEqual(["ua", "ra", "ub", "rb"]);
    // read as another live tab sees it: B's reply is still being written
    expect(reloaded?.messages.at(-1)?.status).toBe("streaming");
  });
});

describe("a page the browser keeps in its back/forward cache", () => {
  it("aborts its running save, which then stores nothing; later saves work", async () => {
    const db = openConversationDb("test-db-cache");
    const first = newConversation("kept", 1);
    await db.save(first);
    const edited = { ...first, title: "edited as the page was left" };
    const saving = db.save(edited);
    // the transaction starts once the open database is handed over (a microtask)
    await Promise.resolve();
    await Promise.resolve();
    db.abortRunning();
    await expect(saving).rejects.toThrow();
    const other = openConversationDb("test-db-cache");
    expect((await other.load("kept"))?.title).toBe(first.title);
    await db.save(edited);
    expect((await other.load("kept"))?.title).toBe(edited.title);
  });
});
