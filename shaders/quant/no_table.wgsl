// Types without a lookup table: their matrices start at byte 0 of every weight binding.
const TABLE_BYTES: u32 = 0u;
