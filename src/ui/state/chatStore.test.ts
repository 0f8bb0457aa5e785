import "fake-indexeddb/auto";
import { beforeEach, describe, expect, it } from "vitest";
import {
  abortRunningSaves,
  saveAbortedAgain,
  useChatStore,
  useConversationDb,
} from "./chatStore.ts";
import { openConversationDb } from "./conversationDb.ts";
import { useEngineStore } from "./engineStore.ts";
import { useModelManagerStore } from "./modelManagerStore.ts";
import { DEFAULT_SAMPLING, RANDOM_SEED } from "./sampling.ts";
import { FakeEngine } from "./testing/fakeEngine.ts";

let engine: FakeEngine;
let dbName: string;
let dbCount = 0;

async function readyWithModel(): Promise<void> {
  await useModelManagerStore.getState().downloadUrl("https://models.example/tiny.gguf");
}

beforeEach(async () => {
  engine = new FakeEngine();
  dbName = `chat-test-${dbCount++}`;
  useConversationDb(openConversationDb(dbName));
  useChatStore.setState({
    conversations: [],
    activeId: null,
    hydrated: false,
    draft: "",
    generation: null,
    error: null,
    lastStats: null,
  });
  useModelManagerStore.setState({
    models: [],
    loaded: null,
    loading: null,
    progress: {},
    error: null,
    pendingShare: null,
    shareError: null,
  });
  await useEngineStore.getState().attach(engine);
});

describe("chat store with a fake engine", () => {
  it("refuses to send before a model is loaded, in words", async () => {
    await useChatStore.getState().send("hi");
    expect(useChatStore.getState().error).toBe("Load a model first (see Model).");
    expect(engine.calls).toEqual([]);
  });

  it("downloads, auto-loads, then streams a reply piece by piece into the conversation", async () => {
    await readyWithModel();
    expect(useModelManagerStore.getState().loaded?.kernel).toBe("simd128");

    const seen: string[] = [];
    const unsubscribe = useChatStore.subscribe((s) => {
      const reply = s.conversations[0]?.messages[1];
      if (reply && seen.at(-1) !== reply.content) seen.push(reply.content);
    });
    useChatStore.getState().setSettings({ temperature: 0.3 }); // no conversation yet: ignored
    await useChatStore.getState().send("Say hello");
    unsubscribe();

    const [conversation] = useChatStore.getState().conversations;
    expect(conversation.title).toBe("Say hello");
    expect(conversation.messages.map((m) => [m.role, m.content, m.status])).toEqual([
      ["user", "Say hello", undefined],
      ["assistant", "Hello, world!", "done"],
    ]);
    // Token by token: every prefix of the reply was on screen at some point.
    expect(seen).toEqual(["", "Hello", "Hello, ", "Hello, world", "Hello, world!"]);
    expect(engine.calls[0].messages).toEqual([
      { role: "system", content: "You are a helpful assistant." },
      { role: "user", content: "Say hello" },
    ]);
    // The random seed marker never reaches the engine.
    expect(engine.calls[0].settings.seed).not.toBe(RANDOM_SEED);
    expect(engine.calls[0].settings.temperature).toBe(DEFAULT_SAMPLING.temperature);
    expect(useChatStore.getState().lastStats?.generatedTokens).toBe(4);
    expect(useChatStore.getState().generation).toBeNull();
  });

  it("sends the conversation's own system prompt and settings, with history, on the next turn", async () => {
    await readyWithModel();
    const chat = useChatStore.getState();
    chat.create();
    chat.setSystemPrompt("Answer in French.");
    chat.setSettings({ temperature: 0, seed: 7 });
    await chat.send("One");
    engine.reply = ["Deux"];
    await useChatStore.getState().send("Two");
    expect(engine.calls[1].messages).toEqual([
      { role: "system", content: "Answer in French." },
      { role: "user", content: "One" },
      { role: "assistant", content: "Hello, world!" },
      { role: "user", content: "Two" },
    ]);
    expect(engine.calls[1].settings).toEqual({ ...DEFAULT_SAMPLING, temperature: 0, seed: 7 });
  });

  it("stops a reply, keeping what came so far, marked stopped", async () => {
    await readyWithModel();
    engine.pieceDelay = 20;
    engine.reply = ["a", "b", "c", "d", "e", "f", "g", "h"];
    const sending = useChatStore.getState().send("long one");
    await new Promise((r) => setTimeout(r, 50));
    expect(useChatStore.getState().generation?.pieces).toBeGreaterThan(0);
    await useChatStore.getState().stop();
    await sending;
    const reply = useChatStore.getState().conversations[0].messages[1];
    expect(reply.status).toBe("stopped");
    expect(reply.content.length).toBeGreaterThan(0);
    expect(reply.content.length).toBeLessThan(8);
    expect("abcdefgh".startsWith(reply.content)).toBe(true);
  });

  it("regenerates the last reply and edits an earlier message, continuing from there", async () => {
    await readyWithModel();
    await useChatStore.getState().send("First");
    engine.reply = ["Second answer"];
    await useChatStore.getState().send("Second");

    engine.reply = ["Again"];
    await useChatStore.getState().regenerate();
    let messages = useChatStore.getState().conversations[0].messages;
    expect(messages.map((m) => m.content)).toEqual(["First", "Hello, world!", "Second", "Again"]);
    expect(engine.calls.at(-1)?.messages.at(-1)).toEqual({ role: "user", content: "Second" });

    engine.reply = ["Edited answer"];
    await useChatStore.getState().editAndResend(messages[0].id, "First, edited");
    messages = useChatStore.getState().conversations[0].messages;
    expect(messages.map((m) => m.content)).toEqual(["First, edited", "Edited answer"]);
    expect(engine.calls.at(-1)?.messages.slice(1)).toEqual([
      { role: "user", content: "First, edited" },
    ]);
  });

  it("keeps a last piece that arrives after generate() resolved", async () => {
    await readyWithModel();
    engine.lastPieceLateMs = 30;
    await useChatStore.getState().send("late");
    await new Promise((r) => setTimeout(r, 60));
    const reply = useChatStore.getState().conversations[0].messages[1];
    expect(reply.content).toBe("Hello, world!");
    expect(reply.status).toBe("done");
  });

  it("shows an engine failure on the reply, in words", async () => {
    await readyWithModel();
    engine.failWith = "out of memory";
    await useChatStore.getState().send("boom");
    const reply = useChatStore.getState().conversations[0].messages[1];
    expect(reply).toMatchObject({
      status: "failed",
      error: "The reply failed: out of memory",
      content: "Hello",
    });
  });

  it("keeps conversations across a reload: renamed, deleted and new ones", async () => {
    await readyWithModel();
    const chat = useChatStore.getState();
    await chat.send("Keep me");
    const keepId = useChatStore.getState().activeId as string;
    const dropId = chat.create();
    useChatStore.getState().rename(keepId, "Kept");
    await useChatStore.getState().remove(dropId);
    await new Promise((r) => setTimeout(r, 10)); // let the last saves land

    // A reload: an empty store reading the same database.
    useChatStore.setState({ conversations: [], activeId: null, hydrated: false });
    useConversationDb(openConversationDb(dbName));
    await useChatStore.getState().hydrate();
    const state = useChatStore.getState();
    expect(state.conversations.map((c) => [c.id, c.title])).toEqual([[keepId, "Kept"]]);
    expect(state.conversations[0].messages.map((m) => m.content)).toEqual([
      "Keep me",
      "Hello, world!",
    ]);
    expect(state.activeId).toBe(keepId);
  });
});

describe("a page the browser keeps in its back/forward cache (src/ui/pageCache.ts)", () => {
  it("saves again, when shown, what leaving it aborted", async () => {
    await readyWithModel();
    await useChatStore.getState().send("Keep me");
    const id = useChatStore.getState().activeId as string;
    await new Promise((r) => setTimeout(r, 10)); // let the reply's saves land
    const title = "Renamed as the page was left";
    useChatStore.getState().rename(id, title);
    // the save's transaction starts once the open database is handed over (a microtask)
    await Promise.resolve();
    await Promise.resolve();
    abortRunningSaves();
    await new Promise((r) => setTimeout(r, 10));
    const other = openConversationDb(dbName);
    expect((await other.load(id))?.title).not.toBe(title); // the abort did lose it

    await saveAbortedAgain();
    expect((await other.load(id))?.title).toBe(title);
    expect((await other.load(id))?.messages.map((m) => m.content)).toEqual([
      "Keep me",
      "Hello, world!",
    ]);
  });
});

describe("share links through the model store", () => {
  it("asks first, then downloads, loads and prefills the prompt with the link's settings", async () => {
    const url = "https://models.example/shared.gguf";
    const href = `https://app.example/#model=${encodeURIComponent(url)}&prompt=Hi%20there&temperature=0.1`;
    await useModelManagerStore.getState().openShareLink(href, "https://app.example/");
    const pending = useModelManagerStore.getState().pendingShare;
    expect(pending?.modelUrl).toBe(url);
    expect(engine.models).toEqual([]); // nothing downloaded before the user says yes

    await useModelManagerStore.getState().acceptShare();
    expect(useModelManagerStore.getState().loaded?.modelId).toBe(`url:${url}`);
    const chat = useChatStore.getState();
    expect(chat.draft).toBe("Hi there");
    expect(chat.conversations[0].settings.temperature).toBe(0.1);
  });

  it("refuses a javascript: link without asking", async () => {
    await useModelManagerStore
      .getState()
      .openShareLink("https://app.example/#model=javascript%3Aalert(1)", "https://app.example/");
    expect(useModelManagerStore.getState().pendingShare).toBeNull();
    expect(useModelManagerStore.getState().shareError).toMatch(/Only http and https/);
  });

  it("reuses an untouched conversation for New chat, also when a share link opens one", async () => {
    const chat = useChatStore.getState();
    const first = chat.create();
    expect(useChatStore.getState().create()).toBe(first);
    // a share link's settings land on the reused one
    expect(useChatStore.getState().create({ settings: { temperature: 0.2 } })).toBe(first);
    expect(useChatStore.getState().conversations).toHaveLength(1);
    expect(useChatStore.getState().conversations[0].settings.temperature).toBe(0.2);
    // a conversation with a message, or one the user named, is not reused
    await readyWithModel();
    await useChatStore.getState().send("Hello");
    const second = useChatStore.getState().create();
    expect(second).not.toBe(first);
    useChatStore.getState().rename(second, "Kept for later");
    const third = useChatStore.getState().create();
    expect(third).not.toBe(second);
    expect(useChatStore.getState().conversations).toHaveLength(3);
  });
});
