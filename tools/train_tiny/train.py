"""Train the tiny DeepSeek-V2-Lite-architecture model on the generated tasks of `data.py`.

    python train.py --out OUT_DIR [--steps 3600] [--seed 0]

Writes a Hugging Face checkpoint (config.json, model.safetensors in f32, tokenizer.json,
tokenizer_config.json) that `wgpu-ds convert` reads, `report.json` (settings, versions, loss curve,
training and held-out accuracy per task) and `reference/` (the model's own f32 logits for a few
prompts: the third oracle). Seeded: the same versions on the same kind of machine give the same
weights; CPU runs take ~1 s a step on 2 cores.
"""

import argparse
import itertools
import json
import math
import os
import random
import time

import numpy as np
import torch
import transformers
from tokenizers import Tokenizer
from transformers import DeepseekV2ForCausalLM

import data
import model_config
import tokenizer as tk

SEQ_LEN = 48
# Additions with a carry through a 9-column (`add9`) and maxima of equal-length operands sharing a
# prefix (`maxeq`) are the hard cases of `add` and `max`: weighted in so that they are learned.
TASK_WEIGHTS = {"add": 4, "add9": 3, "max": 1, "maxeq": 1, "rev": 1, "sort": 1}
# Evaluated separately: every task, and the carry-through-9 subset of addition on its own.
EVAL_TASKS = ("add", "add9", "max", "rev", "sort")


class Encoder:
    """Token ids of prompts and answers; digits and the task words are fixed tokens."""

    def __init__(self, tok):
        self.tok = tok
        self.bos = tok.token_to_id(tk.BOS)
        self.eos = tok.token_to_id(tk.EOS)

    def ids(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False).ids


class Packer:
    """Packs the training stream into rows of SEQ_LEN tokens: <bos> then whole examples until the
    next does not fit (it starts the next row), then <eos> padding. Labels are the answer tokens
    and each example's <eos>; -100 elsewhere."""

    def __init__(self, enc: Encoder, it):
        self.enc, self.it, self.pending = enc, it, None

    def _next(self):
        if self.pending is None:
            _, p, a = next(self.it)
            self.pending = (self.enc.ids(p), self.enc.ids(a) + [self.enc.eos])
        return self.pending

    def batch(self, rows: int):
        enc = self.enc
        x = torch.full((rows, SEQ_LEN), enc.eos, dtype=torch.long)
        y = torch.full((rows, SEQ_LEN), -100, dtype=torch.long)
        for r in range(rows):
            row, lab = [enc.bos], [-100]
            while True:
                p_ids, a_ids = self._next()
                if len(row) + len(p_ids) + len(a_ids) > SEQ_LEN:
                    break
                row += p_ids + a_ids
                lab += [-100] * len(p_ids) + a_ids
                self.pending = None
            x[r, : len(row)] = torch.tensor(row)
            y[r, : len(lab)] = torch.tensor(lab)
        return x, y


@torch.no_grad()
def greedy_answers(model, enc: Encoder, prompts: list[str], max_new: int = 10) -> list[str]:
    """Greedy continuation of `<bos>prompt` up to <eos>, batched over prompts of equal length."""
    model.eval()
    out = {}
    by_len = {}
    for p in prompts:
        by_len.setdefault(len(enc.ids(p)), []).append(p)
    for _, group in by_len.items():
        for i in range(0, len(group), 256):
            chunk = group[i : i + 256]
            x = torch.tensor([[enc.bos] + enc.ids(p) for p in chunk])
            done = torch.zeros(len(chunk), dtype=torch.bool)
            gen = [[] for _ in chunk]
            for _ in range(max_new):
                nxt = model(input_ids=x).logits[:, -1].argmax(-1)
                for j, t in enumerate(nxt.tolist()):
                    if not done[j]:
                        if t == enc.eos:
                            done[j] = True
                        else:
                            gen[j].append(t)
                if done.all():
                    break
                x = torch.cat([x, nxt[:, None]], 1)
            for p, g in zip(chunk, gen):
                out[p] = enc.tok.decode(g)
    model.train()
    return [out[p] for p in prompts]


def accuracy(model, enc, triples) -> dict:
    got = greedy_answers(model, enc, [p for _, p, _ in triples])
    per = {}
    for (t, _, a), g in zip(triples, got):
        c, n = per.get(t, (0, 0))
        per[t] = (c + (g == a), n + 1)
    return {t: round(c / n, 4) for t, (c, n) in per.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=3600)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--weights",
        help="task weights instead of TASK_WEIGHTS, e.g. add=4,add9=6 (others keep theirs)",
    )
    ap.add_argument(
        "--init",
        help="start from this run's weights (a further stage; its tokenizer is kept)",
    )
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--eval-n", type=int, default=100)
    ap.add_argument("--final-n", type=int, default=1000)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    device = "cuda" if torch.cuda.is_available() else "cpu"

    if args.init:
        tok = Tokenizer.from_file(os.path.join(args.init, "tokenizer.json"))
    else:
        corpus = [p + a for _, p, a in itertools.islice(data.stream(args.seed + 99), 20000)]
        tok = tk.build(corpus, vocab_size=512)
    tk.save(tok, args.out, model_max_length=4096)
    enc = Encoder(tok)

    cfg = model_config.config(tok.get_vocab_size())
    if args.init:
        model = DeepseekV2ForCausalLM.from_pretrained(args.init, dtype=torch.float32).to(device)
    else:
        model = DeepseekV2ForCausalLM(cfg).float().to(device)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{n_params} parameters, vocab {cfg.vocab_size}, device {device}", flush=True)

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr,
        betas=(0.9, 0.98),
    )
    warmup = max(1, args.steps // 20)

    def lr_at(step):
        if step < warmup:
            return args.lr * (step + 1) / warmup
        t = (step - warmup) / max(1, args.steps - warmup)
        return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))

    weights = dict(TASK_WEIGHTS)
    for kv in filter(None, (args.weights or "").split(",")):
        k, v = kv.split("=")
        assert k in weights, f"unknown task {k}"
        weights[k] = float(v)
    tasks = tuple(weights)
    packer = Packer(
        enc, data.stream(args.seed, tasks=tasks, weights=[weights[t] for t in tasks])
    )
    eval_small = data.eval_set(args.eval_n, tasks=EVAL_TASKS)
    curve = []
    t0 = time.time()
    for step in range(args.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        x, y = packer.batch(args.batch)
        loss = model(input_ids=x.to(device), labels=y.to(device)).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 50 == 0 or step == args.steps - 1:
            curve.append((step, round(loss.item(), 5)))
            print(f"step {step} loss {loss.item():.4f} {time.time() - t0:.0f}s", flush=True)
        if args.eval_every and step and step % args.eval_every == 0:
            print(f"  held-out {accuracy(model, enc, eval_small)}", flush=True)
    train_time = time.time() - t0

    model.eval()
    held = data.eval_set(args.final_n, tasks=EVAL_TASKS)
    # The first examples of the training stream itself (seen early in training).
    train_seen = list(
        itertools.islice(
            data.stream(args.seed, tasks=tasks, weights=[weights[t] for t in tasks]),
            args.final_n * 20,
        )
    )
    train_per_task = []
    for t in EVAL_TASKS:
        train_per_task += [x for x in train_seen if x[0] == t][: args.final_n]
    report = {
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "python": ".".join(map(str, __import__("sys").version_info[:3])),
        },
        "device": device,
        "seed": args.seed,
        "init": args.init,
        "steps": args.steps,
        "batch": args.batch,
        "seq_len": SEQ_LEN,
        "lr": args.lr,
        "task_weights": weights,
        "parameters": n_params,
        "train_seconds": round(train_time, 1),
        "loss_curve": curve,
        "held_out_accuracy": accuracy(model, enc, held),
        "train_accuracy": accuracy(model, enc, train_per_task),
        "held_out_n_per_task": args.final_n,
    }
    print(json.dumps({k: report[k] for k in ("held_out_accuracy", "train_accuracy")}), flush=True)

    model.config.architectures = ["DeepseekV2ForCausalLM"]
    model.save_pretrained(args.out, safe_serialization=True)
    with open(os.path.join(args.out, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    import reference

    reference.record(model, enc, os.path.join(args.out, "reference"))


if __name__ == "__main__":
    main()
