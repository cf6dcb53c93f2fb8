"""Byte-level BPE, as GPT-2 does it: trained here, written as a Hugging Face tokenizer.json.

Text is split into pre-tokens by GPT-2's regex, each pre-token's UTF-8 bytes are mapped to printable
characters (GPT-2's bytes_to_unicode), and learned merges join adjacent symbols, most frequent pair first.
Every byte is in the base vocabulary, so any text encodes; special tokens are only inserted by code
(documents' ends, the chat template), never produced from ordinary text by the BPE.

Python's `re` has no \\p{L}/\\p{N} and the `regex` module is not installed here, so the pre-tokenizer
uses `re`'s Unicode classes: letters [^\\W\\d_] (= \\p{L} plus a few combining marks), numbers \\d
(= \\p{Nd}; GPT-2's \\p{N} also has Nl/No such as Roman numerals and superscripts). On ASCII text the
two patterns agree exactly; elsewhere they can only split a word differently, which changes which
merges apply, never whether a text can be encoded: the merges are valid for the exact GPT-2 pattern
that the C# engine runs.
"""
from __future__ import annotations

import heapq
import json
import re
from collections import Counter
from typing import Iterable

ENDOFTEXT, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
SPECIAL_TOKENS = (ENDOFTEXT, IM_START, IM_END)

PRETOKENIZE = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from the 256 byte values to printable characters (space -> 'Ġ', ...)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_ENCODER = bytes_to_unicode()
BYTE_DECODER = {c: b for b, c in BYTE_ENCODER.items()}


def pretokenize(text: str) -> list[str]:
    """Pre-tokens of text, each in the byte-to-unicode alphabet."""
    return ["".join(BYTE_ENCODER[b] for b in piece.encode("utf-8")) for piece in PRETOKENIZE.findall(text)]


class Tokenizer:
    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]]):
        self.vocab = vocab                                   # token string -> id (specials included)
        self.id_to_token = {i: t for t, i in vocab.items()}
        self.merges = merges                                 # in rank order
        self.ranks = {pair: rank for rank, pair in enumerate(merges)}
        self.special_ids = {t: vocab[t] for t in SPECIAL_TOKENS}
        self._special_split = re.compile("(" + "|".join(map(re.escape, SPECIAL_TOKENS)) + ")")
        self._cache: dict[str, list[int]] = {}

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def _bpe(self, word: str) -> list[int]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        symbols = list(word)
        while len(symbols) > 1:
            pairs = [(self.ranks.get(p, 1 << 30), i) for i, p in enumerate(zip(symbols, symbols[1:]))]
            rank, i = min(pairs)
            if rank == 1 << 30:
                break
            a, b = self.merges[rank]
            merged, j = [], 0
            while j < len(symbols):  # merge every occurrence of (a, b), left to right
                if j + 1 < len(symbols) and symbols[j] == a and symbols[j + 1] == b:
                    merged.append(a + b)
                    j += 2
                else:
                    merged.append(symbols[j])
                    j += 1
            symbols = merged
        ids = [self.vocab[s] for s in symbols]
        if len(self._cache) < 1_000_000:
            self._cache[word] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        """Plain text: special-token text is encoded as ordinary characters."""
        return [i for word in pretokenize(text) for i in self._bpe(word)]

    def encode_with_specials(self, text: str) -> list[int]:
        """Rendered chat-template text: special-token strings become their ids, the rest is BPE-encoded
        segment by segment, as the engine does when it applies the template."""
        ids = []
        for segment in self._special_split.split(text):
            if segment in self.special_ids:
                ids.append(self.special_ids[segment])
            elif segment:
                ids.extend(self.encode(segment))
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """Special tokens decode to their text; byte sequences cut mid-character become U+FFFD."""
        text = "".join(self.id_to_token[i] for i in ids)
        return "".join(s if s in self.special_ids else bytearray(BYTE_DECODER[c] for c in s).decode("utf-8", "replace")
                       for s in self._special_split.split(text))

    # ---- Hugging Face tokenizer.json ----

    def to_hf_json(self) -> dict:
        byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [
                {"id": self.vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                 "normalized": False, "special": True}
                for t in SPECIAL_TOKENS
            ],
            "normalizer": None,
            "pre_tokenizer": byte_level,
            "post_processor": {**byte_level, "trim_offsets": False},
            "decoder": byte_level,
            "model": {
                "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                "vocab": self.vocab,
                "merges": [f"{a} {b}" for a, b in self.merges],
            },
        }

    def save(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_hf_json(), f, ensure_ascii=False, indent=1)

    @classmethod
    def load(cls, path: str) -> "Tokenizer":
        with open(path, encoding="utf-8") as f:
            model = json.load(f)["model"]
        return cls(model["vocab"], [tuple(m.split(" ")) for m in model["merges"]])


def train_bpe(word_counts: Counter, vocab_size: int, progress=None) -> Tokenizer:
    """Learn vocab_size - 256 - 3 merges from pre-token counts (pre-token strings -> count).

    Incremental: pair counts and the words holding each pair are kept up to date, so a merge only
    revisits the words that contain its pair; a lazy max-heap picks the most frequent pair
    (stale heap entries are skipped when their count no longer matches). Ties go to the pair whose
    symbols come first by id, so training is deterministic."""
    base = list(BYTE_ENCODER.values())
    symbols_of: list[str] = base[:]                      # id -> symbol string
    symbol_id = {c: i for i, c in enumerate(base)}       # symbol string -> id
    word_list = list(word_counts.items())
    words = [[symbol_id[c] for c in w] for w, _ in word_list]
    counts = [c for _, c in word_list]

    pair_count: Counter = Counter()
    pair_words: dict[tuple[int, int], set[int]] = {}
    for wi, (w, c) in enumerate(zip(words, counts)):
        for p in zip(w, w[1:]):
            pair_count[p] += c
            pair_words.setdefault(p, set()).add(wi)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)

    merges: list[tuple[str, str]] = []
    n_merges = vocab_size - len(base) - len(SPECIAL_TOKENS)
    while len(merges) < n_merges and heap:
        neg, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -neg:
            continue  # stale entry
        if -neg < 2:
            break     # merging a pair seen once does not generalise
        joined = symbols_of[pair[0]] + symbols_of[pair[1]]
        if joined not in symbol_id:  # two merges may spell the same token ("ab c", "a bc"): one id
            symbol_id[joined] = len(symbols_of)
            symbols_of.append(joined)
        new_id = symbol_id[joined]
        merges.append((symbols_of[pair[0]], symbols_of[pair[1]]))
        changed = set()
        for wi in pair_words.pop(pair, ()):
            w, c = words[wi], counts[wi]
            merged, j = [], 0
            while j < len(w):
                if j + 1 < len(w) and w[j] == pair[0] and w[j + 1] == pair[1]:
                    merged.append(new_id)
                    j += 2
                else:
                    merged.append(w[j])
                    j += 1
            if len(merged) == len(w):
                continue
            for p in zip(w, w[1:]):
                pair_count[p] -= c
                changed.add(p)
            for p in zip(merged, merged[1:]):
                pair_count[p] += c
                pair_words.setdefault(p, set()).add(wi)
                changed.add(p)
            words[wi] = merged
        pair_count.pop(pair, None)
        for p in changed:
            if p != pair and pair_count[p] > 0:
                heapq.heappush(heap, (-pair_count[p], p))
        if progress is not None:
            progress.update(1)

    vocab = {s: i for i, s in enumerate(symbols_of)}
    for t in SPECIAL_TOKENS:
        vocab[t] = len(vocab)
    return Tokenizer(vocab, merges)


def count_pretokens(texts: Iterable[str]) -> Counter:
    counts: Counter = Counter()
    for text in texts:
        counts.update(pretokenize(text))
    return counts
