//! A forwarding HTTP proxy for tests, on loopback: it logs what it is
//! asked (absolute-form requests, `CONNECT` lines, `Proxy-Authorization`)
//! and forwards everything to a port on 127.0.0.1. Used by the library's
//! proxy tests and the CLI's.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy was asked: the request line and the headers (names in
/// lower case) of each request or `CONNECT`.
#[derive(Debug, Clone)]
pub struct Asked {
    pub line: String,
    pub headers: Vec<(String, String)>,
}

impl Asked {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A forwarding HTTP proxy on 127.0.0.1: absolute-form requests and
/// `CONNECT` tunnels, to `127.0.0.1:PORT` for any `NAME.test:PORT`, or to
/// `tunnel_to` for a `CONNECT` to any other host.
pub struct TestProxy {
    pub url: String,
    asked: Arc<Mutex<Vec<Asked>>>,
    connections: Arc<Mutex<usize>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestProxy {
    pub async fn start(tunnel_to: Option<SocketAddr>) -> TestProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let asked = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let (a, c) = (asked.clone(), connections.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                *c.lock().unwrap() += 1;
                tokio::spawn(serve(socket, a.clone(), tunnel_to));
            }
        });
        TestProxy {
            url,
            asked,
            connections,
            task,
        }
    }

    pub fn asked(&self) -> Vec<Asked> {
        self.asked.lock().unwrap().clone()
    }

    pub fn connections(&self) -> usize {
        *self.connections.lock().unwrap()
    }
}

/// Reads one request head (at most 64 KiB): the head's text, and the bytes
/// read past it.
async fn read_head(socket: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut data = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = data.split_off(i + 4);
            return Some((String::from_utf8_lossy(&data).into_owned(), rest));
        }
        if data.len() > 64 * 1024 {
            return None;
        }
        let n = socket.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&tmp[..n]);
    }
}

fn parse(head: &str) -> Asked {
    let mut lines = head.split("\r\n");
    let line = lines.next().unwrap_or("").to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    Asked { line, headers }
}

/// Where `host:port` is reached: any `*.test` host at 127.0.0.1:port.
fn route(authority: &str, tunnel_to: Option<SocketAddr>) -> Option<SocketAddr> {
    let (host, port) = authority.rsplit_once(':')?;
    if host.ends_with(".test") {
        return Some(SocketAddr::from(([127, 0, 0, 1], port.parse().ok()?)));
    }
    tunnel_to
}

async fn serve(
    mut client: TcpStream,
    asked: Arc<Mutex<Vec<Asked>>>,
    tunnel_to: Option<SocketAddr>,
) {
    let Some((head, rest)) = read_head(&mut client).await else {
        return;
    };
    let first = parse(&head);
    asked.lock().unwrap().push(first.clone());
    let mut parts = first.line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method == "CONNECT" {
        let Some(to) = route(target, tunnel_to) else {
            let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
            return;
        };
        let Ok(mut upstream) = TcpStream::connect(to).await else {
            return;
        };
        let _ = client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await;
        let _ = upstream.write_all(&rest).await;
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        return;
    }
    // Absolute-form: `POST http://host:port/path HTTP/1.1`.
    let authority = target
        .strip_prefix("http://")
        .and_then(|t| t.split('/').next())
        .unwrap_or("");
    let Some(to) = route(authority, None) else {
        let _ = client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            .await;
        return;
    };
    let Ok(upstream) = TcpStream::connect(to).await else {
        return;
    };
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_upstream, mut to_upstream) = upstream.into_split();
    // Answers go back as they come; requests are read one by one to log
    // each (hyper accepts absolute-form targets: they are passed on as
    // they are).
    let answers = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut from_upstream, &mut to_client).await;
    });
    let mut head = head;
    let mut rest = rest;
    loop {
        let asked_now = parse(&head);
        let len: usize = asked_now
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = rest;
        while body.len() < len {
            let mut tmp = vec![0u8; len - body.len()];
            match from_client.read(&mut tmp).await {
                Ok(0) | Err(_) => return,
                Ok(n) => body.extend_from_slice(&tmp[..n]),
            }
        }
        let extra = body.split_off(len);
        if to_upstream.write_all(head.as_bytes()).await.is_err()
            || to_upstream.write_all(&body).await.is_err()
        {
            break;
        }
        // The next request on this connection.
        let mut data = extra;
        let mut tmp = [0u8; 4096];
        let next = loop {
            if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                let r = data.split_off(i + 4);
                break Some((String::from_utf8_lossy(&data).into_owned(), r));
            }
            match from_client.read(&mut tmp).await {
                Ok(0) | Err(_) => break None,
                Ok(n) => data.extend_from_slice(&tmp[..n]),
            }
        };
        let Some((h, r)) = next else { break };
        asked.lock().unwrap().push(parse(&h));
        head = h;
        rest = r;
    }
    let _ = to_upstream.shutdown().await;
    let _ = answers.await;
}
