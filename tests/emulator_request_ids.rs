//! Request ids: unique per request, across emulators and runs, unless a
//! seed asks for a repeatable sequence.
#![cfg(feature = "emulator")]

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

/// The first request id of a `kvs-mkv serve` run with `args`.
fn first_id_of_a_run(args: &[&str]) -> String {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kvs-mkv"))
        .args(["serve", "--listen", "127.0.0.1:0", "--stream"])
        .arg(format!(
            "cam={}/testdata/sample.mkv",
            env!("CARGO_MANIFEST_DIR")
        ))
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "AKIDCLI")
        .env("AWS_SECRET_ACCESS_KEY", "cli-secret")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_REGION", "us-west-2")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let client = Client {
        url: line.trim().to_string(),
        credentials: kvs_mkv::sigv4::Credentials::new("AKIDCLI", "cli-secret"),
        region: "us-west-2".into(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let reply = runtime.block_on(client.call("/listFragments", json!({"StreamName": "cam"})));
    let _ = child.kill();
    let _ = child.wait();
    reply.header("x-amzn-requestid").unwrap().to_string()
}

#[test]
fn serve_runs_differ_unless_seeded() {
    let a = first_id_of_a_run(&[]);
    let b = first_id_of_a_run(&[]);
    assert_ne!(a, b, "two runs gave the same first request id");
    let seeded = first_id_of_a_run(&["--seed", "7"]);
    assert_eq!(seeded, first_id_of_a_run(&["--seed", "7"]));
}
