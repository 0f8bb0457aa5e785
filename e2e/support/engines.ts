/**
 * Firefox and WebKit for the e2e journeys and the benchmark, driven by Debian's browsers
 * (no browser downloads): Firefox ESR through puppeteer-core over WebDriver BiDi, WebKitGTK's
 * MiniBrowser through WebKitWebDriver (selenium-webdriver) under its own Xvfb display.
 * scripts/ensure-browsers.sh installs them. Both are wrapped in one small `EngineTab`, so a
 * journey is written once for both engines.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type EngineName = "firefox" | "webkit";

export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? "/usr/bin/firefox-esr";
export const WEBKIT_DRIVER_PATH = process.env.WEBKIT_DRIVER_PATH ?? "/usr/bin/WebKitWebDriver";
/** MiniBrowser ships in libwebkit2gtk-4.1-0, under the multiarch folder (x86_64-linux-gnu, …). */
export const MINIBROWSER_PATH =
  process.env.MINIBROWSER_PATH ??
  (existsSync("/usr/lib") ? readdirSync("/usr/lib") : [])
    .map((dir) => join("/usr/lib", dir, "webkit2gtk-4.1", "MiniBrowser"))
    .find((path) => existsSync(path)) ??
  "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";

/** Whether this machine has the engine (scripts/ensure-browsers.sh installs it). */
export function hasEngine(name: EngineName): boolean {
  return name === "firefox"
    ? existsSync(FIREFOX_PATH)
    : existsSync(WEBKIT_DRIVER_PATH) && existsSync(MINIBROWSER_PATH) && hasXvfb();
}

function hasXvfb(): boolean {
  return !!process.env.DISPLAY || existsSync("/usr/bin/Xvfb");
}

/** One page of a browser, the few things a journey does with it. */
export interface EngineTab {
  goto(url: string): Promise<void>;
  reload(): Promise<void>;
  url(): Promise<string>;
  /** Runs `fn(arg)` in the page (a self-contained function) and returns its awaited result. */
  evaluate<A, R>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<Awaited<R>>;
  /** Types `text` into the element, replacing what it holds, as a person does. */
  fill(selector: string, text: string): Promise<void>;
  /** Presses Enter in the element. */
  pressEnter(selector: string): Promise<void>;
  click(selector: string): Promise<void>;
  screenshot(path: string): Promise<void>;
  close(): Promise<void>;
}

export interface EngineBrowser {
  name: EngineName;
  /** E.g. "Firefox 153.0" or "WebKitGTK 2.50.4". */
  version: string;
  newTab(): Promise<EngineTab>;
  close(): Promise<void>;
}

export interface LaunchOptions {
  /**
   * WebKit only: SharedArrayBuffer on in isolated pages, as Safari ships it
   * (JSC_useSharedArrayBuffer=1; WebKitGTK keeps it off by default). Default true.
   */
  sharedArrayBuffer?: boolean;
  /**
   * WebKit only: the Storage API (navigator.storage.estimate, persist) on, as Safari ships
   * it (WebKitGTK keeps it off by default). Default true.
   */
  storageApi?: boolean;
}

export function launchEngine(
  name: EngineName,
  options: LaunchOptions = {},
): Promise<EngineBrowser> {
  return name === "firefox" ? launchFirefox() : launchWebKit(options);
}

async function launchFirefox(): Promise<EngineBrowser> {
  const puppeteer = (await import("puppeteer-core")).default;
  const browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: FIREFOX_PATH,
    headless: true,
    // Nothing leaves the machine: no update checks, telemetry or remote settings.
    extraPrefsFirefox: {
      "app.update.enabled": false,
      "browser.shell.checkDefaultBrowser": false,
      "datareporting.policy.dataSubmissionEnabled": false,
      "toolkit.telemetry.enabled": false,
      "network.captive-portal-service.enabled": false,
      "network.connectivity-service.enabled": false,
    },
  });
  const version = (await browser.version()).replace(/^firefox\//i, "Firefox ");
  return {
    name: "firefox",
    version,
    async newTab() {
      const page = await browser.newPage();
      await page.setViewport({ width: 1280, height: 900 });
      return {
        goto: async (url) => {
          await page.goto(url);
        },
        reload: async () => {
          await page.reload();
        },
        url: async () => page.url(),
        evaluate: (fn, arg) =>
          page.evaluate(fn as (a: unknown) => unknown, arg) as Promise<Awaited<never>>,
        fill: async (selector, text) => {
          await page.locator(selector).fill(text);
        },
        pressEnter: async (selector) => {
          await page.focus(selector);
          await page.keyboard.press("Enter");
        },
        click: async (selector) => {
          await page.locator(selector).click();
        },
        screenshot: async (path) => {
          await page.screenshot({ path: path as `${string}.png`, fullPage: true });
        },
        close: () => page.close(),
      };
    },
    close: () => browser.close(),
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * WebDriver script: whether arguments[0] (scrolled into view) keeps its box across two
 * animation frames and is hit at its centre.
 */
const STEADY_UNDER_POINTER = `
  const el = arguments[0];
  el.scrollIntoView({ block: "nearest" });
  return new Promise((resolve) => {
    const a = el.getBoundingClientRect();
    requestAnimationFrame(() => requestAnimationFrame(() => {
      const b = el.getBoundingClientRect();
      const still = a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height;
      const hit = document.elementFromPoint(b.x + b.width / 2, b.y + b.height / 2);
      resolve(still && b.width > 0 && hit !== null && el.contains(hit));
    }));
  });`;

/** An X display for MiniBrowser: the one we are in, else a private Xvfb (its number chosen by Xvfb). */
async function display(): Promise<{ display: string; stop(): void }> {
  if (process.env.DISPLAY) return { display: process.env.DISPLAY, stop() {} };
  const xvfb = spawn(
    "Xvfb",
    ["-displayfd", "3", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
    {
      stdio: ["ignore", "ignore", "ignore", "pipe"],
    },
  );
  const number = await new Promise<string>((resolve, reject) => {
    let text = "";
    xvfb.stdio[3]?.on("data", (d: Buffer) => {
      text += d.toString();
      if (text.includes("\n")) resolve(text.trim());
    });
    xvfb.once("exit", (code) => reject(new Error(`Xvfb exited (${code}) before it started`)));
  });
  return { display: `:${number}`, stop: () => xvfb.kill() };
}

async function waitForDriver(url: string, driver: ChildProcess): Promise<void> {
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    if (driver.exitCode !== null) throw new Error(`WebKitWebDriver exited (${driver.exitCode})`);
    const ready = await fetch(`${url}/status`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`WebKitWebDriver did not answer at ${url}`);
}

async function launchWebKit(options: LaunchOptions): Promise<EngineBrowser> {
  const { Builder, By, Key } = await import("selenium-webdriver");
  const screen = await display();
  const port = await freePort();
  // MiniBrowser inherits the driver's environment; a private home keeps its storage fresh.
  const home = mkdtempSync(join(tmpdir(), "trit-webkit-"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DISPLAY: screen.display,
    HOME: home,
    XDG_DATA_HOME: join(home, "data"),
    XDG_CACHE_HOME: join(home, "cache"),
    XDG_CONFIG_HOME: join(home, "config"),
  };
  if (options.sharedArrayBuffer !== false) env.JSC_useSharedArrayBuffer = "1";
  const driverProcess = spawn(WEBKIT_DRIVER_PATH, [`--port=${port}`], { env, stdio: "ignore" });
  const stop = async () => {
    if (driverProcess.exitCode === null) {
      const exited = new Promise((resolve) => driverProcess.once("exit", resolve));
      driverProcess.kill();
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
    }
    screen.stop();
    // MiniBrowser may still be writing its caches for a moment: retry, and never fail for it.
    try {
      rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    } catch {}
  };
  try {
    await waitForDriver(`http://127.0.0.1:${port}`, driverProcess);
    const capabilities = {
      browserName: "MiniBrowser",
      "webkitgtk:browserOptions": {
        binary: MINIBROWSER_PATH,
        args: [
          "--automation",
          ...(options.storageApi !== false ? ["--features=+StorageAPI,+StorageAPIEstimate"] : []),
        ],
      },
    };
    const driver = await new Builder()
      .usingServer(`http://127.0.0.1:${port}`)
      .withCapabilities(capabilities)
      .build();
    const caps = await driver.getCapabilities();
    await driver.manage().window().setRect({ width: 1280, height: 900 });
    const version = `WebKitGTK ${caps.get("browserVersion") ?? "?"}`;
    let tabs = 0;
    let current = await driver.getWindowHandle();
    return {
      name: "webkit",
      version,
      // Each tab is a window of its own (its own session storage, as a new tab has); every
      // command first makes its window the one WebDriver drives.
      async newTab() {
        if (tabs++ > 0) await driver.switchTo().newWindow("tab");
        const handle = await driver.getWindowHandle();
        current = handle;
        const on = async () => {
          if (current !== handle) await driver.switchTo().window(handle);
          current = handle;
          return driver;
        };
        const element = async (selector: string) => (await on()).findElement(By.css(selector));
        return {
          goto: async (url) => {
            await (await on()).get(url);
          },
          reload: async () => {
            await (await on()).navigate().refresh();
          },
          url: async () => (await on()).getCurrentUrl(),
          evaluate: async (fn, arg) =>
            (await on()).executeScript(`return (${fn.toString()})(arguments[0]);`, arg) as Promise<
              Awaited<never>
            >,
          fill: async (selector, text) => {
            // Typed over the whole field selected, so React sees every change: clear()
            // empties it without telling React, whose next render (a busy page renders
            // often) can put the old value back for the typing to append to. Typed again
            // if the field still ends up holding something else.
            for (let attempt = 1; ; attempt++) {
              const el = await element(selector);
              await el.sendKeys(Key.chord(Key.CONTROL, "a"));
              await el.sendKeys(Key.BACK_SPACE);
              await el.sendKeys(text);
              const value = await driver.executeScript("return arguments[0].value;", el);
              if (value === text) return;
              if (attempt === 3) {
                throw new Error(
                  `${selector} holds "${value}" after typing "${text}" ${attempt} times`,
                );
              }
            }
          },
          pressEnter: async (selector) => {
            await (await element(selector)).sendKeys(Key.ENTER);
          },
          click: async (selector) => {
            // Playwright's and puppeteer's locators click an element only once it holds
            // still and is what its centre hits; WebDriver clicks at once. A panel that
            // re-rendered under the pointer sent the click to the form instead of its
            // button, and the model was never added (1 WebKit run in 4).
            const el = await element(selector);
            await driver.wait(() => driver.executeScript(STEADY_UNDER_POINTER, el), 10_000);
            await el.click();
          },
          screenshot: async (path) => {
            writeFileSync(path, Buffer.from(await (await on()).takeScreenshot(), "base64"));
          },
          close: async () => {
            const others = (await driver.getAllWindowHandles()).filter((h) => h !== handle);
            // The last window stays (closing it ends the session): it only leaves the page.
            if (others.length === 0) {
              await (await on()).get("about:blank");
              return;
            }
            await (await on()).close();
            await driver.switchTo().window(others[0]);
            current = others[0];
          },
        };
      },
      close: async () => {
        await driver.quit().catch(() => {});
        await stop();
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
