//! Properties: whatever is signed verifies (and stops verifying when the body
//! changes), and neither the verifier nor the signer panics on any input.

use std::time::{Duration, SystemTime};

use kvs_mkv::sigv4::{
    parse_amz_date, presign, sign, verify, Credentials, Request, SigningParams, SigningSettings,
    VerifyError, VerifySettings,
};
use proptest::prelude::*;

const REGION: &str = "eu-central-1";
const SERVICE: &str = "kinesisvideo";

fn t0() -> SystemTime {
    parse_amz_date("20230615T101500Z").unwrap()
}

fn credentials(temporary: bool) -> Credentials {
    let credentials = Credentials::new("AKIDPROPTEST", "proptest/secret+key");
    if temporary {
        credentials.with_session_token("IQoJb3JpZ2luX2VjE/+token==")
    } else {
        credentials
    }
}

/// Header names the caller may set freely (not the ones signing manages).
fn header_name() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_-]{0,12}".prop_filter("managed by signing", |name| {
        let lower = name.to_ascii_lowercase();
        !lower.starts_with("x-amz-") && lower != "authorization"
    })
}

/// Printable ASCII with tabs and runs of spaces, or any printable Unicode.
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof!["[ -~\t]{0,40}", "\\PC{0,16}"]
}

/// Paths with empty, dot, encoded, reserved and non-ASCII segments.
fn path() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        Just(String::new()),
        Just(".".to_owned()),
        Just("..".to_owned()),
        "[A-Za-z0-9 ._~%+$!*'(),;:@=&-]{1,8}",
        "[^/?#[:cntrl:]]{1,4}",
    ];
    (prop::collection::vec(segment, 0..6), any::<bool>()).prop_map(|(segments, trailing)| {
        let mut path = format!("/{}", segments.join("/"));
        if trailing {
            path.push('/');
        }
        path
    })
}

/// Raw query strings: repeated, empty, encoded and non-ASCII parameters.
fn query() -> impl Strategy<Value = String> {
    let text = "[A-Za-z0-9 %+=/._~-]{0,8}|[^&#[:cntrl:]]{0,4}";
    prop::collection::vec((text, prop::option::of(text)), 0..5).prop_map(|params| {
        params
            .into_iter()
            .map(|(name, value)| match value {
                Some(value) => format!("{name}={value}"),
                None => name,
            })
            .collect::<Vec<_>>()
            .join("&")
    })
}

prop_compose! {
    fn request()(
        method in prop_oneof![Just("GET"), Just("POST"), Just("PUT")],
        path in path(),
        query in prop::option::of(query()),
        headers in prop::collection::vec((header_name(), header_value()), 0..6),
        body in prop::collection::vec(any::<u8>(), 0..200),
    ) -> Request {
        let target = match query {
            Some(query) => format!("{path}?{query}"),
            None => path,
        };
        let mut request = Request::new(method, target)
            .with_header("Host", "localhost:4566")
            .with_body(body);
        request.headers.extend(headers);
        request
    }
}

proptest! {
    #[test]
    fn header_signatures_verify(
        request in request(),
        temporary in any::<bool>(),
        normalize in any::<bool>(),
        sign_session_token in any::<bool>(),
        content_sha256_header in any::<bool>(),
        delay in 0u64..=900,
    ) {
        let credentials = credentials(temporary);
        let params = SigningParams {
            settings: SigningSettings {
                normalize_uri_path: normalize,
                double_uri_encode: normalize,
                sign_session_token,
                content_sha256_header,
                ..SigningSettings::default()
            },
            ..SigningParams::new(&credentials, REGION, SERVICE, t0())
        };
        let settings = VerifySettings {
            normalize_uri_path: normalize,
            double_uri_encode: normalize,
            ..VerifySettings::new(REGION, SERVICE)
        };
        let mut signed = request.clone();
        sign(&request, &params).unwrap().apply_to(&mut signed);
        let now = t0() + Duration::from_secs(delay);
        prop_assert!(verify(&signed, &credentials, &settings, now).is_ok(), "{signed:?}");

        if !signed.body.is_empty() {
            signed.body[0] ^= 1;
            let err = verify(&signed, &credentials, &settings, now).unwrap_err();
            let want = if content_sha256_header {
                VerifyError::PayloadHashMismatch
            } else {
                VerifyError::SignatureMismatch
            };
            prop_assert_eq!(err, want);
        }
    }

    #[test]
    fn presigned_urls_verify(
        request in request(),
        temporary in any::<bool>(),
        normalize in any::<bool>(),
        sign_session_token in any::<bool>(),
        expires in 1u64..=604_800,
        elapsed in 0u64..=604_800,
    ) {
        let credentials = credentials(temporary);
        let params = SigningParams {
            settings: SigningSettings {
                normalize_uri_path: normalize,
                double_uri_encode: normalize,
                sign_session_token,
                ..SigningSettings::default()
            },
            ..SigningParams::new(&credentials, REGION, SERVICE, t0())
        };
        let settings = VerifySettings {
            normalize_uri_path: normalize,
            double_uri_encode: normalize,
            ..VerifySettings::new(REGION, SERVICE)
        };
        let mut signed = request.clone();
        presign(&request, &params, Duration::from_secs(expires)).unwrap().apply_to(&mut signed);
        let now = t0() + Duration::from_secs(elapsed);
        let result = verify(&signed, &credentials, &settings, now);
        if elapsed <= expires {
            prop_assert!(result.is_ok(), "{result:?} {signed:?}");
        } else {
            prop_assert!(matches!(result, Err(VerifyError::Expired { .. })), "{result:?}");
        }
    }

    #[test]
    fn verifier_never_panics_on_any_authorization_header(
        authorization in prop_oneof![
            any::<String>(),
            "AWS4-HMAC-SHA256 .*",
            "AWS4-HMAC-SHA256 Credential=[^,]*, SignedHeaders=[^,]*, Signature=[0-9a-f]{0,70}",
            "AWS4-HMAC-SHA256 Credential=AKIDPROPTEST/20230615/eu-central-1/kinesisvideo/aws4_request, SignedHeaders=[a-z;-]{0,30}, Signature=[0-9a-f]{64}",
        ],
        date in prop_oneof![any::<String>(), "[0-9]{8}T[0-9]{6}Z", Just("20230615T101500Z".to_owned())],
        token in prop::option::of(any::<String>()),
        request in request(),
        now_offset in any::<i32>(),
    ) {
        let mut request = request
            .with_header("Authorization", authorization)
            .with_header("X-Amz-Date", date);
        if let Some(token) = token {
            request = request.with_header("X-Amz-Security-Token", token);
        }
        let now = if now_offset >= 0 {
            t0() + Duration::from_secs(now_offset.unsigned_abs().into())
        } else {
            t0() - Duration::from_secs(now_offset.unsigned_abs().into())
        };
        let result = verify(&request, &credentials(true), &VerifySettings::new(REGION, SERVICE), now);
        prop_assert!(result.is_err());
    }

    #[test]
    fn verifier_never_panics_on_any_presigned_query(
        credential in prop_oneof![any::<String>(), "AKIDPROPTEST(%2F[a-z0-9-]{0,12}){0,6}"],
        date in prop_oneof![any::<String>(), "[0-9]{8}T[0-9]{6}Z"],
        expires in prop_oneof![any::<String>(), "[0-9]{0,20}", "-[0-9]{1,3}"],
        signed_headers in "[a-z;%0-9-]{0,20}",
        signature in prop_oneof![any::<String>(), "[0-9a-f]{64}"],
        extra in query(),
    ) {
        let target = format!(
            "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={credential}&X-Amz-Date={date}\
             &X-Amz-Expires={expires}&X-Amz-SignedHeaders={signed_headers}&X-Amz-Signature={signature}&{extra}"
        );
        let request = Request::new("GET", target).with_header("host", "localhost");
        let result = verify(&request, &credentials(false), &VerifySettings::new(REGION, SERVICE), t0());
        prop_assert!(result.is_err());
    }

    #[test]
    fn signer_never_panics(
        method in any::<String>(),
        target in any::<String>(),
        headers in prop::collection::vec((any::<String>(), any::<String>()), 0..4),
        region in any::<String>(),
        token in prop::option::of(any::<String>()),
        expires in any::<u64>(),
    ) {
        let mut credentials = Credentials::new("AKID", "secret");
        credentials.session_token = token;
        let request = Request { method, path: target, headers, body: Vec::new() };
        let params = SigningParams::new(&credentials, &region, SERVICE, t0());
        let _ = sign(&request, &params);
        let _ = presign(&request, &params, Duration::from_secs(expires));
    }
}
