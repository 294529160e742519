//! The archived-media calls: ListFragments and GetImages as paginator
//! streams, and GetMediaForFragmentList as a chunk stream.
//!
//! Paging follows botocore's `PaginationConfig`: `page_size` is each call's
//! `MaxResults`, `max_items` cuts the listing short, and the last page then
//! carries a resume token to pass back as `starting_token`. The token has
//! botocore's form (base64 of `{"NextToken": ..., "boto_truncate_amount": n}`),
//! so tokens from boto3 work here and the other way round.

use std::collections::VecDeque;
use std::pin::Pin;

use base64::Engine;
use bytes::BytesMut;
use futures_core::Stream;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::{json, Map, Value};

use super::model::{Fragment, FragmentSelector, GetImagesRequest, Image, Pagination};
use super::retry::backoff;
use super::{Api, Client, ClientError, StreamId};
use crate::{Chunk, ChunkDecoder, DecodeErrorKind, Error, Limits};

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items of the page.
    pub items: Vec<T>,
    /// The token for what follows, if anything does: the service's
    /// `NextToken`, or a resume token when `max_items` ended the listing.
    pub next_token: Option<String>,
}

/// ListFragments pages.
pub type FragmentPages = Pin<Box<dyn Stream<Item = Result<Page<Fragment>, ClientError>> + Send>>;
/// GetImages pages.
pub type ImagePages = Pin<Box<dyn Stream<Item = Result<Page<Image>, ClientError>> + Send>>;
/// Chunks from GetMediaForFragmentList.
pub type ChunkStream = Pin<Box<dyn Stream<Item = Result<Chunk, ClientError>> + Send>>;

const TRUNCATE: &str = "boto_truncate_amount";

fn encode_resume(token: Option<&str>, skip: usize) -> String {
    let mut m = Map::new();
    m.insert("NextToken".into(), token.map_or(Value::Null, Value::from));
    m.insert(TRUNCATE.into(), skip.into());
    base64::engine::general_purpose::STANDARD.encode(Value::Object(m).to_string())
}

/// A starting token: a resume token (service token + items to skip), or a
/// plain service token.
fn decode_resume(token: &str) -> (Option<String>, usize) {
    let parsed = base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .filter(|v| v.get(TRUNCATE).is_some() || v.get("NextToken").is_some());
    match parsed {
        Some(v) => (
            v.get("NextToken")
                .and_then(Value::as_str)
                .map(str::to_string),
            v.get(TRUNCATE).and_then(Value::as_u64).unwrap_or(0) as usize,
        ),
        None => (Some(token.to_string()), 0),
    }
}

struct Pager<T> {
    client: Client,
    stream: StreamId,
    api: Api,
    base: Map<String, Value>,
    result_key: &'static str,
    parse: fn(&Value) -> Result<T, String>,
    page_size: Option<u64>,
    token: Option<String>,
    skip: usize,
    remaining: Option<u64>,
    done: bool,
}

impl<T: Send + 'static> Pager<T> {
    async fn next(&mut self) -> Option<Result<Page<T>, ClientError>> {
        if self.done || self.remaining == Some(0) {
            return None;
        }
        let mut body = self.base.clone();
        if let Some(t) = &self.token {
            body.insert("NextToken".into(), t.clone().into());
        }
        if let Some(n) = self.page_size {
            body.insert("MaxResults".into(), n.into());
        }
        let answer = match self.client.data_call(&self.stream, self.api, body).await {
            Ok(a) => a,
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        let raw = answer
            .get(self.result_key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut items = Vec::with_capacity(raw.len());
        for v in raw.iter().skip(self.skip) {
            match (self.parse)(v) {
                Ok(item) => items.push(item),
                Err(detail) => {
                    self.done = true;
                    let endpoint = format!("{} {}", self.api.name(), self.stream);
                    return Some(Err(ClientError::Protocol { endpoint, detail }));
                }
            }
        }
        let used_token = self.token.take();
        let already = self.skip;
        self.skip = 0;
        let next = answer
            .get("NextToken")
            .and_then(Value::as_str)
            .map(str::to_string);
        let mut next_token = next.clone();
        if let Some(rem) = self.remaining.as_mut() {
            if items.len() as u64 > *rem {
                items.truncate(*rem as usize);
                next_token = Some(encode_resume(used_token.as_deref(), already + items.len()));
                *rem = 0;
            } else {
                *rem -= items.len() as u64;
            }
        }
        self.token = next;
        if self.token.is_none() || self.remaining == Some(0) {
            self.done = true;
        }
        Some(Ok(Page { items, next_token }))
    }
}

fn pages<T: Send + 'static>(
    pager: Pager<T>,
) -> Pin<Box<dyn Stream<Item = Result<Page<T>, ClientError>> + Send>> {
    Box::pin(futures_util::stream::unfold(pager, |mut p| async move {
        p.next().await.map(|item| (item, p))
    }))
}

/// What differs between the two listings.
pub(crate) struct Listing<T> {
    pub(crate) api: Api,
    pub(crate) result_key: &'static str,
    pub(crate) max_page: u64,
    pub(crate) parse: fn(&Value) -> Result<T, String>,
}

pub(crate) const FRAGMENTS: Listing<Fragment> = Listing {
    api: Api::ListFragments,
    result_key: "Fragments",
    max_page: 1000,
    parse: |v| Fragment::from_json(v).ok_or_else(|| format!("malformed fragment {v}")),
};

pub(crate) const IMAGES: Listing<Image> = Listing {
    api: Api::GetImages,
    result_key: "Images",
    max_page: 100,
    parse: Image::from_json,
};

fn pager<T>(
    client: &Client,
    stream: StreamId,
    listing: Listing<T>,
    base: Map<String, Value>,
    pagination: Pagination,
) -> Result<Pager<T>, ClientError> {
    let Listing {
        api,
        result_key,
        max_page,
        parse,
    } = listing;
    stream.validate()?;
    if let Some(n) = pagination.page_size {
        if !(1..=max_page).contains(&n) {
            return Err(ClientError::InvalidRequest(format!(
                "page size {n} is outside 1..={max_page}"
            )));
        }
    }
    if pagination.max_items == Some(0) {
        return Err(ClientError::InvalidRequest(
            "max items must be at least 1".into(),
        ));
    }
    let (token, skip) = match &pagination.starting_token {
        Some(t) => decode_resume(t),
        None => (None, 0),
    };
    Ok(Pager {
        client: client.clone(),
        stream,
        api,
        base,
        result_key,
        parse,
        page_size: pagination.page_size,
        token,
        skip,
        remaining: pagination.max_items,
        done: false,
    })
}

fn failed<T: Send + 'static>(
    e: ClientError,
) -> Pin<Box<dyn Stream<Item = Result<T, ClientError>> + Send>> {
    Box::pin(futures_util::stream::once(async move { Err(e) }))
}

impl Client {
    /// ListFragments pages (fragments in no particular order, as the service
    /// returns them; see [`sort_fragments`](super::sort_fragments)).
    ///
    /// ```no_run
    /// # async fn f(client: kvs_mkv::client::Client) -> Result<(), kvs_mkv::client::ClientError> {
    /// use futures::TryStreamExt;
    /// use kvs_mkv::client::{sort_fragments, FragmentOrder, Pagination, StreamId};
    /// let pages: Vec<_> = client
    ///     .list_fragments(StreamId::Name("cam".into()), None, Pagination::default())
    ///     .try_collect()
    ///     .await?;
    /// let all = sort_fragments(pages.into_iter().flat_map(|p| p.items).collect(), FragmentOrder::FragmentNumber);
    /// # let _ = all; Ok(()) }
    /// ```
    pub fn list_fragments(
        &self,
        stream: StreamId,
        selector: Option<FragmentSelector>,
        pagination: Pagination,
    ) -> FragmentPages {
        let mut base = Map::new();
        if let Some(s) = selector {
            match s.to_json() {
                Ok(v) => {
                    base.insert("FragmentSelector".into(), v);
                }
                Err(e) => return failed(e),
            }
        }
        match pager(self, stream, FRAGMENTS, base, pagination) {
            Ok(p) => pages(p),
            Err(e) => failed(e),
        }
    }

    /// GetImages pages. The request is checked against the service's limits
    /// first; a request it would refuse is not sent.
    pub fn get_images(
        &self,
        stream: StreamId,
        request: &GetImagesRequest,
        pagination: Pagination,
    ) -> ImagePages {
        let base = match request.to_json() {
            Ok(b) => b,
            Err(e) => return failed(e),
        };
        match pager(self, stream, IMAGES, base, pagination) {
            Ok(p) => pages(p),
            Err(e) => failed(e),
        }
    }

    /// GetMediaForFragmentList: the fragments' chunks in request order. Lists
    /// longer than the service takes (1000) are split into several calls; a
    /// fragment the service could not return comes out as
    /// [`ClientError::FragmentException`] and the others go on. A broken
    /// connection asks again for the fragments not yet delivered.
    pub fn get_media_for_fragment_list(
        &self,
        stream: StreamId,
        fragments: Vec<String>,
        limits: Limits,
    ) -> ChunkStream {
        if let Err(e) = stream.validate() {
            return failed(e);
        }
        if fragments.is_empty() {
            return failed(ClientError::InvalidRequest(
                "no fragment numbers given".into(),
            ));
        }
        if let Some(bad) = fragments
            .iter()
            .find(|f| !(1..=128).contains(&f.len()) || !f.bytes().all(|b| b.is_ascii_digit()))
        {
            return failed(ClientError::InvalidRequest(format!(
                "fragment number {bad:?} must be 1 to 128 digits"
            )));
        }
        let state = FragmentList {
            client: self.clone(),
            stream,
            remaining: fragments.into(),
            limits,
            body: None,
            decoder: ChunkDecoder::with_limits(limits),
            buf: BytesMut::new(),
            out: VecDeque::new(),
            failures: 0,
            done: false,
        };
        Box::pin(futures_util::stream::unfold(state, |mut s| async move {
            s.next().await.map(|item| (item, s))
        }))
    }
}

/// Service limit on fragments per GetMediaForFragmentList call.
pub(crate) const MAX_FRAGMENTS_PER_CALL: usize = 1000;

struct FragmentList {
    client: Client,
    stream: StreamId,
    remaining: VecDeque<String>,
    limits: Limits,
    body: Option<Incoming>,
    decoder: ChunkDecoder,
    buf: BytesMut,
    out: VecDeque<Result<Chunk, ClientError>>,
    failures: u32,
    done: bool,
}

impl FragmentList {
    async fn next(&mut self) -> Option<Result<Chunk, ClientError>> {
        loop {
            if let Some(item) = self.out.pop_front() {
                return Some(item);
            }
            if self.done {
                return None;
            }
            let Some(body) = self.body.as_mut() else {
                if self.remaining.is_empty() {
                    return None;
                }
                let batch: Vec<Value> = self
                    .remaining
                    .iter()
                    .take(MAX_FRAGMENTS_PER_CALL)
                    .map(|f| json!(f))
                    .collect();
                let mut req = Map::new();
                req.insert("Fragments".into(), Value::Array(batch));
                match self
                    .client
                    .media_call(&self.stream, Api::GetMediaForFragmentList, req)
                    .await
                {
                    Ok(b) => {
                        self.body = Some(b);
                        self.decoder = ChunkDecoder::with_limits(self.limits);
                        self.buf.clear();
                    }
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
                continue;
            };
            let timeout = self.client.inner.config.read_timeout;
            let frame = tokio::time::timeout(timeout, body.frame()).await;
            let eof = match frame {
                Ok(Some(Ok(f))) => {
                    if let Ok(data) = f.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                    false
                }
                Ok(None) => true,
                Ok(Some(Err(_))) | Err(_) => {
                    // Broken: ask again for what is not delivered yet.
                    self.body = None;
                    self.failures += 1;
                    let policy = self.client.inner.config.retry;
                    if self.failures >= policy.max_attempts {
                        self.done = true;
                        return Some(Err(ClientError::Timeout {
                            after: timeout,
                            what: "GetMediaForFragmentList to complete (retries exhausted)",
                        }));
                    }
                    tokio::time::sleep(backoff(&policy, self.failures)).await;
                    continue;
                }
            };
            let before = self.remaining.len();
            self.drain(eof);
            if eof {
                self.body = None;
                if self.remaining.len() == before && !self.remaining.is_empty() {
                    // The body ended without the fragment asked for next:
                    // ask again, with backoff, a limited number of times.
                    self.failures += 1;
                    let policy = self.client.inner.config.retry;
                    if self.failures >= policy.max_attempts {
                        self.done = true;
                        return Some(Err(ClientError::Protocol {
                            endpoint: format!("GetMediaForFragmentList {}", self.stream),
                            detail: format!(
                                "{} answers in a row ended without fragment {}",
                                self.failures,
                                self.remaining.front().map(String::as_str).unwrap_or("?")
                            ),
                        }));
                    }
                    tokio::time::sleep(backoff(&policy, self.failures)).await;
                }
            }
        }
    }

    fn drain(&mut self, eof: bool) {
        loop {
            match super::media::step(&mut self.decoder, &mut self.buf, eof) {
                Ok(None) => return,
                Ok(Some(c)) if !c.is_complete() => {}
                Ok(Some(c)) => {
                    let asked = self.remaining.pop_front();
                    self.failures = 0;
                    let aws = &c.info().aws;
                    if aws.exception_error_code.is_some() || aws.exception_message.is_some() {
                        self.out.push_back(Err(ClientError::FragmentException {
                            fragment: c.fragment_number().map(|f| f.to_string()).or(asked),
                            code: aws.exception_error_code,
                            message: aws.exception_message.as_ref().map(|m| m.to_string()),
                        }));
                    } else {
                        self.out.push_back(Ok(c));
                    }
                }
                Err(Error::Decode(d))
                    if eof && matches!(d.kind, DecodeErrorKind::Truncated { .. }) => {}
                Err(Error::Decode(d)) => self.out.push_back(Err(ClientError::Decode(d))),
                Err(Error::Io(e)) => self.out.push_back(Err(ClientError::Transport {
                    endpoint: "GetMediaForFragmentList body".into(),
                    message: e.to_string(),
                })),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_tokens_round_trip_and_accept_plain_tokens() {
        let t = encode_resume(Some("abc="), 7);
        assert_eq!(decode_resume(&t), (Some("abc=".into()), 7));
        assert_eq!(decode_resume(&encode_resume(None, 3)), (None, 3));
        let boto3_page_boundary =
            base64::engine::general_purpose::STANDARD.encode(r#"{"NextToken": "svc"}"#);
        assert_eq!(decode_resume(&boto3_page_boundary), (Some("svc".into()), 0));
        assert_eq!(
            decode_resume("c2VydmljZXRva2Vu"),
            (Some("c2VydmljZXRva2Vu".into()), 0)
        );
    }
}
