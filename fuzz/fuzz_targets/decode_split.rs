//! Split invariance: the first bytes choose piece sizes, the rest is the
//! input; fed in those pieces, both decoders must produce exactly what they
//! produce when fed the input whole.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 8) + 1;
    if rest.len() < n {
        return;
    }
    let (sizes, input) = rest.split_at(n);
    // 1..=256 bytes, or with the top bit pattern 0xFx, a few KiB.
    let sizes: Vec<usize> = sizes
        .iter()
        .map(|&b| match b {
            0xF0.. => usize::from(b & 0x0F) * 1024 + 1,
            _ => usize::from(b) + 1,
        })
        .collect();
    let whole = [input.len().max(1)];
    assert_eq!(
        kvs_mkv_fuzz::chunks(input, &sizes),
        kvs_mkv_fuzz::chunks(input, &whole),
        "ChunkDecoder: pieces {sizes:?}"
    );
    assert_eq!(
        kvs_mkv_fuzz::events(input, &sizes),
        kvs_mkv_fuzz::events(input, &whole),
        "EventDecoder: pieces {sizes:?}"
    );
});
