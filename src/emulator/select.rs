//! Which fragments a request means: GetMedia's start selectors,
//! ListFragments' selector and pages, GetImages' sampled times and pages.
//!
//! Pagination tokens are base64 text (the models' `[a-zA-Z0-9+/]+={0,2}`)
//! that carry the whole query, so that every page of a walk answers the same
//! question: ListFragments lists the fragments that existed when the first
//! page was asked for, in one shuffled order.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::images::ImageFormat;
use super::store::{Timeline, TsKind};
use super::wire::{is_fragment_number, ApiError, Input};

/// Where a GetMedia response starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Start {
    /// At this fragment.
    At(u64),
    /// At `from`, skipping fragments whose span ends at or before `t` (in
    /// live mode, fragments yet to come).
    Timestamp { kind: TsKind, t: u64, from: u64 },
    /// The fragment asked for does not exist: one error chunk (4000).
    NotFound(String),
}

/// GetMedia's `StartSelector`.
///
/// FRAGMENT_NUMBER starts *with* `AfterFragmentNumber` (the member's own
/// documentation: "the fragment number from where you want the GetMedia API
/// to start returning the fragments"); CONTINUATION_TOKEN starts with the
/// fragment *after* the one whose chunk carried the token, so that a client
/// resuming after a cut gets no chunk twice. NOW is the latest fragment,
/// EARLIEST the first; the timestamp selectors start with the latest
/// fragment starting at or before the timestamp if it still runs then, else
/// with the next one.
pub(crate) fn get_media_start(
    input: &Input,
    timeline: &Timeline,
    available: u64,
) -> Result<Start, ApiError> {
    let selector = input
        .object("StartSelector")?
        .ok_or_else(|| ApiError::invalid_argument("StartSelector is required"))?;
    let kind = selector
        .string("StartSelectorType")?
        .ok_or_else(|| ApiError::invalid_argument("StartSelector.StartSelectorType is required"))?;
    match kind {
        "EARLIEST" => Ok(Start::At(0)),
        "NOW" => Ok(Start::At(available.saturating_sub(1))),
        "FRAGMENT_NUMBER" => {
            let number = selector.string("AfterFragmentNumber")?.ok_or_else(|| {
                ApiError::invalid_argument(
                    "AfterFragmentNumber is required when StartSelectorType is FRAGMENT_NUMBER",
                )
            })?;
            if !is_fragment_number(number) {
                return Err(ApiError::invalid_argument(format!(
                    "AfterFragmentNumber {number:?} is not a fragment number"
                )));
            }
            Ok(match timeline.lookup(number) {
                Some(g) if g < available => Start::At(g),
                _ => Start::NotFound(number.to_string()),
            })
        }
        "CONTINUATION_TOKEN" => {
            let token = selector.string("ContinuationToken")?.ok_or_else(|| {
                ApiError::invalid_argument(
                    "ContinuationToken is required when StartSelectorType is CONTINUATION_TOKEN",
                )
            })?;
            let well_formed = (1..=128).contains(&token.len())
                && token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
            match timeline.lookup(token) {
                Some(g) if well_formed && g < available => Ok(Start::At(g + 1)),
                _ => Err(ApiError::invalid_argument(format!(
                    "ContinuationToken {token:?} is not valid for this stream"
                ))),
            }
        }
        "SERVER_TIMESTAMP" | "PRODUCER_TIMESTAMP" => {
            let t = selector.timestamp_ms("StartTimestamp")?.ok_or_else(|| {
                ApiError::invalid_argument(format!(
                    "StartTimestamp is required when StartSelectorType is {kind}"
                ))
            })?;
            let kind = TsKind::parse(kind).expect("a timestamp selector");
            // The latest fragment that starts at or before t, if it is still
            // running at t; else the one after it.
            let from = (0..available)
                .rev()
                .map(|g| (g, timeline.fragment(g)))
                .find(|(_, f)| f.ts(kind) <= t)
                .map_or(0, |(g, f)| {
                    if f.ts(kind).saturating_add(f.duration_ms) > t {
                        g
                    } else {
                        g + 1
                    }
                });
            Ok(Start::Timestamp { kind, t, from })
        }
        other => Err(ApiError::invalid_argument(format!(
            "StartSelectorType {other:?} is not one of FRAGMENT_NUMBER, SERVER_TIMESTAMP, \
             PRODUCER_TIMESTAMP, NOW, EARLIEST, CONTINUATION_TOKEN"
        ))),
    }
}

/// A ListFragments walk: the selector, the fragments that existed when it
/// began, and how far it has come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FragmentQuery {
    pub range: Option<(TsKind, u64, u64)>,
    pub as_of: u64,
    pub offset: u64,
}

/// ListFragments' page size: `MaxResults`, 1 to 1000, default 1000.
pub(crate) fn max_results(input: &Input, max: i64, default: i64) -> Result<usize, ApiError> {
    match input.integer("MaxResults")? {
        None => Ok(default as usize),
        Some(n) if (1..=max).contains(&n) => Ok(n as usize),
        Some(n) => Err(ApiError::invalid_argument(format!(
            "MaxResults {n} is not between 1 and {max}"
        ))),
    }
}

/// The text inside one of the emulator's NextTokens (base64 of UTF-8).
fn token_text(token: &str) -> Option<String> {
    STANDARD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
}

impl FragmentQuery {
    /// The query of a first page (`NextToken` absent) or of a later page.
    pub fn from_input(input: &Input, stream: &str, available: u64) -> Result<Self, ApiError> {
        if let Some(token) = input.string("NextToken")? {
            let mut query = Self::from_token(token, stream)?;
            // Never list more fragments than exist, whatever the token says.
            query.as_of = query.as_of.min(available);
            return Ok(query);
        }
        let range = match input.object("FragmentSelector")? {
            None => None,
            Some(selector) => {
                let kind = selector.string("FragmentSelectorType")?.ok_or_else(|| {
                    ApiError::invalid_argument("FragmentSelector.FragmentSelectorType is required")
                })?;
                let kind = TsKind::parse(kind).ok_or_else(|| {
                    ApiError::invalid_argument(format!(
                        "FragmentSelectorType {kind:?} is not PRODUCER_TIMESTAMP or SERVER_TIMESTAMP"
                    ))
                })?;
                let range = selector.object("TimestampRange")?.ok_or_else(|| {
                    ApiError::invalid_argument("FragmentSelector.TimestampRange is required")
                })?;
                let (start, end) = timestamp_range(&range)?;
                Some((kind, start, end))
            }
        };
        Ok(FragmentQuery {
            range,
            as_of: available,
            offset: 0,
        })
    }

    /// The token of the page after `self` (which had `page` entries).
    pub fn next_token(&self, stream: &str, page: usize) -> String {
        let (kind, start, end) = match self.range {
            None => ("-", 0, 0),
            Some((TsKind::Producer, s, e)) => ("P", s, e),
            Some((TsKind::Server, s, e)) => ("S", s, e),
        };
        let text = format!(
            "lf1 {stream} {kind} {start} {end} {} {}",
            self.as_of,
            self.offset + page as u64
        );
        STANDARD.encode(text)
    }

    fn from_token(token: &str, stream: &str) -> Result<Self, ApiError> {
        let invalid = || ApiError::invalid_argument("NextToken is not valid for this request");
        let text = token_text(token).ok_or_else(invalid)?;
        let parts: Vec<&str> = text.split(' ').collect();
        let [tag, name, kind, start, end, as_of, offset] = parts[..] else {
            return Err(invalid());
        };
        if tag != "lf1" || name != stream {
            return Err(invalid());
        }
        let num = |s: &str| s.parse::<u64>().map_err(|_| invalid());
        let range = match kind {
            "-" => None,
            "P" => Some((TsKind::Producer, num(start)?, num(end)?)),
            "S" => Some((TsKind::Server, num(start)?, num(end)?)),
            _ => return Err(invalid()),
        };
        Ok(FragmentQuery {
            range,
            as_of: num(as_of)?,
            offset: num(offset)?,
        })
    }

    /// Every fragment the walk lists, in the walk's order: the selected
    /// fragments, shuffled (the service lists them "in no particular order,
    /// even across pages"), the same way for every page.
    pub fn listing(&self, timeline: &Timeline, seed: u64) -> Vec<u64> {
        let mut selected: Vec<u64> = (0..self.as_of)
            .filter(|&g| match self.range {
                None => true,
                Some((kind, start, end)) => {
                    let ts = timeline.fragment(g).ts(kind);
                    start <= ts && ts <= end
                }
            })
            .collect();
        let mut state = seed ^ self.as_of.rotate_left(17);
        for i in (1..selected.len()).rev() {
            state = super::splitmix(state);
            let j = (state % (i as u64 + 1)) as usize;
            selected.swap(i, j);
        }
        selected
    }
}

fn timestamp_range(range: &Input) -> Result<(u64, u64), ApiError> {
    let start = range
        .timestamp_ms("StartTimestamp")?
        .ok_or_else(|| ApiError::invalid_argument("TimestampRange.StartTimestamp is required"))?;
    let end = range
        .timestamp_ms("EndTimestamp")?
        .ok_or_else(|| ApiError::invalid_argument("TimestampRange.EndTimestamp is required"))?;
    if start > end {
        return Err(ApiError::invalid_argument(
            "TimestampRange.StartTimestamp is after EndTimestamp",
        ));
    }
    Ok((start, end))
}

/// GetImages' smallest sampling interval (the model: 200 ms).
pub(crate) const MIN_SAMPLING_INTERVAL_MS: i64 = 200;
/// GetImages' longest time range (the model: 300 seconds).
pub(crate) const MAX_IMAGE_RANGE_MS: u64 = 300_000;
/// GetImages' page size: the default and the most a page holds (the model:
/// "The default limit is 25 images per API response. Providing a MaxResults
/// greater than this value will result in a page size of 25").
pub(crate) const IMAGE_PAGE: usize = 25;
/// GetImages' sampling interval when the request has none.
pub(crate) const DEFAULT_SAMPLING_INTERVAL_MS: i64 = 3000;

/// A GetImages request, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImageQuery {
    pub kind: TsKind,
    pub format: ImageFormat,
    pub start: u64,
    pub end: u64,
    pub interval: u64,
    pub page: usize,
    pub offset: usize,
}

impl ImageQuery {
    pub fn from_input(input: &Input, stream: &str) -> Result<Self, ApiError> {
        let required = |name: &str| ApiError::invalid_argument(format!("{name} is required"));
        let kind = input
            .string("ImageSelectorType")?
            .ok_or_else(|| required("ImageSelectorType"))?;
        let kind = TsKind::parse(kind).ok_or_else(|| {
            ApiError::invalid_argument(format!(
                "ImageSelectorType {kind:?} is not PRODUCER_TIMESTAMP or SERVER_TIMESTAMP"
            ))
        })?;
        let format = input.string("Format")?.ok_or_else(|| required("Format"))?;
        let format = ImageFormat::parse(format).ok_or_else(|| {
            ApiError::invalid_argument(format!("Format {format:?} is not JPEG or PNG"))
        })?;
        let start = input
            .timestamp_ms("StartTimestamp")?
            .ok_or_else(|| required("StartTimestamp"))?;
        let end = input
            .timestamp_ms("EndTimestamp")?
            .ok_or_else(|| required("EndTimestamp"))?;
        if end < start {
            return Err(ApiError::invalid_argument(
                "EndTimestamp is before StartTimestamp",
            ));
        }
        if end - start > MAX_IMAGE_RANGE_MS {
            return Err(ApiError::invalid_argument(
                "the range from StartTimestamp to EndTimestamp is more than 300 seconds",
            ));
        }
        let interval = input
            .integer("SamplingInterval")?
            .unwrap_or(DEFAULT_SAMPLING_INTERVAL_MS);
        if interval < MIN_SAMPLING_INTERVAL_MS {
            return Err(ApiError::invalid_argument(format!(
                "SamplingInterval {interval} is below the minimum of {MIN_SAMPLING_INTERVAL_MS} ms"
            )));
        }
        if let Some(config) = input.string_map("FormatConfig")? {
            for (key, value) in config {
                let quality_ok = value.parse::<u8>().is_ok_and(|q| (1..=100).contains(&q));
                if key != "JPEGQuality" || !quality_ok {
                    return Err(ApiError::invalid_argument(format!(
                        "FormatConfig {key:?}={value:?}: only JPEGQuality from 1 to 100 is accepted"
                    )));
                }
            }
        }
        let width = input.integer("WidthPixels")?;
        let height = input.integer("HeightPixels")?;
        if width.is_some_and(|w| !(1..=3840).contains(&w))
            || height.is_some_and(|h| !(1..=2160).contains(&h))
        {
            return Err(ApiError::invalid_argument(
                "WidthPixels must be 1 to 3840 and HeightPixels 1 to 2160",
            ));
        }
        if width.is_some() && height.is_none() {
            return Err(ApiError::invalid_argument(
                "WidthPixels needs HeightPixels as well",
            ));
        }
        let page = max_results(input, 100, IMAGE_PAGE as i64)?.min(IMAGE_PAGE);
        let mut query = ImageQuery {
            kind,
            format,
            start,
            end,
            interval: interval as u64,
            page,
            offset: 0,
        };
        if let Some(token) = input.string("NextToken")? {
            query.resume(token, stream)?;
        }
        Ok(query)
    }

    /// The sampled times: StartTimestamp, then every interval up to
    /// EndTimestamp (StartTimestamp alone when the range is shorter than
    /// the interval).
    pub fn samples(&self) -> Vec<u64> {
        (0u64..)
            .map_while(|k| {
                k.checked_mul(self.interval)
                    .and_then(|d| self.start.checked_add(d))
            })
            .take_while(|&t| t <= self.end)
            .collect()
    }

    pub fn next_token(&self, stream: &str, page: usize) -> String {
        STANDARD.encode(format!(
            "gi1 {stream} {} {} {} {}",
            self.start,
            self.end,
            self.interval,
            self.offset + page
        ))
    }

    /// Takes the sampling and the position from a token (the request's other
    /// members must still be present, as the model requires them).
    fn resume(&mut self, token: &str, stream: &str) -> Result<(), ApiError> {
        let invalid = || ApiError::invalid_argument("NextToken is not valid for this request");
        let text = token_text(token).ok_or_else(invalid)?;
        let parts: Vec<&str> = text.split(' ').collect();
        let ["gi1", name, start, end, interval, offset] = parts[..] else {
            return Err(invalid());
        };
        if name != stream {
            return Err(invalid());
        }
        let num = |s: &str| s.parse::<u64>().map_err(|_| invalid());
        let (start, end, interval) = (num(start)?, num(end)?, num(interval)?);
        // A token is input too: it gets the request's checks again.
        if end < start
            || end - start > MAX_IMAGE_RANGE_MS
            || interval < MIN_SAMPLING_INTERVAL_MS as u64
        {
            return Err(invalid());
        }
        self.start = start;
        self.end = end;
        self.interval = interval;
        self.offset = usize::try_from(num(offset)?).map_err(|_| invalid())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A forged token cannot widen the range or shrink the interval past the
    /// request's checks, nor claim more fragments than exist.
    #[test]
    fn forged_tokens_get_the_request_checks() {
        let ok = r#"{"ImageSelectorType":"SERVER_TIMESTAMP","Format":"PNG","StartTimestamp":10,"EndTimestamp":20,"SamplingInterval":3000,"NextToken":"TOKEN"}"#;
        for forged in [
            "gi1 cam 0 18446744073709551615 200 0",
            "gi1 cam 0 1000 1 0",
            "gi1 cam 5 1 3000 0",
        ] {
            let json = ok.replace("TOKEN", &STANDARD.encode(forged));
            assert!(
                ImageQuery::from_input(&input(&json), "cam").is_err(),
                "{forged}"
            );
        }
        let json = format!(
            r#"{{"NextToken":"{}"}}"#,
            STANDARD.encode("lf1 cam - 0 0 18446744073709551615 0")
        );
        let q = FragmentQuery::from_input(&input(&json), "cam", 7).unwrap();
        assert_eq!(q.as_of, 7);
    }

    fn input(json: &str) -> Input {
        Input::parse(json.as_bytes()).unwrap()
    }

    #[test]
    fn list_tokens_round_trip() {
        let q = FragmentQuery {
            range: Some((TsKind::Server, 5, 9)),
            as_of: 12,
            offset: 3,
        };
        let token = q.next_token("cam", 4);
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)));
        let next = FragmentQuery::from_token(&token, "cam").unwrap();
        assert_eq!(next, FragmentQuery { offset: 7, ..q });
        assert!(FragmentQuery::from_token(&token, "other").is_err());
        assert!(FragmentQuery::from_token("bm9wZQ==", "cam").is_err());
    }

    #[test]
    fn image_validation() {
        let ok = r#"{"ImageSelectorType":"SERVER_TIMESTAMP","Format":"PNG","StartTimestamp":10,"EndTimestamp":20,"SamplingInterval":3000}"#;
        let q = ImageQuery::from_input(&input(ok), "s").unwrap();
        assert_eq!(q.samples(), [10_000, 13_000, 16_000, 19_000]);
        assert_eq!(q.page, IMAGE_PAGE);
        for bad in [
            r#"{"ImageSelectorType":"SERVER_TIMESTAMP","Format":"PNG","StartTimestamp":10,"EndTimestamp":20,"SamplingInterval":100}"#,
            r#"{"ImageSelectorType":"SERVER_TIMESTAMP","Format":"PNG","StartTimestamp":10,"EndTimestamp":400}"#,
            r#"{"ImageSelectorType":"SERVER_TIMESTAMP","Format":"PNG","StartTimestamp":20,"EndTimestamp":10}"#,
            r#"{"ImageSelectorType":"SERVER_TIMESTAMP","Format":"GIF","StartTimestamp":10,"EndTimestamp":20}"#,
            r#"{"ImageSelectorType":"SERVER_TIMESTAMP","Format":"PNG","StartTimestamp":10,"EndTimestamp":20,"WidthPixels":100}"#,
            r#"{"ImageSelectorType":"SERVER_TIMESTAMP","Format":"JPEG","StartTimestamp":10,"EndTimestamp":20,"FormatConfig":{"JPEGQuality":"101"}}"#,
            r#"{"ImageSelectorType":"SERVER_TIMESTAMP","Format":"JPEG","StartTimestamp":10,"EndTimestamp":20,"MaxResults":101}"#,
            r#"{"Format":"PNG","StartTimestamp":10,"EndTimestamp":20}"#,
        ] {
            let e = ImageQuery::from_input(&input(bad), "s").unwrap_err();
            assert_eq!(e.code(), "InvalidArgumentException", "{bad}");
        }
        let short = r#"{"ImageSelectorType":"PRODUCER_TIMESTAMP","Format":"JPEG","StartTimestamp":10,"EndTimestamp":11,"SamplingInterval":3000,"MaxResults":5}"#;
        let q = ImageQuery::from_input(&input(short), "s").unwrap();
        assert_eq!((q.samples(), q.page), (vec![10_000], 5));
    }
}
