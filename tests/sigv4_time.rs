//! The SigV4 timestamp formatter and parser against known values
//! (Unix times computed independently with Python's `calendar.timegm`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kvs_mkv::sigv4::{format_amz_date, parse_amz_date};

fn at(unix_seconds: i64) -> SystemTime {
    let magnitude = Duration::from_secs(unix_seconds.unsigned_abs());
    if unix_seconds >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH - magnitude
    }
}

const KNOWN: &[(i64, &str)] = &[
    (0, "19700101T000000Z"),
    (1_440_938_160, "20150830T123600Z"),  // the test suites' time
    (951_782_400, "20000229T000000Z"),    // 2000 is a leap year (divisible by 400)
    (951_868_800, "20000301T000000Z"),    // ... and the day after
    (1_709_251_199, "20240229T235959Z"),  // last second of a leap day
    (4_107_542_400, "21000301T000000Z"),  // 2100 is not a leap year
    (946_684_799, "19991231T235959Z"),    // last second of a century
    (2_147_483_648, "20380119T031408Z"),  // past the 32-bit time_t limit
    (-1, "19691231T235959Z"),             // before the epoch
    (-2_203_891_200, "19000301T000000Z"), // 1900 is not a leap year
    (-11_670_955_200, "16000229T120000Z"), // 1600 is
    (253_402_300_799, "99991231T235959Z"), // the last representable second
];

#[test]
fn formats_known_times() {
    for &(seconds, text) in KNOWN {
        assert_eq!(format_amz_date(at(seconds)), text, "unix time {seconds}");
    }
}

#[test]
fn parses_known_times() {
    for &(seconds, text) in KNOWN {
        assert_eq!(parse_amz_date(text), Some(at(seconds)), "{text}");
    }
}

#[test]
fn drops_fractions_of_a_second() {
    let t = UNIX_EPOCH + Duration::from_millis(1_440_938_160_999);
    assert_eq!(format_amz_date(t), "20150830T123600Z");
    // Before the epoch the second is floored, not truncated toward zero.
    assert_eq!(
        format_amz_date(UNIX_EPOCH - Duration::from_millis(1500)),
        "19691231T235958Z"
    );
}

#[test]
fn round_trips_across_the_years() {
    // Roughly every 11.6 days (plus an odd offset) from 1970 to 2106.
    for seconds in (0..4_300_000_000_i64).step_by(1_000_003) {
        let text = format_amz_date(at(seconds));
        assert_eq!(parse_amz_date(&text), Some(at(seconds)), "{text}");
    }
}

#[test]
fn rejects_what_is_not_a_sigv4_timestamp() {
    for text in [
        "",
        "20150830T123600",
        "20150830T123600ZZ",
        "2015-08-30T12:36:00Z",
        "20150830t123600Z",
        "20150830T123600z",
        "2015083OT123600Z",
        "20150830 123600Z",
        "+0150830T123600Z",
        "20150230T000000Z", // February 30th
        "20190229T000000Z", // not a leap year
        "21000229T000000Z", // not a leap year either
        "20151301T000000Z", // month 13
        "20150001T000000Z", // month 0
        "20150800T000000Z", // day 0
        "20150431T000000Z", // April 31st
        "20150830T240000Z",
        "20150830T126000Z",
        "20150830T123660Z", // no leap seconds
        "２０１５0830T1236Z",
        "\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}T\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}Z",
    ] {
        assert_eq!(parse_amz_date(text), None, "{text:?}");
    }
}
