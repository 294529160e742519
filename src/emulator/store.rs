//! The fragment store: each stream's fragments with their numbers and
//! timestamps, for a static archive or a live stream that loops.
//!
//! A fragment is addressed by its position `g` in ingestion order. In a
//! static stream `g` runs over the recording's fragments once. In a live
//! stream it runs on forever: `g = loop * n + i` is fragment `i` of the
//! recording in its `loop`-th repetition, produced one loop length after the
//! previous repetition, and available once its last frame has been ingested.

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use bytes::Bytes;

use super::splice::{self, Piece, RecordedTags};
use crate::kvs::names;
use crate::rate::RateLimiter;
use crate::FragmentNumber;

/// How long after its producer timestamp a generated fragment reaches the
/// server: the gap between a generated fragment's producer and server
/// timestamps.
pub(crate) const INGEST_LATENCY_MS: u64 = 250;

/// Digits of a generated fragment number: a per-stream prefix of 28 digits,
/// then the position, zero-padded to 20 digits.
const PREFIX_DIGITS: usize = 28;
const POSITION_DIGITS: usize = 20;

/// Which of a fragment's timestamps a selector means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TsKind {
    Producer,
    Server,
}

impl TsKind {
    /// `PRODUCER_TIMESTAMP` / `SERVER_TIMESTAMP`, as the selectors spell them.
    pub fn parse(s: &str) -> Option<TsKind> {
        match s {
            "PRODUCER_TIMESTAMP" => Some(TsKind::Producer),
            "SERVER_TIMESTAMP" => Some(TsKind::Server),
            _ => None,
        }
    }
}

/// One fragment of a recording, ready to be served.
#[derive(Debug)]
struct Source {
    head: Bytes,
    media: Bytes,
    recorded: Option<RecordedTags>,
    /// Start, relative to the first fragment, in ms.
    rel_ms: u64,
    duration_ms: u64,
    /// When it is complete, relative to the first fragment's producer
    /// timestamp (never earlier than the fragment before it).
    avail_rel_ms: u64,
}

/// A fragment as a client sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FragmentView {
    pub number: FragmentNumber,
    pub producer_ms: u64,
    pub server_ms: u64,
    pub duration_ms: u64,
    source: usize,
}

impl FragmentView {
    pub fn ts(&self, kind: TsKind) -> u64 {
        match kind {
            TsKind::Producer => self.producer_ms,
            TsKind::Server => self.server_ms,
        }
    }
}

/// A stream's fragments over time.
#[derive(Debug)]
pub(crate) struct Timeline {
    sources: Vec<Source>,
    live: bool,
    /// Numbers and timestamps as recorded (a static stream whose every
    /// fragment carried them).
    recorded: bool,
    /// Producer timestamp of fragment 0 (generated timelines).
    t0_ms: u64,
    /// Length of one repetition of the recording.
    loop_ms: u64,
    prefix: String,
    by_number: HashMap<FragmentNumber, u64>,
    /// The latest server timestamp of a static stream.
    tip_ms: u64,
}

impl Timeline {
    /// `pieces` in recording order; `base_ms` the producer timestamp of the
    /// first generated fragment (default: so that the recording ends now).
    pub fn new(
        name: &str,
        pieces: Vec<Piece>,
        live: bool,
        base_ms: Option<u64>,
        now_ms: u64,
    ) -> Self {
        let recorded = !live && !pieces.is_empty() && pieces.iter().all(|p| p.recorded.is_some());
        let mut sources: Vec<Source> = Vec::with_capacity(pieces.len());
        let first_start = pieces.first().map_or(0, start_of);
        for piece in pieces {
            let duration_ms = (piece.end_ms - piece.start_ms).clamp(0, i128::from(u32::MAX)) as u64;
            let raw_rel = start_of(&piece) - first_start;
            // Timecodes that go back (a reset, a sparse recording read out of
            // order) continue after the fragment before instead.
            let rel_ms = match sources.last() {
                Some(prev) if raw_rel < i128::from(prev.rel_ms) => prev.rel_ms + prev.duration_ms,
                _ => raw_rel.clamp(0, i128::from(u64::MAX >> 2)) as u64,
            };
            let end = rel_ms + duration_ms + INGEST_LATENCY_MS;
            let avail_rel_ms = sources.last().map_or(end, |p| p.avail_rel_ms.max(end));
            sources.push(Source {
                head: piece.head,
                media: piece.media,
                recorded: piece.recorded,
                rel_ms,
                duration_ms,
                avail_rel_ms,
            });
        }
        let span = sources
            .iter()
            .map(|s| s.rel_ms + s.duration_ms)
            .max()
            .unwrap_or(0);
        let loop_ms = if span == 0 { 1000 } else { span };
        let t0_ms = base_ms.unwrap_or_else(|| now_ms.saturating_sub(loop_ms + INGEST_LATENCY_MS));
        let mut by_number = HashMap::new();
        if recorded {
            for (g, s) in sources.iter().enumerate() {
                if let Some(tags) = &s.recorded {
                    by_number.entry(tags.number).or_insert(g as u64);
                }
            }
        }
        let tip_ms = if recorded {
            sources
                .iter()
                .filter_map(|s| s.recorded.map(|r| r.server_ms))
                .max()
                .unwrap_or(0)
        } else {
            sources
                .last()
                .map_or(t0_ms, |s| t0_ms + s.rel_ms + INGEST_LATENCY_MS)
        };
        Timeline {
            sources,
            live,
            recorded,
            t0_ms,
            loop_ms,
            prefix: number_prefix(name),
            by_number,
            tip_ms,
        }
    }

    /// Whether fragments keep coming.
    pub fn is_live(&self) -> bool {
        self.live && !self.sources.is_empty()
    }

    /// How many fragments of the recording there are (one loop).
    pub fn recording_len(&self) -> usize {
        self.sources.len()
    }

    /// The timeline started `k / n` of a fragment (the recording's mean
    /// fragment length) earlier (live streams only; see
    /// [`Options::stagger`](super::Options::stagger)): its fragments
    /// complete at other instants than those of a stream with `k = 0`, as
    /// an independent camera's would (where earlier would be before the
    /// epoch: one repetition minus the shift later, the same instants
    /// modulo a repetition). Not `k / n` of a repetition: with fragments
    /// of one length that is a whole number of fragments when `n` divides
    /// their count (5 fragments, 5 or 10 streams), and the streams would
    /// complete their fragments together after all. `now_ms`: the clock at
    /// start-up, as given to [`new`](Self::new).
    pub fn staggered(mut self, k: u64, n: u64, now_ms: u64) -> Self {
        let fragments = self.sources.len() as u128;
        if self.live && n > 0 && fragments > 0 {
            // Below one repetition (`k % n < n`), so it fits a u64.
            let shift =
                (u128::from(self.loop_ms) * u128::from(k % n) / (u128::from(n) * fragments)) as u64;
            self.t0_ms = match self.t0_ms.checked_sub(shift) {
                Some(t0) => t0,
                // Before 1970 (a base time at the epoch): a whole
                // repetition later instead, the same instants from there
                // on (not every stream pinned at the epoch, completing
                // fragments together; t0 < shift <= loop, so no overflow),
                // unless that is after start-up (a recording longer than
                // the time since 1970): its fragments would not come for
                // years.
                None => Some(self.t0_ms + (self.loop_ms - shift))
                    .filter(|&later| later <= now_ms)
                    .unwrap_or(0),
            };
            // `tip_ms` is a static stream's: a live one's tip is the clock.
        }
        self
    }

    /// Where each fragment's bytes live (head and media addresses), for
    /// the test that streams of one recording share one copy.
    #[cfg(test)]
    pub fn addresses(&self) -> Vec<(usize, usize)> {
        self.sources
            .iter()
            .map(|s| (s.head.as_ptr() as usize, s.media.as_ptr() as usize))
            .collect()
    }

    /// How many fragments exist at `now_ms`: fragments `0..available`.
    pub fn available(&self, now_ms: u64) -> u64 {
        let n = self.sources.len() as u64;
        if !self.live || n == 0 {
            return n;
        }
        if now_ms < self.t0_ms {
            return 0;
        }
        let loops = (now_ms - self.t0_ms) / self.loop_ms + 2;
        // First position not yet available (availability never decreases).
        let (mut lo, mut hi) = (0u64, loops.saturating_mul(n));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.available_at(mid) <= now_ms {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// When fragment `g` is (or was) complete on the server.
    pub fn available_at(&self, g: u64) -> u64 {
        let n = self.sources.len() as u64;
        if !self.live || n == 0 {
            return 0;
        }
        let (k, i) = (g / n, (g % n) as usize);
        self.t0_ms
            .saturating_add(k.saturating_mul(self.loop_ms))
            .saturating_add(self.sources[i].avail_rel_ms)
    }

    /// Fragment `g` (which must be below [`available`](Self::available) for
    /// a static stream).
    pub fn fragment(&self, g: u64) -> FragmentView {
        let n = self.sources.len() as u64;
        let (k, i) = (g / n.max(1), (g % n.max(1)) as usize);
        let s = &self.sources[i];
        if self.recorded {
            let r = s.recorded.expect("recorded timeline");
            return FragmentView {
                number: r.number,
                producer_ms: r.producer_ms,
                server_ms: r.server_ms,
                duration_ms: s.duration_ms,
                source: i,
            };
        }
        let producer_ms = self.t0_ms + k * self.loop_ms + s.rel_ms;
        FragmentView {
            number: self.generated_number(g),
            producer_ms,
            server_ms: producer_ms + INGEST_LATENCY_MS,
            duration_ms: s.duration_ms,
            source: i,
        }
    }

    /// The position of the fragment with this number, if the stream has (or,
    /// live, will have) it.
    pub fn lookup(&self, number: &str) -> Option<u64> {
        if self.sources.is_empty() {
            return None;
        }
        if self.recorded {
            let number: FragmentNumber = number.parse().ok()?;
            return self.by_number.get(&number).copied();
        }
        let position = number.strip_prefix(self.prefix.as_str())?;
        if position.len() != POSITION_DIGITS || !position.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let g: u64 = position.parse().ok()?;
        (self.live || g < self.sources.len() as u64).then_some(g)
    }

    /// The first fragment among `0..available` whose span
    /// `[ts, ts + duration)` contains `t`.
    pub fn covering(&self, kind: TsKind, t: u64, available: u64) -> Option<FragmentView> {
        if self.recorded {
            return (0..available)
                .map(|g| self.fragment(g))
                .find(|f| f.ts(kind) <= t && t < f.ts(kind) + f.duration_ms);
        }
        // Generated timestamps never decrease: the last fragment starting
        // at or before t is the only candidate.
        let starts_after = |g: u64| self.fragment(g).ts(kind) > t;
        let (mut lo, mut hi) = (0u64, available);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if starts_after(mid) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        let f = self.fragment(lo.checked_sub(1)?);
        (t < f.ts(kind) + f.duration_ms).then_some(f)
    }

    /// How far a fragment is behind the newest one: the live clock, or for
    /// a static stream its latest server timestamp.
    pub fn millis_behind(&self, f: &FragmentView, now_ms: u64) -> u64 {
        let tip = if self.live { now_ms } else { self.tip_ms };
        tip.saturating_sub(f.server_ms)
    }

    /// Where a fragment sits in the recording, in ms from its first
    /// fragment (for images named by offset).
    pub fn offset_in_recording(&self, f: &FragmentView) -> u64 {
        self.sources[f.source].rel_ms
    }

    /// The fragment's chunk as GetMediaForFragmentList sends it: head,
    /// leading AWS tags, media.
    pub fn chunk(&self, f: &FragmentView) -> [Bytes; 3] {
        let s = &self.sources[f.source];
        let number = f.number.to_string();
        let server = splice::tag_timestamp(f.server_ms);
        let producer = splice::tag_timestamp(f.producer_ms);
        let tags = splice::tags(&[
            (names::FRAGMENT_NUMBER, &number),
            (names::SERVER_TIMESTAMP, &server),
            (names::PRODUCER_TIMESTAMP, &producer),
        ]);
        [s.head.clone(), tags, s.media.clone()]
    }

    /// The size of [`chunk`](Self::chunk), for ListFragments.
    pub fn chunk_len(&self, f: &FragmentView) -> u64 {
        self.chunk(f).iter().map(|b| b.len() as u64).sum()
    }

    fn generated_number(&self, g: u64) -> FragmentNumber {
        format!("{}{g:0width$}", self.prefix, width = POSITION_DIGITS)
            .parse()
            .expect("48 digits")
    }
}

fn start_of(p: &Piece) -> i128 {
    match &p.recorded {
        Some(r) => i128::from(r.producer_ms),
        None => p.start_ms,
    }
}

/// 28 digits that depend on the stream name only, starting with 9 (so that
/// every generated number has 48 digits).
fn number_prefix(name: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let a = super::splitmix(h);
    let b = super::splitmix(a);
    let digits = format!("9{:019}{:019}", a % 10u64.pow(19), b % 10u64.pow(19));
    digits[..PREFIX_DIGITS].to_string()
}

/// One stream of the emulator.
#[derive(Debug)]
pub(crate) struct Stream {
    pub name: String,
    pub arn: String,
    pub timeline: Timeline,
    pub images: Option<super::images::ImageIndex>,
    pub dropped_chunks: usize,
    pub get_media_calls: RateLimiter,
    pub fragment_list_calls: RateLimiter,
    pub sessions: Arc<AtomicUsize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(start_ms: i128, end_ms: i128) -> Piece {
        Piece {
            head: Bytes::new(),
            media: Bytes::new(),
            recorded: None,
            start_ms,
            end_ms,
        }
    }

    #[test]
    fn generated_numbers_have_48_digits_and_increase() {
        let t = Timeline::new(
            "cam",
            vec![piece(0, 2000), piece(2000, 4000)],
            false,
            Some(1_000_000),
            0,
        );
        let a = t.fragment(0).number;
        let b = t.fragment(1).number;
        assert_eq!(a.as_str().len(), 48);
        assert!(a < b);
        assert_eq!(t.lookup(b.as_str()), Some(1));
        assert_eq!(t.lookup("1"), None);
        assert_eq!(t.fragment(1).producer_ms, 1_002_000);
        assert_eq!(t.fragment(1).server_ms, 1_002_000 + INGEST_LATENCY_MS);
        assert_ne!(number_prefix("cam"), number_prefix("cam2"));
    }

    #[test]
    fn live_fragments_become_available_in_order() {
        let t = Timeline::new(
            "cam",
            vec![piece(0, 2000), piece(2000, 4000)],
            true,
            Some(10_000),
            0,
        );
        assert_eq!(t.available(9_999), 0);
        assert_eq!(t.available(12_000 + INGEST_LATENCY_MS), 1);
        assert_eq!(t.available(14_000 + INGEST_LATENCY_MS), 2);
        // The second loop: new numbers, later timestamps.
        assert_eq!(t.available(16_000 + INGEST_LATENCY_MS), 3);
        assert_eq!(t.fragment(2).producer_ms, 14_000);
        assert!(t.fragment(2).number > t.fragment(1).number);
        let mut last = 0;
        for g in 0..20 {
            assert!(t.available_at(g) >= last);
            last = t.available_at(g);
        }
    }

    /// The k-th of 4 live streams of two 2 s fragments, from `base_ms`,
    /// started at `now_ms`, staggered.
    fn fourth(k: u64, base_ms: u64, now_ms: u64) -> Timeline {
        let pieces = vec![piece(0, 2000), piece(2000, 4000)];
        Timeline::new("cam", pieces, true, Some(base_ms), now_ms).staggered(k, 4, now_ms)
    }

    #[test]
    fn staggered_streams_complete_their_fragments_at_other_instants() {
        let make = |k| fourth(k, 10_000, 0);
        // Fragments are 2 s (the first ends at 12 s): the k-th of 4
        // streams runs k/4 of 2 s earlier.
        let at: Vec<u64> = (0..4).map(|k| make(k).available_at(0)).collect();
        assert_eq!(
            at,
            [12_000, 11_500, 11_000, 10_500].map(|t| t + INGEST_LATENCY_MS)
        );
        let t = make(3);
        assert_eq!(t.fragment(0).producer_ms, 8_500);
        assert_eq!(t.available(10_500 + INGEST_LATENCY_MS), 1);
        assert_eq!(t.available(10_499 + INGEST_LATENCY_MS), 0);
        // Each stream alone still runs on in order, its numbers unchanged.
        assert_eq!(t.fragment(5).number, make(0).fragment(5).number);
        for g in 1..20 {
            assert!(t.available_at(g) >= t.available_at(g - 1));
        }
        // k = n is k = 0; a static timeline is not moved.
        assert_eq!(make(4).available_at(0), make(0).available_at(0));
        let fixed = Timeline::new("x", vec![piece(0, 2000)], false, Some(10_000), 0);
        assert_eq!(fixed.staggered(1, 2, 0).fragment(0).producer_ms, 10_000);
    }

    /// The instants at which a timeline's first `count` fragments complete.
    fn completions(t: &Timeline, count: u64) -> std::collections::HashSet<u64> {
        (0..count).map(|g| t.available_at(g)).collect()
    }

    /// A camera's recording is fragments of one length (a fixed GOP): the
    /// soak's camera recording is 5 of 2 s. Whatever the number of streams,
    /// no staggered stream may complete a fragment at an instant where the
    /// first stream completes one (the purpose `Options::stagger` states),
    /// also when the streams are as many as (or a multiple of) the
    /// fragments, where k/n of a repetition is a whole number of fragments.
    #[test]
    fn staggered_streams_of_equal_fragments_never_complete_together() {
        let camera = |k, n| {
            let pieces = (0..5).map(|i| piece(i * 2000, (i + 1) * 2000)).collect();
            Timeline::new("cam", pieces, true, Some(1_000_000), 0).staggered(k, n, 0)
        };
        for n in [2, 3, 5, 10, 20] {
            let first = completions(&camera(0, n), 50);
            for k in 1..n {
                let other = completions(&camera(k, n), 50);
                assert!(
                    first.is_disjoint(&other),
                    "stream {k} of {n} completes fragments with stream 0"
                );
            }
        }
    }

    /// With `base_time` at (or just after) the epoch, "k/n earlier" would
    /// be before 1970: the streams must still be spread (a timeline that
    /// repeats every loop is the same one a whole repetition later), not
    /// all pinned at the epoch together.
    #[test]
    fn stagger_spreads_streams_whose_base_time_is_the_epoch() {
        let make = |k| fourth(k, 0, 1_700_000_000_000);
        let first = completions(&make(0), 20);
        for k in 1..4 {
            assert!(
                first.is_disjoint(&completions(&make(k), 20)),
                "stream {k} of 4 completes fragments with stream 0"
            );
        }
    }

    /// A recording whose timecodes jump by more than the time since 1970
    /// (a hostile file: a repetition of ~73 million years) starts at the
    /// epoch, so its first fragment is available at start-up. Stagger
    /// moves streams earlier: no staggered stream may have less at
    /// start-up than the first (none may start in the far future).
    #[test]
    fn stagger_of_a_recording_longer_than_the_epoch_keeps_its_fragments() {
        let now = 1_700_000_000_000;
        let make = |k| {
            Timeline::new(
                "cam",
                vec![piece(0, 2000), piece(1 << 61, (1 << 61) + 2000)],
                true,
                None,
                now,
            )
            .staggered(k, 2, now)
        };
        assert_eq!(make(0).available(now), 1);
        assert_eq!(make(1).available(now), 1);
    }

    #[test]
    fn timecodes_that_go_back_continue_after() {
        let t = Timeline::new(
            "x",
            vec![piece(5000, 6000), piece(0, 1000)],
            false,
            Some(0),
            0,
        );
        assert_eq!(t.fragment(0).producer_ms, 0);
        assert_eq!(t.fragment(1).producer_ms, 1000);
    }
}
