"""The tiny model's tokenizer: byte-level BPE with DeepSeek-V3's pre-tokenizer and special tokens.

Ids 0 and 1 are DeepSeek's `<｜begin▁of▁sentence｜>` and `<｜end▁of▁sentence｜>`, then the 256
byte symbols, then merges learned by `tokenizers`' BPE trainer on the task prompts with digits
removed: digits stay one token each (the V3 pre-tokenizer groups up to three digits, and no merge
joins them), which keeps every column of an addition one token wide.
"""

import json

from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers, Regex

BOS = "<｜begin▁of▁sentence｜>"
EOS = "<｜end▁of▁sentence｜>"

# DeepSeek-V3's pre-tokenizer, as in its tokenizer.json (`tokenizer.ggml.pre = deepseek-v3`).
V3_SPLITS = [
    r"\p{N}{1,3}",
    "[一-龥぀-ゟ゠-ヿ]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
]

CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}{{ m['content'] }}"
    "{% elif m['role'] == 'assistant' %}{{ m['content'] + eos_token }}{% endif %}{% endfor %}"
)


def build(corpus: list[str], vocab_size: int) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(r), behavior="isolated") for r in V3_SPLITS]
        + [pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[BOS, EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    no_digits = ["".join(c for c in s if not c.isdigit()) for s in corpus]
    tok.train_from_iterator(no_digits, trainer)
    return tok


def save(tok: Tokenizer, out_dir: str, model_max_length: int):
    tok.save(f"{out_dir}/tokenizer.json")
    cfg = {
        "add_bos_token": True,
        "add_eos_token": False,
        "bos_token": BOS,
        "eos_token": EOS,
        "pad_token": EOS,
        "clean_up_tokenization_spaces": False,
        "model_max_length": model_max_length,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "chat_template": CHAT_TEMPLATE,
    }
    with open(f"{out_dir}/tokenizer_config.json", "w") as f:
        json.dump(cfg, f, indent=2, ensure_ascii=False)
