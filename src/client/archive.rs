//! The archived-media calls: ListFragments and GetImages as paginator
//! streams, and GetMediaForFragmentList as a chunk stream.
//!
//! Paging follows botocore's `PaginationConfig`: `page_size` is each call's
//! `MaxResults`, `max_items` cuts the listing short, and the last page then
//! carries a resume token to pass back as `starting_token`. The token has
//! botocore's form (base64 of `{"NextToken": ..., "boto_truncate_amount": n}`),
//! so tokens from boto3 work here and the other way round.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::pin::Pin;

use base64::Engine;
use bytes::BytesMut;
use futures_core::Stream;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::{json, Map, Value};

use super::model::{
    list, next_token, object, Bad, Fragment, FragmentSelector, GetImagesRequest, Image, Pagination,
};
use super::retry::{Budget, Failure};
use super::{operation, Api, Client, ClientError, InvalidRequest, StreamId};
use crate::{Chunk, ChunkDecoder, DecodeErrorKind, Error, FragmentNumber, Limits};

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
    parse: Parse<T>,
    page_size: Option<u64>,
    /// The most bytes a page's answer may have.
    limit: usize,
    token: Option<String>,
    skip: usize,
    remaining: Option<u64>,
    /// Every token sent in this listing (hashed): a token received again
    /// would start a loop.
    sent: HashSet<u64>,
    hasher: RandomState,
    done: bool,
}

/// Reads one item of a listing; the `usize` is the configured
/// [`max_image_size`](super::ClientConfig::max_image_size).
type Parse<T> = fn(&Value, usize) -> Result<T, Bad>;

impl<T: Send + 'static> Pager<T> {
    async fn next(&mut self) -> Option<Result<Page<T>, ClientError>> {
        if self.done || self.remaining == Some(0) {
            return None;
        }
        let r = self.page().await;
        if r.is_err() {
            self.done = true;
        }
        Some(r)
    }

    /// One page: a call, with its own retries; a page the service could
    /// not have sent is an error, and so is a token received twice.
    async fn page(&mut self) -> Result<Page<T>, ClientError> {
        let mut body = self.base.clone();
        if let Some(t) = &self.token {
            self.sent.insert(self.hasher.hash_one(t));
            body.insert("NextToken".into(), t.clone().into());
        }
        if let Some(n) = self.page_size {
            body.insert("MaxResults".into(), n.into());
        }
        let (url, answer) = self
            .client
            .data_json(&self.stream, self.api, body, self.limit)
            .await?;
        let max_image = self.client.inner.config.max_image_size;
        let obj = object(&answer, "$").map_err(|b| b.at(&url))?;
        let raw = list(obj, self.result_key).map_err(|b| b.at(&url))?;
        let next = next_token(obj).map_err(|b| b.at(&url))?;
        let mut items = Vec::with_capacity(raw.len().saturating_sub(self.skip));
        for (i, v) in raw.iter().enumerate().skip(self.skip) {
            let item = (self.parse)(v, max_image)
                .map_err(|b| b.within(&format!("{}[{i}]", self.result_key)).at(&url))?;
            items.push(item);
        }
        if let Some(t) = &next {
            if self.sent.contains(&self.hasher.hash_one(t)) {
                return Err(ClientError::RepeatedNextToken {
                    endpoint: url,
                    token: t.chars().take(64).collect(),
                });
            }
        }
        let used_token = self.token.take();
        let already = self.skip;
        self.skip = 0;
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
        Ok(Page { items, next_token })
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
    pub(crate) parse: Parse<T>,
}

pub(crate) const FRAGMENTS: Listing<Fragment> = Listing {
    api: Api::ListFragments,
    result_key: "Fragments",
    max_page: 1000,
    parse: |v, _| Fragment::from_json(v),
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
            return Err(InvalidRequest::PageSize {
                size: n,
                max: max_page,
            }
            .into());
        }
    }
    if pagination.max_items == Some(0) {
        return Err(InvalidRequest::MaxItems.into());
    }
    let (token, skip) = match &pagination.starting_token {
        Some(t) => decode_resume(t),
        None => (None, 0),
    };
    let config = &client.inner.config;
    let limit = if api == Api::GetImages {
        // Each image may be as large as the models allow (see
        // `ClientConfig::max_image_size`): a legitimate page is never refused.
        // The service answers at most 25 images a page, whatever MaxResults
        // says (the models' documentation of GetImages' MaxResults).
        let images = pagination
            .page_size
            .unwrap_or(max_page)
            .min(MAX_IMAGES_PER_ANSWER) as usize;
        config
            .max_json_body
            .saturating_add(images.saturating_mul(config.max_image_size.saturating_add(1024)))
    } else {
        config.max_json_body
    };
    Ok(Pager {
        client: client.clone(),
        stream,
        api,
        base,
        result_key,
        parse,
        page_size: pagination.page_size,
        limit,
        token,
        skip,
        remaining: pagination.max_items,
        sent: HashSet::new(),
        hasher: RandomState::new(),
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
    /// longer than the service takes (1000) are split into several calls,
    /// and an answer is read no further than the fragments it was asked
    /// for (what else a body holds is not handed out); a
    /// fragment the service could not return comes out as
    /// [`ClientError::FragmentException`] and the others go on. A broken
    /// connection asks again for the fragments not yet delivered.
    pub fn get_media_for_fragment_list(
        &self,
        stream: StreamId,
        fragments: Vec<FragmentNumber>,
        limits: Limits,
    ) -> ChunkStream {
        if let Err(e) = stream.validate() {
            return failed(e);
        }
        if fragments.is_empty() {
            return failed(InvalidRequest::NoFragments.into());
        }
        let budget = self.budget(operation(Api::GetMediaForFragmentList, &stream));
        let state = FragmentList {
            client: self.clone(),
            stream,
            remaining: fragments.into(),
            limits,
            body: None,
            in_call: 0,
            url: String::new(),
            received: 0,
            body_bytes: 0,
            deadline: None,
            decoder: ChunkDecoder::with_limits(limits),
            buf: BytesMut::new(),
            out: VecDeque::new(),
            budget,
            delivered: 0,
            delivered_at_open: 0,
            done: false,
        };
        Box::pin(futures_util::stream::unfold(state, |mut s| async move {
            s.next().await.map(|item| (item, s))
        }))
    }
}

/// The most images one GetImages answer holds: "Providing a MaxResults
/// greater than this value will result in a page size of 25" (the
/// kinesis-video-archived-media model).
pub(crate) const MAX_IMAGES_PER_ANSWER: u64 = 25;

/// Service limit on fragments per GetMediaForFragmentList call.
pub(crate) const MAX_FRAGMENTS_PER_CALL: usize = 1000;

struct FragmentList {
    client: Client,
    stream: StreamId,
    remaining: VecDeque<FragmentNumber>,
    limits: Limits,
    body: Option<Incoming>,
    /// Fragments the current call asked for and has not delivered yet: its
    /// answer holds no more, so the body is not read past them.
    in_call: usize,
    /// The URL of the current body.
    url: String,
    /// Bytes received by earlier calls: chunk offsets count from the first.
    received: u64,
    /// Bytes received by the current call.
    body_bytes: u64,
    /// When the next chunk must be complete
    /// ([`chunk_timeout`](super::ClientConfig::chunk_timeout)).
    deadline: Option<tokio::time::Instant>,
    decoder: ChunkDecoder,
    buf: BytesMut,
    out: VecDeque<Result<Chunk, ClientError>>,
    /// The operation's one retry budget: calls, broken bodies and bodies
    /// that ended without the fragment asked for all count here.
    budget: Budget,
    /// Fragments handed out (chunks and exceptions).
    delivered: u64,
    delivered_at_open: u64,
    done: bool,
}

impl FragmentList {
    async fn next(&mut self) -> Option<Result<Chunk, ClientError>> {
        if self.deadline.is_some() {
            // The caller's time with the last item does not count.
            self.deadline = Some(super::after(self.client.inner.config.chunk_timeout));
        }
        loop {
            if let Some(item) = self.out.pop_front() {
                return Some(item);
            }
            if self.done {
                return None;
            }
            if self.body.is_none() {
                if self.remaining.is_empty() {
                    return None;
                }
                if let Err(f) = self.open().await {
                    if let Some(e) = self.failed(f).await {
                        return Some(Err(e));
                    }
                }
                continue;
            }
            let config = &self.client.inner.config;
            let (read_timeout, chunk_timeout) = (config.read_timeout, config.chunk_timeout);
            let deadline = self.deadline.unwrap_or_else(|| super::after(chunk_timeout));
            let read_by = deadline.min(super::after(read_timeout));
            let Some(body) = self.body.as_mut() else {
                continue;
            };
            let frame = tokio::time::timeout_at(read_by, body.frame()).await;
            let broken = match frame {
                Ok(Some(Ok(f))) => {
                    if let Ok(data) = f.into_data() {
                        self.body_bytes += data.len() as u64;
                        self.buf.extend_from_slice(&data);
                    }
                    self.drain(false);
                    if self.in_call == 0 {
                        // Everything asked for is in: whatever else the
                        // body holds is not an answer to this call.
                        self.close_body();
                    }
                    continue;
                }
                Ok(None) => None,
                Ok(Some(Err(e))) => Some(super::transport(&self.url, e)),
                Err(_) if read_by < deadline => Some(ClientError::Timeout {
                    after: read_timeout,
                    what: "media bytes",
                }),
                Err(_) => Some(ClientError::Timeout {
                    after: chunk_timeout,
                    what: "a complete chunk",
                }),
            };
            let failure = match broken {
                // What came before the break is asked for again.
                Some(e) => Some(Failure::new(&self.url, e)),
                None => {
                    self.drain(true);
                    let progressed = self.delivered > self.delivered_at_open;
                    match self.remaining.front() {
                        // The body ended without the fragment asked for next:
                        // ask again, as for a broken body.
                        Some(next) if !progressed => Some(Failure::retry(
                            &self.url,
                            ClientError::MissingFragment {
                                endpoint: self.url.clone(),
                                fragment: *next,
                            },
                        )),
                        _ => None,
                    }
                }
            };
            self.close_body();
            if let Some(f) = failure {
                if let Some(e) = self.failed(f).await {
                    return Some(Err(e));
                }
            }
        }
    }

    /// One call for the fragments not delivered yet (at most 1000).
    async fn open(&mut self) -> Result<(), Failure> {
        let batch: Vec<Value> = self
            .remaining
            .iter()
            .take(MAX_FRAGMENTS_PER_CALL)
            .map(|f| json!(f.as_str()))
            .collect();
        let batch_len = batch.len();
        let mut req = Map::new();
        req.insert("Fragments".into(), Value::Array(batch));
        let req = self
            .client
            .with_stream(&self.stream, req)
            .map_err(|e| Failure::new("", e))?;
        let answer = self
            .client
            .data_attempt(&self.stream, Api::GetMediaForFragmentList, &req)
            .await?;
        self.url = answer.url;
        self.body = Some(answer.body);
        self.in_call = batch_len;
        self.decoder = ChunkDecoder::with_limits(self.limits);
        self.buf.clear();
        self.delivered_at_open = self.delivered;
        self.deadline = Some(super::after(self.client.inner.config.chunk_timeout));
        Ok(())
    }

    /// The body is gone: later offsets count after what it brought.
    fn close_body(&mut self) {
        self.body = None;
        self.received += std::mem::take(&mut self.body_bytes);
        self.buf.clear();
        self.deadline = None;
    }

    /// A failed attempt: `None` after the pause before the next, or the
    /// error that ends the stream.
    async fn failed(&mut self, f: Failure) -> Option<ClientError> {
        match self.budget.failed(f) {
            Ok(pause) => {
                tokio::time::sleep(pause).await;
                None
            }
            Err(e) => {
                self.done = true;
                Some(e)
            }
        }
    }

    fn drain(&mut self, eof: bool) {
        // Nothing is decoded past the fragments the call asked for.
        while self.in_call > 0 {
            match super::media::step(&mut self.decoder, &mut self.buf, eof) {
                Ok(None) => return,
                Ok(Some(c)) if !c.is_complete() => {}
                Ok(Some(mut c)) => {
                    self.in_call -= 1;
                    let asked = self.remaining.pop_front();
                    self.delivered += 1;
                    self.budget.progressed();
                    self.deadline = Some(super::after(self.client.inner.config.chunk_timeout));
                    c.info.offset += self.received;
                    let aws = &c.info().aws;
                    if aws.exception_error_code.is_some() || aws.exception_message.is_some() {
                        self.out.push_back(Err(ClientError::FragmentException {
                            fragment: c.fragment_number().copied().or(asked),
                            code: aws.exception_error_code,
                            message: aws.exception_message.as_ref().map(|m| m.to_string()),
                        }));
                    } else {
                        self.out.push_back(Ok(c));
                    }
                }
                Err(Error::Decode(d))
                    if eof && matches!(d.kind, DecodeErrorKind::Truncated { .. }) => {}
                Err(Error::Decode(mut d)) => {
                    d.offset += self.received;
                    self.out.push_back(Err(ClientError::Decode(d)))
                }
                Err(Error::Io(e)) => self.out.push_back(Err(super::transport(&self.url, e))),
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
