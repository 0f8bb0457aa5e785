import type { Browser, BrowserContext, Page } from "@playwright/test";
import { type RangeServer, startRangeServer } from "../../src/storage/testing/range-server.ts";

/** What the real-engine journeys share: a model server, one browser context, one page. */
export interface Journey {
  server: RangeServer;
  context: BrowserContext;
  page: Page;
  /** Uncaught errors of the page, which the journeys expect to stay empty. */
  pageErrors: string[];
}

/**
 * A local CORS model server serving the tiny model at /models/tiny.gguf, and a browser
 * context (one IndexedDB, one service worker) with its first page.
 */
export async function startJourney(
  browser: Browser,
  baseURL: string | undefined,
  tiny: Uint8Array,
  viewport = { width: 1280, height: 900 },
): Promise<Journey> {
  const server = await startRangeServer();
  server.cors = true;
  server.files.set("/models/tiny.gguf", { bytes: tiny, etag: '"tiny-1"' });
  const context = await browser.newContext({ baseURL, viewport });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (err) => pageErrors.push(err.message));
  return { server, context, page, pageErrors };
}

export async function endJourney(journey: Journey | undefined): Promise<void> {
  await journey?.context.close();
  await journey?.server.close();
}
