//! Request and response types of the five calls, with the checks the service
//! would make, so that a request it would refuse is refused before it is sent.
//! Member names, required members and limits follow `../shared/api`.

use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::{ClientError, InvalidRequest};
use crate::{FragmentNumber, Timestamp};

/// Which stream: by name or by ARN.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StreamId {
    /// `StreamName` (1-256 of `[a-zA-Z0-9_.-]`).
    Name(String),
    /// `StreamARN`.
    Arn(String),
}

impl StreamId {
    /// The JSON member naming the stream.
    pub(crate) fn member(&self) -> (&'static str, &str) {
        match self {
            StreamId::Name(n) => ("StreamName", n),
            StreamId::Arn(a) => ("StreamARN", a),
        }
    }

    pub(crate) fn validate(&self) -> Result<(), ClientError> {
        match self {
            StreamId::Name(n) => {
                let ok = (1..=256).contains(&n.len())
                    && n.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
                if !ok {
                    return Err(InvalidRequest::StreamName { name: n.clone() }.into());
                }
            }
            StreamId::Arn(a) => {
                let parts: Vec<&str> = a.split(':').collect();
                if a.len() > 1024
                    || parts.len() < 6
                    || parts[0] != "arn"
                    || parts[2] != "kinesisvideo"
                {
                    return Err(InvalidRequest::StreamArn { arn: a.clone() }.into());
                }
            }
        }
        Ok(())
    }

    /// A key for per-stream bookkeeping (rate limits, endpoint cache).
    pub(crate) fn key(&self) -> String {
        let (m, v) = self.member();
        format!("{m}={v}")
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamId::Name(n) => f.write_str(n),
            StreamId::Arn(a) => f.write_str(a),
        }
    }
}

/// Where GetMedia starts: the six `StartSelectorType`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartSelector {
    /// `NOW`: the tip of the stream.
    Now,
    /// `EARLIEST`: the oldest fragment kept.
    Earliest,
    /// `FRAGMENT_NUMBER`: starting with (and including) this fragment.
    /// A [`FragmentNumber`] is 1 to 128 digits, what the service takes, so
    /// this selector cannot be refused as an invalid request.
    FragmentNumber(FragmentNumber),
    /// `SERVER_TIMESTAMP`: the fragment at or after this server time.
    ServerTimestamp(Timestamp),
    /// `PRODUCER_TIMESTAMP`: the fragment at or after this producer time.
    ProducerTimestamp(Timestamp),
    /// `CONTINUATION_TOKEN`: after the chunk that carried this token.
    ContinuationToken(String),
}

/// How a selector reads in a message: `now`, `earliest`, `fragment N`,
/// `server timestamp T`, `producer timestamp T`, `continuation token T`
/// (server text escaped).
///
/// ```
/// use kvs_mkv::client::StartSelector;
/// assert_eq!(StartSelector::FragmentNumber("91343".parse().unwrap()).to_string(), "fragment 91343");
/// assert_eq!(StartSelector::ContinuationToken("a\x1b".into()).to_string(), "continuation token a\\x1b");
/// ```
impl std::fmt::Display for StartSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartSelector::Now => f.write_str("now"),
            StartSelector::Earliest => f.write_str("earliest"),
            StartSelector::FragmentNumber(n) => write!(f, "fragment {n}"),
            StartSelector::ServerTimestamp(t) => write!(f, "server timestamp {t}"),
            StartSelector::ProducerTimestamp(t) => write!(f, "producer timestamp {t}"),
            StartSelector::ContinuationToken(t) => {
                write!(f, "continuation token {}", crate::escape_controls(t))
            }
        }
    }
}

impl StartSelector {
    pub(crate) fn to_json(&self) -> Result<Value, ClientError> {
        Ok(match self {
            StartSelector::Now => json!({"StartSelectorType": "NOW"}),
            StartSelector::Earliest => json!({"StartSelectorType": "EARLIEST"}),
            StartSelector::FragmentNumber(n) => {
                json!({"StartSelectorType": "FRAGMENT_NUMBER", "AfterFragmentNumber": n.as_str()})
            }
            StartSelector::ServerTimestamp(t) => {
                json!({"StartSelectorType": "SERVER_TIMESTAMP", "StartTimestamp": epoch(*t)})
            }
            StartSelector::ProducerTimestamp(t) => {
                json!({"StartSelectorType": "PRODUCER_TIMESTAMP", "StartTimestamp": epoch(*t)})
            }
            StartSelector::ContinuationToken(t) => {
                if !is_continuation_token(t) {
                    return Err(InvalidRequest::ContinuationToken { token: t.clone() }.into());
                }
                json!({"StartSelectorType": "CONTINUATION_TOKEN", "ContinuationToken": t})
            }
        })
    }
}

/// The models' `ContinuationToken`: 1 to 128 characters of
/// `[a-zA-Z0-9_.-]`.
pub(crate) fn is_continuation_token(t: &str) -> bool {
    (1..=128).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// A timestamp as the JSON protocol writes it: epoch seconds with a fraction.
pub(crate) fn epoch(t: Timestamp) -> Value {
    let ms = t.as_millis();
    json!(ms as f64 / 1000.0)
}

/// Reads an epoch-seconds JSON number to millisecond precision.
pub(crate) fn parse_epoch(v: &Value) -> Option<Timestamp> {
    let secs = v.as_f64()?;
    if !(0.0..1e15).contains(&secs) {
        return None;
    }
    let ms = (secs * 1000.0).round() as u64;
    Timestamp::new(ms / 1000, (ms % 1000) as u32 * 1_000_000)
}

/// Which timestamps a range refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampKind {
    /// `PRODUCER_TIMESTAMP`.
    Producer,
    /// `SERVER_TIMESTAMP`.
    Server,
}

impl TimestampKind {
    fn as_str(self) -> &'static str {
        match self {
            TimestampKind::Producer => "PRODUCER_TIMESTAMP",
            TimestampKind::Server => "SERVER_TIMESTAMP",
        }
    }
}

/// ListFragments' `FragmentSelector`: fragments whose timestamps fall in
/// `[start, end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentSelector {
    /// Producer or server timestamps.
    pub kind: TimestampKind,
    /// `StartTimestamp`.
    pub start: Timestamp,
    /// `EndTimestamp`.
    pub end: Timestamp,
}

impl FragmentSelector {
    pub(crate) fn to_json(self) -> Result<Value, ClientError> {
        if self.start > self.end {
            return Err(InvalidRequest::TimeRange {
                start: self.start,
                end: self.end,
            }
            .into());
        }
        Ok(json!({
            "FragmentSelectorType": self.kind.as_str(),
            "TimestampRange": {"StartTimestamp": epoch(self.start), "EndTimestamp": epoch(self.end)},
        }))
    }
}

/// Paging knobs, as botocore's `PaginationConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pagination {
    /// `MaxItems`: stop after this many items; a resume token is given when
    /// more remain.
    pub max_items: Option<u64>,
    /// `PageSize`: the `MaxResults` of each call.
    pub page_size: Option<u64>,
    /// `StartingToken`: a `NextToken`, or a resume token from an earlier
    /// listing cut short by `max_items`.
    pub starting_token: Option<String>,
}

/// One fragment, as ListFragments describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fragment {
    /// `FragmentNumber`.
    pub fragment_number: FragmentNumber,
    /// `FragmentSizeInBytes`.
    pub size_bytes: Option<u64>,
    /// `ProducerTimestamp`.
    pub producer_timestamp: Option<Timestamp>,
    /// `ServerTimestamp`.
    pub server_timestamp: Option<Timestamp>,
    /// `FragmentLengthInMilliseconds`.
    pub length_ms: Option<u64>,
}

impl Fragment {
    /// A fragment with only its number, the other members `None` (set them
    /// after): for fragments described by the application's own records,
    /// e.g. to order them with [`sort_fragments`].
    ///
    /// ```
    /// use kvs_mkv::client::Fragment;
    /// let mut f = Fragment::new("91343852333181432392682062607743920146159169392".parse().unwrap());
    /// f.size_bytes = Some(1024);
    /// assert_eq!(f.fragment_number.to_string(), "91343852333181432392682062607743920146159169392");
    /// ```
    pub fn new(fragment_number: FragmentNumber) -> Fragment {
        Fragment {
            fragment_number,
            size_bytes: None,
            producer_timestamp: None,
            server_timestamp: None,
            length_ms: None,
        }
    }

    /// A fragment of a ListFragments answer, checked against the models:
    /// `FragmentNumber` (required here: nothing can be done with a fragment
    /// without it) 1 to 128 digits, the sizes non-negative integers, the
    /// timestamps epoch-second numbers. Absent and `null` optional members
    /// are `None`; unknown members are ignored.
    pub(crate) fn from_json(v: &Value) -> Result<Fragment, Bad> {
        let obj = object(v, "")?;
        let number =
            string(obj, "FragmentNumber")?.ok_or_else(|| Bad::new("FragmentNumber", "missing"))?;
        let fragment_number =
            parse_fragment_number(number).map_err(|d| Bad::new("FragmentNumber", d))?;
        Ok(Fragment {
            fragment_number,
            size_bytes: integer(obj, "FragmentSizeInBytes")?,
            producer_timestamp: timestamp(obj, "ProducerTimestamp")?,
            server_timestamp: timestamp(obj, "ServerTimestamp")?,
            length_ms: integer(obj, "FragmentLengthInMilliseconds")?,
        })
    }
}

/// What is wrong with one member of an answer, before the URL is added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bad {
    /// Where: `FragmentNumber`, `Fragments[3].FragmentNumber`, `$` for the
    /// answer itself.
    pub(crate) member: String,
    /// What is wrong.
    pub(crate) detail: String,
}

impl Bad {
    pub(crate) fn new(member: impl Into<String>, detail: impl Into<String>) -> Bad {
        Bad {
            member: member.into(),
            detail: detail.into(),
        }
    }

    /// The same, inside `prefix` (e.g. `Fragments[3]`).
    pub(crate) fn within(self, prefix: &str) -> Bad {
        let member = match self.member.as_str() {
            "" | "$" => prefix.to_string(),
            m => format!("{prefix}.{m}"),
        };
        Bad { member, ..self }
    }

    /// The typed error, for an answer from `url`.
    pub(crate) fn at(self, url: &str) -> ClientError {
        ClientError::InvalidResponse {
            endpoint: url.to_string(),
            member: if self.member.is_empty() {
                "$".into()
            } else {
                self.member
            },
            detail: self.detail,
        }
    }
}

/// A short description of a JSON value for an error message: its type and
/// (strings cut to 40 characters, quoted with control characters escaped)
/// its value. Server text never reaches a terminal raw through it.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("a boolean ({b})"),
        Value::Number(n) => format!("a number ({n})"),
        Value::String(s) => {
            let short: String = s.chars().take(40).collect();
            let more = if short.len() < s.len() { "..." } else { "" };
            format!(
                "a string ({short:?}{more}, {} characters)",
                s.chars().count()
            )
        }
        Value::Array(a) => format!("a list ({} items)", a.len()),
        Value::Object(_) => "an object".into(),
    }
}

/// `v` as an object (`member` names it in the error).
pub(crate) fn object<'a>(v: &'a Value, member: &str) -> Result<&'a Map<String, Value>, Bad> {
    v.as_object()
        .ok_or_else(|| Bad::new(member, format!("expected an object, got {}", describe(v))))
}

/// A member that may be absent: absent and `null` are `None`.
fn optional<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

/// An optional string member.
pub(crate) fn string<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, Bad> {
    match optional(obj, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(Bad::new(
            name,
            format!("expected a string, got {}", describe(v)),
        )),
    }
}

/// An optional `Long` member the client keeps as `u64`.
fn integer(obj: &Map<String, Value>, name: &str) -> Result<Option<u64>, Bad> {
    match optional(obj, name) {
        None => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| {
            Bad::new(
                name,
                format!("expected a non-negative integer, got {}", describe(v)),
            )
        }),
    }
}

/// An optional `Timestamp` member: epoch seconds, a number.
fn timestamp(obj: &Map<String, Value>, name: &str) -> Result<Option<Timestamp>, Bad> {
    match optional(obj, name) {
        None => Ok(None),
        Some(v) => parse_epoch(v).map(Some).ok_or_else(|| {
            Bad::new(
                name,
                format!(
                    "expected epoch seconds (a number from 0 to 10^15), got {}",
                    describe(v)
                ),
            )
        }),
    }
}

/// A list member (the listings' result keys): absent and `null` are an
/// empty list, as botocore reads them (the models mark no output member
/// required); anything but a list is an error.
pub(crate) fn list<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<&'a [Value], Bad> {
    match optional(obj, name) {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(v) => Err(Bad::new(
            name,
            format!("expected a list, got {}", describe(v)),
        )),
    }
}

/// The models' `FragmentNumberString` (`^[0-9]+$`, 1 to 128 characters),
/// as a [`FragmentNumber`], or what is wrong with it.
pub(crate) fn parse_fragment_number(s: &str) -> Result<FragmentNumber, String> {
    s.parse().map_err(|_| {
        format!(
            "expected 1 to 128 digits, got {}",
            describe(&Value::String(s.to_string()))
        )
    })
}

/// The `NextToken` of a listing's answer: the models' `NextToken`, 1 to
/// 4096 characters of `[a-zA-Z0-9+/]+={0,2}` (base64). The service refuses
/// any other token on the next call, so one that breaks this is not the
/// service's.
pub(crate) fn next_token(obj: &Map<String, Value>) -> Result<Option<String>, Bad> {
    let Some(t) = string(obj, "NextToken")? else {
        return Ok(None);
    };
    let body = t.trim_end_matches('=');
    let ok = (1..=4096).contains(&t.len())
        && t.len() - body.len() <= 2
        && !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    if !ok {
        return Err(Bad::new(
            "NextToken",
            format!(
                "expected 1 to 4096 characters of [a-zA-Z0-9+/]+={{0,2}}, got {}",
                describe(&Value::String(t.to_string()))
            ),
        ));
    }
    Ok(Some(t.to_string()))
}

/// GetDataEndpoint's `DataEndpoint`: required, an absolute `http` or
/// `https` URL without user info, query or fragment (the calls' paths are
/// appended to it: after a `#` they would not be sent at all).
pub(crate) fn data_endpoint(answer: &Value) -> Result<String, Bad> {
    let obj = object(answer, "$")?;
    let url = string(obj, "DataEndpoint")?.ok_or_else(|| Bad::new("DataEndpoint", "missing"))?;
    let bad = || {
        Bad::new(
            "DataEndpoint",
            format!(
                "expected an http or https URL, got {}",
                describe(&Value::String(url.to_string()))
            ),
        )
    };
    let uri: http::Uri = url.parse().map_err(|_| bad())?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    let user_info = uri.authority().is_some_and(|a| a.as_str().contains('@'));
    if !scheme_ok
        || uri.authority().is_none()
        || user_info
        || uri.query().is_some()
        || url.contains('#')
        || url.len() > 2048
    {
        return Err(bad());
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// How to order a fragment list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FragmentOrder {
    /// By fragment number: ingestion order.
    FragmentNumber,
    /// By producer timestamp, then fragment number.
    ProducerTimestamp,
}

/// Sorts fragments (the service returns them in no order, even across pages)
/// and drops duplicates of the same fragment number. Fragment numbers
/// compare as [`FragmentNumber`]s do: by value, whatever their lengths.
///
/// ```
/// use kvs_mkv::client::{sort_fragments, Fragment, FragmentOrder};
/// let f = |n: &str| Fragment::new(n.parse().unwrap());
/// let sorted = sort_fragments(vec![f("100"), f("99"), f("100")], FragmentOrder::FragmentNumber);
/// let numbers: Vec<_> = sorted.iter().map(|f| f.fragment_number.as_str()).collect();
/// assert_eq!(numbers, ["99", "100"]);
/// ```
pub fn sort_fragments(mut fragments: Vec<Fragment>, order: FragmentOrder) -> Vec<Fragment> {
    match order {
        FragmentOrder::FragmentNumber => fragments.sort_by_key(|f| f.fragment_number),
        FragmentOrder::ProducerTimestamp => {
            fragments.sort_by_key(|f| (f.producer_timestamp, f.fragment_number))
        }
    }
    let mut seen = std::collections::HashSet::new();
    fragments.retain(|f| seen.insert(f.fragment_number));
    fragments
}

/// Image encoding for GetImages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// `JPEG`, with an optional `JPEGQuality` (1-100; the service uses 80).
    Jpeg {
        /// `FormatConfig.JPEGQuality`.
        quality: Option<u8>,
    },
    /// `PNG`.
    Png,
}

impl ImageFormat {
    /// File extension.
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Jpeg { .. } => "jpg",
            ImageFormat::Png => "png",
        }
    }
}

/// A GetImages request. `sampling_interval_ms` below 3000 is refused unless
/// `allow_short_interval` is set (3000 ms is the service's default limit,
/// which AWS can raise for an account); so is a time range longer than 300
/// seconds (the service's limit).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetImagesRequest {
    /// Producer or server timestamps.
    pub selector: TimestampKind,
    /// `StartTimestamp`.
    pub start: Timestamp,
    /// `EndTimestamp`.
    pub end: Timestamp,
    /// `SamplingInterval` in ms.
    pub sampling_interval_ms: u32,
    /// `Format` and `FormatConfig`.
    pub format: ImageFormat,
    /// `WidthPixels` (1-3840); only together with `height`.
    pub width: Option<u32>,
    /// `HeightPixels` (1-2160).
    pub height: Option<u32>,
    /// Allow a sampling interval below 3000 ms.
    pub allow_short_interval: bool,
}

impl GetImagesRequest {
    /// A request for JPEG images every `sampling_interval_ms` in `[start, end]`.
    pub fn new(
        selector: TimestampKind,
        start: Timestamp,
        end: Timestamp,
        sampling_interval_ms: u32,
    ) -> Self {
        GetImagesRequest {
            selector,
            start,
            end,
            sampling_interval_ms,
            format: ImageFormat::Jpeg { quality: None },
            width: None,
            height: None,
            allow_short_interval: false,
        }
    }

    pub(crate) fn to_json(&self) -> Result<Map<String, Value>, ClientError> {
        let bad = |e: InvalidRequest| Err(ClientError::InvalidRequest(e));
        if self.start > self.end {
            return bad(InvalidRequest::TimeRange {
                start: self.start,
                end: self.end,
            });
        }
        // "More than 300 seconds above StartTimestamp": the service's
        // IllegalArgumentException (its documentation of EndTimestamp).
        if self.end.as_nanos() - self.start.as_nanos() > 300 * 1_000_000_000 {
            return bad(InvalidRequest::ImageRange {
                start: self.start,
                end: self.end,
            });
        }
        if self.sampling_interval_ms == 0
            || (self.sampling_interval_ms < 3000 && !self.allow_short_interval)
        {
            return bad(InvalidRequest::SamplingInterval {
                ms: self.sampling_interval_ms,
            });
        }
        if let Some(width) = self.width {
            if !(1..=3840).contains(&width) {
                return bad(InvalidRequest::Width { width });
            }
            if self.height.is_none() {
                return bad(InvalidRequest::WidthWithoutHeight);
            }
        }
        if let Some(height) = self.height {
            if !(1..=2160).contains(&height) {
                return bad(InvalidRequest::Height { height });
            }
        }
        let mut m = Map::new();
        m.insert("ImageSelectorType".into(), self.selector.as_str().into());
        m.insert("StartTimestamp".into(), epoch(self.start));
        m.insert("EndTimestamp".into(), epoch(self.end));
        m.insert("SamplingInterval".into(), self.sampling_interval_ms.into());
        match self.format {
            ImageFormat::Png => {
                m.insert("Format".into(), "PNG".into());
            }
            ImageFormat::Jpeg { quality } => {
                m.insert("Format".into(), "JPEG".into());
                if let Some(q) = quality {
                    if !(1..=100).contains(&q) {
                        return bad(InvalidRequest::JpegQuality { quality: q });
                    }
                    m.insert("FormatConfig".into(), json!({"JPEGQuality": q.to_string()}));
                }
            }
        }
        if let Some(w) = self.width {
            m.insert("WidthPixels".into(), w.into());
        }
        if let Some(h) = self.height {
            m.insert("HeightPixels".into(), h.into());
        }
        Ok(m)
    }
}

/// Why GetImages has no image for a sampled time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageError {
    /// `NO_MEDIA`: no fragment at that time.
    NoMedia,
    /// `MEDIA_ERROR`: the media could not be decoded.
    MediaError,
    /// Any other value.
    Other(String),
}

/// One sampled time of GetImages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// `TimeStamp`.
    pub timestamp: Option<Timestamp>,
    /// The decoded image bytes, or why there are none.
    pub content: Result<Bytes, ImageError>,
}

impl Image {
    /// An image of a GetImages answer, checked against the models:
    /// `TimeStamp` an epoch-seconds number, `Error` a string, `ImageContent`
    /// 1 to `max_content` characters of base64.
    pub(crate) fn from_json(v: &Value, max_content: usize) -> Result<Image, Bad> {
        use base64::Engine;
        let obj = object(v, "")?;
        let timestamp = timestamp(obj, "TimeStamp")?;
        let content = match (string(obj, "ImageContent")?, string(obj, "Error")?) {
            (Some(b64), _) => {
                if b64.is_empty() || b64.len() > max_content {
                    return Err(Bad::new(
                        "ImageContent",
                        format!("{} characters, outside 1..={max_content}", b64.len()),
                    ));
                }
                Ok(Bytes::from(
                    base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .map_err(|e| Bad::new("ImageContent", format!("not base64: {e}")))?,
                ))
            }
            (None, Some("NO_MEDIA")) => Err(ImageError::NoMedia),
            (None, Some("MEDIA_ERROR")) => Err(ImageError::MediaError),
            (None, Some(other)) => Err(ImageError::Other(other.to_string())),
            (None, None) => Err(ImageError::Other("neither ImageContent nor Error".into())),
        };
        Ok(Image { timestamp, content })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn epoch_numbers_keep_milliseconds() {
        let t = ts("1511852109.126");
        assert_eq!(epoch(t).to_string(), "1511852109.126");
        assert_eq!(parse_epoch(&epoch(t)), Some(t));
    }

    #[test]
    fn selectors() {
        assert_eq!(
            StartSelector::FragmentNumber("123".parse().unwrap())
                .to_json()
                .unwrap(),
            json!({"StartSelectorType": "FRAGMENT_NUMBER", "AfterFragmentNumber": "123"})
        );
        assert!(StartSelector::ContinuationToken("a/b".into())
            .to_json()
            .is_err());
        assert!(StreamId::Name("bad name".into()).validate().is_err());
        assert!(StreamId::Name("a".repeat(257)).validate().is_err());
        assert!(StreamId::Arn(
            "arn:aws:kinesisvideo:us-west-2:123456789012:stream/cam/1234".into()
        )
        .validate()
        .is_ok());
        assert!(StreamId::Arn("arn:aws:s3:::bucket".into())
            .validate()
            .is_err());
    }

    #[test]
    fn get_images_checks() {
        let ok = GetImagesRequest::new(TimestampKind::Server, ts("10"), ts("20"), 3000);
        assert!(ok.to_json().is_ok());
        let mut r = ok.clone();
        r.sampling_interval_ms = 100;
        assert!(r.to_json().is_err());
        r.allow_short_interval = true;
        assert!(r.to_json().is_ok());
        let mut r = ok.clone();
        r.width = Some(640);
        assert!(r.to_json().is_err(), "width alone");
        r.height = Some(480);
        assert!(r.to_json().is_ok());
        r.height = Some(5000);
        assert!(r.to_json().is_err());
        let mut r = ok.clone();
        r.format = ImageFormat::Jpeg { quality: Some(0) };
        assert!(r.to_json().is_err());
        r.format = ImageFormat::Jpeg { quality: Some(90) };
        assert_eq!(
            r.to_json().unwrap()["FormatConfig"],
            json!({"JPEGQuality": "90"})
        );
        let r = GetImagesRequest::new(TimestampKind::Server, ts("20"), ts("10"), 3000);
        assert!(r.to_json().is_err());
    }
}
