/**
 * The allowed import graph of src/, as data, and a checker over source texts. Dependencies
 * point one way: ui → worker API → engine / storage; the engine imports nothing above it;
 * product code imports no test or benchmark code. src/import-graph.test.ts applies it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";

/** A zone of the tree: the first rule whose prefix matches a file's path owns it. */
export interface ZoneRule {
  zone: string;
  /** The layer it belongs to: a test file may import any zone of its own layer (a kernel test compares with the reference). */
  layer: string;
  /** Repository-relative path prefix. */
  prefix: string;
  /** Zones its product files may import (its own zone is always allowed). */
  mayImport: string[];
  /** npm packages it must not import (e.g. React in the engine). */
  forbiddenPackages?: string[];
}

const UI_PACKAGES = ["react", "react-dom", "react-markdown", "zustand", "comlink", "idb-keyval"];

/** The engine's parts (src/engine/<part>/); files directly in src/engine/ may use them all. */
const ENGINE_PARTS = [
  "gguf",
  "bitnet",
  "reference",
  "kernels",
  "platform",
  "tokenizer",
  "chat",
  "sampling",
  "generate",
];

/** Most specific prefixes first. */
export const SRC_RULES: ZoneRule[] = [
  {
    zone: "gguf",
    layer: "engine",
    prefix: "src/engine/gguf/",
    mayImport: [],
    forbiddenPackages: UI_PACKAGES,
  },
  {
    zone: "bitnet",
    layer: "engine",
    prefix: "src/engine/bitnet/",
    mayImport: ["gguf"],
    forbiddenPackages: UI_PACKAGES,
  },
  {
    zone: "reference",
    layer: "engine",
    prefix: "src/engine/reference/",
    mayImport: ["gguf", "bitnet"],
    forbiddenPackages: UI_PACKAGES,
  },
  {
    zone: "kernels",
    layer: "engine",
    prefix: "src/engine/kernels/",
    mayImport: ["gguf", "bitnet", "platform", "wasm"],
    forbiddenPackages: UI_PACKAGES,
  },
  {
    zone: "platform",
    layer: "engine",
    prefix: "src/engine/platform/",
    mayImport: [],
    forbiddenPackages: UI_PACKAGES,
  },
  {
    zone: "tokenizer",
    layer: "engine",
    prefix: "src/engine/tokenizer/",
    mayImport: [],
    forbiddenPackages: UI_PACKAGES,
  },
  {
    zone: "chat",
    layer: "engine",
    prefix: "src/engine/chat/",
    mayImport: [],
    forbiddenPackages: UI_PACKAGES,
  },
  {
    zone: "sampling",
    layer: "engine",
    prefix: "src/engine/sampling/",
    mayImport: [],
    forbiddenPackages: UI_PACKAGES,
  },
  {
    zone: "generate",
    layer: "engine",
    prefix: "src/engine/generate/",
    mayImport: ["bitnet", "chat", "tokenizer", "sampling"],
    forbiddenPackages: UI_PACKAGES,
  },
  {
    zone: "engine",
    layer: "engine",
    prefix: "src/engine/",
    mayImport: ENGINE_PARTS,
    forbiddenPackages: UI_PACKAGES,
  },
  {
    zone: "storage",
    layer: "storage",
    prefix: "src/storage/",
    mayImport: ["gguf", "bitnet"],
    forbiddenPackages: ["react", "react-dom", "react-markdown", "zustand", "comlink"],
  },
  {
    zone: "worker",
    layer: "worker",
    prefix: "src/worker/",
    mayImport: [...ENGINE_PARTS, "engine", "storage"],
    forbiddenPackages: ["react", "react-dom", "react-markdown", "zustand"],
  },
  { zone: "ui", layer: "ui", prefix: "src/ui/", mayImport: ["worker"] },
  { zone: "app", layer: "app", prefix: "src/", mayImport: ["ui"] },
  // The compiled kernels: only the kernel loader reads them.
  { zone: "wasm", layer: "wasm", prefix: "wasm-kernels/", mayImport: [] },
  { zone: "test-support", layer: "test-support", prefix: "test-support/", mayImport: [] },
  { zone: "scripts", layer: "scripts", prefix: "scripts/", mayImport: [] },
];

const TEST_FILE = /\.test\.tsx?$|\/testing\//;

export interface Violation {
  file: string;
  imports: string;
  why: string;
}

/** Every module specifier a source text names: static and dynamic imports, re-exports, workers. */
export function importSpecifiers(source: string): string[] {
  const specs: string[] = [];
  const patterns = [
    /(?:^|[;\s])(?:import|export)\s[^"';]*?\sfrom\s*["']([^"']+)["']/g,
    /(?:^|[;\s])import\s*["']([^"']+)["']/g,
    /import\(\s*["']([^"']+)["']\s*\)/g,
    /new URL\(\s*["'](\.[^"']+\.\w+)["']\s*,\s*import\.meta\.url/g,
  ];
  for (const re of patterns) for (const m of source.matchAll(re)) specs.push(m[1]);
  return specs;
}

function zoneOf(path: string, rules: ZoneRule[]): ZoneRule | undefined {
  return rules.find((r) => path.startsWith(r.prefix));
}

/**
 * Checks files (repository-relative path → source text) against the rules. Product files
 * may import their own zone and the zones their rule names. Test files (*.test.ts and
 * testing/ folders) may also import test-support/ and any zone of their own layer; no file
 * under src/ imports scripts/.
 */
export function checkImportGraph(
  files: Map<string, string>,
  rules: ZoneRule[] = SRC_RULES,
): Violation[] {
  const out: Violation[] = [];
  for (const [file, source] of files) {
    const from = zoneOf(file, rules);
    if (!from || !file.startsWith("src/")) continue;
    const isTest = TEST_FILE.test(file);
    for (const spec of importSpecifiers(source)) {
      if (!spec.startsWith(".")) {
        const pkg = spec.startsWith("@")
          ? spec.split("/").slice(0, 2).join("/")
          : spec.split("/")[0];
        if (!isTest && from.forbiddenPackages?.includes(pkg)) {
          out.push({ file, imports: spec, why: `${from.zone} must not use ${pkg}` });
        }
        continue;
      }
      const target = normalize(join(dirname(file), spec))
        .split("\\")
        .join("/");
      const to = zoneOf(target, rules);
      if (!to) {
        out.push({ file, imports: spec, why: `imports outside the known tree (${target})` });
        continue;
      }
      if (to.zone === from.zone) continue;
      if (to.zone === "scripts") {
        out.push({
          file,
          imports: spec,
          why: "src/ must not import scripts/ (move shared code to test-support/)",
        });
        continue;
      }
      if (to.zone === "test-support") {
        if (!isTest)
          out.push({ file, imports: spec, why: "product code must not import test-support/" });
        continue;
      }
      if (isTest && to.layer === from.layer) continue;
      if (!from.mayImport.includes(to.zone)) {
        out.push({ file, imports: spec, why: `${from.zone} must not import ${to.zone}` });
      }
    }
  }
  return out;
}

/** Reads every .ts/.tsx/.js file under `dirs` of the repository at `root`. */
export function readSources(root: string, dirs: string[]): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      // Repository-relative with "/" separators: the key the rules match.
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|tsx|js)$/.test(entry.name))
        files.set(path, readFileSync(join(root, path), "utf8"));
    }
  };
  for (const d of dirs) walk(d);
  return files;
}
