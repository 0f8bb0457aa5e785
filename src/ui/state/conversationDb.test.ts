import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { openConversationDb } from "./conversationDb.ts";
import { addTurn, newConversation } from "./conversations.ts";

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
