//! Verification: a signed request verifies, every mutation fails with the
//! right error, and no error or Debug output ever shows a secret.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use kvs_mkv::sigv4::{
    parse_amz_date, presign, presign_url, sign, sign_kinesis_video_post, verify, AuthKind,
    CredentialScope, Credentials, PayloadHash, Request, ScopePart, SigningError, SigningKey,
    SigningParams, SigningSettings, VerifyError, VerifySettings, KINESIS_VIDEO_SIGNING_NAME,
};

/// Distinctive markers, so a leak is easy to spot in any output.
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzSECRETzKEY";
const TOKEN: &str = "FwoGZXIvYXdzSESSIONzTOKENz/+=";
const SECRET_MARK: &str = "zSECRETz";
const TOKEN_MARK: &str = "SESSIONzTOKEN";

const REGION: &str = "us-west-2";
const SERVICE: &str = KINESIS_VIDEO_SIGNING_NAME;

/// A leap day, 30 seconds before midnight: skews cross the date line.
fn t0() -> SystemTime {
    parse_amz_date("20240229T235930Z").unwrap()
}

fn minutes(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}

fn long_term() -> Credentials {
    Credentials::new("AKIDLONGTERM", SECRET)
}

fn temporary() -> Credentials {
    Credentials::new("ASIATEMPORARY", SECRET).with_session_token(TOKEN)
}

fn store() -> HashMap<String, Credentials> {
    [long_term(), temporary()]
        .into_iter()
        .map(|c| (c.access_key_id.clone(), c))
        .collect()
}

fn settings() -> VerifySettings {
    VerifySettings::new(REGION, SERVICE)
}

fn check(request: &Request, now: SystemTime) -> Result<(), VerifyError> {
    verify(request, &store(), &settings(), now).map(|_| ())
}

fn unsigned_request() -> Request {
    Request::new("POST", "/getMedia?StreamName=cam&b=2")
        .with_header("host", "localhost:4566")
        .with_header("content-type", "application/json")
        .with_header("X-Custom", "  a   b ")
        .with_body(br#"{"StreamName":"cam","StartSelector":{"StartSelectorType":"NOW"}}"#.to_vec())
}

fn params(credentials: &Credentials) -> SigningParams<'_> {
    SigningParams::new(credentials, REGION, SERVICE, t0())
}

fn header_signed_with(params: &SigningParams<'_>) -> Request {
    let mut request = unsigned_request();
    sign(&request, params).unwrap().apply_to(&mut request);
    request
}

fn header_signed(credentials: &Credentials) -> Request {
    header_signed_with(&params(credentials))
}

fn presigned_with(params: &SigningParams<'_>, expires: Duration) -> Request {
    let mut request = unsigned_request();
    presign(&request, params, expires)
        .unwrap()
        .apply_to(&mut request);
    request
}

fn presigned(credentials: &Credentials) -> Request {
    presigned_with(&params(credentials), minutes(5))
}

/// Replaces `from` by `to` in the value of header `name`.
fn edit_header(request: &Request, name: &str, from: &str, to: &str) -> Request {
    let mut request = request.clone();
    let value = request.header_value(name).unwrap().replacen(from, to, 1);
    request.set_header(name, value);
    request
}

fn edit_path(request: &Request, from: &str, to: &str) -> Request {
    let mut request = request.clone();
    assert!(request.path.contains(from), "{} lacks {from}", request.path);
    request.path = request.path.replacen(from, to, 1);
    request
}

#[test]
fn signed_requests_verify() {
    for credentials in [long_term(), temporary()] {
        let request = header_signed(&credentials);
        let verified = verify(&request, &store(), &settings(), t0()).unwrap();
        assert_eq!(verified.access_key_id, credentials.access_key_id);
        assert_eq!(verified.kind, AuthKind::Header);
        assert_eq!(verified.signed_at, t0());
        assert_eq!(verified.expires_at, None);
        assert_eq!(verified.scope, CredentialScope::new(t0(), REGION, SERVICE));

        let request = presigned(&credentials);
        let verified = verify(&request, &store(), &settings(), t0()).unwrap();
        assert_eq!(verified.kind, AuthKind::Presigned);
        assert_eq!(verified.expires_at, Some(t0() + minutes(5)));
        assert_eq!(
            verified.signed_headers,
            ["content-type", "host", "x-custom"]
        );
    }
}

#[test]
fn harmless_changes_still_verify() {
    let signed = header_signed(&temporary());
    let harmless = [
        // Whitespace inside a value folds to one space; names ignore case.
        edit_header(&signed, "x-custom", "  a   b ", "a \t b"),
        {
            let mut r = signed.clone();
            r.headers[0].0 = "HOST".into();
            r
        },
        // Unsigned headers may be added; query order does not matter.
        signed.clone().with_header("User-Agent", "curl/8"),
        edit_path(&signed, "StreamName=cam&b=2", "b=2&StreamName=cam"),
    ];
    for request in harmless {
        assert_eq!(check(&request, t0()), Ok(()), "{request:?}");
    }
}

#[test]
fn every_part_of_a_header_signed_request_is_covered() {
    let signed = header_signed(&temporary());
    let mut body = signed.clone();
    body.body.push(b' ');
    let mut method = signed.clone();
    method.method = "PUT".into();
    let tampered = [
        ("body", body),
        ("method", method),
        ("path", edit_path(&signed, "/getMedia", "/getMediaX")),
        ("query value", edit_path(&signed, "b=2", "b=3")),
        ("query added", edit_path(&signed, "b=2", "b=2&c=1")),
        ("query removed", edit_path(&signed, "&b=2", "")),
        ("host", edit_header(&signed, "host", "4566", "4567")),
        (
            "signed header",
            edit_header(&signed, "content-type", "json", "xml"),
        ),
        (
            "signed header value",
            edit_header(&signed, "x-custom", "a", "A"),
        ),
        (
            "signature",
            edit_header(&signed, "authorization", "Signature=", "Signature=0"),
        ),
    ];
    for (what, mut request) in tampered {
        if what == "signature" {
            // Keep 64 hex digits: drop the last one.
            let auth = request.header_value("authorization").unwrap().to_owned();
            request.set_header("Authorization", &auth[..auth.len() - 1]);
        }
        assert_eq!(
            check(&request, t0()),
            Err(VerifyError::SignatureMismatch),
            "{what}"
        );
    }
}

#[test]
fn every_part_of_a_presigned_request_is_covered() {
    let signed = presigned(&temporary());
    let mut body = signed.clone();
    body.body.clear();
    let tampered = [
        ("body", body),
        ("path", edit_path(&signed, "/getMedia", "/getmedia")),
        (
            "query value",
            edit_path(&signed, "StreamName=cam", "StreamName=cat"),
        ),
        (
            "expiry",
            edit_path(&signed, "X-Amz-Expires=300", "X-Amz-Expires=600"),
        ),
        (
            "host",
            edit_header(&signed, "host", "localhost", "127.0.0.1"),
        ),
        ("signed header", edit_header(&signed, "x-custom", "b", "c")),
    ];
    for (what, request) in tampered {
        assert_eq!(
            check(&request, t0()),
            Err(VerifyError::SignatureMismatch),
            "{what}"
        );
    }
}

#[test]
fn wrong_secret_is_a_signature_mismatch() {
    let impostor = Credentials::new("AKIDLONGTERM", "not the secret");
    assert_eq!(
        check(&header_signed(&impostor), t0()),
        Err(VerifyError::SignatureMismatch)
    );
    assert_eq!(
        check(&presigned(&impostor), t0()),
        Err(VerifyError::SignatureMismatch)
    );
}

#[test]
fn unknown_access_key() {
    let stranger = Credentials::new("AKIDUNKNOWN", SECRET);
    let want = Err(VerifyError::UnknownAccessKey {
        access_key_id: "AKIDUNKNOWN".into(),
    });
    assert_eq!(check(&header_signed(&stranger), t0()), want);
    assert_eq!(check(&presigned(&stranger), t0()), want);
}

#[test]
fn clock_skew_of_fifteen_minutes_is_the_limit() {
    let request = header_signed(&long_term());
    for ok in [
        t0(),
        t0() + minutes(14),
        t0() - minutes(14),
        t0() + minutes(15),
        t0() - minutes(15),
    ] {
        assert_eq!(check(&request, ok), Ok(()));
    }
    for skewed in [t0() + minutes(16), t0() - minutes(16)] {
        assert!(matches!(
            check(&request, skewed),
            Err(VerifyError::ClockSkew {
                max_skew_secs: 900,
                ..
            })
        ));
    }
}

#[test]
fn presigned_urls_expire() {
    let request = presigned(&long_term()); // valid 5 minutes
    assert_eq!(check(&request, t0() + minutes(5)), Ok(()));
    assert_eq!(
        check(&request, t0() + minutes(5) + Duration::from_secs(1)),
        Err(VerifyError::Expired {
            expired_at: "20240301T000430Z".into(),
            server_time: "20240301T000431Z".into(),
        })
    );
    // Dated in the future: tolerated within the clock skew only.
    assert_eq!(check(&request, t0() - minutes(14)), Ok(()));
    assert!(matches!(
        check(&request, t0() - minutes(16)),
        Err(VerifyError::ClockSkew { .. })
    ));
}

#[test]
fn presigned_expiry_is_at_most_seven_days() {
    let week = Duration::from_secs(7 * 24 * 3600);
    let request = presigned_with(&params(&long_term()), week);
    assert_eq!(check(&request, t0() + week), Ok(()));
    assert!(matches!(
        check(&request, t0() + week + Duration::from_secs(1)),
        Err(VerifyError::Expired { .. })
    ));
    for bad in ["604801", "0", "-1", "1e3", "", "99999999999999999999"] {
        let edited = edit_path(
            &request,
            "X-Amz-Expires=604800",
            &format!("X-Amz-Expires={bad}"),
        );
        assert!(
            matches!(check(&edited, t0()), Err(VerifyError::Malformed { .. })),
            "{bad:?}"
        );
    }
    let unsigned = unsigned_request();
    for bad in [week + Duration::from_secs(1), Duration::ZERO] {
        assert!(matches!(
            presign(&unsigned, &params(&long_term()), bad),
            Err(SigningError::InvalidExpiry { .. })
        ));
    }
}

#[test]
fn session_tokens_are_checked() {
    // Header form: token changed, removed, or sent with long-term keys.
    let signed = header_signed(&temporary());
    let wrong = edit_header(&signed, "x-amz-security-token", "SESSION", "SESSiON");
    assert_eq!(check(&wrong, t0()), Err(VerifyError::InvalidSecurityToken));
    let mut missing = signed.clone();
    missing
        .headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case("x-amz-security-token"));
    assert_eq!(
        check(&missing, t0()),
        Err(VerifyError::MissingSecurityToken)
    );
    let extra = header_signed(&long_term()).with_header("X-Amz-Security-Token", TOKEN);
    assert_eq!(check(&extra, t0()), Err(VerifyError::InvalidSecurityToken));

    // Presigned form.
    let signed = presigned(&temporary());
    let wrong = edit_path(&signed, "SESSIONzTOKEN", "SESSIONzTOKEM");
    assert_eq!(check(&wrong, t0()), Err(VerifyError::InvalidSecurityToken));
    let token_param = signed
        .path
        .split('&')
        .find(|p| p.starts_with("X-Amz-Security-Token="))
        .unwrap()
        .to_owned();
    let missing = edit_path(&signed, &format!("&{token_param}"), "");
    assert_eq!(
        check(&missing, t0()),
        Err(VerifyError::MissingSecurityToken)
    );

    // A token added after signing (not signed) is accepted, but still checked.
    let temp = temporary();
    let after = SigningParams {
        settings: SigningSettings {
            sign_session_token: false,
            ..SigningSettings::default()
        },
        ..params(&temp)
    };
    for request in [
        header_signed_with(&after),
        presigned_with(&after, minutes(5)),
    ] {
        assert_eq!(check(&request, t0()), Ok(()));
        let wrong = Request {
            path: request.path.replace("SESSIONzTOKEN", "SESSIONzTOKEM"),
            ..request.clone()
        };
        let wrong = match wrong.header_value("x-amz-security-token") {
            Some(_) => edit_header(&wrong, "x-amz-security-token", "SESSION", "SESSiON"),
            None => wrong,
        };
        assert_eq!(check(&wrong, t0()), Err(VerifyError::InvalidSecurityToken));
    }
}

#[test]
fn credential_scope_must_match() {
    let credentials = long_term();
    let scoped = |region: &'static str, service: &'static str| {
        header_signed_with(&SigningParams::new(&credentials, region, service, t0()))
    };
    assert_eq!(
        check(&scoped("us-east-1", SERVICE), t0()),
        Err(VerifyError::ScopeMismatch {
            part: ScopePart::Region,
            found: "us-east-1".into(),
            expected: REGION.into(),
        })
    );
    assert_eq!(
        check(&scoped(REGION, "s3"), t0()),
        Err(VerifyError::ScopeMismatch {
            part: ScopePart::Service,
            found: "s3".into(),
            expected: SERVICE.into(),
        })
    );
    // X-Amz-Date moved past midnight: the scope still says the 29th.
    let signed = header_signed(&credentials);
    let next_day = edit_header(
        &signed,
        "x-amz-date",
        "20240229T235930Z",
        "20240301T000010Z",
    );
    assert_eq!(
        check(&next_day, t0()),
        Err(VerifyError::ScopeMismatch {
            part: ScopePart::Date,
            found: "20240229".into(),
            expected: "20240301".into(),
        })
    );
    let terminator = edit_header(&signed, "authorization", "aws4_request", "aws4_reqest");
    assert!(matches!(
        check(&terminator, t0()),
        Err(VerifyError::ScopeMismatch {
            part: ScopePart::Terminator,
            ..
        })
    ));
    // Presigned form too.
    let presigned = presigned_with(
        &SigningParams::new(&credentials, "eu-west-1", SERVICE, t0()),
        minutes(5),
    );
    assert!(matches!(
        check(&presigned, t0()),
        Err(VerifyError::ScopeMismatch {
            part: ScopePart::Region,
            ..
        })
    ));
}

#[test]
fn malformed_authentication_is_refused() {
    let signed = header_signed(&long_term());
    let auth = signed.header_value("authorization").unwrap().to_owned();
    let with_auth = |value: &str| {
        let mut r = signed.clone();
        r.set_header("Authorization", value);
        r
    };
    let malformed = |r: &Request| matches!(check(r, t0()), Err(VerifyError::Malformed { .. }));

    for value in [
        String::new(),
        "AWS4-HMAC-SHA256".into(),
        "AWS4-HMAC-SHA256 ".into(),
        "AWS4-HMAC-SHA256 Credential".into(),
        auth.replace(", Signature=", ", Sig="),
        auth.replace(", SignedHeaders=", ", Credential=x, SignedHeaders="),
        format!("{auth}, Signature=00"),
        auth.split(", Signature").next().unwrap().to_owned(),
        auth.replace("Credential=AKIDLONGTERM/", "Credential="),
        auth.replace("/us-west-2/", "/"),
        auth.replace("host;x-amz-date", "x-amz-date;host"),
        auth.replace("host;x-amz-date", "Host;x-amz-date"),
        auth.replace("host;x-amz-date", "host;;x-amz-date"),
        auth.replace("host;x-amz-date", "host;host;x-amz-date"),
        auth.replace("content-type;host", "content-type"), // host must be signed
        {
            let (head, sig) = auth.rsplit_once('=').unwrap();
            format!("{head}={}", sig.to_uppercase())
        },
    ] {
        assert!(malformed(&with_auth(&value)), "{value:?}");
    }
    for value in [
        "Basic dXNlcjpwYXNz",
        &auth.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512"),
    ] {
        assert_eq!(
            check(&with_auth(value), t0()),
            Err(VerifyError::UnsupportedAlgorithm)
        );
    }
    assert_eq!(
        check(
            &with_auth(&auth.replace("x-amz-date", "x-amz-date;x-amz-missing")),
            t0()
        ),
        Err(VerifyError::MissingSignedHeader {
            name: "x-amz-missing".into()
        })
    );

    // Missing or repeated pieces.
    assert_eq!(
        check(&unsigned_request(), t0()),
        Err(VerifyError::MissingAuthentication)
    );
    let mut no_date = signed.clone();
    no_date.headers.retain(|(n, _)| n != "X-Amz-Date");
    assert_eq!(
        check(&no_date, t0()),
        Err(VerifyError::Missing {
            name: "X-Amz-Date header"
        })
    );
    assert!(malformed(&edit_header(
        &signed,
        "x-amz-date",
        "T235930Z",
        "T235930"
    )));
    assert!(malformed(
        &signed.clone().with_header("x-amz-date", "20240229T235930Z")
    ));
    assert!(malformed(
        &signed.clone().with_header("Authorization", &auth)
    ));
    let both = Request {
        path: presigned(&long_term()).path,
        ..signed.clone()
    };
    assert!(malformed(&both));

    // Presigned parameters: missing, repeated, wrong algorithm.
    let url = presigned(&long_term());
    for name in [
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-SignedHeaders",
        "X-Amz-Expires",
        "X-Amz-Signature",
    ] {
        let param = url
            .path
            .split(['?', '&'])
            .find(|p| p.starts_with(&format!("{name}=")))
            .unwrap()
            .to_owned();
        let without = edit_path(&url, &format!("&{param}"), "");
        assert_eq!(check(&without, t0()), Err(VerifyError::Missing { name }));
        let twice = edit_path(&url, &param, &format!("{param}&{param}"));
        assert!(malformed(&twice), "{name} twice");
    }
    let sha512 = edit_path(&url, "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512");
    assert_eq!(check(&sha512, t0()), Err(VerifyError::UnsupportedAlgorithm));
}

#[test]
fn payload_hash_rules() {
    let credentials = long_term();
    // x-amz-content-sha256 must be the body's hash.
    let with_header = SigningParams {
        settings: SigningSettings {
            content_sha256_header: true,
            ..SigningSettings::default()
        },
        ..params(&credentials)
    };
    let signed = header_signed_with(&with_header);
    assert_eq!(check(&signed, t0()), Ok(()));
    let mut other_body = signed.clone();
    other_body.body = b"{}".to_vec();
    assert_eq!(
        check(&other_body, t0()),
        Err(VerifyError::PayloadHashMismatch)
    );

    // UNSIGNED-PAYLOAD only when allowed; the body is then not covered.
    let unsigned = SigningParams {
        settings: SigningSettings {
            content_sha256_header: true,
            payload: PayloadHash::Unsigned,
            ..SigningSettings::default()
        },
        ..params(&credentials)
    };
    let mut request = header_signed_with(&unsigned);
    assert_eq!(
        check(&request, t0()),
        Err(VerifyError::UnsignedPayloadNotAllowed)
    );
    let lenient = VerifySettings {
        allow_unsigned_payload: true,
        ..settings()
    };
    request.body = b"anything".to_vec();
    assert!(verify(&request, &store(), &lenient, t0()).is_ok());

    // botocore-style presigned URLs (UNSIGNED-PAYLOAD) need the same switch.
    let url = presign_url(
        "GET",
        "https://localhost:4566/hls/stream.m3u8?SessionToken=abc",
        &params(&credentials),
        minutes(5),
    )
    .unwrap();
    let target = url.strip_prefix("https://localhost:4566").unwrap();
    let request = Request::new("GET", target).with_header("Host", "localhost:4566");
    assert_eq!(check(&request, t0()), Err(VerifyError::SignatureMismatch));
    assert!(verify(&request, &store(), &lenient, t0()).is_ok());

    // A precomputed hash signs exactly like hashing the body.
    let body = unsigned_request().body;
    let precomputed = SigningParams {
        settings: SigningSettings {
            payload: PayloadHash::Precomputed(
                sign(&unsigned_request(), &params(&credentials))
                    .unwrap()
                    .canonical_request
                    .rsplit('\n')
                    .next()
                    .unwrap()
                    .to_owned(),
            ),
            ..SigningSettings::default()
        },
        ..params(&credentials)
    };
    let mut request = unsigned_request();
    request.body.clear();
    sign(&request, &precomputed).unwrap().apply_to(&mut request);
    request.body = body;
    assert_eq!(check(&request, t0()), Ok(()));
}

#[test]
fn error_codes() {
    let cases = [
        (
            VerifyError::MissingAuthentication,
            "MissingAuthenticationTokenException",
        ),
        (
            VerifyError::Malformed { reason: "x" },
            "IncompleteSignatureException",
        ),
        (
            VerifyError::UnsupportedAlgorithm,
            "IncompleteSignatureException",
        ),
        (
            VerifyError::Missing { name: "x" },
            "IncompleteSignatureException",
        ),
        (
            VerifyError::MissingSignedHeader { name: "x".into() },
            "IncompleteSignatureException",
        ),
        (
            VerifyError::ScopeMismatch {
                part: ScopePart::Region,
                found: "a".into(),
                expected: "b".into(),
            },
            "InvalidSignatureException",
        ),
        (
            VerifyError::ClockSkew {
                request_time: "a".into(),
                server_time: "b".into(),
                max_skew_secs: 900,
            },
            "InvalidSignatureException",
        ),
        (
            VerifyError::Expired {
                expired_at: "a".into(),
                server_time: "b".into(),
            },
            "ExpiredTokenException",
        ),
        (
            VerifyError::UnknownAccessKey {
                access_key_id: "a".into(),
            },
            "UnrecognizedClientException",
        ),
        (
            VerifyError::MissingSecurityToken,
            "UnrecognizedClientException",
        ),
        (
            VerifyError::InvalidSecurityToken,
            "UnrecognizedClientException",
        ),
        (
            VerifyError::PayloadHashMismatch,
            "InvalidSignatureException",
        ),
        (
            VerifyError::UnsignedPayloadNotAllowed,
            "InvalidSignatureException",
        ),
        (VerifyError::SignatureMismatch, "InvalidSignatureException"),
    ];
    for (error, code) in cases {
        assert_eq!(error.aws_error_code(), code, "{error:?}");
    }
}

#[test]
fn cached_signing_keys_are_used_only_when_they_fit() {
    let credentials = temporary();
    let fresh = sign(&unsigned_request(), &params(&credentials)).unwrap();
    let scope = CredentialScope::new(t0(), REGION, SERVICE);
    let yesterday = CredentialScope::new(t0() - minutes(24 * 60), REGION, SERVICE);
    for key in [
        SigningKey::derive(&credentials, &scope),
        SigningKey::derive(&credentials, &yesterday),
        SigningKey::derive(&long_term(), &scope),
    ] {
        let cached = SigningParams {
            signing_key: Some(&key),
            ..params(&credentials)
        };
        assert_eq!(sign(&unsigned_request(), &cached).unwrap(), fresh);
    }
}

#[test]
fn kinesis_video_helper_verifies() {
    let request = sign_kinesis_video_post(
        "https://localhost:443/getDataEndpoint",
        br#"{"StreamName":"cam","APIName":"GET_MEDIA"}"#.to_vec(),
        REGION,
        &temporary(),
        t0(),
    )
    .unwrap();
    assert_eq!(request.header_value("host"), Some("localhost"));
    assert_eq!(
        request.header_value("content-type"),
        Some("application/json")
    );
    assert_eq!(check(&request, t0()), Ok(()));

    for bad in [
        "localhost/x",
        "ftp://h/x",
        "https:///x",
        "https://u@h/x",
        "https://h/a b",
    ] {
        assert!(
            matches!(
                sign_kinesis_video_post(bad, Vec::new(), REGION, &temporary(), t0()),
                Err(SigningError::InvalidUrl { .. })
            ),
            "{bad}"
        );
    }
}

/// One of each `VerifyError` variant, each provoked by a real request signed
/// with the secret key and session token.
fn provoke_every_verify_error() -> Vec<VerifyError> {
    let temp = temporary();
    let signed = header_signed(&temp);
    let url = presigned(&temp);
    let with_auth = |value: String| {
        let mut r = signed.clone();
        r.set_header("Authorization", value);
        r
    };
    let auth = signed.header_value("authorization").unwrap().to_owned();
    let mut no_date = signed.clone();
    no_date.headers.retain(|(n, _)| n != "X-Amz-Date");
    let mut no_token = signed.clone();
    no_token
        .headers
        .retain(|(n, _)| n != "X-Amz-Security-Token");
    let mut body = signed.clone();
    body.body.push(b'!');
    let sha = SigningParams {
        settings: SigningSettings {
            content_sha256_header: true,
            ..SigningSettings::default()
        },
        ..params(&temp)
    };
    let mut sha_mismatch = header_signed_with(&sha);
    sha_mismatch.body.clear();
    let unsigned = SigningParams {
        settings: SigningSettings {
            content_sha256_header: true,
            payload: PayloadHash::Unsigned,
            ..SigningSettings::default()
        },
        ..params(&temp)
    };
    let stranger = Credentials::new("AKIDSTRANGER", SECRET).with_session_token(TOKEN);
    let requests = [
        (unsigned_request(), t0()),
        (with_auth(auth.replace("Signature=", "Sig=")), t0()),
        (with_auth(format!("AWS4-ECDSA-P256-SHA256 {SECRET}")), t0()),
        (no_date, t0()),
        (
            with_auth(auth.replace("x-amz-date", "x-amz-date;x-amz-gone")),
            t0(),
        ),
        (
            header_signed_with(&SigningParams::new(&temp, "us-east-1", SERVICE, t0())),
            t0(),
        ),
        (signed.clone(), t0() + minutes(20)),
        (url.clone(), t0() + minutes(6)),
        (header_signed(&stranger), t0()),
        (no_token, t0()),
        (
            edit_header(&signed, "x-amz-security-token", "SESSION", "SESSiON"),
            t0(),
        ),
        (sha_mismatch, t0()),
        (header_signed_with(&unsigned), t0()),
        (body, t0()),
    ];
    requests
        .iter()
        .map(|(request, now)| check(request, *now).unwrap_err())
        .collect()
}

fn variant_name<T: std::fmt::Debug>(value: &T) -> String {
    let debug = format!("{value:?}");
    debug
        .split([' ', '{', '('])
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn assert_no_secret(what: &str, text: &str) {
    assert!(
        !text.contains(SECRET_MARK) && !text.contains(TOKEN_MARK),
        "{what} leaks a secret: {text}"
    );
}

#[test]
fn no_output_shows_a_secret() {
    // Every VerifyError variant, from real requests.
    let errors = provoke_every_verify_error();
    let mut names: Vec<String> = errors.iter().map(variant_name).collect();
    names.sort();
    names.dedup();
    assert_eq!(
        names.len(),
        14,
        "one of each of the 14 VerifyError variants: {names:?}"
    );
    for error in &errors {
        assert_no_secret("VerifyError Debug", &format!("{error:?}"));
        assert_no_secret("VerifyError Display", &error.to_string());
    }

    // Every SigningError variant, with session credentials in play.
    let temp = temporary();
    let signing_errors = [
        presign(&unsigned_request(), &params(&temp), Duration::ZERO).unwrap_err(),
        presign_url(
            "GET",
            &format!("gopher://{SECRET}"),
            &params(&temp),
            minutes(1),
        )
        .unwrap_err(),
        sign(
            &unsigned_request(),
            &SigningParams::new(&temp, "bad/region", SERVICE, t0()),
        )
        .unwrap_err(),
    ];
    let mut names: Vec<String> = signing_errors.iter().map(variant_name).collect();
    names.dedup();
    assert_eq!(names.len(), 3, "{names:?}");
    for error in &signing_errors {
        assert_no_secret("SigningError Debug", &format!("{error:?}"));
        assert_no_secret("SigningError Display", &error.to_string());
    }

    // Credentials and everything that holds or carries them.
    assert_no_secret("Credentials Debug", &format!("{temp:?}"));
    assert_no_secret("Credentials Display", &format!("{temp}"));
    assert_no_secret("SigningParams Debug", &format!("{:?}", params(&temp)));
    let key = SigningKey::derive(&temp, &CredentialScope::new(t0(), REGION, SERVICE));
    assert_no_secret("SigningKey Debug", &format!("{key:?}"));
    let header_out = sign(&unsigned_request(), &params(&temp)).unwrap();
    assert!(header_out.canonical_request.contains(TOKEN_MARK)); // it is signed...
    assert_no_secret("SigningOutput Debug", &format!("{header_out:?}")); // ...but not shown
    let query_out = presign(&unsigned_request(), &params(&temp), minutes(1)).unwrap();
    assert!(query_out.path.contains(TOKEN_MARK));
    assert_no_secret("PresignOutput Debug", &format!("{query_out:?}"));
    for request in [header_signed(&temp), presigned(&temp)] {
        assert_no_secret("Request Debug", &format!("{request:?}"));
        let verified = verify(&request, &store(), &settings(), t0()).unwrap();
        assert_no_secret("Verified Debug", &format!("{verified:?}"));
    }
}

/// Stored credentials past their expiry refuse the requests they signed
/// with `ExpiredTokenException` (from the instant of expiry on); before
/// it, the same request verifies. The message names when, never a secret.
#[test]
fn expired_stored_credentials_are_refused() {
    let expiring = temporary().with_expiry(t0() + Duration::from_secs(30));
    let request = header_signed(&expiring);
    let store = HashMap::from([(expiring.access_key_id.clone(), expiring.clone())]);
    let at = |secs| {
        verify(
            &request,
            &store,
            &settings(),
            t0() + Duration::from_secs(secs),
        )
    };
    assert!(at(29).is_ok());
    for secs in [30, 31, 600] {
        let err = at(secs).unwrap_err();
        assert_eq!(
            err,
            VerifyError::ExpiredCredentials {
                expired_at: "20240301T000000Z".into()
            }
        );
        assert_eq!(err.aws_error_code(), "ExpiredTokenException");
        let shown = format!("{err} {err:?}");
        assert!(
            !shown.contains(SECRET_MARK) && !shown.contains(TOKEN_MARK),
            "{shown}"
        );
    }
    // A wrong token is still an unrecognized client, expired or not.
    let other_token = edit_header(&request, "x-amz-security-token", "SESSION", "OTHER");
    let err = verify(&other_token, &store, &settings(), t0() + minutes(1)).unwrap_err();
    assert_eq!(err, VerifyError::InvalidSecurityToken);
    // Debug shows the expiry, not the secrets.
    let shown = format!("{expiring:?}");
    assert!(shown.contains("20240301T000000Z"), "{shown}");
    assert!(
        !shown.contains(SECRET_MARK) && !shown.contains(TOKEN_MARK),
        "{shown}"
    );
}
