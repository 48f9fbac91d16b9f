//! Kernel parameters: one `#[repr(C)]` Pod struct per kernel, field for field the WGSL `Params`
//! struct of its op file (tests/shaders_naga.rs checks the sizes against naga's layout).

use bytemuck::{Pod, Zeroable};

/// shaders/matvec.wgsl `Params`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct MatVecParams {
    pub rows: u32,
    pub cols: u32,
    pub row_bytes: u32,
    pub w_offset: u32,
    pub x_offset: u32,
    pub x_stride: u32,
    pub y_offset: u32,
    pub y_stride: u32,
    pub n_slot: u32,
    pub mat_bytes: u32,
    pub use_ids: u32,
    pub x_per_slot: u32,
    pub m_first: u32,
    pub m_count: u32,
    pub slot_base: u32,
    pub n_slots_total: u32,
    /// Rows of the second matrix (matvec_pair only).
    pub rows2: u32,
    /// Experts in moe_group's lists (matvec_grouped only): the slot list starts after
    /// n_expert + 1 offsets.
    pub n_expert: u32,
    pub pad1: u32,
    pub pad2: u32,
}

/// shaders/get_rows.wgsl `Params`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct GetRowsParams {
    pub cols: u32,
    pub row_bytes: u32,
    pub w_offset: u32,
    /// Rows in this chunk.
    pub n_rows: u32,
    /// The chunk's first row.
    pub r0: u32,
    /// Rows in the whole table.
    pub n_total: u32,
    /// RMSNorm epsilon (`get_rows_norm` only).
    pub eps: f32,
    pub pad1: u32,
}

/// shaders/moe_group.wgsl `Params`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct MoeGroupParams {
    pub n_slots: u32,
    pub n_expert: u32,
    pub pad0: u32,
    pub pad1: u32,
}
