//! The client tests' fixtures: a GetMedia-shaped recording made by the
//! writer, an in-process emulator serving it, and a client pointed at it.
#![allow(dead_code)]

use std::time::Duration;

use kvs_mkv::client::{Client, ClientConfig, StreamId};
use kvs_mkv::emulator::{Emulator, EmulatorHandle, Options};
use kvs_mkv::sigv4::Credentials;
use kvs_mkv::writer::{ChunkModel, ChunkWriter, Layout};
use kvs_mkv::{Chunk, Frame, Timestamp};

pub const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

pub fn credentials() -> Credentials {
    Credentials::new("AKIDEXAMPLE", SECRET)
}

/// A GetMedia-shaped recording of `n` small fragments (from the sample's
/// video track), with increasing fragment numbers and timestamps.
pub fn recording(n: usize) -> (Vec<u8>, Vec<Chunk>) {
    recording_with(n, |i, first| {
        first
            .frames()
            .iter()
            .take(3)
            .enumerate()
            .map(|(k, f)| {
                let pts = (i * 1000 + k * 66) as i64;
                Frame::new(f.data().clone(), 1, pts, 1_000_000, k == 0)
            })
            .collect()
    })
}

/// A GetMedia-shaped recording of `n` fragments with the sample's tracks,
/// increasing fragment numbers and timestamps, whose frames `frames` makes
/// (from the fragment's index and the sample's first chunk).
pub fn recording_with(
    n: usize,
    frames: impl Fn(usize, &Chunk) -> Vec<Frame>,
) -> (Vec<u8>, Vec<Chunk>) {
    let sample = std::fs::read(crate::common::root().join("testdata/sample.mkv")).unwrap();
    let first = kvs_mkv::io::read_chunks(&sample[..])
        .next()
        .unwrap()
        .unwrap();
    let writer = ChunkWriter::new(Layout::Service);
    let mut body = Vec::new();
    for i in 0..n {
        let mut model = ChunkModel::default();
        model.tracks = first.info().tracks.clone();
        model.aws.fragment_number = Some(
            format!("9134385233318143239268206260774392014615916{:04}", 1000 + i)
                .parse()
                .unwrap(),
        );
        let t = Timestamp::new(1_700_000_000 + i as u64, 0).unwrap();
        model.aws.server_timestamp = Some(t);
        model.aws.producer_timestamp = Some(t);
        model.aws.continuation_token = model.aws.fragment_number.map(|f| f.to_string().into());
        model.aws.millis_behind_now = Some(0);
        model.frames = frames(i, &first);
        body.extend_from_slice(&writer.to_bytes(&model).unwrap());
    }
    let chunks = kvs_mkv::io::read_chunks(&body[..])
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    assert_eq!(chunks.len(), n);
    (body, chunks)
}

pub async fn emulator(body: Vec<u8>, options: Options) -> EmulatorHandle {
    Emulator::builder()
        .stream("cam", body)
        .credentials(credentials())
        .options(options)
        .start("127.0.0.1:0")
        .await
        .unwrap()
}

pub fn client(e: &EmulatorHandle, fast: bool) -> Client {
    let mut config = ClientConfig::new(e.region(), credentials()).with_endpoint_url(e.url());
    if fast {
        // Cuts every session: keep the test short, not the policy.
        config.calls_per_second = 1000;
        config.retry.base_delay = Duration::from_millis(2);
        config.retry.max_delay = Duration::from_millis(20);
    }
    Client::new(config).unwrap()
}

pub fn stream() -> StreamId {
    StreamId::Name("cam".into())
}

pub fn numbers(chunks: &[Chunk]) -> Vec<String> {
    chunks
        .iter()
        .map(|c| c.fragment_number().unwrap().to_string())
        .collect()
}
