//! Attack 41 on the waits for a chunk's head (`Engine::awaits_memo`) and
//! for Tags or a SimpleTag cut by the end of a read (`Engine::awaits_whole`),
//! on a chunk's Cluster and Timestamp through `head_fits`, on the Tags
//! that close an unknown-size Cluster, and on the SimpleBlock byte
//! early-out. Stricter than [`compare`] (which, since this attack, also
//! counts the ChunkDecoder's outputs after every piece): call sequences
//! with `decode` repeated on no new bytes, and `decode_eof` in the middle
//! of the stream and repeated at its end, are played on both paths, and
//! what comes out is compared after every call.

use super::*;

/// One call on a decoder: bytes added, or a `decode` / `decode_eof` run
/// until it returns nothing.
#[derive(Clone, Copy, Debug)]
enum Call {
    Feed(usize),
    Decode,
    Eof,
}

/// What a sequence of calls gave: every item or error, as text (both
/// decoders' items compared alike), and how many after each call.
fn play<D: Decoder<Error = Error>>(
    mut d: D,
    input: &[u8],
    calls: &[Call],
) -> (Vec<String>, Vec<usize>)
where
    D::Item: std::fmt::Debug,
{
    let mut buf = BytesMut::new();
    let (mut at, mut out, mut counts) = (0, Vec::new(), Vec::new());
    for &call in calls {
        match call {
            Call::Feed(n) => {
                let b = (at + n).min(input.len());
                buf.extend_from_slice(&input[at..b]);
                at = b;
            }
            Call::Decode | Call::Eof => loop {
                let r = if matches!(call, Call::Eof) {
                    d.decode_eof(&mut buf)
                } else {
                    d.decode(&mut buf)
                };
                match r {
                    Ok(Some(x)) => out.push(format!("{x:?}")),
                    Ok(None) => break,
                    Err(Error::Decode(e)) => out.push(format!("error {e:?}")),
                    Err(e) => panic!("{e}"),
                }
            },
        }
        counts.push(out.len());
    }
    (out, counts)
}

/// The calls that feed `input` in pieces of `sizes` (cycled), decoding
/// after each, then end it (twice, and once more after a `decode`).
fn calls_of(len: usize, sizes: &[usize]) -> Vec<Call> {
    let mut v = Vec::new();
    for (a, b) in pieces_of(len, sizes) {
        v.push(Call::Feed(b - a));
        v.push(Call::Decode);
        v.push(Call::Decode);
    }
    v.extend([Call::Eof, Call::Eof, Call::Decode, Call::Eof]);
    v
}

/// Both decoders with and without the fast paths on `calls`: what
/// differs (items, or how many were out after each call).
fn strict(input: &[u8], l: Limits, calls: &[Call]) -> Vec<&'static str> {
    let mut why = Vec::new();
    let c = play(ChunkDecoder::with_limits(l), input, calls);
    let cg = play(ChunkDecoder::general_path_only(l), input, calls);
    if c.0 != cg.0 {
        why.push("ChunkDecoder items");
    } else if c.1 != cg.1 {
        why.push("ChunkDecoder items out per call");
    }
    let e = play(EventDecoder::with_limits(l), input, calls);
    let eg = play(EventDecoder::general_path_only(l), input, calls);
    if e.0 != eg.0 {
        why.push("EventDecoder items");
    } else if e.1 != eg.1 {
        why.push("EventDecoder items out per call");
    }
    why
}

/// `input` cut in two at every byte of `cuts` (a read ending there),
/// decoded on, and also ended there (`decode_eof` at the cut, then the
/// rest fed and decoded): failures, and how many cases.
fn cut_everywhere(
    name: &str,
    input: &[u8],
    cuts: std::ops::Range<usize>,
    ls: &[Limits],
    failures: &mut Vec<String>,
) -> u64 {
    let mut cases = 0;
    for l in ls {
        for k in cuts.clone() {
            let rest = input.len() - k;
            let plans = [
                calls_of(input.len(), &[k, rest]),
                calls_of(input.len(), &[k, 1, rest]),
                vec![
                    Call::Feed(k),
                    Call::Decode,
                    Call::Eof,
                    Call::Decode,
                    Call::Feed(rest),
                    Call::Decode,
                    Call::Eof,
                ],
            ];
            for (p, calls) in plans.iter().enumerate() {
                cases += 1;
                let why = strict(input, *l, calls);
                if !why.is_empty() {
                    failures.push(format!("{name}: cut at {k}, plan {p}: {why:?}, {l:?}"));
                }
            }
        }
    }
    cases
}

/// The limits that can bite inside a chunk's Tags: tags, element size,
/// depth, chunk size.
fn tag_limits() -> Vec<Limits> {
    let mut v = vec![Limits::default()];
    for t in 0..=3 {
        v.push(Limits {
            max_tags_per_chunk: t,
            ..Limits::default()
        });
    }
    for m in [1u64, 2, 3, 5, 40] {
        v.push(Limits {
            max_element_size: m,
            ..Limits::default()
        });
    }
    for d in 2..=5 {
        v.push(Limits {
            max_depth: d,
            ..Limits::default()
        });
    }
    for m in [150u64, 250, 330] {
        v.push(Limits {
            max_chunk_size: m,
            ..Limits::default()
        });
    }
    v
}

/// Every Tags body of `attack_tags_bodies` before and after the Cluster,
/// in chunks fed twice (the second chunk's head replayed from the memo),
/// cut at every byte of the first chunk and the second's head, under the
/// limits that bite in Tags (four of them per case, in turn).
#[test]
fn attack41_tags_cut_at_every_byte() {
    let mut failures = Vec::new();
    let mut cases = 0;
    let ls = tag_limits();
    let mut turn = 0;
    for (name, body) in attack_tags_bodies() {
        for (known, after_cluster, with_tracks) in [
            (true, false, true),
            (true, true, true),
            (true, true, false),
            (false, true, true),
        ] {
            let one = attack_tags_chunk(&body, known, after_cluster, with_tracks);
            let input = [one.clone(), one.clone()].concat();
            let some: Vec<Limits> = (0..4).map(|i| ls[(turn + i) % ls.len()]).collect();
            turn += 3;
            let name = format!(
                "{name} (known {known}, after cluster {after_cluster}, tracks {with_tracks})"
            );
            let upto = (one.len() + 120).min(input.len());
            cases += cut_everywhere(&name, &input, 0..upto, &some, &mut failures);
        }
    }
    eprintln!("{cases} cases");
    assert_none_differ(&failures);
}

/// The limits for a chunk's head: defaults, depth, tracks, element size
/// and chunk size around the head's.
fn head_limits(head_len: u64) -> Vec<Limits> {
    let mut v = vec![Limits::default()];
    for d in [2usize, 3, 4] {
        v.push(Limits {
            max_depth: d,
            ..Limits::default()
        });
    }
    v.push(Limits {
        max_tracks: 1,
        ..Limits::default()
    });
    v.push(Limits {
        max_element_size: 8,
        ..Limits::default()
    });
    for m in [head_len - 1, head_len, head_len + 40] {
        v.push(Limits {
            max_chunk_size: m,
            ..Limits::default()
        });
    }
    v
}

/// A memo taken from the first chunk; the second's head equal to it, or
/// apart from it at its very last byte, at its first, inside its EBML
/// header, its Segment size, a CodecPrivate, or damaged there; or a Void
/// or CRC-32 between the chunks; cut at every byte of the second head
/// (and ended there, then fed on).
#[test]
fn attack41_memo_prefix_waits() {
    let body = attack_head_body(&[0x11; 6]);
    let memo = [ebml_header(), open_unknown(SEGMENT, 8), body.clone()].concat();
    let first = attack_kvs_chunk(&body, 1);
    let second = attack_kvs_chunk(&body, 2);
    let m = memo.len();
    let head_len = first.len() as u64;
    let mut variants: Vec<(String, Vec<u8>)> = vec![("same".into(), second.clone())];
    for at in [
        m - 1,
        m - 2,
        0,
        3,
        4,
        10,
        ebml_header().len() + 4,
        ebml_header().len() + 11,
        60,
        80,
    ] {
        for x in [0x01u8, 0x80, 0xFF] {
            let mut s = second.clone();
            s[at] ^= x;
            variants.push((format!("byte {at} ^ {x:#x}"), s));
        }
    }
    variants.push((
        "Void first".into(),
        [el(VOID, &[0; 3]), second.clone()].concat(),
    ));
    variants.push((
        "CRC-32 first".into(),
        [el(CRC32, &[1, 2, 3, 4]), second.clone()].concat(),
    ));
    variants.push(("cut head".into(), second[..m - 1].to_vec()));
    variants.push(("head only".into(), second[..m].to_vec()));
    let seg_at = ebml_header().len();
    variants.push((
        "known Segment".into(),
        [ebml_header(), el(SEGMENT, &second[seg_at + 12..])].concat(),
    ));
    let mut failures = Vec::new();
    let mut cases = 0;
    for (name, second) in variants {
        // (A third chunk as the first: the memo after a failed match.)
        let input = [first.clone(), second.clone(), first.clone()].concat();
        let cuts = first.len()..(first.len() + m + 12).min(input.len());
        cases += cut_everywhere(&name, &input, cuts, &head_limits(head_len), &mut failures);
        for sizes in ATTACK_SIZES {
            cases += 1;
            let why = strict(&input, Limits::default(), &calls_of(input.len(), sizes));
            if !why.is_empty() {
                failures.push(format!("{name}: {why:?}, pieces {sizes:?}"));
            }
        }
    }
    eprintln!("{cases} cases");
    assert_none_differ(&failures);
}

/// SimpleTags waited for in Tags that are opened (of unknown size, larger
/// than the wait's bound, more than 16 tags) and Tags around the wait's
/// bound (1024 bytes, header included; and 4096, the bound it had
/// first): cut at bytes of each and at every byte of the first 300 after
/// the Tags begin.
#[test]
fn attack41_simple_tags_waited_in_opened_tags() {
    let st = |k: usize, v: usize| {
        let name = el(TAG_NAME, format!("N{k}").as_bytes());
        el(SIMPLE_TAG, &[name, el(TAG_STRING, &vec![b'v'; v])].concat())
    };
    let plain: Vec<u8> = (0..5).flat_map(|k| st(k, 20 + k)).collect();
    let many: Vec<u8> = (0..18).flat_map(|k| st(k, 3)).collect();
    let mut bodies: Vec<(String, Vec<u8>, bool)> = vec![
        ("unknown Tags".into(), el(TAG, &plain), false),
        (
            "unknown Tags, unknown Tag".into(),
            [open_unknown(TAG, 1), plain.clone()].concat(),
            false,
        ),
        ("18 tags".into(), el(TAG, &many), true),
    ];
    // One Tag of two SimpleTags, the second's value sized so that the
    // Tags element is 1022 to 1026 or 4094 to 4098 bytes.
    for total in (1022..=1026usize).chain(4094..=4098) {
        let a = st(0, 5);
        let mut v = total - 100;
        loop {
            let tags = el(TAGS, &el(TAG, &[a.clone(), st(1, v)].concat()));
            if tags.len() >= total {
                break;
            }
            v += 1;
        }
        let tags = el(TAGS, &el(TAG, &[a.clone(), st(1, v)].concat()));
        if tags.len() == total {
            bodies.push((
                format!("Tags of {total} bytes"),
                el(TAG, &[a, st(1, v)].concat()),
                true,
            ));
        }
    }
    let mut failures = Vec::new();
    let mut cases = 0;
    for (name, body, known) in bodies {
        for after_cluster in [false, true] {
            let one = attack_tags_chunk(&body, known, after_cluster, true);
            let input = [one.clone(), one.clone()].concat();
            let tags_at = one
                .windows(4)
                .position(|w| w == [0x12, 0x54, 0xC3, 0x67])
                .unwrap();
            let ls = [
                Limits::default(),
                Limits {
                    max_tags_per_chunk: 2,
                    ..Limits::default()
                },
                Limits {
                    max_depth: 4,
                    ..Limits::default()
                },
                Limits {
                    max_element_size: 21,
                    ..Limits::default()
                },
            ];
            let name = format!("{name}, after cluster {after_cluster}");
            let cuts = tags_at..(tags_at + 300).min(input.len());
            cases += cut_everywhere(&name, &input, cuts, &ls, &mut failures);
            for l in ls {
                for k in (0..input.len()).step_by(53) {
                    cases += 1;
                    let why = strict(&input, l, &calls_of(input.len(), &[k.max(1), 1460]));
                    if !why.is_empty() {
                        failures.push(format!("{name}: cut at {k}: {why:?}, {l:?}"));
                    }
                }
            }
        }
    }
    eprintln!("{cases} cases");
    assert_none_differ(&failures);
}

/// A chunk's Clusters and Timestamps through `head_fits`, and the Tags
/// that close an unknown-size Cluster: known-size Segments whose end falls
/// in or just past a Cluster's header, a Tags or a Timestamp; Timestamps
/// of every size, unknown, too large, twice, past the Cluster; Clusters
/// in Clusters; Tags in a known-size Cluster; unknown-size Tags after an
/// unknown-size Cluster; each chunk twice, cut at every byte after its
/// head.
#[test]
fn attack41_clusters_and_timestamps_in_the_head() {
    let head = [
        info(1_000_000),
        el(TRACKS, &video_track(1, "V_A", b"pp", 2, 2)),
    ]
    .concat();
    let block = simple_block(1, 0, true, &[0xAB; 5]);
    let tc = |payload: &[u8]| el(TIMECODE, payload);
    let known_cluster = |body: &[u8]| el(CLUSTER, body);
    let unknown_cluster = |body: &[u8]| [open_unknown(CLUSTER, 8), body.to_vec()].concat();
    let end_tags = tags_w(
        &[("AWS_KINESISVIDEO_CONTINUATION_TOKEN", "5"), ("Z", "z")],
        1,
    );
    let mut bodies: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, t) in [
        ("Timestamp 0 bytes", tc(&[])),
        ("Timestamp 1 byte", tc(&[7])),
        ("Timestamp 8 bytes", tc(&[0xFF; 8])),
        ("Timestamp 9 bytes", tc(&[1; 9])),
        ("Timestamp 40 bytes", tc(&[1; 40])),
        (
            "Timestamp unknown size",
            [open_unknown(TIMECODE, 1), vec![1]].concat(),
        ),
        ("Timestamp wide size", el_w(TIMECODE, &[3], 8)),
        ("two Timestamps", [tc(&[1]), tc(&[2])].concat()),
        (
            "Timestamp after a block",
            [block.clone(), tc(&[2])].concat(),
        ),
    ] {
        bodies.push((
            format!("known Cluster, {name}"),
            known_cluster(&[t.clone(), block.clone()].concat()),
        ));
        bodies.push((
            format!("unknown Cluster, {name}"),
            unknown_cluster(&[t.clone(), block.clone()].concat()),
        ));
        bodies.push((
            format!("unknown Cluster, {name}, Tags"),
            [
                unknown_cluster(&[t.clone(), block.clone()].concat()),
                end_tags.clone(),
            ]
            .concat(),
        ));
    }
    let t1 = tc(&[1]);
    bodies.push((
        "Timestamp past a known Cluster".into(),
        [id(CLUSTER), size(4), t1.clone(), block.clone()].concat(),
    ));
    bodies.push((
        "Cluster in a known Cluster".into(),
        known_cluster(
            &[
                t1.clone(),
                known_cluster(&[t1.clone(), block.clone()].concat()),
            ]
            .concat(),
        ),
    ));
    bodies.push((
        "unknown Cluster in an unknown Cluster".into(),
        unknown_cluster(
            &[
                t1.clone(),
                unknown_cluster(&[t1.clone(), block.clone()].concat()),
            ]
            .concat(),
        ),
    ));
    bodies.push((
        "known Cluster in an unknown Cluster".into(),
        unknown_cluster(
            &[
                t1.clone(),
                known_cluster(&[t1.clone(), block.clone()].concat()),
            ]
            .concat(),
        ),
    ));
    bodies.push((
        "Tags in a known Cluster".into(),
        known_cluster(&[t1.clone(), end_tags.clone(), block.clone()].concat()),
    ));
    bodies.push((
        "unknown Tags after an unknown Cluster".into(),
        [
            unknown_cluster(&[t1.clone(), block.clone()].concat()),
            open_unknown(TAGS, 1),
            el(TAG, &simple_tag_w(b"A", b"1", 1)),
        ]
        .concat(),
    ));
    bodies.push((
        "Tags, Cluster, Tags".into(),
        [
            unknown_cluster(&[t1.clone(), block.clone()].concat()),
            end_tags.clone(),
            unknown_cluster(&[t1.clone(), block.clone()].concat()),
            end_tags.clone(),
        ]
        .concat(),
    ));
    bodies.push((
        "Tags after a known Cluster".into(),
        [
            known_cluster(&[t1.clone(), block.clone()].concat()),
            end_tags.clone(),
        ]
        .concat(),
    ));
    bodies.push((
        "Void then Tags after an unknown Cluster".into(),
        [
            unknown_cluster(&[t1.clone(), block.clone()].concat()),
            el(VOID, &[0; 2]),
            end_tags.clone(),
        ]
        .concat(),
    ));
    bodies.push((
        "unknown Cluster, no Timestamp".into(),
        unknown_cluster(&block),
    ));
    bodies.push(("empty known Cluster".into(), known_cluster(&[])));
    bodies.push((
        "unknown Cluster, 1-byte size".into(),
        [open_unknown(CLUSTER, 1), t1.clone(), block.clone()].concat(),
    ));
    let mut failures = Vec::new();
    let mut cases = 0;
    for (name, body) in &bodies {
        let seg_body = [head.clone(), body.clone()].concat();
        let mut forms: Vec<(String, Vec<u8>)> = vec![(
            "unknown Segment".into(),
            [ebml_header(), open_unknown(SEGMENT, 8), seg_body.clone()].concat(),
        )];
        // Known-size Segments ending at every byte of the body's first 24
        // and last 24 (the rest outside it, or nothing), and just past it.
        let n = seg_body.len();
        let mut ends: Vec<usize> = (head.len()..(head.len() + 24).min(n)).collect();
        ends.extend(n.saturating_sub(24).max(head.len())..=n);
        ends.push(n + 3);
        for end in ends {
            let seg = [
                ebml_header(),
                id(SEGMENT),
                size_w(end as u64, 8),
                seg_body.clone(),
            ]
            .concat();
            forms.push((format!("Segment of {end}"), seg));
        }
        for (form, chunk) in forms {
            let input = [chunk.clone(), chunk.clone()].concat();
            let ls = [
                Limits::default(),
                Limits {
                    max_depth: 2,
                    ..Limits::default()
                },
                Limits {
                    max_element_size: 4,
                    ..Limits::default()
                },
                Limits {
                    max_chunk_size: chunk.len() as u64 - 6,
                    ..Limits::default()
                },
            ];
            let name = format!("{name}, {form}");
            let from = ebml_header().len() + 12 + head.len() - 2;
            for l in ls {
                for k in from..input.len() {
                    cases += 1;
                    let why = strict(&input, l, &calls_of(input.len(), &[k, 1460]));
                    if !why.is_empty() {
                        failures.push(format!("{name}: cut at {k}: {why:?}, {l:?}"));
                    }
                }
                for sizes in [&[1][..], &[7, 1, 13]] {
                    cases += 1;
                    let why = strict(&input, l, &calls_of(input.len(), sizes));
                    if !why.is_empty() {
                        failures.push(format!("{name}: pieces {sizes:?}: {why:?}, {l:?}"));
                    }
                }
            }
        }
    }
    eprintln!("{cases} cases");
    assert_none_differ(&failures);
}

/// The generated streams of the other differential tests (whole streams,
/// heads, repeated chunks), damaged and cut, under random limits, played
/// strictly: items and how many after every call on both decoders, with
/// `decode_eof` once in the middle of the stream at a random piece.
#[test]
fn attack41_generated_streams_strict() {
    let n = streams_to_run(10_000);
    let mut failures = Vec::new();
    for seed in 1..=n {
        let mut r = Rng(seed.wrapping_mul(0xD134_2543_DE82_EF95) | 1);
        let mut input: Vec<u8> = match r.below(3) {
            0 => stream(&mut r),
            1 => (0..1 + r.below(3))
                .flat_map(|_| head_chunk(&mut r))
                .collect(),
            _ => chunk(&mut r).repeat(1 + r.below(3) as usize),
        };
        if input.is_empty() {
            continue;
        }
        flip_and_cut(&mut r, &mut input, 20);
        let mut l = limits(&mut r);
        if r.chance(20) {
            l.max_tags_per_chunk = r.below(6) as usize;
        }
        if r.chance(20) {
            l.max_depth = 2 + r.below(4) as usize;
        }
        let sizes = piece_sizes(&mut r, 5, [1, 10, 60, 1460]);
        let mut calls = calls_of(input.len(), &sizes);
        let feeds = calls.iter().filter(|c| matches!(c, Call::Feed(_))).count();
        if feeds > 0 && r.chance(30) {
            let at = r.below(feeds as u64) as usize;
            let i = calls
                .iter()
                .enumerate()
                .filter(|(_, c)| matches!(c, Call::Feed(_)))
                .nth(at)
                .map(|(i, _)| i)
                .unwrap();
            calls.insert(i + 1, Call::Eof);
        }
        let why = strict(&input, l, &calls);
        if !why.is_empty() {
            failures.push(format!("seed {seed}: {why:?}, {l:?}, pieces {sizes:?}"));
        }
    }
    assert_none_differ(&failures);
}

/// GetMedia-like streams (a head replayed from the memo, Tags of one to
/// four tags before the Cluster and one to three after it, sizes of random
/// widths) under tag, depth and element size limits that bite in their
/// Tags, or a chunk size limit around a chunk's, in random pieces, played
/// strictly.
#[test]
fn attack41_kvs_streams_strict() {
    let n = streams_to_run(3000);
    let mut failures = Vec::new();
    for seed in 1..=n {
        let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5555);
        let body = attack_head_body(&[0x22; 9]);
        let mut input = Vec::new();
        for k in 0..1 + r.below(4) {
            let w = 1 + r.below(2) as usize;
            let head_tags: Vec<u8> = (0..1 + r.below(4))
                .flat_map(|t| {
                    simple_tag_w(
                        format!("AWS_KINESISVIDEO_T{t}").as_bytes(),
                        format!("{k}{t}").as_bytes(),
                        w,
                    )
                })
                .collect();
            let end_tags: Vec<u8> = (0..1 + r.below(3))
                .flat_map(|t| simple_tag_w(format!("E{t}").as_bytes(), b"0123456789", w))
                .collect();
            input.extend(concat(&[
                ebml_header(),
                open_unknown(SEGMENT, 8),
                body.clone(),
                el_w(TAGS, &el_w(TAG, &head_tags, w), w),
                cluster(k * 2000, &[0, 33]),
                el_w(TAGS, &el_w(TAG, &end_tags, w), w),
            ]));
        }
        let mut l = Limits::default();
        match r.below(5) {
            0 => l.max_tags_per_chunk = r.below(8) as usize,
            1 => l.max_depth = 2 + r.below(4) as usize,
            2 => l.max_element_size = 1 + r.below(12),
            // (Around a chunk's length: the limit bites in its last Tags.)
            3 => l.max_chunk_size = 150 + r.below(250),
            _ => {}
        }
        let sizes = piece_sizes(&mut r, 5, [1, 10, 60, 200]);
        let mut calls = calls_of(input.len(), &sizes);
        if r.chance(20) {
            let at = 1 + 2 * r.below(sizes.len() as u64) as usize;
            calls.insert(at.min(calls.len()), Call::Eof);
        }
        let why = strict(&input, l, &calls);
        if !why.is_empty() {
            failures.push(format!("seed {seed}: {why:?}, {l:?}, pieces {sizes:?}"));
        }
    }
    assert_none_differ(&failures);
}
