//! The real binary finds credentials as the AWS CLI does (feature
//! `aws-config`, on by default): here through the container-credentials
//! endpoint of ECS and EKS (`AWS_CONTAINER_CREDENTIALS_FULL_URI`), the one
//! source the child's environment offers, against an emulator that accepts
//! only the keys that endpoint hands out. Without any source, it says so and
//! exits 2.

#![cfg(feature = "aws-config")]

#[path = "../../tests/rotation_support/mod.rs"]
mod rotation_support;

use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use rotation_support::{Rig, AUTH_TOKEN};

/// `kvs-mkv list-fragments` against the rig's emulator, with an environment
/// holding nothing but `extra` (no keys, no profile files, no IMDS).
async fn list_fragments(rig: &Rig, home: &Path, extra: &[(&str, &str)]) -> Output {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kvs-mkv"));
    child
        .args(["list-fragments", "--stream", "cam", "--endpoint-url"])
        .arg(rig.emulator.url())
        .env_clear()
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", rig.emulator.region())
        .envs(extra.iter().copied())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    tokio::time::timeout(Duration::from_secs(120), child.output())
        .await
        .expect("hang guard")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_takes_keys_from_the_container_endpoint() {
    let rig = Rig::start().await;
    let home = std::env::temp_dir().join(format!("kvs-mkv-cli-credentials-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();

    let url = rig.endpoint.url.clone();
    let out = list_fragments(
        &rig,
        &home,
        &[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", url.as_str()),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", AUTH_TOKEN),
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    // The listing names fragments of the live stream, read with the keys
    // the endpoint issued (the emulator knows no others).
    assert!(stdout.lines().count() >= 2, "{stdout}");
    assert!(rig.endpoint.issued.load(Ordering::SeqCst) >= 1);

    // No source at all: a clear error, exit 2, before any request.
    let out = list_fragments(&rig, &home, &[]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.to_lowercase().contains("credentials"), "{stderr}");
    let _ = std::fs::remove_dir_all(&home);
}
