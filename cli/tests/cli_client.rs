//! The command line end to end against the in-process emulator:
//! get-media saved as one MKV, list-fragments sorted by fragment number.

#[path = "../../tests/client_support/mod.rs"]
mod client_support;
#[path = "../../tests/common/mod.rs"]
mod common;

use client_support::{emulator, numbers, recording, SECRET};
use kvs_mkv::emulator::Options;

/// The CLI end to end: get-media through the emulator, saved as one MKV.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_get_media_and_list_fragments() {
    let (body, expected) = recording(4);
    let e = emulator(body, Options::default()).await;
    let out = std::env::temp_dir().join(format!("kvs-mkv-cli-{}.mkv", std::process::id()));
    let run = |args: Vec<String>| {
        let url = e.url().to_string();
        async move {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_kvs-mkv"))
                .args(args)
                .args([
                    "--stream",
                    "cam",
                    "--region",
                    "us-west-2",
                    "--endpoint-url",
                    &url,
                ])
                .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
                .env("AWS_SECRET_ACCESS_KEY", SECRET)
                .env_remove("AWS_SESSION_TOKEN")
                .env_remove("AWS_PROFILE")
                .output()
                .await
                .unwrap()
        }
    };
    let got = run(vec![
        "get-media".into(),
        "--start".into(),
        "earliest".into(),
        "--json".into(),
        "--save".into(),
        out.display().to_string(),
    ])
    .await;
    assert_eq!(
        got.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(got.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let fragments: Vec<String> = lines
        .iter()
        .map(|l| l["fragment_number"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fragments, numbers(&expected));
    let merged = kvs_mkv::io::read_chunks(std::fs::File::open(&out).unwrap())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    assert_eq!(merged.iter().map(|c| c.frames().len()).sum::<usize>(), 12);
    let _ = std::fs::remove_file(&out);

    let listed = run(vec!["list-fragments".into(), "--json".into()]).await;
    assert_eq!(listed.status.code(), Some(0));
    let numbers_listed: Vec<String> = String::from_utf8(listed.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["FragmentNumber"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        numbers_listed,
        numbers(&expected),
        "sorted by fragment number"
    );
    e.shutdown().await;
}
