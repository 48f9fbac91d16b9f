"""The tiny model's shape: DeepSeek-V2-Lite's architecture, scaled down.

V2-Lite: hidden 2048, 27 layers (1 dense lead), 16 heads, no q LoRA, kv_lora 512, nope 128, rope 64,
v 128, 64 routed experts top-6 with softmax gating and no top-k normalization, 2 shared experts,
YaRN factor 40 over 4096 with mscale = mscale_all_dim = 0.707. The tiny model keeps every one of
those features and their values where they are not sizes. Hidden 256 makes every matrix that reads
the residual stream a multiple of 256 wide, so the K-quants apply to them as llama.cpp would.
"""

from transformers import DeepseekV2Config

SHAPE = dict(
    hidden_size=256,
    num_hidden_layers=4,
    first_k_dense_replace=1,
    intermediate_size=512,
    num_attention_heads=4,
    num_key_value_heads=4,
    q_lora_rank=None,
    kv_lora_rank=128,
    qk_nope_head_dim=32,
    qk_rope_head_dim=32,
    v_head_dim=32,
    n_routed_experts=8,
    num_experts_per_tok=2,
    n_shared_experts=2,
    moe_intermediate_size=128,
)


def config(vocab_size: int, **overrides) -> DeepseekV2Config:
    shape = {**SHAPE, **overrides}
    return DeepseekV2Config(
        vocab_size=vocab_size,
        **shape,
        hidden_act="silu",
        max_position_embeddings=163840,
        rms_norm_eps=1e-6,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=None,
        tie_word_embeddings=False,
        attention_bias=False,
        n_group=1,
        topk_group=1,
        topk_method="greedy",
        norm_topk_prob=False,
        routed_scaling_factor=1.0,
        rope_parameters={
            "rope_type": "yarn",
            "rope_theta": 10000.0,
            "factor": 40.0,
            "original_max_position_embeddings": 4096,
            "beta_fast": 32.0,
            "beta_slow": 1.0,
            "mscale": 0.707,
            "mscale_all_dim": 0.707,
        },
        initializer_range=0.02,
    )
