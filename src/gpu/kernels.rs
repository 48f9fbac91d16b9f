//! The table of shader variants. A variant is composed from files by concatenation, each file
//! preceded by a `// ---- shaders/<file> ----` marker: the common helpers, one quant file (the
//! only per-type code) and the op file. Its key (`matvec.q4_k`) is also its wgpu label, so
//! validation errors and GPU captures name the variant. No preprocessor.

use crate::quant::{self, QuantType};

/// `(path, text)` of a WGSL file under shaders/, embedded in the binary.
macro_rules! shader {
    ($path:literal) => {
        ($path, include_str!(concat!("../../shaders/", $path)))
    };
}

/// Every WGSL file, embedded in the binary.
const SOURCES: &[(&str, &str)] = &[
    shader!("common/half.wgsl"),
    shader!("common/bytes.wgsl"),
    shader!("common/reduce.wgsl"),
    shader!("common/cache_store.wgsl"),
    shader!("common/places.wgsl"),
    shader!("common/w_u32.wgsl"),
    shader!("common/w_vec4.wgsl"),
    shader!("common/rows_reduce.wgsl"),
    shader!("common/rows_reduce_subgroup.wgsl"),
    shader!("common/online_softmax.wgsl"),
    shader!("quant/f32.wgsl"),
    shader!("quant/f16.wgsl"),
    shader!("quant/bf16.wgsl"),
    shader!("quant/q4_0.wgsl"),
    shader!("quant/q4_1.wgsl"),
    shader!("quant/q5_0.wgsl"),
    shader!("quant/q5_1.wgsl"),
    shader!("quant/q8_0.wgsl"),
    shader!("quant/q2_k.wgsl"),
    shader!("quant/q3_k.wgsl"),
    shader!("quant/iq4_values.wgsl"),
    shader!("quant/iq4_nl.wgsl"),
    shader!("quant/iq4_xs.wgsl"),
    shader!("quant/unit/iq4_nl.wgsl"),
    shader!("quant/unit/iq4_xs.wgsl"),
    shader!("quant/k4_scales.wgsl"),
    shader!("quant/q4_k.wgsl"),
    shader!("quant/q5_k.wgsl"),
    shader!("quant/q6_k.wgsl"),
    shader!("quant/unit/consecutive.wgsl"),
    shader!("quant/unit/f32.wgsl"),
    shader!("quant/unit/f16.wgsl"),
    shader!("quant/unit/bf16.wgsl"),
    shader!("quant/unit/q4_0.wgsl"),
    shader!("quant/unit/q4_1.wgsl"),
    shader!("quant/unit/q5_0.wgsl"),
    shader!("quant/unit/q5_1.wgsl"),
    shader!("quant/unit/q8_0.wgsl"),
    shader!("quant/no_table.wgsl"),
    shader!("quant/iq_grid.wgsl"),
    shader!("quant/iq2_xxs.wgsl"),
    shader!("quant/iq2_xs.wgsl"),
    shader!("quant/iq2_s.wgsl"),
    shader!("quant/iq3_xxs.wgsl"),
    shader!("quant/iq3_s.wgsl"),
    shader!("quant/iq1_s.wgsl"),
    shader!("quant/iq1_m.wgsl"),
    shader!("quant/unit/iq2_xxs.wgsl"),
    shader!("quant/unit/iq2_xs.wgsl"),
    shader!("quant/unit/iq2_s.wgsl"),
    shader!("quant/unit/iq3_xxs.wgsl"),
    shader!("quant/unit/iq3_s.wgsl"),
    shader!("quant/unit/iq1_s.wgsl"),
    shader!("quant/unit/iq1_m.wgsl"),
    shader!("quant/unit/q2_k.wgsl"),
    shader!("quant/unit/q3_k.wgsl"),
    shader!("quant/unit/q4_k.wgsl"),
    shader!("quant/unit/q5_k.wgsl"),
    shader!("quant/unit/q6_k.wgsl"),
    shader!("matvec.wgsl"),
    shader!("cache_f32.wgsl"),
    shader!("matvec_t.wgsl"),
    shader!("mul_mm.wgsl"),
    shader!("mul_mm/plain.wgsl"),
    shader!("mul_mm/id.wgsl"),
    shader!("get_rows.wgsl"),
    shader!("get_rows/plain.wgsl"),
    shader!("get_rows/norm.wgsl"),
    // elementwise and normalization ops
    shader!("rms_norm.wgsl"),
    shader!("slice.wgsl"),
    shader!("binary.wgsl"),
    shader!("binary/add.wgsl"),
    shader!("binary/swiglu.wgsl"),
    shader!("weighted_sum.wgsl"),
    shader!("rope.wgsl"),
    shader!("kv_store.wgsl"),
    // routing and attention ops
    shader!("moe_route.wgsl"),
    shader!("moe_route/route.wgsl"),
    shader!("moe_route/norm.wgsl"),
    shader!("moe_group.wgsl"),
    shader!("argmax.wgsl"),
    shader!("attn_absorbed.wgsl"),
    shader!("attn_combine.wgsl"),
    shader!("attn_mha.wgsl"),
];

/// Ops whose shader does not depend on a weight type: (name, files composed before the op file,
/// op file). The kernel key is the name.
const TYPELESS: &[(&str, &[&str], &str)] = &[
    // elementwise and normalization ops
    (
        "rms_norm",
        &[
            "common/reduce.wgsl",
            "common/half.wgsl",
            "common/cache_store.wgsl",
            "common/places.wgsl",
        ],
        "rms_norm.wgsl",
    ),
    ("slice", &[], "slice.wgsl"),
    ("add", &["binary/add.wgsl"], "binary.wgsl"),
    ("swiglu", &["binary/swiglu.wgsl"], "binary.wgsl"),
    ("weighted_sum", &[], "weighted_sum.wgsl"),
    (
        "rope",
        &[
            "common/half.wgsl",
            "common/cache_store.wgsl",
            "common/places.wgsl",
        ],
        "rope.wgsl",
    ),
    (
        "kv_store",
        &[
            "common/half.wgsl",
            "common/cache_store.wgsl",
            "common/places.wgsl",
        ],
        "kv_store.wgsl",
    ),
    ("cache_f32", &["common/half.wgsl"], "cache_f32.wgsl"),
    // routing and attention ops
    (
        "moe_route",
        &["common/reduce.wgsl", "moe_route.wgsl"],
        "moe_route/route.wgsl",
    ),
    // the FFN's RMSNorm of a residual Add, then the routing (ten storage buffers)
    (
        "moe_route_norm",
        &["common/reduce.wgsl", "moe_route.wgsl"],
        "moe_route/norm.wgsl",
    ),
    // the slots of a multi-token MatMulId listed by expert (for matvec_grouped)
    ("moe_group", &[], "moe_group.wgsl"),
    ("argmax", &[], "argmax.wgsl"),
    (
        "attn_absorbed",
        &[
            "common/reduce.wgsl",
            "common/online_softmax.wgsl",
            "common/half.wgsl",
            "common/places.wgsl",
        ],
        "attn_absorbed.wgsl",
    ),
    ("attn_combine", &[], "attn_combine.wgsl"),
    (
        "attn_mha",
        &["common/reduce.wgsl", "common/online_softmax.wgsl"],
        "attn_mha.wgsl",
    ),
];

fn source(file: &str) -> &'static str {
    SOURCES
        .iter()
        .find(|(f, _)| *f == file)
        .map(|(_, s)| *s)
        .unwrap_or_else(|| panic!("shader file {file} is not in SOURCES"))
}

/// The quant files of a type: each offers `QK`, `BLOCK_BYTES` and `block_get(byte, i) -> f32`
/// (and, for the grid i-quants, `TABLE_BYTES`: see shaders/quant/iq_grid.wgsl).
/// None for types without a WGSL decoder.
pub fn quant_files(ty: QuantType) -> Option<&'static [&'static str]> {
    use QuantType::*;
    Some(match ty {
        F32 => &["quant/f32.wgsl"],
        F16 => &["quant/f16.wgsl"],
        BF16 => &["quant/bf16.wgsl"],
        Q4_0 => &["quant/q4_0.wgsl"],
        Q4_1 => &["quant/q4_1.wgsl"],
        Q5_0 => &["quant/q5_0.wgsl"],
        Q5_1 => &["quant/q5_1.wgsl"],
        Q8_0 => &["quant/q8_0.wgsl"],
        Q2K => &["quant/q2_k.wgsl"],
        Q3K => &["quant/q3_k.wgsl"],
        Q4K => &["quant/k4_scales.wgsl", "quant/q4_k.wgsl"],
        Q5K => &["quant/k4_scales.wgsl", "quant/q5_k.wgsl"],
        Q6K => &["quant/q6_k.wgsl"],
        IQ4_NL => &["quant/iq4_values.wgsl", "quant/iq4_nl.wgsl"],
        IQ4_XS => &["quant/iq4_values.wgsl", "quant/iq4_xs.wgsl"],
        IQ2_XXS => &["quant/iq_grid.wgsl", "quant/iq2_xxs.wgsl"],
        IQ2_XS => &["quant/iq_grid.wgsl", "quant/iq2_xs.wgsl"],
        IQ2_S => &["quant/iq_grid.wgsl", "quant/iq2_s.wgsl"],
        IQ3_XXS => &["quant/iq_grid.wgsl", "quant/iq3_xxs.wgsl"],
        IQ3_S => &["quant/iq_grid.wgsl", "quant/iq3_s.wgsl"],
        IQ1_S => &["quant/iq_grid.wgsl", "quant/iq1_s.wgsl"],
        IQ1_M => &["quant/iq_grid.wgsl", "quant/iq1_m.wgsl"],
        _ => return None,
    })
}

/// The unit files of a type (used by matvec and mul_mm): `UNIT`, `UNIT_RUN2`, `unit_first(ub)`
/// (for types whose unit is 32 consecutive elements, from quant/unit/consecutive.wgsl) and
/// `unit_runs(byte, ub) -> array<Run, 4>`, the runs (16 weights as values and one affine scale)
/// of a unit of 32 elements (two runs that share their quant bytes) or, for Q2_K and Q3_K, 64
/// (four runs from the same 16 quant bytes, every bit of them used once).
fn unit_files(ty: QuantType) -> Option<Vec<&'static str>> {
    use QuantType::*;
    let file = unit_file(ty)?;
    Some(match ty {
        F32 | F16 | BF16 | Q4_0 | Q4_1 | Q5_0 | Q5_1 | Q8_0 | IQ4_NL => {
            vec!["quant/unit/consecutive.wgsl", file]
        }
        _ => vec![file],
    })
}

fn unit_file(ty: QuantType) -> Option<&'static str> {
    use QuantType::*;
    Some(match ty {
        F32 => "quant/unit/f32.wgsl",
        F16 => "quant/unit/f16.wgsl",
        BF16 => "quant/unit/bf16.wgsl",
        Q4_0 => "quant/unit/q4_0.wgsl",
        Q4_1 => "quant/unit/q4_1.wgsl",
        Q5_0 => "quant/unit/q5_0.wgsl",
        Q5_1 => "quant/unit/q5_1.wgsl",
        Q8_0 => "quant/unit/q8_0.wgsl",
        Q2K => "quant/unit/q2_k.wgsl",
        Q3K => "quant/unit/q3_k.wgsl",
        Q4K => "quant/unit/q4_k.wgsl",
        Q5K => "quant/unit/q5_k.wgsl",
        Q6K => "quant/unit/q6_k.wgsl",
        IQ4_NL => "quant/unit/iq4_nl.wgsl",
        IQ4_XS => "quant/unit/iq4_xs.wgsl",
        IQ2_XXS => "quant/unit/iq2_xxs.wgsl",
        IQ2_XS => "quant/unit/iq2_xs.wgsl",
        IQ2_S => "quant/unit/iq2_s.wgsl",
        IQ3_XXS => "quant/unit/iq3_xxs.wgsl",
        IQ3_S => "quant/unit/iq3_s.wgsl",
        IQ1_S => "quant/unit/iq1_s.wgsl",
        IQ1_M => "quant/unit/iq1_m.wgsl",
        _ => return None,
    })
}

/// How a multi-row kernel sums its partials over the workgroup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reduce {
    /// A tree in workgroup memory (every adapter).
    Workgroup,
    /// subgroupAdd, then one pass over the subgroup totals (adapters with subgroups).
    Subgroup,
}

impl Reduce {
    pub fn file(self) -> &'static str {
        match self {
            Reduce::Workgroup => "common/rows_reduce.wgsl",
            Reduce::Subgroup => "common/rows_reduce_subgroup.wgsl",
        }
    }
}

/// One shader variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// Quantized matrix × activations (`matvec.wgsl`), for weights of the given type, with the
    /// given reduction.
    MatVec(QuantType, Reduce),
    /// The gated FFN in one dispatch (`matvec.wgsl` with `GLU = 1`): silu(gate · x) · (up · x)
    /// for gate and up matrices of the given type.
    MatVecGlu(QuantType, Reduce),
    /// Two matrices of the given type over the same activations in one dispatch (`matvec.wgsl`
    /// with `PAIR = 1`): q and kv_a_mqa of a layer.
    MatVecPair(QuantType, Reduce),
    /// The gated form paired with a second gated matrix over the same activations
    /// (`matvec.wgsl` with `GLU = 1` and `PAIR = 1`): the routed and the shared experts' gate
    /// and up projections in one dispatch.
    MatVecGluPair(QuantType, Reduce),
    /// A multi-token MatMul (`matvec.wgsl` with `NCOLS` > 1): one workgroup per (row group,
    /// block of NCOLS tokens) decodes each weight unit once for its tokens.
    MatVecCols(QuantType, Reduce),
    /// The gated form over blocks of tokens (`GLU = 1`, `NCOLS` > 1): the dense FFN's and the
    /// shared experts' gate and up projections of a prefill chunk.
    MatVecGluCols(QuantType, Reduce),
    /// A multi-token MatMulId over slots grouped by expert (`matvec.wgsl` with `GROUPED = 1`,
    /// the lists made by `moe_group`): one workgroup per (row group, expert) walks the expert's
    /// slots, so each expert's rows come from memory once per step.
    MatVecGrouped(QuantType, Reduce),
    /// The gated form over grouped slots (`GLU = 1`, `GROUPED = 1`): the routed experts' gate
    /// and up projections of a prefill chunk.
    MatVecGluGrouped(QuantType, Reduce),
    /// The transposed product over stored rows (`matvec_t.wgsl`): y[d] = Σ_c W[c, d] x[c], for
    /// materializing MLA keys from attn_k_b.
    MatVecT(QuantType),
    /// The tiled matrix-matrix product of a prefill chunk (`mul_mm.wgsl`): each weight decoded
    /// once per tile of tokens.
    MulMm(QuantType),
    /// The tiled product over one expert's slots of a prefill chunk (`mul_mm.wgsl` with
    /// `mul_mm/id.wgsl`, moe_group's lists): each expert's weights decoded once per tile of its
    /// slots.
    MulMmId(QuantType),
    /// Rows of a quantized table (`get_rows.wgsl`): the token embedding.
    GetRows(QuantType),
    /// Rows of a quantized table and the RMSNorm that first reads them, in one dispatch
    /// (`get_rows.wgsl` with `get_rows/norm.wgsl`): the first layer's attn_norm.
    GetRowsNorm(QuantType),
    /// An op with no weight-type dependence, by name (an entry of TYPELESS).
    Op(&'static str),
}

/// The sizes of matvec.wgsl's private partial-sum arrays, composed in per pipeline: CPU
/// adapters compile large private arrays slowly even where most of them go unused, so each
/// pipeline gets the sizes its shape needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccSizes {
    /// Rows of vec4 partial sums (rows_dot_cols' acc4): NR, twice with GLU.
    pub rows: u32,
    /// Rows of the second vec4 array (slots 4 .. 8): `rows` with more than 4 slots, else 1.
    pub rows8: u32,
    /// Partial sums per invocation (ACC_MAX ≥ NACC = rows × NCOLS).
    pub max: u32,
}

impl AccSizes {
    /// The largest shape (NR 32 with GLU, 8 slots).
    pub const MAX: AccSizes = AccSizes {
        rows: 64,
        rows8: 64,
        max: 512,
    };

    /// The sizes for `nr` rows of `slots` slots, gated or not.
    pub fn new(nr: u32, slots: u32, glu: bool) -> AccSizes {
        let rows = nr * if glu { 2 } else { 1 };
        AccSizes {
            rows,
            rows8: if slots > 4 { rows } else { 1 },
            max: rows * slots,
        }
    }
}

impl Kernel {
    /// Every variant this build can compose.
    pub fn all() -> Vec<Kernel> {
        let types = quant::SUPPORTED
            .iter()
            .copied()
            .filter(|t| quant_files(*t).is_some());
        let typed = types.flat_map(|t| {
            [
                Kernel::MatVec(t, Reduce::Workgroup),
                Kernel::MatVec(t, Reduce::Subgroup),
                Kernel::MatVecGlu(t, Reduce::Workgroup),
                Kernel::MatVecGlu(t, Reduce::Subgroup),
                Kernel::MatVecPair(t, Reduce::Workgroup),
                Kernel::MatVecPair(t, Reduce::Subgroup),
                Kernel::MatVecGluPair(t, Reduce::Workgroup),
                Kernel::MatVecGluPair(t, Reduce::Subgroup),
                Kernel::MatVecCols(t, Reduce::Workgroup),
                Kernel::MatVecCols(t, Reduce::Subgroup),
                Kernel::MatVecGluCols(t, Reduce::Workgroup),
                Kernel::MatVecGluCols(t, Reduce::Subgroup),
                Kernel::MatVecGrouped(t, Reduce::Workgroup),
                Kernel::MatVecGrouped(t, Reduce::Subgroup),
                Kernel::MatVecGluGrouped(t, Reduce::Workgroup),
                Kernel::MatVecGluGrouped(t, Reduce::Subgroup),
                Kernel::MatVecT(t),
                Kernel::MulMm(t),
                Kernel::MulMmId(t),
                Kernel::GetRows(t),
                Kernel::GetRowsNorm(t),
            ]
        });
        typed
            .chain(TYPELESS.iter().map(|(name, _, _)| Kernel::Op(name)))
            .collect()
    }

    /// The weight type a typed variant is composed for.
    pub fn quant_type(&self) -> Option<QuantType> {
        match *self {
            Kernel::MatVec(t, _)
            | Kernel::MatVecGlu(t, _)
            | Kernel::MatVecPair(t, _)
            | Kernel::MatVecGluPair(t, _)
            | Kernel::MatVecCols(t, _)
            | Kernel::MatVecGluCols(t, _)
            | Kernel::MatVecGrouped(t, _)
            | Kernel::MatVecGluGrouped(t, _)
            | Kernel::MatVecT(t)
            | Kernel::MulMm(t)
            | Kernel::MulMmId(t)
            | Kernel::GetRows(t)
            | Kernel::GetRowsNorm(t) => Some(t),
            Kernel::Op(_) => None,
        }
    }

    /// Readable key, also the wgpu label: `matvec.q4_k`.
    pub fn key(&self) -> String {
        let (op, ty, reduce) = match self {
            Kernel::MatVec(t, r) => ("matvec", t, Some(r)),
            Kernel::MatVecGlu(t, r) => ("matvec_glu", t, Some(r)),
            Kernel::MatVecPair(t, r) => ("matvec_pair", t, Some(r)),
            Kernel::MatVecGluPair(t, r) => ("matvec_glu_pair", t, Some(r)),
            Kernel::MatVecCols(t, r) => ("matvec_cols", t, Some(r)),
            Kernel::MatVecGluCols(t, r) => ("matvec_glu_cols", t, Some(r)),
            Kernel::MatVecGrouped(t, r) => ("matvec_grouped", t, Some(r)),
            Kernel::MatVecGluGrouped(t, r) => ("matvec_glu_grouped", t, Some(r)),
            Kernel::MatVecT(t) => ("matvec_t", t, None),
            Kernel::MulMm(t) => ("mul_mm", t, None),
            Kernel::MulMmId(t) => ("mul_mm_id", t, None),
            Kernel::GetRows(t) => ("get_rows", t, None),
            Kernel::GetRowsNorm(t) => ("get_rows_norm", t, None),
            Kernel::Op(name) => return name.to_string(),
        };
        if reduce == Some(&Reduce::Subgroup) {
            return format!("{op}.{}.sg", ty.name().to_ascii_lowercase());
        }
        format!("{op}.{}", ty.name().to_ascii_lowercase())
    }

    /// The files composed into this variant, in order.
    pub fn files(&self) -> Vec<&'static str> {
        if let Kernel::Op(name) = *self {
            let (_, before, op_file) = TYPELESS
                .iter()
                .find(|(n, _, _)| *n == name)
                .unwrap_or_else(|| panic!("unknown op shader {name}"));
            return before.iter().copied().chain([*op_file]).collect();
        }
        let (op_file, ty, reduce) = match *self {
            Kernel::MatVec(t, r)
            | Kernel::MatVecGlu(t, r)
            | Kernel::MatVecPair(t, r)
            | Kernel::MatVecGluPair(t, r)
            | Kernel::MatVecCols(t, r)
            | Kernel::MatVecGluCols(t, r)
            | Kernel::MatVecGrouped(t, r)
            | Kernel::MatVecGluGrouped(t, r) => ("matvec.wgsl", t, Some(r)),
            Kernel::MatVecT(t) => ("matvec_t.wgsl", t, None),
            Kernel::MulMm(t) => ("mul_mm/plain.wgsl", t, None),
            Kernel::MulMmId(t) => ("mul_mm/id.wgsl", t, None),
            Kernel::GetRows(t) => ("get_rows/plain.wgsl", t, None),
            Kernel::GetRowsNorm(t) => ("get_rows/norm.wgsl", t, None),
            Kernel::Op(_) => unreachable!("handled above"),
        };
        let mut files = vec!["common/half.wgsl", "common/bytes.wgsl"];
        files.extend_from_slice(
            quant_files(ty).unwrap_or_else(|| panic!("no WGSL decoder for {ty}")),
        );
        // The grid i-quants declare their table's TABLE_BYTES; the other types have none.
        if crate::quant::iq_grid::grid_bytes(ty).is_none() {
            files.push("quant/no_table.wgsl");
        }
        let mul_mm = matches!(self, Kernel::MulMm(_) | Kernel::MulMmId(_));
        let units = mul_mm || matches!(self, Kernel::MatVecT(_));
        if units {
            files.push("common/w_vec4.wgsl");
        } else if reduce.is_none() {
            files.push("common/w_u32.wgsl");
        }
        if reduce.is_some() || units {
            files.extend(unit_files(ty).unwrap_or_else(|| panic!("no unit_runs for {ty}")));
        }
        if let Some(r) = reduce {
            files.push(r.file());
            files.push("binary/swiglu.wgsl");
        }
        if mul_mm {
            files.push("mul_mm.wgsl");
        }
        if let Kernel::GetRows(_) | Kernel::GetRowsNorm(_) = self {
            if let Kernel::GetRowsNorm(_) = self {
                files.push("common/reduce.wgsl");
            }
            files.push("get_rows.wgsl");
        }
        files.push(op_file);
        files
    }

    /// Whether the variant needs the adapter's subgroup feature.
    pub fn needs_subgroups(&self) -> bool {
        matches!(
            self,
            Kernel::MatVec(_, Reduce::Subgroup)
                | Kernel::MatVecGlu(_, Reduce::Subgroup)
                | Kernel::MatVecPair(_, Reduce::Subgroup)
                | Kernel::MatVecGluPair(_, Reduce::Subgroup)
                | Kernel::MatVecCols(_, Reduce::Subgroup)
                | Kernel::MatVecGluCols(_, Reduce::Subgroup)
                | Kernel::MatVecGrouped(_, Reduce::Subgroup)
                | Kernel::MatVecGluGrouped(_, Reduce::Subgroup)
        )
    }

    /// The composed WGSL source.
    pub fn source(&self) -> String {
        self.source_sized(AccSizes::MAX)
    }

    /// The composed WGSL source with matvec.wgsl's partial-sum arrays sized by `acc` (other
    /// kernels ignore it).
    pub fn source_sized(&self, acc: AccSizes) -> String {
        let mut s = format!(
            "// {} (composed by wgpu-ds from the files below)\n",
            self.key()
        );
        if self.files().contains(&"matvec.wgsl") {
            s.push_str(&format!(
                "\n// Partial-sum array sizes of this pipeline's shape (matvec.wgsl).\n\
                 const ACC_ROWS: u32 = {}u;\nconst ACC8_ROWS: u32 = {}u;\nconst ACC_MAX: u32 = {}u;\n",
                acc.rows, acc.rows8, acc.max
            ));
        }
        for f in self.files() {
            s.push_str(&format!("\n// ---- shaders/{f} ----\n"));
            s.push_str(source(f));
        }
        s
    }
}
