//! The five operations, as the service answers them: each takes the shared
//! [`State`] and a request's JSON members and answers a plain [`Reply`] (a
//! JSON value, or what a media body streams) or an [`ApiError`]. No HTTP
//! here; the server turns replies into responses.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use tokio::time::Instant;

use super::images::Window;
use super::media::{GetMediaSession, MediaJob, MediaReply};
use super::select::{self, FragmentQuery, ImageQuery};
use super::state::State;
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

/// An operation's successful answer.
#[derive(Debug)]
pub(crate) enum Reply {
    /// 200 with this JSON body.
    Json(Value),
    /// 200 with a streamed Matroska body.
    Media(MediaReply),
}

/// Answers `op`.
pub(crate) fn call(state: &State, op: Operation, input: &Input) -> Result<Reply, ApiError> {
    match op {
        Operation::GetDataEndpoint => get_data_endpoint(state, input),
        Operation::GetMedia => get_media(state, input),
        Operation::ListFragments => list_fragments(state, input),
        Operation::GetMediaForFragmentList => get_media_for_fragment_list(state, input),
        Operation::GetImages => get_images(state, input),
    }
}

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
    let limit = stream.get_media_calls.limit().unwrap_or(0);
    tracing::info!(
        operation = op.name(),
        stream = %stream.name,
        limit,
        "throttled: ClientLimitExceededException"
    );
    ApiError::client_limit(format!(
        "{op} is limited to {limit} calls per second per stream ({})",
        stream.name
    ))
}

/// GetDataEndpoint: the emulator's own URL, for every APIName.
fn get_data_endpoint(state: &State, input: &Input) -> Result<Reply, ApiError> {
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
    Ok(Reply::Json(json!({ "DataEndpoint": state.url })))
}

/// GetMedia: a stream of chunks from the selected start.
fn get_media(state: &State, input: &Input) -> Result<Reply, ApiError> {
    let stream = find_stream(state, input)?;
    if stream
        .get_media_calls
        .try_acquire(&(), Instant::now())
        .is_err()
    {
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
    Ok(Reply::Media(MediaReply {
        job: MediaJob::GetMedia { stream, session },
        plan,
    }))
}

/// GetMediaForFragmentList: the listed fragments, in request order.
fn get_media_for_fragment_list(state: &State, input: &Input) -> Result<Reply, ApiError> {
    let stream = find_stream(state, input)?;
    if stream
        .fragment_list_calls
        .try_acquire(&(), Instant::now())
        .is_err()
    {
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
    Ok(Reply::Media(MediaReply {
        job: MediaJob::FragmentList {
            stream,
            numbers,
            available,
        },
        plan,
    }))
}

/// ListFragments: one page of the selected fragments, in no particular
/// order.
fn list_fragments(state: &State, input: &Input) -> Result<Reply, ApiError> {
    let stream = find_stream(state, input)?;
    let page = select::max_results(input, 1000, 1000)?;
    let available = stream.timeline.available(state.clock.now_ms());
    let query = FragmentQuery::from_input(input, &stream.name, available)?;
    let listing = query.listing(&stream.timeline, state.list_seed ^ hash(&stream.name));
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
    Ok(Reply::Json(Value::Object(out)))
}

/// GetImages: one page of images at the sampled times.
fn get_images(state: &State, input: &Input) -> Result<Reply, ApiError> {
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
    Ok(Reply::Json(Value::Object(out)))
}

fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use tokio::sync::watch;

    use super::*;
    use crate::emulator::media::{BodyWriter, FlushSignal};
    use crate::emulator::select::Start;
    use crate::emulator::{Emulator, Options};

    const SAMPLE: &str = "testdata/sample.mkv";

    /// The state of an emulator serving the sample as `cam`, with no
    /// server: no socket, no HTTP, no runtime.
    fn state(options: Options) -> (State, watch::Sender<bool>) {
        let (shutdown, on_shutdown) = watch::channel(false);
        let state = Emulator::builder()
            .stream("cam", Path::new(SAMPLE))
            .options(options)
            .prepare()
            .unwrap()
            .into_state("http://emulator.test".into(), on_shutdown);
        (state, shutdown)
    }

    fn input(json: &str) -> Input {
        Input::parse(json.as_bytes()).unwrap()
    }

    fn json(reply: Result<Reply, ApiError>) -> Value {
        match reply {
            Ok(Reply::Json(value)) => value,
            other => panic!("not a JSON reply: {other:?}"),
        }
    }

    /// The sample's fragment numbers, read from the file.
    fn recorded_numbers() -> Vec<String> {
        let file = std::fs::read(SAMPLE).unwrap();
        crate::io::read_chunks(&file[..])
            .map(|c| c.unwrap().fragment_number().unwrap().to_string())
            .collect()
    }

    #[test]
    fn operations_answer_plain_values_without_http() {
        let (state, _shutdown) = state(Options::default());
        let endpoint = json(call(
            &state,
            Operation::GetDataEndpoint,
            &input(r#"{"StreamName": "cam", "APIName": "GET_MEDIA"}"#),
        ));
        assert_eq!(endpoint["DataEndpoint"], "http://emulator.test");

        let listed = json(call(
            &state,
            Operation::ListFragments,
            &input(r#"{"StreamName": "cam"}"#),
        ));
        let mut numbers: Vec<String> = listed["Fragments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["FragmentNumber"].as_str().unwrap().to_string())
            .collect();
        numbers.sort();
        assert_eq!(numbers, recorded_numbers());

        let missing = call(
            &state,
            Operation::ListFragments,
            &input(r#"{"StreamName": "nope"}"#),
        )
        .unwrap_err();
        assert_eq!(
            (missing.status, missing.code()),
            (404, "ResourceNotFoundException")
        );
    }

    #[test]
    fn get_media_answers_a_session_that_holds_its_place() {
        let (state, _shutdown) = state(Options {
            max_get_media_sessions: Some(1),
            ..Options::default()
        });
        let request =
            input(r#"{"StreamName": "cam", "StartSelector": {"StartSelectorType": "EARLIEST"}}"#);
        let first = call(&state, Operation::GetMedia, &request).unwrap();
        let Reply::Media(MediaReply {
            job: MediaJob::GetMedia { session, .. },
            ..
        }) = &first
        else {
            panic!("not a GetMedia body: {first:?}");
        };
        assert_eq!(session.start, Start::At(0));
        let refused = call(&state, Operation::GetMedia, &request).unwrap_err();
        assert_eq!(
            (refused.status, refused.code()),
            (400, "ConnectionLimitExceededException")
        );
        // Dropping the reply (its body) frees the place.
        drop(first);
        assert!(call(&state, Operation::GetMedia, &request).is_ok());
    }

    /// A GetMediaForFragmentList reply, run and read without HTTP: the
    /// listed fragments in request order.
    #[tokio::test]
    async fn a_media_reply_streams_without_http() {
        let (state, _shutdown) = state(Options::default());
        let recorded = recorded_numbers();
        let request = format!(
            r#"{{"StreamName": "cam", "Fragments": ["{}", "{}"]}}"#,
            recorded[2], recorded[0]
        );
        let reply = call(&state, Operation::GetMediaForFragmentList, &input(&request));
        let Ok(Reply::Media(media)) = reply else {
            panic!("not a media reply: {reply:?}");
        };
        let (writer, mut body) = BodyWriter::new(
            media.plan,
            state.shutdown.clone(),
            Arc::new(FlushSignal::default()),
        );
        tokio::spawn(media.job.run(writer));
        let mut bytes = Vec::new();
        while let Some(data) = std::future::poll_fn(|cx| body.poll_data(cx)).await {
            bytes.extend_from_slice(&data.unwrap());
        }
        let served: Vec<String> = crate::io::read_chunks(&bytes[..])
            .map(|c| c.unwrap().fragment_number().unwrap().to_string())
            .collect();
        assert_eq!(served, [recorded[2].clone(), recorded[0].clone()]);
    }
}
