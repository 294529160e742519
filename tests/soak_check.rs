//! The soak example's accounting (examples/support/soak_check.rs): a run
//! that lost, duplicated or reordered a fragment must say so and exit
//! non-zero. The fragment numbers are written by hand here, not taken from
//! a run.

#[path = "../examples/support/soak_check.rs"]
mod soak_check;

use soak_check::{check, check_since_first, exit_code, quantile, Check};

const LISTED: [&str; 5] = ["10", "11", "12", "13", "14"];

fn clean(received: usize) -> Check {
    Check {
        received,
        ..Check::default()
    }
}

#[test]
fn every_fragment_once_in_order_is_clean() {
    assert_eq!(check(&["10", "11", "12"], &LISTED), clean(3));
    assert_eq!(check(&LISTED, &LISTED), clean(5));
    assert_eq!(exit_code(5, 0, 0, 0, 0), 0);
}

#[test]
fn a_lost_fragment_is_counted_and_fails_the_run() {
    let c = check(&["10", "12", "13"], &LISTED);
    assert_eq!((c.received, c.lost, c.duplicated), (3, 1, 0));
    assert!(!c.out_of_order);
    // Losing the first fragment counts too.
    assert_eq!(check(&["11", "12"], &LISTED).lost, 1);
    // A session that got nothing lost the first listed fragment.
    assert_eq!(check(&[], &LISTED).lost, 1);
    assert_eq!(exit_code(3, c.lost, c.duplicated, 0, 0), 1);
}

#[test]
fn from_the_live_edge_fragments_count_from_the_first_received() {
    // Fragments before the first received are not owed ...
    assert_eq!(check_since_first(&["12", "13", "14"], &LISTED), clean(3));
    assert_eq!(check(&["12", "13", "14"], &LISTED).lost, 2);
    // ... but a gap after it is lost, a repeat duplicated, a swap
    // out of order, and a session that got nothing lost one.
    assert_eq!(check_since_first(&["11", "13", "14"], &LISTED).lost, 1);
    assert_eq!(
        check_since_first(&["12", "13", "13"], &LISTED).duplicated,
        1
    );
    assert!(check_since_first(&["12", "14", "13"], &LISTED).out_of_order);
    assert!(check_since_first(&["12", "99"], &LISTED).out_of_order);
    assert_eq!(check_since_first(&[], &LISTED).lost, 1);
    assert_eq!(check_since_first(&[], &[]), clean(0));
}

#[test]
fn a_duplicated_fragment_is_counted_and_fails_the_run() {
    let c = check(&["10", "11", "11", "12", "12", "12"], &LISTED);
    assert_eq!((c.received, c.lost, c.duplicated), (6, 0, 3));
    assert!(!c.out_of_order);
    assert_eq!(exit_code(6, c.lost, c.duplicated, 0, 0), 1);
}

#[test]
fn a_fragment_out_of_order_or_not_listed_fails_the_run() {
    let c = check(&["10", "12", "11"], &LISTED);
    assert_eq!((c.lost, c.duplicated), (0, 0));
    assert!(c.out_of_order);
    let c = check(&["10", "99", "11"], &LISTED);
    assert!(c.out_of_order);
    assert_eq!(exit_code(3, 0, 0, 1, 0), 1);
}

#[test]
fn a_run_that_received_nothing_fails() {
    assert_eq!(exit_code(0, 0, 0, 0, 0), 1);
}

#[test]
fn a_session_that_ended_in_an_error_fails_the_run() {
    // Its fragments may all have been checked clean (or, when its
    // ListFragments failed, not checked at all): the run still fails.
    assert_eq!(exit_code(100, 0, 0, 0, 1), 1);
    assert_eq!(exit_code(100, 0, 0, 0, 0), 0);
}

#[test]
fn quantiles_are_nearest_rank() {
    let v: Vec<i64> = (1..=100).collect();
    assert_eq!(quantile(&v, 0.5), Some(50));
    assert_eq!(quantile(&v, 0.99), Some(99));
    assert_eq!(quantile(&v, 1.0), Some(100));
    assert_eq!(quantile(&[7], 0.99), Some(7));
    assert_eq!(quantile(&[], 0.5), None);
}
