//! Attack on 110855e's client side: each GetMedia session's decoder is
//! told where it starts (`start_at`) instead of each item being moved
//! afterwards. Three sessions: the first cut inside a chunk; the second
//! beginning in the middle of that chunk (the rest of it: a resync) and
//! holding a chunk damaged after its Cluster began; the third beginning
//! with junk and holding another damaged chunk. The offsets expected come
//! from the bodies as the server sent them, each decoded alone by a plain
//! decoder and moved by the lengths of the bodies before it: never from
//! the client's output.

mod hostile_support;

use bytes::BytesMut;
use futures::StreamExt;
use hostile_support::{chunk, client, guarded, stream, Body, Piece, Reply, Request, Server};
use kvs_mkv::client::{ClientError, GetMediaOptions, StartSelector};
use kvs_mkv::{DecodeErrorKind, Event, EventDecoder};
use tokio_util::codec::Decoder;

/// One body decoded alone, offsets moved by `base`.
#[derive(Debug, Default)]
struct Alone {
    /// (fragment number, offset).
    starts: Vec<(String, u64)>,
    /// (fragment number, offset, length, finished).
    ends: Vec<(String, u64, u64, bool)>,
    /// (offset, skipped) of every error but a cut at the end.
    errors: Vec<(u64, u64)>,
}

fn alone(body: &[u8], base: u64) -> Alone {
    let mut out = Alone::default();
    let mut decoder = EventDecoder::default();
    let mut buf = BytesMut::from(body);
    let number = |i: &kvs_mkv::ChunkInfo| {
        i.fragment_number()
            .map(|n| n.to_string())
            .unwrap_or_default()
    };
    loop {
        match decoder.decode_eof(&mut buf) {
            Ok(Some(Event::Start(i))) => out.starts.push((number(&i), i.offset + base)),
            Ok(Some(Event::End(i))) => {
                let finished = i.complete && i.continuation_token().is_some();
                out.ends
                    .push((number(&i), i.offset + base, i.length, finished));
            }
            Ok(Some(Event::Frame(_))) => {}
            Ok(None) => return out,
            Err(kvs_mkv::Error::Decode(d)) => {
                if !matches!(d.kind, DecodeErrorKind::Truncated { .. }) {
                    out.errors.push((d.offset + base, d.skipped));
                }
            }
            Err(e) => panic!("{e}"),
        }
    }
}

/// Overwrites four bytes in the middle of `c`'s first Cluster with 0xFF
/// (an absurd size there): damage after the chunk's `Start`.
fn damaged(mut c: Vec<u8>) -> Vec<u8> {
    let cluster = c
        .windows(4)
        .position(|w| w == [0x1F, 0x43, 0xB6, 0x75])
        .unwrap();
    let at = cluster + (c.len() - cluster) / 2;
    c[at..at + 4].copy_from_slice(&[0xFF; 4]);
    c
}

/// The three bodies.
fn bodies() -> [Vec<u8>; 3] {
    let a = chunk("1001", Some("tok-1001"), 3);
    let b = chunk("1002", Some("tok-1002"), 3);
    let c = damaged(chunk("1003", Some("tok-1003"), 3));
    let d = chunk("1004", Some("tok-1004"), 3);
    let e = damaged(chunk("1005", Some("tok-1005"), 3));
    let f = chunk("1006", Some("tok-1006"), 3);
    let cut = b.len() / 2;
    let first = [&a[..], &b[..cut]].concat();
    // Begins where the first was cut, in the middle of b.
    let second = [&b[cut..], &b[..], &c[..], &d[..]].concat();
    let third = [&[0u8, 1, 2, 3, 4][..], &e[..], &f[..]].concat();
    [first, second, third]
}

fn server(bodies: [Vec<u8>; 3]) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    move |r: &Request| match (r.path.as_str(), r.index) {
        ("/getDataEndpoint", _) => Reply::endpoint_of(r),
        // A cut: the body claims more than it sends, then closes.
        (_, 1) => Reply::with(
            200,
            Body::Declared(
                (bodies[0].len() + 100) as u64,
                vec![Piece::Data(bodies[0].clone()), Piece::Close],
            ),
        ),
        (_, 2) => Reply::with(200, Body::Full(bodies[1].clone())),
        (_, 3) => Reply::with(200, Body::Full(bodies[2].clone())),
        _ => Reply::with(200, Body::Full(Vec::new())),
    }
}

/// What the bodies decode to, each alone, moved by what came before.
fn expected() -> [Alone; 3] {
    let [one, two, three] = bodies();
    let b2 = one.len() as u64;
    let b3 = b2 + two.len() as u64;
    [alone(&one, 0), alone(&two, b2), alone(&three, b3)]
}

fn find(a: &[(String, u64)], n: &str) -> u64 {
    a.iter().find(|(m, _)| m == n).unwrap().1
}

/// The frame-level stream: every `Start`, `End` and error offset is where
/// its bytes were in the concatenation of all the bodies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_offsets_count_every_session_with_resync_and_damage() {
    let server = Server::start(server(bodies())).await;
    let [one, two, three] = expected();
    // The input is what the test means it to be.
    assert_eq!(
        two.errors.len() + three.errors.len(),
        4,
        "{two:?} {three:?}"
    );
    let mut events = client(&server.url).get_media_events(
        stream(),
        StartSelector::Earliest,
        GetMediaOptions::default(),
    );
    let (mut starts, mut ends, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    while let Some(item) = guarded(30, events.next()).await {
        match item {
            Ok(Event::Start(i)) => {
                starts.push((i.fragment_number().unwrap().to_string(), i.offset));
            }
            Ok(Event::End(i)) => ends.push((i.fragment_number().unwrap().to_string(), i.offset)),
            Ok(Event::Frame(_)) => {}
            Err(ClientError::Decode(d)) => errors.push((d.offset, d.skipped)),
            Err(e) => panic!("{e:?}"),
        }
    }
    // Starts: b's from the first session (the second resends it: not
    // shown again), c's (damaged: no End), then the rest.
    let want_starts = vec![
        ("1001".to_string(), find(&one.starts, "1001")),
        ("1002".to_string(), find(&one.starts, "1002")),
        ("1003".to_string(), find(&two.starts, "1003")),
        ("1004".to_string(), find(&two.starts, "1004")),
        ("1005".to_string(), find(&three.starts, "1005")),
        ("1006".to_string(), find(&three.starts, "1006")),
    ];
    assert_eq!(starts, want_starts);
    let want_ends: Vec<_> = [&one, &two, &three]
        .iter()
        .flat_map(|a| a.ends.iter())
        .filter(|e| e.3)
        .map(|e| (e.0.clone(), e.1))
        .collect();
    assert_eq!(
        want_ends.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        ["1001", "1002", "1004", "1006"]
    );
    assert_eq!(ends, want_ends);
    let want_errors: Vec<_> = [&two, &three]
        .iter()
        .flat_map(|a| a.errors.iter().copied())
        .collect();
    assert_eq!(errors, want_errors);
}

/// The same bodies through the chunk-level stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunk_offsets_count_every_session_with_resync_and_damage() {
    let server = Server::start(server(bodies())).await;
    let all = expected();
    let mut media = client(&server.url).get_media(
        stream(),
        StartSelector::Earliest,
        GetMediaOptions::default(),
    );
    let (mut chunks, mut errors) = (Vec::new(), Vec::new());
    while let Some(item) = guarded(30, media.next()).await {
        match item {
            Ok(c) => chunks.push((
                c.fragment_number().unwrap().to_string(),
                c.info().offset,
                c.info().length,
            )),
            Err(ClientError::Decode(d)) => errors.push((d.offset, d.skipped)),
            Err(e) => panic!("{e:?}"),
        }
    }
    let want: Vec<_> = all
        .iter()
        .flat_map(|a| a.ends.iter())
        .filter(|e| e.3)
        .map(|e| (e.0.clone(), e.1, e.2))
        .collect();
    assert_eq!(chunks, want);
    let want_errors: Vec<_> = all.iter().flat_map(|a| a.errors.iter().copied()).collect();
    assert_eq!(errors, want_errors);
}

/// The first session cut at every 7th byte of three chunks (inside a
/// header, a tag, a frame, between chunks); the second answers what the
/// resume selector asks for. Every frame comes out once, in order, and
/// every `End` and chunk offset is where its bytes were in all the bytes
/// sent (frame- and chunk-level streams).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cut_of_the_first_session() {
    let a = chunk("1001", Some("tok-1001"), 3);
    let b = chunk("1002", Some("tok-1002"), 3);
    let c = chunk("1003", Some("tok-1003"), 3);
    let all = [&a[..], &b[..], &c[..]].concat();
    let want_frames: Vec<String> = ["1001", "1002", "1003"]
        .iter()
        .flat_map(|n| (0..3).map(move |k| format!("frag{n}-frame{k}-{}", "x".repeat(40))))
        .collect();
    let mut cuts = 0;
    for cut in (1..all.len()).step_by(7) {
        let first = all[..cut].to_vec();
        let (a2, b2, c2) = (a.clone(), b.clone(), c.clone());
        // What the second session sends, for the selector it got.
        let rest = move |r: &Request| -> Vec<u8> {
            let token = r.json()["StartSelector"]["ContinuationToken"]
                .as_str()
                .map(str::to_owned);
            match token.as_deref() {
                None => [&a2[..], &b2[..], &c2[..]].concat(),
                Some("tok-1001") => [&b2[..], &c2[..]].concat(),
                Some("tok-1002") => c2.clone(),
                Some(t) => panic!("{t}"),
            }
        };
        let first2 = first.clone();
        let rest2 = rest.clone();
        let script = std::sync::Arc::new(move |r: &Request| match (r.path.as_str(), r.index) {
            ("/getDataEndpoint", _) => Reply::endpoint_of(r),
            (_, 1) => Reply::with(
                200,
                Body::Declared(
                    (first2.len() + 100) as u64,
                    vec![Piece::Data(first2.clone()), Piece::Close],
                ),
            ),
            (_, 2) => Reply::with(200, Body::Full(rest2(r))),
            _ => Reply::with(200, Body::Full(Vec::new())),
        });
        let script = move |r: &Request| script(r);
        let server = Server::start(script.clone()).await;
        let mut events = client(&server.url).get_media_events(
            stream(),
            StartSelector::Earliest,
            GetMediaOptions::default(),
        );
        let (mut frames, mut ends) = (Vec::new(), Vec::new());
        while let Some(item) = guarded(30, events.next()).await {
            match item {
                Ok(Event::Start(_)) => {}
                Ok(Event::End(i)) => ends.push((i.offset, i.length)),
                Ok(Event::Frame(f)) => frames.push(String::from_utf8(f.data().to_vec()).unwrap()),
                Err(e) => panic!("cut {cut}: {e:?}"),
            }
        }
        assert_eq!(frames, want_frames, "cut {cut}");
        // Expected: the first body's finished chunks at their offsets,
        // then the second body's (decoded alone) moved by `cut`.
        let second = server
            .requests()
            .iter()
            .filter(|r| r.path == "/getMedia")
            .nth(1)
            .map(&rest)
            .unwrap();
        let one = alone(&first, 0);
        let two = alone(&second, cut as u64);
        let want: Vec<_> = one
            .ends
            .iter()
            .chain(&two.ends)
            .filter(|e| e.3)
            .map(|e| (e.1, e.2))
            .collect();
        assert_eq!(ends, want, "cut {cut}");
        assert_eq!(ends.len(), 3, "cut {cut}");
        // The chunk-level stream, on the same script.
        let server = Server::start(script.clone()).await;
        let mut media = client(&server.url).get_media(
            stream(),
            StartSelector::Earliest,
            GetMediaOptions::default(),
        );
        let (mut frames, mut chunks) = (Vec::new(), Vec::new());
        while let Some(item) = guarded(30, media.next()).await {
            let c = item.unwrap_or_else(|e| panic!("cut {cut}: {e:?}"));
            for f in c.frames() {
                frames.push(String::from_utf8(f.data().to_vec()).unwrap());
            }
            chunks.push((c.info().offset, c.info().length));
        }
        assert_eq!(frames, want_frames, "cut {cut}, chunks");
        assert_eq!(chunks, want, "cut {cut}, chunks");
        cuts += 1;
    }
    assert!(cuts > 50);
}
