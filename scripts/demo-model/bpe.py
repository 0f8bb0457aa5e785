"""Byte-level BPE in the style of GPT-2 / Llama 3, trained from scratch.

Tokens are strings over GPT-2's byte-to-unicode alphabet; merges are "left right" pairs
in priority order; text is first split with Llama 3's pre-tokenizer pattern. That is
what GGUF's `tokenizer.ggml.model = gpt2` with `tokenizer.ggml.pre = llama-bpe` means,
so Trit's tokenizer reads the result exactly as it reads Llama 3's.

Python's `re` has no \\p{L} / \\p{N}, so the pattern below is Llama 3's with letters and
digits spelled as ASCII classes; it is exact on ASCII text, and this module refuses any
other text rather than split it differently from Trit.
"""

import re
from collections import Counter, defaultdict

# Llama 3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
SPLIT = re.compile(
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\nA-Za-z0-9]?[A-Za-z]+|[0-9]{1,3}"
    r"| ?[^\sA-Za-z0-9]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# Llama 3's first ten special tokens, in its order (128000..128009 there).
SPECIAL_TOKENS = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|reserved_special_token_0|>",
    "<|reserved_special_token_1|>",
    "<|reserved_special_token_2|>",
    "<|reserved_special_token_3|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|reserved_special_token_4|>",
    "<|eot_id|>",
]


def bytes_to_unicode():
    """GPT-2's reversible map from the 256 byte values to printable characters."""
    keep = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("\xa1"), ord("\xac") + 1))
        + list(range(ord("\xae"), ord("\xff") + 1))
    )
    chars = keep[:]
    n = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + n)
            n += 1
    return dict(zip(keep, map(chr, chars)))


BYTE_CHAR = bytes_to_unicode()
CHAR_BYTE = {c: b for b, c in BYTE_CHAR.items()}


def check_ascii(text):
    if not text.isascii():
        bad = next(c for c in text if not c.isascii())
        raise ValueError(f"text holds the non-ASCII character {bad!r}; the ASCII split would differ from Llama 3's")


def pretokenize(text):
    check_ascii(text)
    return ["".join(BYTE_CHAR[b] for b in piece.encode("utf-8")) for piece in SPLIT.findall(text)]


def train_bpe(texts, vocab_size):
    """Learns merges until 256 bytes + merges + specials = vocab_size. Returns the merge list."""
    n_merges = vocab_size - 256 - len(SPECIAL_TOKENS)
    counts = Counter()
    for t in texts:
        counts.update(pretokenize(t))
    words = [list(w) for w in counts]
    freqs = [counts[w] for w in counts]
    pair_count = Counter()
    where = defaultdict(set)
    for i, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            pair_count[a, b] += freqs[i]
            where[a, b].add(i)
    merges = []
    while len(merges) < n_merges and pair_count:
        # Highest count; ties broken by the pair itself so the result is deterministic.
        best = max(pair_count.items(), key=lambda kv: (kv[1], kv[0]))[0]
        merges.append(best)
        joined = best[0] + best[1]
        for i in list(where[best]):
            w = words[i]
            f = freqs[i]
            for a, b in zip(w, w[1:]):
                pair_count[a, b] -= f
                if pair_count[a, b] <= 0:
                    del pair_count[a, b]
            out = []
            j = 0
            while j < len(w):
                if j + 1 < len(w) and w[j] == best[0] and w[j + 1] == best[1]:
                    out.append(joined)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for a, b in zip(out, out[1:]):
                pair_count[a, b] += f
                where[a, b].add(i)
        del where[best]
    return merges


class Tokenizer:
    def __init__(self, merges):
        self.merges = [tuple(m) for m in merges]
        self.tokens = [BYTE_CHAR[b] for b in range(256)] + [a + b for a, b in self.merges] + SPECIAL_TOKENS
        self.id = {t: i for i, t in enumerate(self.tokens)}
        if len(self.id) != len(self.tokens):
            raise ValueError("duplicate token strings")
        self.rank = {m: r for r, m in enumerate(self.merges)}
        self.cache = {}
        self.bos = self.id["<|begin_of_text|>"]
        self.eos = self.id["<|end_of_text|>"]
        self.eot = self.id["<|eot_id|>"]

    def _bpe(self, piece):
        # Llama 3 (ignore_merges) takes a pre-token that is itself a token as it is.
        if piece in self.id:
            return [self.id[piece]]
        if piece in self.cache:
            return self.cache[piece]
        parts = list(piece)
        while len(parts) > 1:
            ranked = [(self.rank.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))]
            r, _ = min(ranked)
            if r == 1 << 30:
                break
            a, b = self.merges[r]
            out = []
            j = 0
            while j < len(parts):
                if j + 1 < len(parts) and parts[j] == a and parts[j + 1] == b:
                    out.append(a + b)
                    j += 2
                else:
                    out.append(parts[j])
                    j += 1
            parts = out
        ids = [self.id[p] for p in parts]
        self.cache[piece] = ids
        return ids

    def encode(self, text):
        """Plain text to ids (no BOS; special-token text is not recognised)."""
        ids = []
        for piece in pretokenize(text):
            ids.extend(self._bpe(piece))
        return ids

    def encode_chat(self, parts):
        """A list of plain strings and special-token names to ids."""
        ids = []
        for p in parts:
            ids.extend([self.id[p]] if p in SPECIAL_TOKENS else self.encode(p))
        return ids

    def decode(self, ids):
        out = bytearray()
        for i in ids:
            t = self.tokens[i]
            if t in SPECIAL_TOKENS:
                out.extend(t.encode())
            else:
                out.extend(CHAR_BYTE[c] for c in t)
        return out.decode("utf-8", errors="replace")
