// Prints COUNT random strings with the ids the reference encoder (js-tiktoken r50k_base, GPT-2) gives them,
// one JSON object {"text", "ids"} per line. The strings mix characters from the classes GPT-2's
// pre-tokenizer tells apart (letters and digits in and beyond the BMP, combining marks, ASCII and Unicode
// whitespace, apostrophes and contraction letters, symbols, emoji, control characters, special-token text).
// A seeded generator makes the cases the same on every run. Used by the C# tests:
//   node random-cases.mjs SEED COUNT
// U+0085 and U+FEFF are left out: JavaScript's \s disagrees with Unicode White_Space on them (see generate-expected.mjs).
import { getEncoding } from "js-tiktoken";

const [seed, count] = process.argv.slice(2).map(Number);
const pools = [
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", " ", "  \t\n\r\v\f", "'", "'sStTrReEvVmMlLdD",
  "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~", "éÅßñçøæœ", "日本語中文한국어", "\u0301\u0308\u0303\u20dd", "½²³Ⅻ٣১",
  "\u00a0\u2003\u3000\u2028\u200b\u200d", "😀🎉👍🏽👨‍👩‍👧", "𝐀𝐁𝟘𝟙𠀀𠀁", "<|endoftext|>", "Привет", "\u0000\u0001\u001f\u007f",
];

// mulberry32: a small seeded PRNG, so the cases do not depend on Math.random.
let state = seed >>> 0;
function random() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (n) => Math.floor(random() * n);

const enc = getEncoding("r50k_base");
const lines = [];
for (let i = 0; i < count; i++) {
  const length = 1 + pick(40);
  let text = "";
  while ([...text].length < length) {
    const pool = pools[pick(pools.length)];
    const chars = [...pool];
    text += pick(4) === 0 ? pool : chars[pick(chars.length)];
  }
  lines.push(JSON.stringify({ text, ids: enc.encode(text, [], []) }));
}
process.stdout.write(lines.join("\n") + "\n");
