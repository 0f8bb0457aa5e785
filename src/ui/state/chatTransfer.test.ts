import "fake-indexeddb/auto";
import { beforeEach, describe, expect, it } from "vitest";
import { useChatDefaults } from "./chatDefaults.ts";
import { exportJson } from "./chatExport.ts";
import { useChatStore, useConversationDb } from "./chatStore.ts";
import { importChatsFile } from "./chatTransfer.ts";
import { openConversationDb } from "./conversationDb.ts";
import { addTurn, newConversation } from "./conversations.ts";

let dbName: string;
let dbCount = 0;

beforeEach(async () => {
  dbName = `transfer-test-${dbCount++}`;
  useConversationDb(openConversationDb(dbName));
  useChatStore.setState({ conversations: [], activeId: null, hydrated: false, generation: null });
  await useChatStore.getState().hydrate();
});

const saved = () => openConversationDb(dbName).loadAll();
const fileOf = (text: string) => new Blob([text], { type: "application/json" });

describe("importing chats into the store", () => {
  it("saves new chats and newer copies, keeps newer ones here, and says so", async () => {
    const here = addTurn(
      newConversation("c-1", 10),
      "mine, newer",
      { user: "u1", assistant: "a1" },
      50,
    );
    await useChatStore.getState().adopt([here]);
    const olderCopy = addTurn(
      newConversation("c-1", 10),
      "theirs, older",
      { user: "u1", assistant: "a1" },
      20,
    );
    const other = newConversation("c-2", 30);
    const result = await importChatsFile(fileOf(exportJson([olderCopy, other], 0)));
    expect(result).toEqual({
      message:
        "Imported: 1 chat added, 1 chat kept as they were (this browser's copy is as new or newer).",
    });
    const byId = new Map((await saved()).map((c) => [c.id, c]));
    expect(byId.get("c-1")?.messages[0].content).toBe("mine, newer");
    expect(byId.get("c-2")).toEqual(other);
    expect(useChatStore.getState().conversations.map((c) => c.id)).toEqual(["c-1", "c-2"]);
  });

  it("changes nothing when the file is refused", async () => {
    const here = newConversation("c-1", 10);
    await useChatStore.getState().adopt([here]);
    const good = JSON.parse(exportJson([newConversation("c-9", 99)], 0));
    good.conversations.push({ id: "<script>", title: "x" });
    const result = await importChatsFile(fileOf(JSON.stringify(good)));
    expect(result).toHaveProperty("error");
    expect((result as { error: string }).error).toMatch(
      /Chat 2's id is not an id.*Nothing was imported\./,
    );
    expect(await saved()).toEqual([here]);
    expect(useChatStore.getState().conversations).toEqual([here]);
  });
});

describe("defaults for new chats", () => {
  it("start the first chat with what was set before any chat existed", () => {
    useChatDefaults.getState().setSettings({ temperature: 0.25, maxTokens: 64 });
    useChatDefaults.getState().setSystemPrompt("Be terse.");
    const id = useChatStore.getState().create();
    const chat = useChatStore.getState().conversations.find((c) => c.id === id);
    expect(chat?.settings).toMatchObject({ temperature: 0.25, maxTokens: 64 });
    expect(chat?.systemPrompt).toBe("Be terse.");
  });
});
