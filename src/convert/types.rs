//! Which GGUF type each tensor is written in: the `--type` values, llama.cpp's `general.file_type`
//! numbers and llama-quantize's rules (F32 norms and router, `output.weight`, row-length fallbacks).

use super::*;

/// The `--type` values.
pub const OUT_TYPES: &[QuantType] = {
    use QuantType::*;
    &[
        F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2K, Q3K, Q4K, Q5K, Q6K, IQ4_NL, IQ4_XS,
    ]
};

/// `general.file_type` (llama_ftype) of an output type.
pub fn file_type(t: QuantType) -> u32 {
    use QuantType::*;
    match t {
        F32 => 0,
        F16 => 1,
        Q4_0 => 2,
        Q4_1 => 3,
        Q8_0 => 7,
        Q5_0 => 8,
        Q5_1 => 9,
        Q2K => 10,
        Q3K => 11,
        Q4K => 14,
        Q5K => 16,
        Q6K => 18,
        IQ4_NL => 25,
        IQ4_XS => 30,
        BF16 => 32,
        _ => 1,
    }
}

/// llama.cpp `tensor_type_fallback`'s substitute for a 256-block type.
pub(super) fn fallback_for(t: QuantType) -> Option<QuantType> {
    use QuantType::*;
    match t {
        Q2K | Q3K => Some(Q4_0),
        Q4K => Some(Q5_0),
        Q5K => Some(Q5_1),
        Q6K => Some(Q8_0),
        IQ4_XS => Some(IQ4_NL),
        _ => None,
    }
}

/// The type a GGUF tensor is written in, and whether that is a row-length fallback.
pub fn choose_type(name: &str, ne: &[u64], tied: bool, opts: &Options) -> (QuantType, bool) {
    use QuantType::*;
    let keep_f32 = ne.len() <= 1
        || name.ends_with("_norm.weight")
        || name.ends_with("ffn_gate_inp.weight")
        || !name.ends_with(".weight");
    if keep_f32 {
        return (F32, false);
    }
    let mut t = opts.out_type;
    if matches!(t, F32 | F16 | BF16) {
        return (t, false);
    }
    let nx = ne[0];
    let blk = |t: QuantType| t.info().blck_size as u64;
    let is_output = name == "output.weight" || (tied && name == "token_embd.weight");
    if is_output && !opts.pure {
        if !nx.is_multiple_of(blk(t)) {
            t = Q8_0;
        } else if t != Q8_0 {
            t = Q6K;
        }
    }
    if nx.is_multiple_of(blk(t)) {
        return (t, false);
    }
    let f = fallback_for(t)
        .filter(|&f| nx.is_multiple_of(blk(f)))
        .unwrap_or(F16);
    (f, true)
}
