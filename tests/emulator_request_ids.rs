//! Request ids: unique per request, across emulators and runs, unless a
//! seed asks for a repeatable sequence.

mod common;
mod emulator_support;

use std::collections::BTreeSet;
use std::path::Path;

use emulator_support::Client;
use kvs_mkv::emulator::{Emulator, Options};
use serde_json::json;

/// The request ids of `n` calls to a fresh emulator.
async fn ids(seed: Option<u64>, n: usize) -> Vec<String> {
    let mut options = Options::default();
    options.seed = seed;
    let emulator = Emulator::builder()
        .stream("cam", Path::new("testdata/sample.mkv"))
        .options(options)
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let client = Client::new(&emulator);
    let mut out = Vec::new();
    for _ in 0..n {
        let reply = client
            .call("/listFragments", json!({"StreamName": "cam"}))
            .await;
        out.push(reply.header("x-amzn-requestid").unwrap().to_string());
    }
    emulator.shutdown().await;
    out
}

fn is_uuid(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[tokio::test]
async fn two_emulators_give_different_request_ids() {
    let a = ids(None, 5).await;
    let b = ids(None, 5).await;
    assert!(a.iter().chain(&b).all(|id| is_uuid(id)), "{a:?} {b:?}");
    let all: BTreeSet<&String> = a.iter().chain(&b).collect();
    assert_eq!(all.len(), 10, "every request its own id: {a:?} {b:?}");
}

#[tokio::test]
async fn a_seed_makes_request_ids_repeatable() {
    let a = ids(Some(7), 5).await;
    assert_eq!(a, ids(Some(7), 5).await);
    assert_eq!(a.iter().collect::<BTreeSet<_>>().len(), 5);
    assert_ne!(a, ids(Some(8), 5).await);
}
