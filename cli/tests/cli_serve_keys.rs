//! `kvs-mkv serve --credentials-file FILE`, the real binary (issue G): keys
//! from the file, not the environment; the file read again when it
//! changes; a bad file refused with its line and without its secrets.

#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../../tests/emulator_support/mod.rs"]
mod emulator_support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use emulator_support::Client;
use kvs_mkv::sigv4::Credentials;
use serde_json::json;

fn endpoint_body() -> serde_json::Value {
    json!({"StreamName": "cam", "APIName": "GET_MEDIA"})
}

/// A directory of its own under the system's temporary directory.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "kvs-mkv-emulator-keys-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes the key file whole: elsewhere, then renamed over it.
fn write_keys(path: &Path, text: &str) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs()
}

struct Serve {
    child: Child,
    url: String,
    stderr: PathBuf,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `kvs-mkv serve --credentials-file FILE`, with keys in the environment
/// that must not be accepted.
fn serve(keys: &Path, dir: &Path) -> Serve {
    let stderr = dir.join("serve.err");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kvs-mkv"))
        .args(["serve", "--listen", "127.0.0.1:0", "--idle-timeout", "0.1"])
        .arg("--stream")
        .arg(format!(
            "cam={}",
            common::root().join("testdata/sample.mkv").display()
        ))
        .arg("--credentials-file")
        .arg(keys)
        .env("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
        .env("AWS_SECRET_ACCESS_KEY", "env-secret")
        .env("AWS_REGION", "us-west-2")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");
    Serve { child, url, stderr }
}

fn client_for(url: &str, c: Credentials) -> Client {
    Client {
        url: url.to_string(),
        credentials: c,
        region: "us-west-2".into(),
    }
}

/// The real binary: keys from the file (not from the environment); the
/// file rewritten while it runs takes effect at the next request; an
/// expired line gets ExpiredTokenException; a bad rewrite keeps the keys
/// read before and says so on stderr (line number, no secret).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_reads_the_credentials_file_again_when_it_changes() {
    let dir = scratch("serve");
    let keys = dir.join("keys");
    let now = SystemTime::now();
    write_keys(
        &keys,
        &format!(
            "# first set\nAKIDFILEONE file-one-secret\n\nASIAFILETWO file-two-secret file-two-token {}\n",
            epoch(now) + 600
        ),
    );
    let server = serve(&keys, &dir);
    let one = Credentials::new("AKIDFILEONE", "file-one-secret");
    let two =
        Credentials::new("ASIAFILETWO", "file-two-secret").with_session_token("file-two-token");
    let three = Credentials::new("ASIAFILETHREE", "file-three-secret");
    let status = |c: &Credentials| {
        let client = client_for(&server.url, c.clone());
        async move { client.call("/getDataEndpoint", endpoint_body()).await }
    };
    assert_eq!(status(&one).await.status, 200);
    assert_eq!(status(&two).await.status, 200);
    status(&Credentials::new("AKIDFROMENV", "env-secret"))
        .await
        .assert_error(403, "UnrecognizedClientException");

    // Rotated: ONE gone, TWO expired, THREE new (no token, with "-").
    write_keys(
        &keys,
        &format!(
            "ASIAFILETWO file-two-secret file-two-token {}\nASIAFILETHREE file-three-secret - {}\n",
            epoch(now) - 1,
            epoch(now) + 600
        ),
    );
    status(&one)
        .await
        .assert_error(403, "UnrecognizedClientException");
    status(&two)
        .await
        .assert_error(403, "ExpiredTokenException");
    assert_eq!(status(&three).await.status, 200);

    // A bad rewrite: the keys read before stay.
    write_keys(&keys, "ASIAFILEFOUR file-four-secret\nASIAHALF\n");
    assert_eq!(status(&three).await.status, 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    let err = loop {
        let err = std::fs::read_to_string(&server.stderr).unwrap();
        if err.contains("line 2") || Instant::now() > deadline {
            break err;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        err.contains("credentials file") && err.contains("line 2"),
        "{err}"
    );
    assert!(!err.contains("file-four-secret"), "{err}");
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A file that cannot be read or has a bad line at start is exit 2 naming
/// the file (and the line); the key options conflict with the file.
#[test]
fn serve_refuses_a_bad_credentials_file() {
    let dir = scratch("bad");
    let keys = dir.join("keys");
    std::fs::write(&keys, "AKIDOK ok-secret\nAKID bad-secret tok notanumber\n").unwrap();
    let sample = format!(
        "cam={}",
        common::root().join("testdata/sample.mkv").display()
    );
    let run = |extra: &[&str], file: &Path| {
        Command::new(env!("CARGO_BIN_EXE_kvs-mkv"))
            .args(["serve", "--stream", &sample, "--credentials-file"])
            .arg(file)
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let bad = run(&[], &keys);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("line 2") && err.contains("keys"), "{err}");
    assert!(!err.contains("bad-secret"), "{err}");
    let missing = run(&[], &dir.join("nonexistent"));
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nonexistent"));
    let both = run(&["--access-key-id", "AKID"], &keys);
    assert_eq!(both.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&both.stderr).contains("cannot be used with"),
        "{}",
        String::from_utf8_lossy(&both.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
