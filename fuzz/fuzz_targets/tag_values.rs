//! The AWS tag value parsers: no panic on any text; what parses displays as
//! text that parses back to the same value; ordering agrees with the value.
#![no_main]

use std::cmp::Ordering;

use kvs_mkv::{FragmentNumber, Timestamp};
use libfuzzer_sys::fuzz_target;

fn fragment(s: &str) -> Option<FragmentNumber> {
    let n: FragmentNumber = s.parse().ok()?;
    assert_eq!(n.to_string(), s, "fragment numbers display as written");
    assert_eq!(n.as_str().parse::<FragmentNumber>(), Ok(n));
    Some(n)
}

fn timestamp(s: &str) -> Option<Timestamp> {
    let t: Timestamp = s.parse().ok()?;
    let shown = t.to_string();
    assert_eq!(
        shown.parse::<Timestamp>(),
        Ok(t),
        "{s:?} shown as {shown:?}"
    );
    assert!(t.subsec_nanos() < 1_000_000_000);
    assert_eq!(Timestamp::new(t.secs(), t.subsec_nanos()), Some(t));
    Some(t)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Two values, separated by the first newline.
    let (a, b) = text.split_once('\n').unwrap_or((text, ""));
    if let (Some(x), Some(y)) = (fragment(a), fragment(b)) {
        // The service's order: by length, then digit by digit.
        let want = a.len().cmp(&b.len()).then_with(|| a.cmp(b));
        assert_eq!(x.cmp(&y), want);
        assert_eq!(y.cmp(&x), want.reverse());
        assert_eq!(x == y, want == Ordering::Equal);
    }
    if let (Some(x), Some(y)) = (timestamp(a), timestamp(b)) {
        assert_eq!(x.cmp(&y), x.as_nanos().cmp(&y.as_nanos()));
        assert_eq!(x.as_millis(), x.as_nanos() / 1_000_000);
    }
});
