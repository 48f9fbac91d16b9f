//! Lookup tables of ggml's grid i-quants, as ggml-common.h has them (written by
//! tools/gen_iq_grids.py; do not edit). Grid entries pack their values one per byte, lowest
//! byte first. The sign tables are here, each grid in a file of its own.

mod iq1s_grid;
mod iq2s_grid;
mod iq2xs_grid;
mod iq2xxs_grid;
mod iq3s_grid;
mod iq3xxs_grid;

pub use iq1s_grid::IQ1S_GRID;
pub use iq2s_grid::IQ2S_GRID;
pub use iq2xs_grid::IQ2XS_GRID;
pub use iq2xxs_grid::IQ2XXS_GRID;
pub use iq3s_grid::IQ3S_GRID;
pub use iq3xxs_grid::IQ3XXS_GRID;

/// kmask_iq2xs: bit j of a sign byte.
pub const KMASK_IQ2XS: [u8; 8] = [1, 2, 4, 8, 16, 32, 64, 128];

/// ksigns_iq2xs: 7 stored sign bits → 8 (the eighth makes the count of minus signs even).
pub const KSIGNS_IQ2XS: [u8; 128] = [
    0, 129, 130, 3, 132, 5, 6, 135, 136, 9, 10, 139, 12, 141, 142, 15, 144, 17, 18, 147, 20, 149,
    150, 23, 24, 153, 154, 27, 156, 29, 30, 159, 160, 33, 34, 163, 36, 165, 166, 39, 40, 169, 170,
    43, 172, 45, 46, 175, 48, 177, 178, 51, 180, 53, 54, 183, 184, 57, 58, 187, 60, 189, 190, 63,
    192, 65, 66, 195, 68, 197, 198, 71, 72, 201, 202, 75, 204, 77, 78, 207, 80, 209, 210, 83, 212,
    85, 86, 215, 216, 89, 90, 219, 92, 221, 222, 95, 96, 225, 226, 99, 228, 101, 102, 231, 232,
    105, 106, 235, 108, 237, 238, 111, 240, 113, 114, 243, 116, 245, 246, 119, 120, 249, 250, 123,
    252, 125, 126, 255,
];
