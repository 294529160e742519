//! The five operations, as the service answers them.

use std::sync::Arc;
use std::time::Instant;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::images::Window;
use super::media::{self, BodyWriter, FlushSignal, GetMediaSession};
use super::select::{self, FragmentQuery, ImageQuery};
use super::server::{json_response, media_response, Response, State};
use super::store::Stream;
use super::throttle::SessionGuard;
use super::wire::{is_fragment_number, timestamp_json, ApiError, Input, Operation, StreamRef};

/// The `APIName` values of GetDataEndpoint.
const API_NAMES: [&str; 8] = [
    "PUT_MEDIA",
    "GET_MEDIA",
    "LIST_FRAGMENTS",
    "GET_MEDIA_FOR_FRAGMENT_LIST",
    "GET_HLS_STREAMING_SESSION_URL",
    "GET_DASH_STREAMING_SESSION_URL",
    "GET_CLIP",
    "GET_IMAGES",
];

/// Most fragments in one GetMediaForFragmentList call (the model).
const MAX_FRAGMENT_LIST: usize = 1000;

fn find_stream(state: &State, input: &Input) -> Result<Arc<Stream>, ApiError> {
    let by_arn = |arn: &str| state.streams.values().find(|s| s.arn == arn).cloned();
    let not_found = |what: &str| {
        ApiError::not_found(format!(
            "The requested stream is not found or not active: {what}"
        ))
    };
    match StreamRef::from_input(input)? {
        StreamRef::Name(name) => state
            .streams
            .get(&name)
            .cloned()
            .ok_or_else(|| not_found(&name)),
        StreamRef::Arn(arn) => by_arn(&arn).ok_or_else(|| not_found(&arn)),
        StreamRef::Both { name, arn } => {
            let stream = state
                .streams
                .get(&name)
                .cloned()
                .ok_or_else(|| not_found(&name))?;
            if stream.arn != arn {
                return Err(ApiError::invalid_argument(
                    "StreamName and StreamARN name different streams",
                ));
            }
            Ok(stream)
        }
    }
}

fn throttled(stream: &Stream, op: Operation) -> ApiError {
    ApiError::client_limit(format!(
        "{op} is limited to {} calls per second per stream ({})",
        stream.get_media_calls.limit().unwrap_or(0),
        stream.name
    ))
}

/// GetDataEndpoint: the emulator's own URL, for every APIName.
pub(crate) fn get_data_endpoint(state: &State, input: &Input) -> Result<Response, ApiError> {
    let api = input
        .string("APIName")?
        .ok_or_else(|| ApiError::invalid_argument("APIName is required"))?;
    if !API_NAMES.contains(&api) {
        return Err(ApiError::invalid_argument(format!(
            "APIName {api:?} is not one of {}",
            API_NAMES.join(", ")
        )));
    }
    find_stream(state, input)?;
    Ok(json_response(json!({ "DataEndpoint": state.url })))
}

/// GetMedia: a stream of chunks from the selected start.
pub(crate) fn get_media(
    state: &State,
    input: &Input,
    signal: Arc<FlushSignal>,
) -> Result<Response, ApiError> {
    let stream = find_stream(state, input)?;
    if !stream.get_media_calls.try_acquire(Instant::now()) {
        return Err(throttled(&stream, Operation::GetMedia));
    }
    let available = stream.timeline.available(state.clock.now_ms());
    let start = select::get_media_start(input, &stream.timeline, available)?;
    let guard = SessionGuard::open(&stream.sessions, state.options.max_get_media_sessions)
        .ok_or_else(|| {
            ApiError::connection_limit(format!(
                "stream {} already has {} GetMedia connections",
                stream.name,
                state.options.max_get_media_sessions.unwrap_or(0)
            ))
        })?;
    let plan = state.faults.body_plan(Operation::GetMedia);
    let session = GetMediaSession {
        start,
        idle_timeout: state.options.idle_timeout,
        end_after: plan.end_after,
        clock: state.clock,
        guard,
    };
    let (writer, body) = BodyWriter::new(plan, state.shutdown.clone(), signal);
    tokio::spawn(media::get_media(stream, session, writer));
    Ok(media_response(body))
}

/// GetMediaForFragmentList: the listed fragments, in request order.
pub(crate) fn get_media_for_fragment_list(
    state: &State,
    input: &Input,
    signal: Arc<FlushSignal>,
) -> Result<Response, ApiError> {
    let stream = find_stream(state, input)?;
    if !stream.fragment_list_calls.try_acquire(Instant::now()) {
        return Err(throttled(&stream, Operation::GetMediaForFragmentList));
    }
    let numbers = input
        .string_list("Fragments")?
        .ok_or_else(|| ApiError::invalid_argument("Fragments is required"))?;
    if numbers.is_empty() || numbers.len() > MAX_FRAGMENT_LIST {
        return Err(ApiError::invalid_argument(format!(
            "Fragments must hold 1 to {MAX_FRAGMENT_LIST} fragment numbers, not {}",
            numbers.len()
        )));
    }
    if let Some(bad) = numbers.iter().find(|n| !is_fragment_number(n)) {
        return Err(ApiError::invalid_argument(format!(
            "{bad:?} is not a fragment number"
        )));
    }
    let numbers = numbers.into_iter().map(str::to_string).collect();
    let available = stream.timeline.available(state.clock.now_ms());
    let plan = state.faults.body_plan(Operation::GetMediaForFragmentList);
    let (writer, body) = BodyWriter::new(plan, state.shutdown.clone(), signal);
    tokio::spawn(media::fragment_list(stream, numbers, available, writer));
    Ok(media_response(body))
}

/// ListFragments: one page of the selected fragments, in no particular
/// order.
pub(crate) fn list_fragments(state: &State, input: &Input) -> Result<Response, ApiError> {
    let stream = find_stream(state, input)?;
    let page = select::max_results(input, 1000, 1000)?;
    let available = stream.timeline.available(state.clock.now_ms());
    let query = FragmentQuery::from_input(input, &stream.name, available)?;
    let listing = query.listing(&stream.timeline, state.seed ^ hash(&stream.name));
    let from = (query.offset as usize).min(listing.len());
    let to = (from + page).min(listing.len());
    let timeline = &stream.timeline;
    let fragments: Vec<Value> = listing[from..to]
        .iter()
        .map(|&g| {
            let f = timeline.fragment(g);
            json!({
                "FragmentNumber": f.number.as_str(),
                "FragmentSizeInBytes": timeline.chunk_len(&f),
                "ProducerTimestamp": timestamp_json(f.producer_ms),
                "ServerTimestamp": timestamp_json(f.server_ms),
                "FragmentLengthInMilliseconds": f.duration_ms,
            })
        })
        .collect();
    let mut out = Map::new();
    out.insert("Fragments".into(), Value::Array(fragments));
    if to < listing.len() {
        out.insert(
            "NextToken".into(),
            Value::String(query.next_token(&stream.name, to - from)),
        );
    }
    Ok(json_response(Value::Object(out)))
}

/// GetImages: one page of images at the sampled times.
pub(crate) fn get_images(state: &State, input: &Input) -> Result<Response, ApiError> {
    let stream = find_stream(state, input)?;
    let query = ImageQuery::from_input(input, &stream.name)?;
    let samples = query.samples();
    let from = query.offset.min(samples.len());
    let to = (from + query.page).min(samples.len());
    let timeline = &stream.timeline;
    let available = timeline.available(state.clock.now_ms());
    let images: Vec<Value> = samples[from..to]
        .iter()
        .map(|&t| {
            let mut image = Map::new();
            image.insert("TimeStamp".into(), timestamp_json(t));
            let picked = timeline.covering(query.kind, t, available).map(|f| {
                let window = Window {
                    start_ms: f.ts(query.kind),
                    duration_ms: f.duration_ms,
                    offset_ms: timeline.offset_in_recording(&f),
                };
                stream
                    .images
                    .as_ref()
                    .and_then(|images| images.pick(query.format, t, window))
            });
            match picked {
                None => {
                    image.insert("Error".into(), "NO_MEDIA".into());
                }
                Some(None) => {
                    image.insert("Error".into(), "MEDIA_ERROR".into());
                }
                Some(Some(content)) => {
                    image.insert("ImageContent".into(), STANDARD.encode(content).into());
                }
            }
            Value::Object(image)
        })
        .collect();
    let mut out = Map::new();
    out.insert("Images".into(), Value::Array(images));
    if to < samples.len() {
        out.insert(
            "NextToken".into(),
            Value::String(query.next_token(&stream.name, to - from)),
        );
    }
    Ok(json_response(Value::Object(out)))
}

fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
