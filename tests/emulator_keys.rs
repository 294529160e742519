//! The emulator's changing, expiring key set (issue G): keys added while it
//! runs, expired keys answered with 403 `ExpiredTokenException`, unknown
//! ones with 403 `UnrecognizedClientException`; and `kvs-mkv serve
//! --credentials-file`, read again when the file changes.

mod emulator_support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use emulator_support::Client;
use kvs_mkv::emulator::{Emulator, KeyStore, Options};
use kvs_mkv::sigv4::Credentials;
use serde_json::json;

fn endpoint_body() -> serde_json::Value {
    json!({"StreamName": "cam", "APIName": "GET_MEDIA"})
}

fn temporary(id: &str, expires_at: SystemTime) -> Credentials {
    Credentials::new(id, format!("{id}-secret"))
        .with_session_token(format!("{id}-token"))
        .with_expiry(expires_at)
}

/// Keys inserted into a shared store while the emulator runs are accepted
/// from then on; a key past its expiry gets 403 ExpiredTokenException (with
/// the front end's lower-case `message`), an unknown one 403
/// UnrecognizedClientException, a removed one too.
#[tokio::test]
async fn keys_change_while_the_emulator_runs() {
    let keys = KeyStore::new();
    let emulator = Emulator::builder()
        .stream("cam", Path::new("testdata/sample.mkv"))
        .key_store(keys.clone())
        .options(Options::default())
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let client = Client::new(&emulator);
    let now = SystemTime::now();
    let fresh = temporary("ASIAFRESH", now + Duration::from_secs(600));
    let expired = temporary("ASIAEXPIRED", now - Duration::from_secs(1));
    let signed_with = |c: &Credentials| client.with_credentials(c.clone());

    // Nothing accepted yet, not even the default pair.
    signed_with(&fresh)
        .call("/getDataEndpoint", endpoint_body())
        .await
        .assert_error(403, "UnrecognizedClientException");
    client
        .call("/getDataEndpoint", endpoint_body())
        .await
        .assert_error(403, "UnrecognizedClientException");

    keys.insert(fresh.clone());
    emulator.add_credentials(expired.clone());
    assert_eq!(
        emulator.keys().access_key_ids(),
        ["ASIAEXPIRED", "ASIAFRESH"]
    );
    let ok = signed_with(&fresh)
        .call("/getDataEndpoint", endpoint_body())
        .await;
    assert_eq!(ok.status, 200, "{:?}", ok.json());
    let reply = signed_with(&expired)
        .call("/getDataEndpoint", endpoint_body())
        .await;
    reply.assert_error(403, "ExpiredTokenException");
    let message = reply.json()["message"].as_str().unwrap().to_string();
    assert!(message.contains("expired"), "{message}");
    assert!(
        !message.contains("secret") && !message.contains("token-"),
        "{message}"
    );
    // The expired key with a wrong token is not recognized at all.
    let mut wrong_token = expired.clone();
    wrong_token.session_token = Some("another-token".into());
    signed_with(&wrong_token)
        .call("/getDataEndpoint", endpoint_body())
        .await
        .assert_error(403, "UnrecognizedClientException");

    keys.remove("ASIAFRESH");
    signed_with(&fresh)
        .call("/getDataEndpoint", endpoint_body())
        .await
        .assert_error(403, "UnrecognizedClientException");
    emulator.shutdown().await;
}

/// A key given to `credentials` with an expiry is accepted until then
/// (here: already past, so refused as expired), and `credentials` plus
/// `key_store` accept both.
#[tokio::test]
async fn builder_credentials_and_a_store_together() {
    let keys = KeyStore::with_keys([Credentials::new("AKIDSTORE", "store-secret")]);
    let emulator = Emulator::builder()
        .stream("cam", Path::new("testdata/sample.mkv"))
        .credentials(Credentials::new("AKIDBUILDER", "builder-secret"))
        .key_store(keys)
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let client = Client::new(&emulator);
    assert_eq!(client.credentials.access_key_id, "AKIDBUILDER");
    for c in [
        Credentials::new("AKIDBUILDER", "builder-secret"),
        Credentials::new("AKIDSTORE", "store-secret"),
    ] {
        let reply = client
            .with_credentials(c)
            .call("/getDataEndpoint", endpoint_body())
            .await;
        assert_eq!(reply.status, 200);
    }
    emulator.shutdown().await;

    let past = SystemTime::now() - Duration::from_secs(5);
    let emulator = Emulator::builder()
        .stream("cam", Path::new("testdata/sample.mkv"))
        .credentials(temporary("ASIAPAST", past))
        .start("127.0.0.1:0")
        .await
        .unwrap();
    Client::new(&emulator)
        .call("/getDataEndpoint", endpoint_body())
        .await
        .assert_error(403, "ExpiredTokenException");
    emulator.shutdown().await;
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
            "cam={}/testdata/sample.mkv",
            env!("CARGO_MANIFEST_DIR")
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
    let sample = format!("cam={}/testdata/sample.mkv", env!("CARGO_MANIFEST_DIR"));
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
