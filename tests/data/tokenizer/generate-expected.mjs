// Writes gpt2-expected.json: for each test string, the token ids that the reference encoder (js-tiktoken's
// r50k_base, which is GPT-2's vocabulary, merges and pre-tokenization pattern) gives it. Run it once after
// `npm ci` in this folder and commit the output; the C# tests compare BpeTokenizer against it.
//   node generate-expected.mjs
// Special-token text is encoded as ordinary text (allowedSpecial and disallowedSpecial both empty), which is
// what our tokenizer must do with text a user typed.
// Characters whose whitespace class differs between JavaScript's \s and Unicode White_Space (U+0085, U+FEFF)
// are left out on purpose: the Python and Rust references use White_Space, as BpeTokenizer does.
import { writeFileSync } from "node:fs";
import { getEncoding } from "js-tiktoken";

const strings = [
  "Hello, world!",
  "hello world",
  " leading space",
  "trailing space ",
  "  two leading spaces",
  "a  b   c    d",
  "tabs\tand\t\ttabs",
  "line one\nline two\n",
  "trailing newlines\n\n\n",
  "\n\nleading newlines",
  "mixed \t \n whitespace \r\n run",
  "   ",
  "\t",
  "",
  "I'm sure you'll see they've done it; it's what we'd do, isn't it?",
  "SHOUTING: IT'S, YOU'LL, THEY'RE, WE'VE, I'M, HE'D",
  "mixed case: It'S and it's and it 's",
  "quotes 'single' and \"double\" and ''doubled''",
  "Numbers: 1234567890 3.14159 -42 1e10 1,000,000",
  "½ ¾ ² ³ Ⅻ ٣٤٥ ১২৩",
  "def add(a, b):\n    return a + b\n",
  "for (int i = 0; i < n; ++i) { sum += x[i]; }\n",
  "<html><body class=\"main\">&nbsp;</body></html>",
  "https://example.com/path?q=tokens&lang=en#frag",
  "user@example.org, +1 (555) 010-9999",
  "日本語のテキストです。東京は晴れ。",
  "中文测试：你好，世界！",
  "한국어 문장입니다.",
  "Привет, мир! Как дела?",
  "Ελληνικά γράμματα",
  "مرحبا بالعالم",
  "שלום עולם",
  "हिन्दी में लिखा",
  "ภาษาไทย",
  "emoji 😀 and 🎉🎉 party",
  "family 👨‍👩‍👧‍👦 and flags 🇺🇸🇯🇵 and 👍🏽",
  "🧑‍💻 writes code",
  "e\u0301 combining acute, a\u0308, n\u0303, Z\u0351\u0368\u0346\u0352\u035a",
  "café naïve résumé Ångström",
  "supplementary letters 𠀀𠀁 𝐀𝐁𝐂 and digits 𝟘𝟙𝟚",
  "inside words: abc𝐀𝐁def, 12𝟙𝟚34, 字𠀀字, !𝐀!",
  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
  "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
  "============================================",
  "<|endoftext|>",
  "before <|endoftext|> after",
  "<|im_start|>user\nhi<|im_end|>",
  "MixedCASEWordsAndCamelCaseIdentifiersLikeHttpServerFactory",
  "snake_case_identifier and kebab-case-word",
  "Unicode spaces:\u00a0nbsp,\u2003em,\u3000ideographic",
  "math: ∀x ∈ ℝ, x² ≥ 0 → √x ∈ ℝ⁺",
  "Mixed日本語and English123と数字",
  "tokens     with     many     spaces     ",
  "end with punctuation...",
  "Zero\u200bwidth\u200cjoiners\u200d",
];

const enc = getEncoding("r50k_base");
const cases = strings.map((text) => ({ text, ids: enc.encode(text, [], []) }));
// One case per line keeps the file reviewable and its diffs readable.
const lines = cases.map((c) => "  " + JSON.stringify(c)).join(",\n");
const json = `{\n "encoder": "js-tiktoken 1.0.21 r50k_base",\n "cases": [\n${lines}\n ]\n}\n`;
writeFileSync(new URL("./gpt2-expected.json", import.meta.url), json);
console.log(`wrote ${cases.length} cases`);
