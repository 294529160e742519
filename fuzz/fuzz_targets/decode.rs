//! The whole decoder on arbitrary bytes: both decoders, fed whole, then EOF.
//! No panic, no endless output, every output well-formed.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let whole = [data.len().max(1)];
    kvs_mkv_fuzz::chunks(data, &whole);
    kvs_mkv_fuzz::events(data, &whole);
    kvs_mkv_fuzz::events_zero_copy(data);
});
