//! A tiny scripted HTTP/1.1 server on 127.0.0.1 port 0, for tests that
//! point the client at a hostile service: each test says, request by
//! request, what to answer (status, headers, a body as pieces with pauses,
//! endless bodies, broken chunked encoding, silence), and reads back every
//! request it received. It does not check signatures. Every answer closes
//! its connection (`Connection: close`), so one connection is one call.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kvs_mkv::client::{Client, ClientConfig, StreamId};
use kvs_mkv::sigv4::Credentials;
use kvs_mkv::writer::{ChunkModel, ChunkWriter, Layout};
use kvs_mkv::Frame;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Request {
    /// 0 for the first request the server received, and so on.
    pub index: usize,
    /// The server's own URL (`http://127.0.0.1:PORT`), for answers that
    /// point back at it (GetDataEndpoint).
    pub server: String,
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON request body")
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A piece of a body.
#[derive(Debug, Clone)]
pub enum Piece {
    /// These bytes.
    Data(Vec<u8>),
    /// A pause.
    Wait(Duration),
    /// These bytes again and again, with this pause between, until the
    /// client goes away.
    Forever(Vec<u8>, Duration),
    /// Each byte alone, with this pause after each.
    Drip(Vec<u8>, Duration),
    /// Close the connection here (in a chunked body: without the last
    /// chunk).
    Close,
}

/// How the body is framed.
#[derive(Debug, Clone)]
pub enum Body {
    /// `Content-Length` of these bytes.
    Full(Vec<u8>),
    /// `Content-Length: N` (true or not), then the pieces.
    Declared(u64, Vec<Piece>),
    /// `Transfer-Encoding: chunked`, one chunk per write, the last chunk
    /// after the pieces (unless a `Close` came first).
    Chunked(Vec<Piece>),
    /// The pieces as they are after the head: the test writes its own
    /// framing (headers say so), e.g. broken chunked encoding.
    Raw(Vec<Piece>),
}

/// What to do with a request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Answer: status, extra headers, body.
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: Body,
    },
    /// Never answer; hold the connection until the client goes away.
    Silence,
}

impl Reply {
    /// 200 with this JSON text.
    pub fn json(text: impl Into<String>) -> Reply {
        Reply::with(200, Body::Full(text.into().into_bytes()))
    }

    /// A status with a body.
    pub fn with(status: u16, body: Body) -> Reply {
        Reply::Answer {
            status,
            headers: Vec::new(),
            body,
        }
    }

    /// An error status with the service's error type header and JSON body.
    pub fn error(status: u16, error_type: &str) -> Reply {
        Reply::Answer {
            status,
            headers: vec![("x-amzn-ErrorType".into(), error_type.into())],
            body: Body::Full(format!(r#"{{"message":"{error_type}"}}"#).into_bytes()),
        }
    }

    /// GetDataEndpoint's answer pointing back at this server.
    pub fn endpoint_of(req: &Request) -> Reply {
        Reply::json(format!(r#"{{"DataEndpoint":"{}"}}"#, req.server))
    }

    /// A header added to an answer.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Answer { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

type Script = dyn Fn(&Request) -> Reply + Send + Sync;

struct State {
    url: String,
    script: Box<Script>,
    requests: Mutex<Vec<Request>>,
    connections: AtomicUsize,
    /// Accept connections and never read or write (a TLS handshake that
    /// stalls).
    mute: bool,
}

/// The running server; stops when dropped.
pub struct Server {
    pub url: String,
    pub addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// A server answering each request as `script` says.
    pub async fn start(script: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Server {
        Server::spawn(Box::new(script), false).await
    }

    /// A listener that accepts TCP connections and then never reads or
    /// writes a byte.
    pub async fn mute() -> Server {
        Server::spawn(Box::new(|_: &Request| Reply::Silence), true).await
    }

    async fn spawn(script: Box<Script>, mute: bool) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let url = format!("http://{addr}");
        let state = Arc::new(State {
            url: url.clone(),
            script,
            requests: Mutex::new(Vec::new()),
            connections: AtomicUsize::new(0),
            mute,
        });
        let s = state.clone();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                s.connections.fetch_add(1, Ordering::SeqCst);
                if s.mute {
                    held.push(socket);
                    continue;
                }
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = serve(socket, s).await;
                });
            }
        });
        Server {
            url,
            addr,
            state,
            task,
        }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.state.requests.lock().unwrap().clone()
    }

    /// How many requests went to `path`.
    pub fn count(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path == path).count()
    }

    /// How many requests in all.
    pub fn total(&self) -> usize {
        self.state.requests.lock().unwrap().len()
    }

    /// TCP connections accepted.
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }
}

async fn serve(mut socket: TcpStream, state: Arc<State>) -> std::io::Result<()> {
    let Some(mut request) = read_request(&mut socket).await? else {
        return Ok(());
    };
    let reply = {
        let mut requests = state.requests.lock().unwrap();
        request.index = requests.len();
        request.server = state.url.clone();
        requests.push(request.clone());
        drop(requests);
        (state.script)(&request)
    };
    let (status, headers, body) = match reply {
        Reply::Silence => {
            // Hold the connection until the client closes it.
            let mut sink = [0u8; 1024];
            while socket.read(&mut sink).await? > 0 {}
            return Ok(());
        }
        Reply::Answer {
            status,
            headers,
            body,
        } => (status, headers, body),
    };
    let mut head = format!("HTTP/1.1 {status} Hostile\r\nConnection: close\r\n");
    let mut has_type = false;
    for (n, v) in &headers {
        has_type |= n.eq_ignore_ascii_case("content-type");
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    if !has_type {
        head.push_str("Content-Type: application/json\r\n");
    }
    let (pieces, chunked) = match body {
        Body::Full(bytes) => {
            head.push_str(&format!("Content-Length: {}\r\n", bytes.len()));
            (vec![Piece::Data(bytes)], false)
        }
        Body::Declared(n, pieces) => {
            head.push_str(&format!("Content-Length: {n}\r\n"));
            (pieces, false)
        }
        Body::Chunked(pieces) => {
            head.push_str("Transfer-Encoding: chunked\r\n");
            (pieces, true)
        }
        Body::Raw(pieces) => (pieces, false),
    };
    head.push_str("\r\n");
    socket.write_all(head.as_bytes()).await?;
    let write = |data: Vec<u8>| {
        if chunked {
            let mut framed = format!("{:x}\r\n", data.len()).into_bytes();
            framed.extend_from_slice(&data);
            framed.extend_from_slice(b"\r\n");
            framed
        } else {
            data
        }
    };
    for piece in pieces {
        match piece {
            Piece::Data(d) => {
                if !d.is_empty() {
                    socket.write_all(&write(d)).await?;
                }
            }
            Piece::Wait(t) => tokio::time::sleep(t).await,
            Piece::Forever(d, pause) => loop {
                socket.write_all(&write(d.clone())).await?;
                if !pause.is_zero() {
                    tokio::time::sleep(pause).await;
                }
            },
            Piece::Drip(d, pause) => {
                for b in d {
                    socket.write_all(&write(vec![b])).await?;
                    socket.flush().await?;
                    tokio::time::sleep(pause).await;
                }
            }
            Piece::Close => {
                socket.shutdown().await?;
                return Ok(());
            }
        }
    }
    if chunked {
        socket.write_all(b"0\r\n\r\n").await?;
    }
    socket.shutdown().await
}

/// Reads one request (head of at most 64 KiB, body by Content-Length).
async fn read_request(socket: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut data = Vec::new();
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if data.len() > 64 * 1024 {
            return Ok(None);
        }
        let n = socket.read(&mut tmp).await?;
        if n == 0 {
            return Ok(None);
        }
        data.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_string();
    let path = first.next().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while data.len() < head_end + len {
        let n = socket.read(&mut tmp).await?;
        if n == 0 {
            return Ok(None);
        }
        data.extend_from_slice(&tmp[..n]);
    }
    Ok(Some(Request {
        index: 0,
        server: String::new(),
        method,
        path,
        headers,
        body: data[head_end..head_end + len].to_vec(),
    }))
}

/// The secret the tests' clients sign with: it must appear in no error.
pub const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// A configuration against `url` with quick retries (2 ms backoff base,
/// 20 ms ceiling) and no rate limit to wait for.
pub fn config(url: &str) -> ClientConfig {
    let mut c = ClientConfig::new("us-west-2", Credentials::new("AKIDEXAMPLE", SECRET))
        .with_endpoint_url(url);
    c.calls_per_second = 1000;
    c.retry.base_delay = Duration::from_millis(2);
    c.retry.max_delay = Duration::from_millis(20);
    c
}

/// A client of [`config`].
pub fn client(url: &str) -> Client {
    Client::new(config(url)).unwrap()
}

/// The stream every test reads.
pub fn stream() -> StreamId {
    StreamId::Name("cam".into())
}

/// One GetMedia-shaped chunk (service layout) with this fragment number,
/// this continuation token (if any) and `frames` small frames.
pub fn chunk(number: &str, token: Option<&str>, frames: usize) -> Vec<u8> {
    // The library's tests and the CLI's (cli/) both use this module.
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = match manifest.join("testdata").is_dir() {
        true => manifest,
        false => manifest.parent().unwrap(),
    };
    let sample = std::fs::read(root.join("testdata/sample.mkv")).unwrap();
    let first = kvs_mkv::io::read_chunks(&sample[..])
        .next()
        .unwrap()
        .unwrap();
    let mut m = ChunkModel::default();
    m.tracks = first.info().tracks.clone();
    m.aws.fragment_number = Some(number.parse().unwrap());
    m.aws.continuation_token = token.map(|t| t.to_string().into());
    for k in 0..frames {
        let data = bytes::Bytes::from(format!("frag{number}-frame{k}-{}", "x".repeat(40)));
        m.frames
            .push(Frame::new(data, 1, (k * 33) as i64, 1_000_000, k == 0));
    }
    ChunkWriter::new(Layout::Service)
        .to_bytes(&m)
        .unwrap()
        .to_vec()
}

/// Runs `f` with a hang guard: a test that would hang fails instead.
pub async fn guarded<T>(secs: u64, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .unwrap_or_else(|_| panic!("still running after {secs} s (hang guard)"))
}
