//! SigV4 verification on fuzzer-chosen requests: `verify` never panics,
//! whatever the method, target, headers (an Authorization header, dates and
//! tokens included) and body; and a request the fuzzer chose, once signed,
//! verifies at the signing time and stops verifying when its body changes.
#![no_main]

use std::time::{Duration, SystemTime};

use kvs_mkv::sigv4::{
    parse_amz_date, presign, sign, verify, Credentials, Request, SigningParams, SigningSettings,
    VerifySettings,
};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

const REGION: &str = "us-west-2";
const SERVICE: &str = "kinesisvideo";

#[derive(Arbitrary, Debug)]
struct Input {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Seconds after (or before, when negative) the signing time.
    now: i32,
    temporary: bool,
    normalize: bool,
    content_sha256_header: bool,
    presigned: Option<u32>,
}

fn t0() -> SystemTime {
    parse_amz_date("20240301T120000Z").expect("a valid date")
}

fn at(offset: i32) -> SystemTime {
    let d = Duration::from_secs(offset.unsigned_abs().into());
    if offset >= 0 {
        t0() + d
    } else {
        t0() - d
    }
}

fuzz_target!(|input: Input| {
    let mut credentials = Credentials::new("AKIDFUZZ", "fuzz/secret+key");
    if input.temporary {
        credentials = credentials.with_session_token("FwoGZXIvYXdzEJr//token==");
    }
    let settings = VerifySettings {
        normalize_uri_path: input.normalize,
        double_uri_encode: input.normalize,
        ..VerifySettings::new(REGION, SERVICE)
    };
    let request = Request {
        method: input.method,
        path: input.target,
        headers: input.headers,
        body: input.body,
    };

    // Whatever arrives: no panic (and nothing unsigned verifies).
    let result = verify(&request, &credentials, &settings, at(input.now));
    let has_auth = request
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        || request.path.contains("X-Amz-Signature");
    assert!(result.is_err() || has_auth, "verified without a signature");

    // Sign it (headers that signing manages removed), then verify.
    let mut fresh = request.clone();
    fresh.headers.retain(|(n, _)| {
        let n = n.to_ascii_lowercase();
        !n.starts_with("x-amz-") && n != "authorization"
    });
    if fresh.header_value("host").is_none() {
        fresh.headers.push(("host".into(), "localhost:4566".into()));
    }
    if fresh.path.contains("X-Amz-") {
        return;
    }
    let params = SigningParams {
        settings: SigningSettings {
            normalize_uri_path: input.normalize,
            double_uri_encode: input.normalize,
            content_sha256_header: input.content_sha256_header,
            ..SigningSettings::default()
        },
        ..SigningParams::new(&credentials, REGION, SERVICE, t0())
    };
    let mut signed = fresh.clone();
    match input.presigned {
        None => match sign(&fresh, &params) {
            Ok(out) => out.apply_to(&mut signed),
            Err(_) => return,
        },
        Some(expires) => {
            let expires = Duration::from_secs(u64::from(expires % 604_800) + 1);
            match presign(&fresh, &params, expires) {
                Ok(out) => out.apply_to(&mut signed),
                Err(_) => return,
            }
        }
    }
    let verified = verify(&signed, &credentials, &settings, t0());
    assert!(verified.is_ok(), "{verified:?} for {signed:?}");
    if input.presigned.is_none() && !signed.body.is_empty() {
        signed.body[0] ^= 1;
        assert!(verify(&signed, &credentials, &settings, t0()).is_err());
    }
});
