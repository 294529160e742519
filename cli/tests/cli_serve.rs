//! `kvs-mkv serve`, the real binary: it prints its URL first, serves what
//! the library's emulator serves, gives each run its own request ids unless
//! seeded, and its connection-limit flags take effect.

#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../../tests/emulator_support/mod.rs"]
mod emulator_support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use emulator_support::{
    addr_of, assert_get_media_chunks, closed_by_server, earliest, get_media, raw_request,
    read_response, small_window, Client, HANG_GUARD as GUARD,
};
use kvs_mkv::sigv4::Credentials;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

fn sample() -> PathBuf {
    common::root().join("testdata/sample.mkv")
}

#[tokio::test]
async fn the_serve_command_prints_its_url_first() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kvs-mkv"))
        .args(["serve", "--listen", "127.0.0.1:0", "--idle-timeout", "0.1"])
        .arg("--stream")
        .arg(format!("cam={}", sample().display()))
        .env("AWS_ACCESS_KEY_ID", "AKIDCLI")
        .env("AWS_SECRET_ACCESS_KEY", "cli-secret")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_REGION", "eu-central-1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");
    assert!(!url.ends_with(":0"));
    let client = Client {
        url: url.clone(),
        credentials: Credentials::new("AKIDCLI", "cli-secret"),
        region: "eu-central-1".into(),
    };
    let reply = client
        .call(
            "/getMedia",
            get_media("cam", json!({"StartSelectorType": "EARLIEST"})),
        )
        .await;
    assert_eq!(reply.status, 200);
    let chunks = reply.chunks();
    assert_eq!(chunks.len(), 3);
    assert_get_media_chunks(&chunks);
    let _ = child.kill();
    let _ = child.wait();

    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_kvs-mkv"))
        .args(["serve", "--stream", "cam=/nonexistent.mkv"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("/nonexistent.mkv"));
}

/// The first request id of a `kvs-mkv serve` run with `args`.
fn first_id_of_a_run(args: &[&str]) -> String {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kvs-mkv"))
        .args(["serve", "--listen", "127.0.0.1:0", "--stream"])
        .arg(format!("cam={}", sample().display()))
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

/// A running `kvs-mkv serve`, killed when dropped.
struct Served(std::process::Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `kvs-mkv serve` with `args`, and a client for it.
fn serve(args: &[&str]) -> (Served, Client) {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kvs-mkv"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--calls-per-second",
            "0",
        ])
        .arg("--stream")
        .arg(format!("cam={}", sample().display()))
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
    (Served(child), client)
}

/// The serve flags: `--write-stall-timeout` frees the session of an unread
/// GetMedia, `--max-connections` closes one connection too many,
/// `--header-read-timeout` closes a silent connection and
/// `--keep-alive-timeout` an idle one; 0 turns a timeout off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_serve_flags_set_the_connection_limits() {
    let (served, client) = serve(&[
        "--live",
        "--speed",
        "100000",
        "--max-get-media-sessions",
        "1",
        "--write-stall-timeout",
        "1",
    ]);
    let mut unread = small_window(addr_of(&client)).await;
    unread
        .write_all(&raw_request(&client, "/getMedia", &earliest()))
        .await
        .unwrap();
    let mut head = [0u8; 12];
    let n = tokio::time::timeout(GUARD, unread.peek(&mut head))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&head[..n], b"HTTP/1.1 200");
    let deadline = Instant::now() + GUARD;
    loop {
        let (status, _, body) = client.open("/getMedia", earliest()).await;
        drop(body);
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "--write-stall-timeout had no effect"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(served);

    // Two silent connections stay open (no header or idle timeout); a third
    // is closed at once.
    let (served, client) = serve(&[
        "--max-connections",
        "2",
        "--header-read-timeout",
        "0",
        "--keep-alive-timeout",
        "0",
    ]);
    let addr = addr_of(&client);
    let mut silent = Vec::new();
    for _ in 0..2 {
        silent.push(TcpStream::connect(addr).await.unwrap());
    }
    let deadline = Instant::now() + GUARD;
    loop {
        let mut extra = TcpStream::connect(addr).await.unwrap();
        if closed_by_server(&mut extra, Duration::from_millis(500)).await {
            break;
        }
        assert!(Instant::now() < deadline, "--max-connections had no effect");
    }
    assert!(!closed_by_server(&mut silent[0], Duration::from_millis(300)).await);
    drop(served);

    let (served, client) = serve(&["--header-read-timeout", "0.5"]);
    let mut silent = TcpStream::connect(addr_of(&client)).await.unwrap();
    assert!(
        closed_by_server(&mut silent, GUARD).await,
        "--header-read-timeout had no effect"
    );
    drop(served);

    let (_served, client) = serve(&[
        "--keep-alive-timeout",
        "0.5",
        "--header-read-timeout",
        "3600",
    ]);
    let mut socket = TcpStream::connect(addr_of(&client)).await.unwrap();
    let body = json!({"StreamName": "cam", "APIName": "GET_MEDIA"});
    socket
        .write_all(&raw_request(&client, "/getDataEndpoint", &body))
        .await
        .unwrap();
    assert_eq!(read_response(&mut socket).await.0, 200);
    assert!(
        closed_by_server(&mut socket, GUARD).await,
        "--keep-alive-timeout had no effect"
    );
}
