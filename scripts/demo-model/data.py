"""Training and evaluation token streams from the Brown corpus, cached in the output folder."""

import json
import os
import random
import re

import torch

import bpe
import brown

SYSTEM_PROMPT = "You are a helpful assistant."

# What a user might ask for a passage of each Brown genre (cats.txt names).
GENRE_REQUESTS = {
    "news": ["Write a news report.", "What is in the news?"],
    "editorial": ["Write an editorial.", "What do you think?"],
    "reviews": ["Write a review.", "What did you think of it?"],
    "religion": ["Tell me about religion.", "What does faith mean?"],
    "hobbies": ["Tell me about a hobby.", "How do I do it?"],
    "lore": ["Tell me something interesting.", "Tell me about history."],
    "belles_lettres": ["Write an essay.", "Tell me about a writer."],
    "government": ["Write a government report.", "What does the report say?"],
    "learned": ["Explain something scientific.", "Tell me about science."],
    "fiction": ["Tell me a story.", "Write a story."],
    "mystery": ["Tell me a mystery story.", "Tell me a story."],
    "science_fiction": ["Tell me a science fiction story.", "Tell me a story."],
    "adventure": ["Tell me an adventure story.", "Tell me a story."],
    "romance": ["Tell me a love story.", "Tell me a story."],
    "humor": ["Tell me something funny.", "Tell me a joke."],
}

SENTENCE_END = re.compile(r'(?<=[.!?]) (?=["A-Z])')


def genres(corpus_dir):
    out = {}
    with open(os.path.join(corpus_dir, "cats.txt"), encoding="ascii") as f:
        for line in f:
            name, genre = line.split()
            out[name] = genre
    return out


def chat_samples(tok, docs, genre_of, rng):
    """Chat-formatted training samples in the 2B4T template, as token lists.

    The prompt part is encoded on its own, ending in "Assistant: ", exactly as Trit encodes
    a rendered prompt; the reply is encoded separately and ends with <|eot_id|>.
    """
    out = []
    for name, paragraphs in docs:
        for p in paragraphs:
            sentences = SENTENCE_END.split(p)
            if rng.random() < 0.5 and len(sentences) >= 2:
                user, reply = sentences[0], " ".join(sentences[1:])
            else:
                user, reply = rng.choice(GENRE_REQUESTS[genre_of[name]]), p
            parts = ["<|begin_of_text|>"]
            if rng.random() < 0.8:
                parts += [f"System: {SYSTEM_PROMPT}", "<|eot_id|>"]
            parts += [f"User: {user.strip()}", "<|eot_id|>", "Assistant: "]
            out.append(tok.encode_chat(parts) + tok.encode(reply.strip()) + [tok.eot])
    return out


def prepare(corpus_dir, out_dir, vocab_size):
    """Trains (or loads) the tokenizer and encodes the corpus; returns a dict of tensors and lists."""
    os.makedirs(out_dir, exist_ok=True)
    train_docs, held_docs = brown.load_brown(corpus_dir)
    tok_path = os.path.join(out_dir, "tokenizer.json")
    if os.path.exists(tok_path):
        with open(tok_path) as f:
            merges = json.load(f)["merges"]
    else:
        merges = bpe.train_bpe([p for _, d in train_docs for p in d], vocab_size)
        with open(tok_path, "w") as f:
            json.dump({"merges": merges}, f)
    tok = bpe.Tokenizer(merges)

    def stream(docs):
        ids = []
        for _, paragraphs in docs:
            ids.append(tok.bos)
            ids.extend(tok.encode("\n\n".join(paragraphs)))
            ids.append(tok.eos)
        return torch.tensor(ids, dtype=torch.long)

    rng = random.Random(1)
    return {
        "tokenizer": tok,
        "train_docs": train_docs,
        "held_docs": held_docs,
        "train": stream(train_docs),
        "held": stream(held_docs),
        "chat": chat_samples(tok, train_docs, genres(corpus_dir), rng),
    }
