//! Running the real `kvs-mkv` binary: a `serve` child process, and a tiny
//! hostile HTTP server. (The independent readers, ffprobe and mkvinfo, are
//! in tests/common/oracle.rs, shared with the library's tests.)
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The key pair the tests give `kvs-mkv serve` and the client commands.
pub const KEY_ID: &str = "AKIDLOCAL";
pub const SECRET: &str = "local-secret";
pub const REGION: &str = "us-west-2";

/// A hang guard, never the thing a test asserts.
pub const HANG_GUARD: Duration = Duration::from_secs(120);

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kvs-mkv"))
}

/// `kvs-mkv` with the test key pair and region in its environment, and no
/// other AWS setting that could leak in from the machine.
pub fn aws_bin() -> Command {
    let mut c = bin();
    c.env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_REGION", REGION)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_DEFAULT_REGION")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
        .env("AWS_CONFIG_FILE", "/nonexistent/config")
        // The AWS SDK's chain would try the instance's metadata service
        // last; a test never should.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        // The log lines a run shows are its flags' doing.
        .env_remove("RUST_LOG");
    c
}

pub fn testdata_path(name: &str) -> String {
    crate::common::root()
        .join("testdata")
        .join(name)
        .display()
        .to_string()
}

/// Runs a command to its end (with a hang guard), stdin closed.
pub fn run(cmd: &mut Command) -> Output {
    run_within(cmd, HANG_GUARD)
}

/// [`run`], killing the command (and failing) after `limit`: for a child
/// that, were it to read without bound, must not eat the machine's memory
/// for the whole of the hang guard.
pub fn run_within(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    wait_output_within(child, limit)
}

/// Waits for a child's output, killing it (and failing) after the hang guard.
pub fn wait_output(child: Child) -> Output {
    wait_output_within(child, HANG_GUARD)
}

/// [`wait_output`], killing the child (and failing) after `limit`.
pub fn wait_output_within(child: Child, limit: Duration) -> Output {
    let id = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            signal(id, "KILL");
            panic!("process {id} hung (killed after {limit:?})");
        }
    }
}

/// Sends a signal with kill(1): no libc or nix dependency for the tests.
pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("kill(1) runs");
    assert!(status.success(), "kill -{name} {pid}");
}

/// `kvs-mkv serve` as a child process, stopped (SIGTERM, then waited for)
/// when dropped. Its URL is the first line of its standard output.
pub struct Serve {
    pub child: Child,
    pub url: String,
    stderr: Option<std::thread::JoinHandle<String>>,
    stderr_so_far: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Serve {
    /// Starts `kvs-mkv serve --listen 127.0.0.1:0 ARGS...` with the test key
    /// pair (unless `args` say otherwise).
    pub fn start(args: &[&str]) -> Serve {
        Serve::start_with(
            aws_bin().arg("serve").args(["--listen", "127.0.0.1:0"]),
            args,
        )
    }

    /// Starts a prepared `serve` command with more arguments.
    pub fn start_with(cmd: &mut Command, args: &[&str]) -> Serve {
        let mut child = cmd
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kvs-mkv serve starts");
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let so_far = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let shared = so_far.clone();
        let stderr = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut s = shared.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
            shared.lock().unwrap().clone()
        });
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(HANG_GUARD).unwrap_or_default();
        let url = line.trim().to_string();
        if !url.starts_with("http://") {
            let _ = child.kill();
            let _ = child.wait();
            let err = stderr.join().unwrap_or_default();
            panic!("kvs-mkv serve {args:?} printed {line:?}, not a URL; stderr: {err}");
        }
        Serve {
            child,
            url,
            stderr: Some(stderr),
            stderr_so_far: so_far,
        }
    }

    /// The server's stderr up to the line that contains `needle` (waiting
    /// for it, with the hang guard).
    pub fn stderr_until(&self, needle: &str) -> String {
        let started = std::time::Instant::now();
        loop {
            let s = self.stderr_so_far.lock().unwrap().clone();
            if s.contains(needle) {
                return s;
            }
            assert!(
                started.elapsed() < HANG_GUARD,
                "no {needle:?} in serve's stderr: {s}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A client command against this server: `kvs-mkv CMD ARGS --stream cam
    /// --endpoint-url URL` with the test credentials.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = aws_bin();
        c.args(args).args(["--endpoint-url", &self.url]);
        c
    }

    /// Stops the server (SIGTERM) and returns its exit status and stderr.
    pub fn stop(mut self) -> (Option<i32>, String) {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> (Option<i32>, String) {
        let Some(stderr) = self.stderr.take() else {
            return (None, String::new());
        };
        if let Ok(None) = self.child.try_wait() {
            signal(self.child.id(), "TERM");
        }
        let status = self.child.wait().ok().and_then(|s| s.code());
        (status, stderr.join().unwrap_or_default())
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// One HTTP/1.1 request as the hostile server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    pub headers: String,
    pub body: Vec<u8>,
}

/// One answer: status, extra headers, body.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(status: u16, body: &str) -> Answer {
        Answer {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        }
    }
}

/// A tiny HTTP/1.1 server on 127.0.0.1, port 0, answering every request
/// with `answer` (one request per connection, `connection: close`). It
/// answers GetDataEndpoint with its own URL unless `answer` says otherwise.
/// Runs until the test process ends.
pub fn hostile_server(answer: impl Fn(&Request) -> Option<Answer> + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let own = url.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
            let Some(req) = read_request(&mut conn) else {
                continue;
            };
            let reply = answer(&req).unwrap_or_else(|| {
                if req.path == "/getDataEndpoint" {
                    Answer::json(200, &format!(r#"{{"DataEndpoint":"{own}"}}"#))
                } else {
                    Answer::json(404, r#"{"Message":"not here"}"#)
                }
            });
            let mut head = format!(
                "HTTP/1.1 {} X\r\ncontent-length: {}\r\nconnection: close\r\nx-amzn-RequestId: hostile-1\r\n",
                reply.status,
                reply.body.len()
            );
            for (k, v) in &reply.headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let _ = conn.write_all(head.as_bytes());
            let _ = conn.write_all(&reply.body);
            let _ = conn.flush();
        }
    });
    url
}

fn read_request(conn: &mut TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(conn.try_clone().ok()?);
    let mut first = String::new();
    reader.read_line(&mut first).ok()?;
    let path = first.split_whitespace().nth(1)?.to_string();
    let mut headers = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().ok()?;
            }
        }
        headers.push_str(&line);
    }
    let mut body = vec![0; length.min(1 << 20)];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        path,
        headers,
        body,
    })
}

#[allow(unused_imports)]
pub use crate::common::oracle::{ffprobe_packet_count, mkvinfo, mkvinfo_frames};
#[allow(unused_imports)]
pub use crate::common::{scratch_dir, text};
