//! The soak's accounting, shared by `examples/soak.rs` and
//! `tests/soak_check.rs`: what one session received against what the
//! stream lists, and the exit status of the whole run.
#![allow(dead_code)]

use std::collections::HashSet;

/// What one session's fragments came to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Check {
    /// Fragments received (duplicates included).
    pub received: usize,
    /// Listed fragments, from the first listed up to the last one received
    /// (or the first listed, when nothing came), that never came.
    pub lost: usize,
    /// Fragments received more than once (each extra copy counts).
    pub duplicated: usize,
    /// The first copies did not come in the listed order, or a fragment
    /// came that the stream does not list.
    pub out_of_order: bool,
}

/// Compares the fragment numbers a session received, in the order it got
/// them, with the stream's fragments as listed, sorted by fragment number.
pub fn check(got: &[&str], listed: &[&str]) -> Check {
    let unique: HashSet<&str> = got.iter().copied().collect();
    let last = listed.iter().rposition(|f| unique.contains(f));
    let expected: &[&str] = match last {
        Some(l) => &listed[..=l],
        None => &listed[..listed.len().min(1)],
    };
    let expected_set: HashSet<&str> = expected.iter().copied().collect();
    let mut seen = HashSet::new();
    let firsts: Vec<&str> = got.iter().copied().filter(|n| seen.insert(*n)).collect();
    let in_order: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|n| unique.contains(n))
        .collect();
    Check {
        received: got.len(),
        lost: expected.iter().filter(|n| !unique.contains(*n)).count(),
        duplicated: got.len() - unique.len(),
        out_of_order: firsts != in_order || unique.iter().any(|n| !expected_set.contains(n)),
    }
}

/// [`check`] for a session that began at the live edge (StartSelector
/// NOW): the fragments listed before the first one it received are not
/// owed to it, so they count from there. A session that received nothing
/// lost the last listed fragment (a live stream makes one within a run).
pub fn check_since_first(got: &[&str], listed: &[&str]) -> Check {
    let first = listed.iter().position(|f| got.contains(f));
    let from = first.unwrap_or(listed.len().saturating_sub(1));
    check(got, &listed[from..])
}

/// The soak's exit status: 0 only when fragments came, none was lost,
/// duplicated or out of order, and no session ended in an error (a
/// GetMedia stream that gave up, or a ListFragments call that failed, so
/// that its session could not be checked).
pub fn exit_code(
    fragments: usize,
    lost: usize,
    duplicated: usize,
    disordered: usize,
    errors: usize,
) -> i32 {
    i32::from(fragments == 0 || lost > 0 || duplicated > 0 || disordered > 0 || errors > 0)
}

/// The `q`-quantile (0..=1) of sorted values, nearest rank.
pub fn quantile(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}
