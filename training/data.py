"""Corpus preparation from dictionaries Debian installs, reproducibly (fixed seed, sorted inputs).

Sources (Debian packages): dict-gcide (Webster 1913 + WordNet, /usr/share/dictd/gcide.*),
dict-foldoc (computing, /usr/share/dictd/foldoc.*), jargon-text (the Jargon File), wordnet-base
(/usr/share/wordnet). Pretraining reads every entry as a document. Fine-tuning dialogues are made
from WordNet senses: "What does X mean?", "Define X", "Use X in a sentence", "Any synonyms?",
follow-ups "And Y?" and "Another meaning?".

Held out: a seeded sample of WordNet words. Every entry whose headword is held out, in any source,
is kept out of pretraining and fine-tuning and used only to evaluate. (A held-out word can still
occur inside other entries' text; what the model never saw is its own definition.)

Common words: the WordNet words that occur most often across all four corpora (stop words excluded; see
common_words). Their definitions are what a user asks about first, so pretraining repeats their leading
WordNet senses (the "focus" documents) and fine-tuning asks about most of them; a seeded share is never
asked in fine-tuning, to measure whether answers come from what pretraining taught rather than from the
fine-tuning answers themselves.
"""
from __future__ import annotations

import gzip
import json
import math
import os
import random
import re
from collections import Counter
from dataclasses import dataclass

DICTD = "/usr/share/dictd"
WORDNET = "/usr/share/wordnet"
JARGON = "/usr/share/doc/jargon-text/jargon.txt.gz"
POS_NAMES = {"noun": "noun", "verb": "verb", "adj": "adjective", "adv": "adverb"}

B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


@dataclass
class Sense:
    word: str            # as WordNet spells it, underscores turned to spaces
    pos: str             # noun, verb, adjective, adverb
    definition: str
    examples: list[str]  # WordNet's quoted usage examples that contain the word
    synonyms: list[str]  # the other words of the synset


# ---- reading the sources ----

def _b64(s: str) -> int:
    n = 0
    for c in s:
        n = n * 64 + B64[c]
    return n


def read_dictd(name: str, encoding: str) -> list[tuple[str, str]]:
    """(headword, entry text) from a dictd database, via its index (base64 offset and length)."""
    with gzip.open(os.path.join(DICTD, f"{name}.dict.dz")) as f:
        data = f.read()
    entries = []
    with open(os.path.join(DICTD, f"{name}.index"), encoding="utf-8", errors="replace") as f:
        for line in f:
            word, offset, length = line.rstrip("\n").split("\t")[:3]
            if word.startswith("00-"):
                continue  # the database's own description
            entries.append((word, data[_b64(offset):_b64(offset) + _b64(length)].decode(encoding, "replace")))
    return entries


_SOURCE_TAG = re.compile(r"\[(?:[^\]\n]*(?:Webster|WordNet|PJC|Century|Chambers|RN|F\.O\.D\.O\.C\.)[^\]\n]*)\]")
_PRONUNCIATION = re.compile(r"\\[^\\\n]*\\(?:\s*\([^)\n]*\))?")  # \Ap"ple\ ([a^]p"p'l)


def clean_entry(text: str) -> str:
    """Drops dictd markup: source tags, pronunciations, {cross-reference} braces; joins wrapped lines."""
    text = _SOURCE_TAG.sub("", text)
    text = _PRONUNCIATION.sub("", text)
    text = text.replace("{", "").replace("}", "")
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
    return "\n".join(p for p in paragraphs if p)


def read_jargon() -> list[tuple[str, str]]:
    with gzip.open(JARGON) as f:
        text = f.read().decode("utf-8", "replace")
    parts = re.split(r"^\s*:([^:\n]+):", text, flags=re.M)
    return [(parts[i].strip(), clean_entry(parts[i] + ": " + parts[i + 1])) for i in range(1, len(parts) - 1, 2)]


def read_wordnet() -> dict[str, list[Sense]]:
    """word -> its senses, most frequent first (the order of WordNet's index files)."""
    synsets = {}  # (pos, offset) -> (words, gloss)
    for pos in POS_NAMES:
        with open(os.path.join(WORDNET, f"data.{pos}"), encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  "):
                    continue  # licence header
                head, _, gloss = line.partition(" | ")
                fields = head.split()
                n = int(fields[3], 16)
                words = [re.sub(r"\(.*\)$", "", fields[4 + 2 * i]).replace("_", " ") for i in range(n)]
                synsets[(pos, fields[0])] = (words, gloss.strip())
    tagged = _sense_counts()
    senses: dict[str, list[Sense]] = {}
    counts: dict[str, list[int]] = {}
    for pos in POS_NAMES:
        with open(os.path.join(WORDNET, f"index.{pos}"), encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  "):
                    continue
                fields = line.split()
                lemma, n_synsets = fields[0].replace("_", " "), int(fields[2])
                for number, offset in enumerate(fields[-n_synsets:], start=1):
                    words, gloss = synsets[(pos, offset)]
                    word = next((w for w in words if w.lower() == lemma), lemma)
                    senses.setdefault(lemma, []).append(_sense(word, POS_NAMES[pos], gloss, words))
                    counts.setdefault(lemma, []).append(tagged.get((fields[0], pos, number), 0))
    # Most used sense first across parts of speech ("see" is first a verb, not the noun "bishop's seat").
    for lemma, ss in senses.items():
        order = sorted(range(len(ss)), key=lambda i: -counts[lemma][i])  # stable: WordNet's order among equals
        senses[lemma] = [ss[i] for i in order]
    return senses


def _sense_counts() -> dict[tuple[str, str, int], int]:
    """(lemma, pos, sense number) -> how often the sense was tagged in WordNet's semantic concordance
    (cntlist.rev: 'lemma%ss_type:... sense_number tag_count'; ss_type 1 noun, 2 verb, 3/5 adjective, 4 adverb)."""
    pos_of = {"1": "noun", "2": "verb", "3": "adj", "4": "adv", "5": "adj"}
    counts = {}
    path = os.path.join(WORDNET, "cntlist.rev")
    if not os.path.exists(path):
        return counts
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            key, number, count = line.split()
            lemma, _, rest = key.partition("%")
            counts[(lemma, pos_of[rest[0]], int(number))] = int(count)
    return counts


def _sense(word: str, pos: str, gloss: str, words: list[str]) -> Sense:
    parts = [p.strip() for p in gloss.split(";")]
    definition = "; ".join(p for p in parts if not p.startswith('"')).strip().rstrip(".")
    examples = [p.strip('"').strip() for p in parts if p.startswith('"')]
    examples = [e for e in examples if re.search(r"\b" + re.escape(word.lower()), e.lower())]
    return Sense(word, pos, definition, examples, [w for w in words if w.lower() != word.lower()])


# ---- dialogues ----

SYSTEM_PROMPTS = ["You are a helpful assistant.", "You are a concise dictionary assistant.",
                  "Answer questions about the meaning of words."]


def answer_definition(s: Sense) -> str:
    """The in-format answer evaluate.py checks for: 'word (part of speech): definition.'"""
    return f"{s.word} ({s.pos}): {s.definition}."


def _ask_meaning(rng: random.Random, word: str) -> str:
    return rng.choice([f"What does {word} mean?", f"Define {word}.", f"Define {word}",
                       f"What is the meaning of {word}?", f"what does {word} mean", f"Meaning of {word}?"])


def make_dialogue(rng: random.Random, word: str, senses: list[Sense], others: list[str],
                  wordnet: dict[str, list[Sense]]) -> list[dict]:
    messages = []
    if rng.random() < 0.3:
        messages.append({"role": "system", "content": rng.choice(SYSTEM_PROMPTS)})
    first = senses[0]
    messages += [{"role": "user", "content": _ask_meaning(rng, word)},
                 {"role": "assistant", "content": answer_definition(first)}]
    for _ in range(rng.choice([0, 0, 1, 1, 2])):
        follow = rng.random()
        if follow < 0.3 and len(senses) > 1:
            s = rng.choice(senses[1:])
            messages += [{"role": "user", "content": rng.choice(["Another meaning?", "Does it have another meaning?"])},
                         {"role": "assistant", "content": answer_definition(s)}]
        elif follow < 0.5 and first.examples:
            messages += [{"role": "user", "content": rng.choice([f"Use {word} in a sentence.", "Give me an example."])},
                         {"role": "assistant", "content": first.examples[0][0].upper() + first.examples[0][1:] + "."}]
        elif follow < 0.65 and first.synonyms:
            messages += [{"role": "user", "content": rng.choice(["Any synonyms?", f"What is another word for {word}?"])},
                         {"role": "assistant", "content": f"Synonyms of {word}: " + ", ".join(first.synonyms[:5]) + "."}]
        else:
            other = rng.choice(others)
            messages += [{"role": "user", "content": rng.choice([f"And {other}?", f"What about {other}?"])},
                         {"role": "assistant", "content": answer_definition(wordnet[other][0])}]
    return messages


def dialogue_word(dialogue: list[dict]) -> str:
    """The word a dialogue from make_dialogue is about: the one its first answer defines."""
    first_answer = next(m["content"] for m in dialogue if m["role"] == "assistant")
    return first_answer.split(" (", 1)[0].lower()


# ---- the whole preparation ----

def _usable_word(w: str) -> bool:
    return w.isalpha() and w.islower() and 3 <= len(w) <= 14


# Function words: WordNet lists some of them (e.g. "have", "will", "can" as nouns), but their meaning is not what
# "common words" means for a dictionary assistant.
STOP_WORDS = frozenset("""
the and for with that this from which are was were been being has have had not but any all its into one two
also used such may can its his her him she they them their there these those then than when where who whom
whose what why how each other some more most many much very only own same both few out over under again
further once here just now off upon shall should would could will might must does did doing done about above
after before below between during through until while within without against among because since per via
our ours your yours you who's let get got make made like well even still yet either neither nor
""".split())

_WORD = re.compile(r"[a-z]+")


def word_frequencies(texts) -> Counter:
    """How often each lower-case word occurs across the texts."""
    counts: Counter = Counter()
    for t in texts:
        counts.update(_WORD.findall(t.lower()))
    return counts


def common_words(per_corpus: list[Counter], wordnet: dict[str, list[Sense]], n: int) -> list[str]:
    """The n words with the highest geometric mean of their relative frequency in each corpus, among the words
    WordNet defines with a lower-case sense: common in every corpus, so not one dictionary's markup ("Bot.",
    "imp.", quoted authors), stop words and words under three letters excluded."""
    totals = [sum(c.values()) for c in per_corpus]
    candidates = {w for c in per_corpus for w in c if w in wordnet and _usable_word(w) and w not in STOP_WORDS
                  and any(s.word.islower() for s in wordnet[w])}
    score = {w: sum(math.log((c[w] + 1) / t) for c, t in zip(per_corpus, totals)) for w in candidates}
    return sorted(candidates, key=lambda w: (-score[w], w))[:n]


def focus_document(senses: list[Sense], per_word: int) -> str:
    """A common word's leading senses as pretraining text, in the answer format."""
    return "\n".join(answer_definition(s) for s in senses[:per_word])


def prepare(out_dir: str, seed: int, heldout_words: int, max_entries: int | None, dialogues_per_word: int,
            common: int, common_heldout: int, common_dialogues_per_word: int, focus_senses: int,
            progress=None) -> dict:
    """Writes pretrain_train.txt / pretrain_heldout.txt / pretrain_focus.txt (documents separated by a form
    feed), sft_train.jsonl / sft_heldout.jsonl, heldout_words.txt, common_asked.txt / common_heldout.txt.
    Returns counts for the metrics."""
    rng = random.Random(seed)
    os.makedirs(out_dir, exist_ok=True)
    wordnet = read_wordnet()
    sources = [("gcide", read_dictd("gcide", "utf-8")), ("foldoc", read_dictd("foldoc", "latin-1")),
               ("jargon", read_jargon())]
    sources.append(("wordnet", [(w, "\n".join(answer_definition(s) for s in ss)) for w, ss in sorted(wordnet.items())]))
    if max_entries is not None:  # smoke mode: a small, still seeded, slice of everything
        sampled = {name: rng.sample(entries, min(len(entries), max_entries)) for name, entries in sources}
    counted = sampled.values() if max_entries is not None else [entries for _, entries in sources]
    frequent = common_words([word_frequencies(text for _, text in entries) for entries in counted], wordnet, common)
    never_asked = set(rng.sample(frequent, min(common_heldout, len(frequent))))
    asked = [w for w in frequent if w not in never_asked]

    words = sorted(w for w in wordnet if _usable_word(w) and w not in set(frequent))
    heldout = set(rng.sample(words, heldout_words))
    train_words = [w for w in words if w not in heldout]
    if max_entries is not None:
        train_words = rng.sample(train_words, min(len(train_words), max_entries))
    train_docs, heldout_docs = [], []
    for name, entries in sources:
        if max_entries is not None:
            entries = sampled[name] + [e for e in entries if e[0].lower() in heldout][:max_entries // 10]
        for headword, text in entries:
            doc = text if name == "wordnet" else clean_entry(text)
            (heldout_docs if headword.lower() in heldout else train_docs).append(doc)
            if progress is not None:
                progress.update(1)
    rng.shuffle(train_docs)
    rng.shuffle(heldout_docs)

    def dialogues(ws, others):
        return [make_dialogue(rng, w, wordnet[w], others, wordnet) for w in ws for _ in range(dialogues_per_word)]

    # "And Y?" follow-ups name only words fine-tuning may ask about: never a never-asked common word.
    askable = train_words + asked
    sft_train = dialogues(train_words, askable) + \
        [make_dialogue(rng, w, wordnet[w], askable, wordnet) for w in asked for _ in range(common_dialogues_per_word)]
    rng.shuffle(sft_train)
    heldout_sorted = sorted(heldout)
    sft_heldout = dialogues(heldout_sorted, heldout_sorted)
    _write_docs(os.path.join(out_dir, "pretrain_train.txt"), train_docs)
    _write_docs(os.path.join(out_dir, "pretrain_heldout.txt"), heldout_docs)
    _write_docs(os.path.join(out_dir, "pretrain_focus.txt"), [focus_document(wordnet[w], focus_senses) for w in frequent])
    for name, ws in (("common_asked.txt", asked), ("common_heldout.txt", sorted(never_asked))):
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
            f.write("\n".join(ws) + "\n")
    # Every WordNet definition of each evaluated word: an answer is scored against the closest one.
    with open(os.path.join(out_dir, "glosses.json"), "w", encoding="utf-8") as f:
        json.dump({w: [s.definition for s in wordnet[w]] for w in sorted(set(frequent) | heldout)}, f, ensure_ascii=False)
    _write_jsonl(os.path.join(out_dir, "sft_train.jsonl"), sft_train)
    _write_jsonl(os.path.join(out_dir, "sft_heldout.jsonl"), sft_heldout)
    with open(os.path.join(out_dir, "heldout_words.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(heldout_sorted) + "\n")
    return {"pretrain_train_docs": len(train_docs), "pretrain_heldout_docs": len(heldout_docs),
            "pretrain_train_chars": sum(map(len, train_docs)), "sft_train_dialogues": len(sft_train),
            "sft_heldout_dialogues": len(sft_heldout), "heldout_words": len(heldout),
            "common_words": len(frequent), "common_asked": len(asked), "common_never_asked": len(never_asked),
            "common_examples": frequent[:30]}


DOC_SEPARATOR = "\f"


def _write_docs(path: str, docs: list[str]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(DOC_SEPARATOR.join(d.replace(DOC_SEPARATOR, " ") for d in docs))


def read_docs(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [d for d in f.read().split(DOC_SEPARATOR) if d]


def _write_jsonl(path: str, rows: list) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def read_jsonl(path: str) -> list:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]
