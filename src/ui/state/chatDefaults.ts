import { create } from "zustand";
import type { SamplingSettings } from "../../worker/api.ts";
import { DEFAULT_SAMPLING, DEFAULT_SYSTEM_PROMPT, normalizeSampling } from "./sampling.ts";

/**
 * What a new chat starts with when there is no chat to carry settings over from: set in
 * the settings panel before the first chat, kept in localStorage.
 */
interface ChatDefaultsState {
  systemPrompt: string;
  settings: SamplingSettings;
  setSystemPrompt(text: string): void;
  setSettings(change: Partial<SamplingSettings>): void;
}

const KEY = "trit:chat-defaults";

function saved(): Pick<ChatDefaultsState, "systemPrompt" | "settings"> {
  try {
    const raw = JSON.parse(globalThis.localStorage?.getItem(KEY) ?? "null");
    return {
      systemPrompt:
        typeof raw?.systemPrompt === "string" ? raw.systemPrompt : DEFAULT_SYSTEM_PROMPT,
      settings: normalizeSampling(raw?.settings),
    };
  } catch {
    return { systemPrompt: DEFAULT_SYSTEM_PROMPT, settings: { ...DEFAULT_SAMPLING } };
  }
}

export const useChatDefaults = create<ChatDefaultsState>((set, get) => {
  const save = () => {
    try {
      const { systemPrompt, settings } = get();
      globalThis.localStorage?.setItem(KEY, JSON.stringify({ systemPrompt, settings }));
    } catch {
      // Not saved (private mode, storage off): the defaults still hold for this visit.
    }
  };
  return {
    ...saved(),
    setSystemPrompt(text) {
      set({ systemPrompt: text });
      save();
    },
    setSettings(change) {
      set((s) => ({ settings: { ...s.settings, ...change } }));
      save();
    },
  };
});
