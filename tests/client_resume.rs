//! The checkpoint pattern a long-running consumer uses (issue G): after
//! each chunk it has handled it keeps `continuation_token()`, and a new
//! process resumes with `StartSelector::ContinuationToken`. Stopped and
//! resumed several times against the emulator, the consumer gets every
//! fragment once, in order.

mod client_support;
mod common;

use client_support::{client, emulator, numbers, recording, stream};
use futures::StreamExt;
use kvs_mkv::client::{GetMediaOptions, StartSelector};
use kvs_mkv::emulator::Options;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_media_resumes_from_the_last_handled_chunks_token() {
    let (body, expected) = recording(14);
    let mut options = Options::default();
    options.calls_per_second = None;
    let e = emulator(body, options).await;
    let client = client(&e, true);

    // The "checkpoint file": the token of the last chunk handled.
    let mut checkpoint: Option<String> = None;
    let mut handled = Vec::new();
    let mut sessions = 0;
    // Each "process" handles up to 4 chunks, then stops mid-stream (its
    // stream dropped with the session still open).
    loop {
        sessions += 1;
        assert!(sessions <= 10, "no progress: {handled:?}");
        let start = match &checkpoint {
            Some(token) => StartSelector::ContinuationToken(token.clone()),
            None => StartSelector::Earliest,
        };
        let mut chunks = client.get_media(stream(), start, GetMediaOptions::default());
        let mut taken = 0;
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.unwrap();
            handled.push(chunk.clone());
            checkpoint = chunk.continuation_token().map(str::to_string);
            assert!(checkpoint.is_some(), "every emulator chunk has a token");
            taken += 1;
            if taken == 4 {
                break;
            }
        }
        if taken < 4 {
            break;
        }
    }
    assert_eq!(numbers(&handled), numbers(&expected), "no loss, no repeat");
    // 14 chunks, 4 at a time: the fourth "process" gets the last two and
    // sees the stream end.
    assert_eq!(sessions, 4);
}
