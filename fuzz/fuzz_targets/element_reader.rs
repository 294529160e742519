//! The element reader on arbitrary bytes: the first byte chooses limits and
//! how many piece sizes follow, then the piece sizes, then the input. Fed
//! in those pieces, through both interfaces, asking for payloads or not,
//! it must report exactly what it reports fed whole; every report holds
//! together (checked in `kvs_mkv_fuzz::elements`), and nothing panics.
#![no_main]

use kvs_mkv::Limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(first % 8) + 1;
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
    let mut limits = Limits::default();
    if first & 0x80 != 0 {
        // Small limits, to reach them.
        limits.max_depth = 3;
        limits.max_chunk_size = 600;
        limits.max_element_size = 40;
    }
    let whole = [input.len().max(1)];
    let expected = kvs_mkv_fuzz::elements(input, &whole, limits, false);
    assert_eq!(
        kvs_mkv_fuzz::elements(input, &sizes, limits, false),
        expected,
        "pieces {sizes:?}"
    );
    // Taking payloads changes no report.
    let (items, _) = kvs_mkv_fuzz::elements(input, &sizes, limits, true);
    assert_eq!(items, expected.0, "payloads, pieces {sizes:?}");
    assert_eq!(
        kvs_mkv_fuzz::elements_from_slices(input, &sizes, limits),
        expected.0,
        "slices, pieces {sizes:?}"
    );
});
