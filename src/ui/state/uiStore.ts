import { create } from "zustand";

export type Theme = "system" | "light" | "dark";
/** Which side drawer is open on narrow screens. */
export type Drawer = "none" | "chats" | "side";

interface UiState {
  theme: Theme;
  drawer: Drawer;
  setTheme(theme: Theme): void;
  setDrawer(drawer: Drawer): void;
}

const THEME_KEY = "trit:theme";

function savedTheme(): Theme {
  try {
    const value = globalThis.localStorage?.getItem(THEME_KEY);
    return value === "light" || value === "dark" ? value : "system";
  } catch {
    return "system";
  }
}

function applyTheme(theme: Theme): void {
  if (typeof document === "undefined") return;
  if (theme === "system") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}

export const useUiStore = create<UiState>((set) => {
  const theme = savedTheme();
  applyTheme(theme);
  return {
    theme,
    drawer: "none",
    setTheme(next) {
      applyTheme(next);
      try {
        globalThis.localStorage?.setItem(THEME_KEY, next);
      } catch {
        // Not saved; it still applies for this visit.
      }
      set({ theme: next });
    },
    setDrawer(drawer) {
      set({ drawer });
    },
  };
});
