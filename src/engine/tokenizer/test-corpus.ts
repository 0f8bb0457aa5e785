/**
 * A large, varied text sample for checking the tokenizer against an independent one:
 * real files from installed packages (READMEs in a dozen languages, UI strings in 27,
 * JavaScript source) plus generated text that hits the awkward cases (emoji
 * sequences, scripts with combining marks, whitespace runs, digit runs, contractions,
 * special-token text). Deterministic: the same documents on every run.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { mulberry32 } from "../../../test-support/random-weights.ts";

const PACKAGE_FILES: [pkg: string, files: string[]][] = [
  [
    "@biomejs/biome",
    [
      "README.md",
      "README.ja.md",
      "README.zh-CN.md",
      "README.kr.md",
      "README.ru.md",
      "README.hi.md",
    ],
  ],
  ["@biomejs/biome", ["README.fr.md", "README.uk.md", "README.pl.md", "README.zh-TW.md"]],
  ["yargs", ["locales/th.json", "locales/hi.json", "locales/ko.json", "locales/be.json"]],
  ["@huggingface/jinja", ["dist/index.js"]],
  ["react-markdown", ["readme.md"]],
];

/** Real text files shipped inside installed packages (missing ones are skipped). */
export function packageDocuments(): { name: string; text: string }[] {
  const require = createRequire(import.meta.url);
  const docs: { name: string; text: string }[] = [];
  for (const [pkg, files] of PACKAGE_FILES) {
    let root: string;
    try {
      root = dirname(require.resolve(`${pkg}/package.json`));
    } catch {
      continue;
    }
    for (const file of files) {
      const path = join(root, file);
      if (existsSync(path)) docs.push({ name: `${pkg}/${file}`, text: readFileSync(path, "utf8") });
    }
  }
  return docs;
}

const WORDS =
  "the quick brown fox jumps over a lazy dog while ternary weights stream through SIMD lanes of WebAssembly inside a browser tab running on two CPU cores".split(
    " ",
  );
const CONTRACTIONS = [
  "don't",
  "I'M",
  "we'Ve",
  "they'RE",
  "it's",
  "She'll",
  "you'D",
  "'s",
  "''",
  "O'Neil",
];
const CODE = [
  "function f(x) {\n\treturn x ** 2 + 1;\n}",
  "for (let i = 0; i < n; i++) sum += a[i] * b[i];",
  "    if x >= 10:\n        print(f'{x:>8.3f}')\r\n",
  '#include <stdio.h>\nint main(void){printf("%d\\n", 42);}',
  "SELECT id, name FROM users WHERE age>=21 ORDER BY name DESC;",
  "const re = /^(?:[a-z0-9._%+-]+)@(?:[a-z0-9-]+\\.)+[a-z]{2,}$/iu;",
  '<div class="x">&lt;tag&gt; &amp;&nbsp;</div>',
  "x:=y;;; // ---- ==== **** #### $$$ @@@ !!! ??? ... ,,, ___",
];
const SCRIPTS = [
  "日本語のテキストと漢字、カタカナ。",
  "中文文本，包括标点符号！“引号”",
  "한국어 문장입니다. 띄어쓰기도 있습니다.",
  "Привет, мир! Ёжик в тумане.",
  "Γειά σου Κόσμε — ελληνικά",
  "مرحبا بالعالم، هذا نص عربي.",
  "שלום עולם, זה טקסט בעברית",
  "नमस्ते दुनिया, यह हिन्दी है।",
  "สวัสดีชาวโลก ภาษาไทยไม่มีช่องว่าง",
  "Ça va? Über Straße naïve café e\u0301 n\u0303 ﬁ Ⅻ ½ ²³",
  "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕄𝕒𝕥𝕙 𐍈 𓀀 \u{10FFFD}",
];
const EMOJI = ["👍", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷🇯🇵", "❤️", "1️⃣", "🫠", "🏳️‍🌈", "🧑🏿‍💻", "😀😃😄😁"];
const SPACES = [
  " ",
  "  ",
  "   ",
  "\t",
  "\t\t",
  "\n",
  "\n\n",
  "\n\n\n",
  "\r\n",
  " \n ",
  "\u00a0",
  "\u3000",
  "\u2028",
  " \t \n",
  "                ",
];
const SPECIALS = [
  "<|begin_of_text|>",
  "<|end_of_text|>",
  "<|start_header_id|>",
  "<|end_header_id|>",
  "<|eot_id|>",
  "<|not_a_token|>",
  "<|eot_id|",
  "<|",
  "|>",
];

function digits(rand: () => number): string {
  const n = 1 + Math.floor(rand() * 12);
  let s = "";
  for (let i = 0; i < n; i++) s += Math.floor(rand() * 10);
  const forms = [s, `${s}.${s.slice(0, 2)}`, `-${s}`, `${s},000`, `v${s}`, `${s}%`, `0x${s}`];
  return forms[Math.floor(rand() * forms.length)];
}

export interface GeneratedOptions {
  /** Include special-token text (Llama 3 names shared by every Llama 3 vocabulary). */
  specials: boolean;
}

/** `count` generated documents of a few hundred to a few thousand characters. */
export function generatedDocuments(count: number, seed: number, opts: GeneratedOptions): string[] {
  const rand = mulberry32(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const docs: string[] = [];
  for (let d = 0; d < count; d++) {
    const parts: string[] = [];
    const n = 50 + Math.floor(rand() * 300);
    for (let i = 0; i < n; i++) {
      const r = rand();
      if (r < 0.35) parts.push(pick(WORDS));
      else if (r < 0.45) parts.push(pick(CONTRACTIONS));
      else if (r < 0.55) parts.push(digits(rand));
      else if (r < 0.63) parts.push(pick(CODE));
      else if (r < 0.75) parts.push(pick(SCRIPTS));
      else if (r < 0.85) parts.push(pick(EMOJI));
      else if (r < 0.95) parts.push(pick(SPACES));
      else if (opts.specials) parts.push(pick(SPECIALS));
      else parts.push(pick(WORDS).toUpperCase());
      parts.push(rand() < 0.8 ? " " : pick(SPACES));
    }
    docs.push(parts.join(""));
  }
  return docs;
}
