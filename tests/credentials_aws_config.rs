//! The rotation rig of `credentials_rotation.rs` through the AWS SDK's own
//! default chain (feature `aws-config`, `ClientConfig::from_aws_config`):
//! the container-credentials endpoint is found as on ECS and EKS, through
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI` and
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN`. The environment is set only for a
//! child process (this test binary again, running the one ignored test
//! `child_tails_through_the_sdk_chain`), never in this process: the child
//! has nothing else (no keys, no profile files, no IMDS), so the chain can
//! only find the endpoint.

mod rotation_support;

use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use kvs_mkv::client::ClientConfig;
use kvs_mkv::sigv4::Credentials;
use rotation_support::{check_once_in_order, client, listing, tail, Rig, AUTH_TOKEN, FRAGMENTS};

const CHILD: &str = "child_tails_through_the_sdk_chain";
const RESULT: &str = "ROTATION-RESULT ";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_across_rotations_through_the_aws_sdk_chain() {
    let rig = Rig::start().await;
    let home = std::env::temp_dir().join(format!("kvs-mkv-aws-config-home-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "--exact",
            CHILD,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_clear()
        .env("HOME", &home)
        .env("AWS_CONFIG_FILE", home.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", rig.emulator.region())
        .env("AWS_CONTAINER_CREDENTIALS_FULL_URI", &rig.endpoint.url)
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", AUTH_TOKEN)
        .env("KVS_MKV_EMULATOR_URL", rig.emulator.url())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(300), child.output())
        .await
        .expect("hang guard")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    let line = stdout
        .lines()
        // libtest writes the test's name on the same line first.
        .find_map(|l| l.split_once(RESULT).map(|(_, r)| r))
        .unwrap_or_else(|| panic!("no result line:\n{stdout}\n{stderr}"));
    let result: serde_json::Value = serde_json::from_str(line).unwrap();
    let numbers: Vec<String> = result["numbers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    let reconnects = result["reconnects"].as_u64().unwrap();
    let refreshes = result["refreshes"].as_u64().unwrap();
    let issued = rig.endpoint.issued.load(Ordering::SeqCst);
    eprintln!(
        "rotation (aws-config): {} fragments, {reconnects} reconnects, {issued} keys issued, \
         {refreshes} refreshes, forced {}, failed reconnects {}",
        numbers.len(),
        result["forced"],
        result["failed_reconnects"]
    );
    assert_eq!(numbers.len() as u64, FRAGMENTS);
    assert!(reconnects >= 3, "{result}");
    assert_eq!(
        result["failed_reconnects"],
        serde_json::json!([]),
        "{result}"
    );
    assert!(issued >= 4, "{issued} keys issued");
    assert_eq!(
        refreshes, issued,
        "every key fetched through the SDK's chain by our cache"
    );
    assert_eq!(
        rig.endpoint.refused.load(Ordering::SeqCst),
        0,
        "the token was sent"
    );

    // The listing, signed with a key of the parent's own (not from the
    // endpoint; it expires too).
    let lister = Credentials::new("ASIALISTING", "listing-secret")
        .with_session_token("listing-token")
        .with_expiry(SystemTime::now() + Duration::from_secs(600));
    rig.keys.insert(lister.clone());
    let listed = listing(&client(
        &rig,
        ClientConfig::new(rig.emulator.region(), lister),
    ))
    .await;
    check_once_in_order(&numbers, &listed);
    rig.emulator.shutdown().await;
    let _ = std::fs::remove_dir_all(&home);
}

/// Run by the test above in a child process, with the environment of a
/// container; does nothing otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by tail_across_rotations_through_the_aws_sdk_chain in a child process"]
async fn child_tails_through_the_sdk_chain() {
    let Ok(url) = std::env::var("KVS_MKV_EMULATOR_URL") else {
        eprintln!(
            "skipped: runs only as the child of tail_across_rotations_through_the_aws_sdk_chain"
        );
        return;
    };
    let config = ClientConfig::from_aws_config(None, None)
        .await
        .unwrap()
        .with_endpoint_url(url);
    assert_eq!(config.region, "us-west-2");
    let client = kvs_mkv::client::Client::new(config).unwrap();
    let got = tail(&client).await;
    let stats = client.credentials().stats();
    let result = serde_json::json!({
        "numbers": got.numbers,
        "reconnects": got.reconnects,
        "failed_reconnects": got.failed_reconnects,
        "refreshes": stats.refreshes,
        "failures": stats.failures,
        "forced": stats.forced,
    });
    println!("{RESULT}{result}");
}
