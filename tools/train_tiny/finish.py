"""Turn a training run into the shipped model folder.

    python finish.py --run RUN_DIR --dest ../../models/wgpu-ds-tiny [--n 100]

Rounds the trained f32 weights to f16 (the shipped checkpoint; every later number is of these
weights, computed in f32), then writes to DEST:
  checkpoint/      config.json, model.safetensors (f16), tokenizer.json, tokenizer_config.json
  held_out.tsv     task, prompt, answer, and the reference's greedy answer (1000 held-out prompts
                   of each evaluated task: add, add9, max, rev, sort; the same as report.json's)
  reference/       f32 logits of a few prompts at every position (reference.py)
  report.json      the run's training report plus the accuracy of the f16 weights
"""

import argparse
import json
import os
import shutil

import torch
from tokenizers import Tokenizer
from transformers import DeepseekV2ForCausalLM

import data
import reference
import train


def stage_report(run: str) -> dict:
    """The run's report; a run started from another's weights (`--init`) carries the earlier
    stages' reports, in order, under "earlier_stages"."""
    with open(os.path.join(run, "report.json")) as f:
        report = json.load(f)
    if report.get("init"):
        earlier = stage_report(report["init"])
        report["earlier_stages"] = earlier.pop("earlier_stages", []) + [earlier]
    return report


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--dest", required=True)
    ap.add_argument("--n", type=int, default=1000, help="held-out prompts per task")
    args = ap.parse_args()
    torch.manual_seed(0)

    ck = os.path.join(args.dest, "checkpoint")
    os.makedirs(ck, exist_ok=True)
    model = DeepseekV2ForCausalLM.from_pretrained(args.run, dtype=torch.float16)
    model.save_pretrained(ck, safe_serialization=True)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(args.run, f), ck)
    gen_cfg = os.path.join(ck, "generation_config.json")
    if os.path.exists(gen_cfg):
        os.remove(gen_cfg)
    model = model.float().eval()

    enc = train.Encoder(Tokenizer.from_file(os.path.join(ck, "tokenizer.json")))
    tasks = train.EVAL_TASKS
    held = data.eval_set(args.n, tasks=tasks)
    got = train.greedy_answers(model, enc, [p for _, p, _ in held])
    with open(os.path.join(args.dest, "held_out.tsv"), "w") as f:
        f.write("task\tprompt\tanswer\treference\n")
        for (t, p, a), g in zip(held, got):
            f.write(f"{t}\t{p}\t{a}\t{g}\n")
    per = {}
    for (t, _, a), g in zip(held, got):
        c, n = per.get(t, (0, 0))
        per[t] = (c + (g == a), n + 1)

    report = stage_report(args.run)
    report["shipped_f16"] = {
        "held_out_tsv_accuracy": {t: round(c / n, 4) for t, (c, n) in per.items()},
        "held_out_tsv_n_per_task": args.n,
    }
    with open(os.path.join(args.dest, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    reference.record(model, enc, os.path.join(args.dest, "reference"))
    print(json.dumps(report["shipped_f16"]))


if __name__ == "__main__":
    main()
