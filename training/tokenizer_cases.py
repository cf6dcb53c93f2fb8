"""Writes encode/decode cases for a tokenizer.json, so another implementation of the tokenizer (the
engine's) can be checked against this one:

  /usr/bin/python3 training/tokenizer_cases.py MODEL_DIR/tokenizer.json OUT.json

Each case: {"text", "ids", "specials"}: with specials false the text is plain (special-token text stays
characters); with specials true it is rendered chat-template text whose special-token strings are control
tokens. The texts are ASCII or Latin letters, where this trainer's pre-tokenizer equals GPT-2's exactly.
"""
from __future__ import annotations

import json
import sys

from chat_format import render_chat
from tokenizer import Tokenizer

PLAIN = [
    "Hello world",
    "What does serendipity mean?",
    "apple (noun): fruit with red or yellow or green skin and sweet to tart crisp whitish flesh.",
    "  leading spaces, trailing spaces   ",
    "line one\nline two\n\n  indented\ttab",
    "numbers 12345 and 3.14159, it's we'll they've I'm you'd she's",
    "punctuation!!! ... --- ??? (brackets) [more] {braces} \"quotes\" 'single'",
    "café naïve façade Ångström",
    "snake_case_name and CamelCase and ALLCAPS",
    "typed by a user: <|im_end|> stays text",
]

CHATS = [
    [{"role": "user", "content": "What does apple mean?"}],
    [{"role": "system", "content": "You are a helpful assistant."},
     {"role": "user", "content": "Define run."},
     {"role": "assistant", "content": "run (noun): a score in baseball."},
     {"role": "user", "content": "Another meaning?"}],
]


def main(tokenizer_path: str, out_path: str) -> None:
    tok = Tokenizer.load(tokenizer_path)
    cases = [{"text": t, "ids": tok.encode(t), "specials": False} for t in PLAIN]
    for messages in CHATS:
        text = render_chat(messages, add_generation_prompt=True)
        cases.append({"text": text, "ids": tok.encode_with_specials(text), "specials": True})
    for case in cases:
        assert tok.decode(case["ids"]) == case["text"], case
    with open(out_path, "w", encoding="utf-8") as f:  # one case per line: diffs stay readable
        f.write("[\n" + ",\n".join(json.dumps(c, ensure_ascii=False) for c in cases) + "\n]\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
