//! The service's limit on concurrent GetMedia sessions per stream (the
//! calls-per-second limit is `crate::rate`, shared with the client).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// One open GetMedia session; closing it (dropping the guard) frees its
/// place.
#[derive(Debug)]
pub(crate) struct SessionGuard(Arc<AtomicUsize>);

impl SessionGuard {
    /// A place among at most `max` sessions, or `None` when all are taken.
    pub fn open(counter: &Arc<AtomicUsize>, max: Option<usize>) -> Option<SessionGuard> {
        let taken = counter.fetch_add(1, Ordering::SeqCst);
        if max.is_some_and(|m| taken >= m) {
            counter.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(SessionGuard(counter.clone()))
    }
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions() {
        let counter = Arc::new(AtomicUsize::new(0));
        let a = SessionGuard::open(&counter, Some(1)).unwrap();
        assert!(SessionGuard::open(&counter, Some(1)).is_none());
        drop(a);
        assert!(SessionGuard::open(&counter, Some(1)).is_some());
    }
}
