import { describe, expect, it } from "vitest";
import { type IsolationFacts, isolationReloadStep } from "./registerServiceWorker.ts";

const ua = "Mozilla/5.0 AppleWebKit/605.1.15 Version/18.0 Safari/605.1.15";
const base: IsolationFacts = {
  isolated: false,
  controlled: true,
  reloadedThisTab: false,
  noHelpFor: null,
  userAgent: ua,
};

/** Plays page loads in tabs of one browser, as registerServiceWorker does; counts reloads. */
function reloadsOver(tabs: number, reloadIsolates: boolean): number {
  let noHelpFor: string | null = null;
  let reloads = 0;
  for (let t = 0; t < tabs; t++) {
    let reloadedThisTab = false;
    for (let load = 0; load < 3; load++) {
      const isolated = reloadIsolates && reloadedThisTab;
      const step = isolationReloadStep({ ...base, isolated, reloadedThisTab, noHelpFor });
      if (step === "remember-no-help") noHelpFor = ua;
      if (step !== "reload") break;
      reloads++;
      reloadedThisTab = true;
    }
  }
  return reloads;
}

describe("isolationReloadStep", () => {
  it("reloads once when the service worker's headers can isolate the page", () => {
    expect(isolationReloadStep(base)).toBe("reload");
    expect(reloadsOver(1, true)).toBe(1);
  });

  it("does nothing on an isolated page, an uncontrolled one, or without the notion", () => {
    expect(isolationReloadStep({ ...base, isolated: true })).toBe("nothing");
    expect(isolationReloadStep({ ...base, controlled: false })).toBe("nothing");
    expect(isolationReloadStep({ ...base, isolated: undefined })).toBe("nothing");
  });

  it("where a reload never helps, only the first tab ever reloads, not every new one", () => {
    expect(reloadsOver(5, false)).toBe(1);
    expect(isolationReloadStep({ ...base, reloadedThisTab: true })).toBe("remember-no-help");
  });

  it("tries again once the browser changed (another user agent)", () => {
    expect(isolationReloadStep({ ...base, noHelpFor: `${ua} old` })).toBe("reload");
    expect(isolationReloadStep({ ...base, noHelpFor: ua })).toBe("nothing");
  });
});
