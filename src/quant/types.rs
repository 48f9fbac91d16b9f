//! The table of ggml tensor types as GGUF stores them: type id, name, elements per block and bytes
//! per block (ggml's `type_traits[]`, `blck_size` and `type_size`). The GGUF reader uses it to size
//! every tensor, including types this build cannot compute with (IQ*, TQ*, MXFP4), so `info` can
//! describe any file and a model load can name the tensor it cannot run.

/// A ggml tensor type. Discriminants are the GGUF type ids (ggml.h `enum ggml_type`).
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum QuantType {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    // 4, 5: Q4_2, Q4_3 (removed from ggml)
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2K = 10,
    Q3K = 11,
    Q4K = 12,
    Q5K = 13,
    Q6K = 14,
    Q8K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
    // 31, 32, 33: Q4_0_4_4, Q4_0_4_8, Q4_0_8_8 (removed; repacked at load time now)
    TQ1_0 = 34,
    TQ2_0 = 35,
    // 36, 37, 38: IQ4_NL_4_4, IQ4_NL_4_8, IQ4_NL_8_8 (removed)
    MXFP4 = 39,
}

/// Sizes of one type: `blck_size` elements are stored in `type_size` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TypeInfo {
    pub name: &'static str,
    pub blck_size: usize,
    pub type_size: usize,
}

/// Elements per K-quant super-block (ggml's QK_K).
pub const QK_K: usize = 256;

impl QuantType {
    /// Every type, in id order. Used to build lookups and by tests.
    pub const ALL: [QuantType; 32] = {
        use QuantType::*;
        [
            F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2K, Q3K, Q4K, Q5K, Q6K, Q8K, IQ2_XXS,
            IQ2_XS, IQ3_XXS, IQ1_S, IQ4_NL, IQ3_S, IQ2_S, IQ4_XS, I8, I16, I32, I64, F64, IQ1_M,
            BF16, TQ1_0, TQ2_0, MXFP4,
        ]
    };

    /// The type for a GGUF type id, or None for ids ggml never had or has removed.
    pub fn from_id(id: u32) -> Option<QuantType> {
        Self::ALL.iter().copied().find(|t| *t as u32 == id)
    }

    pub fn id(self) -> u32 {
        self as u32
    }

    /// The type whose ggml name (case-insensitive, `q4_k` or `Q4_K`) is `name`.
    pub fn from_name(name: &str) -> Option<QuantType> {
        Self::ALL
            .iter()
            .copied()
            .find(|t| t.info().name.eq_ignore_ascii_case(name))
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    pub fn info(self) -> TypeInfo {
        use QuantType::*;
        let (name, blck_size, type_size) = match self {
            F32 => ("F32", 1, 4),
            F16 => ("F16", 1, 2),
            BF16 => ("BF16", 1, 2),
            F64 => ("F64", 1, 8),
            I8 => ("I8", 1, 1),
            I16 => ("I16", 1, 2),
            I32 => ("I32", 1, 4),
            I64 => ("I64", 1, 8),
            Q4_0 => ("Q4_0", 32, 18),
            Q4_1 => ("Q4_1", 32, 20),
            Q5_0 => ("Q5_0", 32, 22),
            Q5_1 => ("Q5_1", 32, 24),
            Q8_0 => ("Q8_0", 32, 34),
            Q8_1 => ("Q8_1", 32, 36),
            Q2K => ("Q2_K", QK_K, 84),
            Q3K => ("Q3_K", QK_K, 110),
            Q4K => ("Q4_K", QK_K, 144),
            Q5K => ("Q5_K", QK_K, 176),
            Q6K => ("Q6_K", QK_K, 210),
            Q8K => ("Q8_K", QK_K, 292),
            IQ2_XXS => ("IQ2_XXS", QK_K, 66),
            IQ2_XS => ("IQ2_XS", QK_K, 74),
            IQ3_XXS => ("IQ3_XXS", QK_K, 98),
            IQ1_S => ("IQ1_S", QK_K, 50),
            IQ4_NL => ("IQ4_NL", 32, 18),
            IQ3_S => ("IQ3_S", QK_K, 110),
            IQ2_S => ("IQ2_S", QK_K, 82),
            IQ4_XS => ("IQ4_XS", QK_K, 136),
            IQ1_M => ("IQ1_M", QK_K, 56),
            TQ1_0 => ("TQ1_0", QK_K, 54),
            TQ2_0 => ("TQ2_0", QK_K, 66),
            MXFP4 => ("MXFP4", 32, 17),
        };
        TypeInfo {
            name,
            blck_size,
            type_size,
        }
    }

    /// Bytes of a row of `n` elements, or None if `n` is not a whole number of blocks or the
    /// size overflows.
    pub fn row_bytes(self, n: u64) -> Option<u64> {
        let info = self.info();
        let bs = info.blck_size as u64;
        if !n.is_multiple_of(bs) {
            return None;
        }
        (n / bs).checked_mul(info.type_size as u64)
    }
}

impl std::fmt::Display for QuantType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_names_are_unique() {
        for t in QuantType::ALL {
            assert_eq!(QuantType::from_id(t.id()), Some(t));
            assert_eq!(QuantType::from_name(t.name()), Some(t));
        }
        for removed in [4, 5, 31, 32, 33, 36, 37, 38, 40, 1000] {
            assert_eq!(QuantType::from_id(removed), None);
        }
    }

    #[test]
    fn row_bytes_requires_whole_blocks() {
        assert_eq!(QuantType::Q8_0.row_bytes(64), Some(68));
        assert_eq!(QuantType::Q8_0.row_bytes(33), None);
        assert_eq!(QuantType::Q6K.row_bytes(512), Some(420));
        assert_eq!(QuantType::F32.row_bytes(u64::MAX), None);
    }
}
