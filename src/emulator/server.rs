//! The HTTP/1.1 server: connections, the signature check, routing, and the
//! headers every response carries. The only module that knows hyper: the
//! operations answer plain values ([`Reply`]) and the media bodies are
//! channels, which this module turns into responses and bodies.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::conn::{Activity, Busy, Socket, Timeouts};
use super::media::{BodyError, BodyWriter, ChannelBody, FlushSignal};
use super::ops::{self, Reply};
use super::state::State;
use super::wire::{ApiError, Input, Operation};
use crate::sigv4;

/// A response of any of the operations.
type Response = hyper::Response<BoxBody<Bytes, BodyError>>;

/// The largest request body read (GetMediaForFragmentList with 1000
/// fragment numbers is about 130 KB).
const MAX_REQUEST_BODY: usize = 1 << 20;

/// How long a shutdown waits for open connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The request id header, on every response.
const X_AMZN_REQUEST_ID: &str = "x-amzn-requestid";
/// The error code header, on every error.
const X_AMZN_ERROR_TYPE: &str = "x-amzn-errortype";

/// Accepts connections until shutdown, then lets open connections finish
/// (media bodies end at once) for a few seconds. Beyond
/// [`Options::max_connections`] a connection is closed as soon as it is
/// accepted.
pub(crate) async fn serve(listener: TcpListener, state: Arc<State>) {
    let mut shutdown = state.shutdown.clone();
    let mut connections = JoinSet::new();
    let open = Arc::new(AtomicUsize::new(0));
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((socket, _)) = accepted else {
                    // Out of file descriptors or similar: do not spin.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                if state
                    .options
                    .max_connections
                    .is_some_and(|max| open.load(Ordering::SeqCst) >= max)
                {
                    drop(socket);
                    continue;
                }
                let _ = socket.set_nodelay(true);
                let counted = Counted::new(&open);
                let state = state.clone();
                connections.spawn(async move {
                    connection(socket, state).await;
                    drop(counted);
                });
            }
            _ = shutdown.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        connections.abort_all();
    }
}

/// One open connection, counted until dropped.
struct Counted(Arc<AtomicUsize>);

impl Counted {
    fn new(open: &Arc<AtomicUsize>) -> Counted {
        open.fetch_add(1, Ordering::SeqCst);
        Counted(open.clone())
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn connection(socket: TcpStream, state: Arc<State>) {
    let mut shutdown = state.shutdown.clone();
    let signal = Arc::new(FlushSignal::default());
    let activity = Activity::new();
    let timeouts = Timeouts {
        write_stall: state.options.write_stall_timeout,
        header_read: state.options.header_read_timeout,
        keep_alive: state.options.keep_alive_timeout,
    };
    let io = TokioIo::new(Socket::new(
        socket,
        signal.clone(),
        activity.clone(),
        timeouts,
    ));
    let service = service_fn(move |request| {
        // hyper calls the service once a request's head is in.
        let busy = activity.begin();
        handle(state.clone(), signal.clone(), busy, request)
    });
    // The socket keeps the timeouts; hyper's own header timer (which would
    // start when a response ends, so also cut idle keep-alive connections)
    // stays off: it needs a timer, and none is given.
    let conn = http1::Builder::new().serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.as_mut().await;
        }
    }
}

async fn handle(
    state: Arc<State>,
    signal: Arc<FlushSignal>,
    busy: Busy,
    request: Request<Incoming>,
) -> Result<hyper::Response<InFlight>, Infallible> {
    let request_id = state.request_id();
    let started = std::time::Instant::now();
    let operation = Operation::from_path(request.uri().path()).map(Operation::name);
    let mut response = match route(&state, signal, request).await {
        Ok(response) => {
            tracing::debug!(
                operation,
                status = response.status().as_u16(),
                %request_id,
                duration_ms = started.elapsed().as_millis() as u64,
                "request"
            );
            response
        }
        Err(e) => {
            tracing::debug!(
                operation,
                status = e.status,
                code = e.code(),
                %request_id,
                duration_ms = started.elapsed().as_millis() as u64,
                "request refused"
            );
            error_response(&e)
        }
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(X_AMZN_REQUEST_ID, value);
    }
    Ok(response.map(|body| InFlight { body, _busy: busy }))
}

/// A response body that keeps its connection busy (no read deadline)
/// until hyper drops it, when the response has ended or failed.
struct InFlight {
    body: BoxBody<Bytes, BodyError>,
    _busy: Busy,
}

impl Body for InFlight {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

async fn route(
    state: &State,
    signal: Arc<FlushSignal>,
    request: Request<Incoming>,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let read = Limited::new(body, MAX_REQUEST_BODY).collect();
    // The body gets the header timeout again, from the end of the head.
    let read = match state.options.header_read_timeout {
        Some(limit) => tokio::time::timeout(limit, read).await.map_err(|_| {
            ApiError::request_timeout(format!(
                "the request body did not arrive within {:.1} s",
                limit.as_secs_f64()
            ))
        })?,
        None => read.await,
    };
    let body = read
        .map_err(|e| ApiError::serialization(format!("the request body could not be read: {e}")))?
        .to_bytes();

    // The signature, before anything else, as AWS checks it.
    let target = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let signed = sigv4::Request {
        method: parts.method.as_str().to_string(),
        path: target,
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_string(), value)
            })
            .collect(),
        body: body.to_vec(),
    };
    sigv4::verify(&signed, &state.keys, &state.verify, SystemTime::now()).map_err(|e| {
        // What the verifier says never holds a secret; the headers are not
        // logged.
        tracing::info!(code = e.aws_error_code(), reason = %e, "signature refused");
        ApiError::auth(&e)
    })?;

    let op = match Operation::from_path(parts.uri.path()) {
        Some(op) if parts.method == Method::POST => op,
        _ => {
            return Err(ApiError::unknown_operation(
                parts.method.as_str(),
                parts.uri.path(),
            ))
        }
    };
    if let Some(e) = state.faults.before_response(op) {
        tracing::debug!(operation = op.name(), code = e.code(), "fault injected");
        return Err(e);
    }
    let input = Input::parse(&body)?;
    Ok(match ops::call(state, op, &input)? {
        Reply::Json(value) => json_response(value),
        Reply::Media(media) => {
            let (writer, body) = BodyWriter::new(media.plan, state.shutdown.clone(), signal);
            tokio::spawn(media.job.run(writer));
            media_response(body)
        }
    })
}

fn full(body: impl Into<Bytes>) -> BoxBody<Bytes, BodyError> {
    Full::new(body.into())
        .map_err(|never: Infallible| match never {})
        .boxed()
}

/// 200 with a JSON body.
fn json_response(value: serde_json::Value) -> Response {
    let body = serde_json::to_vec(&value).unwrap_or_default();
    let mut response = hyper::Response::new(full(body));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// 200 with a streamed Matroska body.
fn media_response(body: ChannelBody) -> Response {
    let mut response = hyper::Response::new(body.boxed());
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("video/webm"));
    response
}

/// The error's status, `x-amzn-ErrorType` and JSON body.
fn error_response(e: &ApiError) -> Response {
    let mut response = hyper::Response::new(full(e.body()));
    *response.status_mut() =
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(X_AMZN_ERROR_TYPE, HeaderValue::from_static(e.code()));
    response
}

/// hyper reads a media body frame by frame from its channel.
impl Body for ChannelBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        self.poll_data(cx)
            .map(|next| next.map(|data| data.map(Frame::data)))
    }
}
