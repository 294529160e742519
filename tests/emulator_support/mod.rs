//! A tiny signed client for the emulator tests: hyper's HTTP/1.1 client and
//! the crate's own SigV4 signer, one connection per call.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::HeaderMap;
use hyper_util::rt::TokioIo;
use kvs_mkv::emulator::EmulatorHandle;
use kvs_mkv::sigv4::{self, Credentials};
use kvs_mkv::{Chunk, ChunkDecoder, DecodeErrorKind};
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio_util::codec::Decoder;

/// `../shared/corpus/kvs-recordings/<name>`, or `None` (after printing
/// "skipped: ...") when ../shared is missing; under `CI=true` a missing file
/// is a failure.
pub fn recording(name: &str) -> Option<PathBuf> {
    crate::common::shared(&format!("corpus/kvs-recordings/{name}"))
}

/// A whole answer. `broken` is set when the body ended in an error (a cut).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub broken: Option<String>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `x-amzn-ErrorType`.
    pub fn error_type(&self) -> Option<&str> {
        self.header("x-amzn-errortype")
    }

    /// Asserts an error answer: status, code, and the JSON message.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.error_type()),
            (status, Some(code)),
            "{:?}",
            String::from_utf8_lossy(&self.body)
        );
        let json = self.json();
        let message = json
            .get("Message")
            .or_else(|| json.get("message"))
            .and_then(Value::as_str);
        assert!(message.is_some_and(|m| !m.is_empty()), "{json}");
        assert!(self.header("x-amzn-requestid").is_some());
    }

    /// The body decoded as chunks.
    pub fn chunks(&self) -> Vec<Chunk> {
        decode(&self.body)
    }
}

/// Decodes a media body; the last chunk may be incomplete (a cut body ends
/// with a `Truncated` error, which is expected). Panics on any other
/// decoding error.
pub fn decode(body: &[u8]) -> Vec<Chunk> {
    let mut decoder = ChunkDecoder::default();
    let mut buf = BytesMut::from(body);
    let mut out = Vec::new();
    loop {
        match decoder.decode_eof(&mut buf) {
            Ok(Some(chunk)) => out.push(chunk),
            Ok(None) => break,
            Err(kvs_mkv::Error::Decode(e))
                if matches!(e.kind, DecodeErrorKind::Truncated { .. }) =>
            {
                assert!(
                    out.last().is_some_and(|c| !c.is_complete()),
                    "truncated, but the last chunk is complete"
                );
            }
            Err(e) => panic!("decoding error: {e}"),
        }
    }
    out
}

/// Signs and sends requests to one emulator.
#[derive(Clone, Debug)]
pub struct Client {
    pub url: String,
    pub credentials: Credentials,
    pub region: String,
}

impl Client {
    pub fn new(handle: &EmulatorHandle) -> Client {
        Client {
            url: handle.url().to_string(),
            credentials: handle.credentials().clone(),
            region: handle.region().to_string(),
        }
    }

    pub fn with_credentials(&self, credentials: Credentials) -> Client {
        Client {
            credentials,
            ..self.clone()
        }
    }

    pub fn with_region(&self, region: &str) -> Client {
        Client {
            region: region.to_string(),
            ..self.clone()
        }
    }

    /// A signed POST of `body` to `path`, as the AWS SDKs send it.
    pub fn signed(&self, path: &str, body: &Value) -> sigv4::Request {
        sigv4::sign_kinesis_video_post(
            &format!("{}{path}", self.url),
            serde_json::to_vec(body).unwrap(),
            &self.region,
            &self.credentials,
            SystemTime::now(),
        )
        .unwrap()
    }

    /// Calls an operation and reads the whole answer.
    pub async fn call(&self, path: &str, body: Value) -> Reply {
        self.send(self.signed(path, &body)).await
    }

    /// Sends a request as it is and reads the whole answer.
    pub async fn send(&self, request: sigv4::Request) -> Reply {
        let (status, headers, mut body) = self.open_request(request).await;
        let mut data = Vec::new();
        let mut broken = None;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(frame) => {
                    if let Some(d) = frame.data_ref() {
                        data.extend_from_slice(d);
                    }
                }
                Err(e) => {
                    broken = Some(e.to_string());
                    break;
                }
            }
        }
        Reply {
            status,
            headers,
            body: data,
            broken,
        }
    }

    /// Calls an operation and hands back the body unread.
    pub async fn open(&self, path: &str, body: Value) -> (u16, HeaderMap, Incoming) {
        self.open_request(self.signed(path, &body)).await
    }

    async fn open_request(&self, request: sigv4::Request) -> (u16, HeaderMap, Incoming) {
        let host = self.url.trim_start_matches("http://");
        let stream = TcpStream::connect(host).await.expect("connect");
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut builder = hyper::Request::builder()
            .method(request.method.as_str())
            .uri(request.path.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let request = builder.body(Full::new(Bytes::from(request.body))).unwrap();
        let response = sender.send_request(request).await.expect("response");
        let (parts, body) = response.into_parts();
        (parts.status.as_u16(), parts.headers, body)
    }
}

// ------------------------------------------------ raw sockets (timeouts)

/// The longest a raw-socket helper waits: a hang guard.
pub const HANG_GUARD: Duration = Duration::from_secs(60);

pub fn earliest() -> Value {
    json!({"StreamName": "cam", "StartSelector": {"StartSelectorType": "EARLIEST"}})
}

/// A signed request as the bytes of an HTTP/1.1 request.
pub fn raw_request(client: &Client, path: &str, body: &Value) -> Vec<u8> {
    let request = client.signed(path, body);
    let mut out = format!("{} {} HTTP/1.1\r\n", request.method, request.path);
    for (name, value) in &request.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!("content-length: {}\r\n\r\n", request.body.len()));
    let mut out = out.into_bytes();
    out.extend_from_slice(&request.body);
    out
}

/// Reads until the server closes the connection (end of file or reset);
/// `false` if it is still open when the guard runs out.
pub async fn closed_by_server(socket: &mut TcpStream, guard: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let until = tokio::time::Instant::now() + guard;
    loop {
        match tokio::time::timeout_at(until, socket.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// Reads one response with a Content-Length body: its status and body.
pub async fn read_response(socket: &mut TcpStream) -> (u16, Vec<u8>) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
                let status: u16 = head[9..12].parse().unwrap();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map(|v| v.trim().parse().unwrap())
                    .expect("a content-length");
                if data.len() >= end + 4 + len {
                    return (status, data[end + 4..end + 4 + len].to_vec());
                }
            }
            let n = socket.read(&mut buf).await.expect("read");
            assert!(n > 0, "closed before a whole response");
            data.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(HANG_GUARD, read)
        .await
        .expect("a response")
}

/// A connection whose receive buffer is small, so that a response nobody
/// reads fills it soon.
pub async fn small_window(addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(addr).await.unwrap()
}

pub fn addr_of(client: &Client) -> SocketAddr {
    client.url.trim_start_matches("http://").parse().unwrap()
}

// ------------------------------------------------ GetMedia

/// A GetMedia request body.
pub fn get_media(stream: &str, selector: Value) -> Value {
    json!({ "StreamName": stream, "StartSelector": selector })
}

/// Every chunk of a GetMedia body: complete, with fresh trailing tags, the
/// continuation token (= the fragment number) last.
pub fn assert_get_media_chunks(chunks: &[Chunk]) {
    for chunk in chunks {
        assert!(chunk.is_complete());
        let info = chunk.info();
        let number = chunk.fragment_number().unwrap().to_string();
        assert_eq!(chunk.continuation_token(), Some(number.as_str()));
        assert!(info.millis_behind_now().is_some());
        let last = info.tags.last().unwrap();
        assert_eq!(last.name, kvs_mkv::kvs::names::CONTINUATION_TOKEN);
        assert_eq!(last.position, kvs_mkv::TagPosition::AfterCluster);
        let trailing = info
            .tags
            .iter()
            .filter(|t| t.name == kvs_mkv::kvs::names::CONTINUATION_TOKEN)
            .count();
        assert_eq!(trailing, 1, "old trailing tags were replaced");
    }
}
