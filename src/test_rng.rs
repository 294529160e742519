//! A deterministic generator for the unit tests: xorshift64, so inputs
//! repeat from run to run with no dependency.

/// The numbers xorshift64 gives from `seed` (not 0), one per call.
pub(crate) fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}
