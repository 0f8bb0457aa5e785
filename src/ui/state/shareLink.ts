import type { SamplingSettings } from "../../worker/api.ts";
import { checkSetting, SAMPLING_KEYS } from "./sampling.ts";

/**
 * Share links name a model by URL, optionally with a first prompt and sampling settings:
 *   https://app.example/#model=https%3A%2F%2Fhost%2Fm.gguf&prompt=Hi&temperature=0.2
 * They live in the fragment so the hosting server never sees them. Everything read from
 * a link is plain text for the UI to show as text; it is never turned into markup.
 */
export interface ShareRequest {
  modelUrl: string;
  /** A display name from the link, if any (plain text, trimmed, control characters removed). */
  name?: string;
  prompt?: string;
  settings: Partial<SamplingSettings>;
  /** Parts of the link that were ignored, in words. */
  warnings: string[];
}

export type ShareParseResult = { ok: true; request: ShareRequest } | { ok: false; error: string };

const MAX_PROMPT = 8000;
const MAX_NAME = 120;
const MAX_URL = 2048;

/** Accepts only absolute http(s) URLs without embedded credentials; returns the reason otherwise. */
export function checkModelUrl(raw: string): { url: string } | { error: string } {
  const text = raw.trim();
  if (text === "") return { error: "The model URL is empty." };
  if (text.length > MAX_URL)
    return { error: `The model URL is longer than ${MAX_URL} characters.` };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { error: "The model URL is not a valid absolute URL (it must start with https://)." };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    return { error: `Only http and https model URLs are accepted, not "${url.protocol}".` };
  if (url.username || url.password)
    return { error: "Model URLs with a user name or password in them are not accepted." };
  return { url: url.href };
}

function cleanText(raw: string, max: number): string {
  // Control characters (except newline and tab) have no business in a name or prompt.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  return raw.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "").slice(0, max);
}

/** Reads the share parameters from a URL's fragment (or, failing that, its query). */
export function parseShareLink(href: string): ShareParseResult | null {
  let location: URL;
  try {
    location = new URL(href);
  } catch {
    return null;
  }
  const fromHash = new URLSearchParams(location.hash.replace(/^#/, ""));
  const params = fromHash.has("model") ? fromHash : location.searchParams;
  const rawModel = params.get("model");
  if (rawModel === null) return null;

  const checked = checkModelUrl(rawModel);
  if ("error" in checked) return { ok: false, error: checked.error };

  const warnings: string[] = [];
  const request: ShareRequest = { modelUrl: checked.url, settings: {}, warnings };

  const name = params.get("name");
  if (name !== null) {
    const cleaned = cleanText(name, MAX_NAME).replace(/\s+/g, " ").trim();
    if (cleaned) request.name = cleaned;
  }
  const prompt = params.get("prompt");
  if (prompt !== null) {
    if (prompt.length > MAX_PROMPT)
      warnings.push(`The prompt was cut to its first ${MAX_PROMPT} characters.`);
    const cleaned = cleanText(prompt, MAX_PROMPT);
    if (cleaned.trim()) request.prompt = cleaned;
  }
  for (const key of SAMPLING_KEYS) {
    const raw = params.get(key);
    if (raw === null) continue;
    const result = checkSetting(key, raw);
    if ("error" in result) warnings.push(`Ignored from the link: ${result.error}`);
    else request.settings[key] = result.value;
  }
  return { ok: true, request };
}

/** Makes a share link on `base` (the app's own address) for a model URL, prompt and settings. */
export function buildShareLink(
  base: string,
  share: { modelUrl: string; name?: string; prompt?: string; settings?: Partial<SamplingSettings> },
): string {
  const checked = checkModelUrl(share.modelUrl);
  if ("error" in checked) throw new Error(`Cannot share this model: ${checked.error}`);
  const params = new URLSearchParams();
  params.set("model", checked.url);
  if (share.name) params.set("name", share.name);
  if (share.prompt?.trim()) params.set("prompt", share.prompt);
  for (const key of SAMPLING_KEYS) {
    const value = share.settings?.[key];
    if (value !== undefined) params.set(key, String(value));
  }
  const url = new URL(base);
  url.hash = params.toString();
  return url.href;
}

/** The address without the share fragment, so a reload does not ask again. */
export function withoutShareParams(href: string): string {
  const url = new URL(href);
  const hash = new URLSearchParams(url.hash.replace(/^#/, ""));
  if (hash.has("model")) url.hash = "";
  if (url.searchParams.has("model")) {
    for (const key of ["model", "name", "prompt", ...SAMPLING_KEYS]) url.searchParams.delete(key);
  }
  return url.href;
}
