//! The request builders checked against the service models in
//! `../shared/api`: every member the client writes exists in the operation's
//! input shape, required members are there, enum values and length/range
//! limits hold, and the client's own limits are the models'.

use std::path::PathBuf;

use serde_json::{json, Map, Value};

use super::archive::{FRAGMENTS, IMAGES, MAX_FRAGMENTS_PER_CALL};
use super::model::*;
use super::{data_endpoint_body, Api};
use crate::Timestamp;

fn model(service: &str) -> Option<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/api")
        .join(service)
        .join("2017-09-30/service-2.json");
    match std::fs::read(&path) {
        Ok(b) => Some(serde_json::from_slice(&b).unwrap()),
        Err(_) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but {} is missing", path.display())
        }
        Err(_) => {
            eprintln!("skipped: {} not found", path.display());
            None
        }
    }
}

/// Checks `value` against shape `name` of `m`, recursively.
fn check(m: &Value, name: &str, value: &Value, at: &str) {
    let shape = &m["shapes"][name];
    let num = |k: &str| shape.get(k).and_then(Value::as_f64);
    match shape["type"].as_str().unwrap() {
        "structure" => {
            let obj = value
                .as_object()
                .unwrap_or_else(|| panic!("{at}: {name} must be an object"));
            for req in shape
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                assert!(
                    obj.contains_key(req.as_str().unwrap()),
                    "{at}: required member {req} missing"
                );
            }
            for (k, v) in obj {
                let member = shape["members"]
                    .get(k)
                    .unwrap_or_else(|| panic!("{at}: {name} has no member {k}"));
                assert!(
                    member.get("location").is_none(),
                    "{at}.{k} belongs in a header, not the body"
                );
                check(
                    m,
                    member["shape"].as_str().unwrap(),
                    v,
                    &format!("{at}.{k}"),
                );
            }
        }
        "string" => {
            let s = value
                .as_str()
                .unwrap_or_else(|| panic!("{at}: must be a string"));
            if let Some(values) = shape.get("enum").and_then(Value::as_array) {
                assert!(
                    values.iter().any(|e| e == s),
                    "{at}: {s:?} is not one of {values:?}"
                );
            }
            let len = s.chars().count() as f64;
            assert!(
                num("min").is_none_or(|n| len >= n) && num("max").is_none_or(|n| len <= n),
                "{at}: length {len}"
            );
        }
        "list" => {
            let items = value
                .as_array()
                .unwrap_or_else(|| panic!("{at}: must be a list"));
            let len = items.len() as f64;
            assert!(
                num("min").is_none_or(|n| len >= n) && num("max").is_none_or(|n| len <= n),
                "{at}: {len} items"
            );
            let member = shape["member"]["shape"].as_str().unwrap();
            for (i, v) in items.iter().enumerate() {
                check(m, member, v, &format!("{at}[{i}]"));
            }
        }
        "map" => {
            let obj = value
                .as_object()
                .unwrap_or_else(|| panic!("{at}: must be a map"));
            let len = obj.len() as f64;
            assert!(
                num("min").is_none_or(|n| len >= n) && num("max").is_none_or(|n| len <= n),
                "{at}: {len} entries"
            );
            for (k, v) in obj {
                check(
                    m,
                    shape["key"]["shape"].as_str().unwrap(),
                    &json!(k),
                    &format!("{at} key"),
                );
                check(
                    m,
                    shape["value"]["shape"].as_str().unwrap(),
                    v,
                    &format!("{at}.{k}"),
                );
            }
        }
        "long" | "integer" => {
            let n = value
                .as_f64()
                .filter(|_| value.is_i64() || value.is_u64())
                .unwrap_or_else(|| panic!("{at}: must be an integer"));
            assert!(
                num("min").is_none_or(|x| n >= x) && num("max").is_none_or(|x| n <= x),
                "{at}: {n} out of range"
            );
        }
        "timestamp" => assert!(
            value.is_number(),
            "{at}: timestamps are epoch-second numbers"
        ),
        other => panic!("{at}: unexpected shape type {other}"),
    }
}

fn check_op(m: &Value, op: &str, body: &Value) {
    let input = m["operations"][op]["input"]["shape"].as_str().unwrap();
    check(m, input, body, op);
}

fn with_stream(mut body: Map<String, Value>, stream: &StreamId) -> Value {
    let (k, v) = stream.member();
    body.insert(k.into(), v.into());
    Value::Object(body)
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn streams() -> [StreamId; 2] {
    [
        StreamId::Name("front-door_1.cam".into()),
        StreamId::Arn(
            "arn:aws:kinesisvideo:us-west-2:123456789012:stream/cam/1234567890123".into(),
        ),
    ]
}

#[test]
fn get_data_endpoint_bodies() {
    let Some(m) = model("kinesisvideo") else {
        return;
    };
    assert_eq!(
        m["operations"]["GetDataEndpoint"]["http"]["requestUri"],
        "/getDataEndpoint"
    );
    for s in streams() {
        for api in [
            Api::GetMedia,
            Api::ListFragments,
            Api::GetMediaForFragmentList,
            Api::GetImages,
        ] {
            check_op(&m, "GetDataEndpoint", &data_endpoint_body(&s, api));
        }
    }
}

#[test]
fn get_media_bodies() {
    let Some(m) = model("kinesis-video-media") else {
        return;
    };
    assert_eq!(
        m["operations"]["GetMedia"]["http"]["requestUri"],
        "/getMedia"
    );
    let selectors = [
        StartSelector::Now,
        StartSelector::Earliest,
        StartSelector::FragmentNumber(
            "91343852333181432392682062607743920146159169392"
                .parse()
                .unwrap(),
        ),
        StartSelector::ServerTimestamp(ts("1511852109.126")),
        StartSelector::ProducerTimestamp(ts("0.5")),
        StartSelector::ContinuationToken("91343852333181432392682062607743920146159169392".into()),
    ];
    let types: Vec<&str> = selectors.iter().map(|_| "").collect();
    assert_eq!(
        types.len(),
        m["shapes"]["StartSelectorType"]["enum"]
            .as_array()
            .unwrap()
            .len(),
        "all six selector types"
    );
    for s in streams() {
        for sel in &selectors {
            let mut body = Map::new();
            body.insert("StartSelector".into(), sel.to_json().unwrap());
            check_op(&m, "GetMedia", &with_stream(body, &s));
        }
    }
}

#[test]
fn archived_media_bodies_and_limits() {
    let Some(m) = model("kinesis-video-archived-media") else {
        return;
    };
    for (op, api) in [
        ("ListFragments", Api::ListFragments),
        ("GetMediaForFragmentList", Api::GetMediaForFragmentList),
        ("GetImages", Api::GetImages),
    ] {
        assert_eq!(m["operations"][op]["http"]["requestUri"], api.path());
    }
    let max = |shape: &str| m["shapes"][shape]["max"].as_u64().unwrap();
    assert_eq!(FRAGMENTS.max_page, max("ListFragmentsMaxResults"));
    assert_eq!(IMAGES.max_page, max("GetImagesMaxResults"));
    assert_eq!(MAX_FRAGMENTS_PER_CALL as u64, max("FragmentNumberList"));
    assert_eq!(3840, max("WidthPixels"));
    assert_eq!(2160, max("HeightPixels"));

    for s in streams() {
        // ListFragments with and without a selector, at the page-size limit.
        let sel = FragmentSelector {
            kind: TimestampKind::Producer,
            start: ts("1"),
            end: ts("2.5"),
        };
        let mut body = Map::new();
        body.insert("FragmentSelector".into(), sel.to_json().unwrap());
        body.insert("MaxResults".into(), FRAGMENTS.max_page.into());
        body.insert("NextToken".into(), "c29tZQ==".into());
        check_op(&m, "ListFragments", &with_stream(body, &s));
        check_op(&m, "ListFragments", &with_stream(Map::new(), &s));

        // GetMediaForFragmentList with the most fragments a call takes.
        let mut body = Map::new();
        body.insert(
            "Fragments".into(),
            json!(vec!["12345"; MAX_FRAGMENTS_PER_CALL]),
        );
        check_op(&m, "GetMediaForFragmentList", &with_stream(body, &s));

        // GetImages in every format, with sizes at the limits.
        for format in [
            ImageFormat::Png,
            ImageFormat::Jpeg { quality: None },
            ImageFormat::Jpeg { quality: Some(100) },
        ] {
            let mut r = GetImagesRequest::new(TimestampKind::Server, ts("10"), ts("20"), 3000);
            r.format = format;
            r.width = Some(3840);
            r.height = Some(2160);
            let mut body = r.to_json().unwrap();
            body.insert("MaxResults".into(), IMAGES.max_page.into());
            check_op(&m, "GetImages", &with_stream(body, &s));
        }
    }
}

/// The response parsers read the models' output members.
#[test]
fn response_members() {
    let Some(m) = model("kinesis-video-archived-media") else {
        return;
    };
    let members = |shape: &str| -> Vec<String> {
        m["shapes"][shape]["members"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    assert_eq!(
        members("Fragment"),
        [
            "FragmentNumber",
            "FragmentSizeInBytes",
            "ProducerTimestamp",
            "ServerTimestamp",
            "FragmentLengthInMilliseconds"
        ]
    );
    assert_eq!(members("Image"), ["TimeStamp", "Error", "ImageContent"]);
    assert_eq!(
        m["shapes"]["ImageError"]["enum"],
        json!(["NO_MEDIA", "MEDIA_ERROR"])
    );
    let f = Fragment::from_json(&json!({
        "FragmentNumber": "1", "FragmentSizeInBytes": 10, "ProducerTimestamp": 1.5,
        "ServerTimestamp": 2.25, "FragmentLengthInMilliseconds": 2000
    }))
    .unwrap();
    assert_eq!((f.size_bytes, f.length_ms), (Some(10), Some(2000)));
    assert_eq!(f.server_timestamp.unwrap().as_millis(), 2250);
    let i = Image::from_json(&json!({"TimeStamp": 3.0, "ImageContent": "aGk="}), 6 << 20).unwrap();
    assert_eq!(&i.content.unwrap()[..], b"hi");
    let i = Image::from_json(&json!({"TimeStamp": 3.0, "Error": "NO_MEDIA"}), 6 << 20).unwrap();
    assert_eq!(i.content, Err(ImageError::NoMedia));
}
