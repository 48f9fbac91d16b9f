"""The third oracle: the transformers implementation's own f32 logits for a few prompts.

For each prompt, `reference/<name>.ids` (token ids, one per line, <bos> first) and
`reference/<name>.npy` (f32 [n_tokens, n_vocab], logits at every position), plus `index.json`.
wgpu-ds must reproduce them from the exported GGUF (tests/tiny_model.rs).
"""

import json
import os

import numpy as np
import torch

PROMPTS = {
    "add": "12345+67890=",
    "max": "max(381,92)=",
    "rev": "rev(90715)=",
    "sort": "sort(31415926)=",
    "packed": "7+8=15<eos>max(404,4004)=",
}


@torch.no_grad()
def record(model, enc, out_dir: str):
    os.makedirs(out_dir, exist_ok=True)
    model = model.float().eval()
    index = {}
    for name, text in PROMPTS.items():
        ids = [enc.bos]
        for i, part in enumerate(text.split("<eos>")):
            if i:
                ids.append(enc.eos)
            ids += enc.ids(part)
        logits = model(input_ids=torch.tensor([ids])).logits[0].float().cpu().numpy()
        np.save(os.path.join(out_dir, f"{name}.npy"), logits.astype(np.float32))
        with open(os.path.join(out_dir, f"{name}.ids"), "w") as f:
            f.write("\n".join(map(str, ids)) + "\n")
        index[name] = {
            "text": text,
            "n_tokens": len(ids),
            "greedy_next": int(logits[-1].argmax()),
        }
    with open(os.path.join(out_dir, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
