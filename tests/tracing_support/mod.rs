//! A tiny `tracing` subscriber that keeps every event (all levels) with
//! its fields and the fields of the spans it happened in, for tests that
//! check what the library logs. Install it for a current-thread runtime
//! with [`Capture::install`]: spans are entered on the thread that polls
//! them, and a current-thread runtime polls everything on the test's
//! thread.

#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// One event as logged.
#[derive(Debug, Clone)]
pub struct Captured {
    pub level: Level,
    pub target: String,
    /// The event's message.
    pub message: String,
    /// The event's other fields, as text (`Display` for `%`, `Debug`
    /// otherwise).
    pub fields: BTreeMap<String, String>,
    /// The spans it happened in, outermost first: name and fields.
    pub spans: Vec<(String, BTreeMap<String, String>)>,
}

impl Captured {
    /// A field of the event, or else of its innermost span that has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .or_else(|| self.spans.iter().rev().find_map(|(_, f)| f.get(name)))
            .map(String::as_str)
    }

    /// Everything in it, as one text (to look for what must not be there).
    pub fn text(&self) -> String {
        format!("{self:?}")
    }
}

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

struct SpanData {
    name: String,
    fields: BTreeMap<String, String>,
}

#[derive(Default)]
struct State {
    spans: HashMap<u64, SpanData>,
    events: Vec<Captured>,
}

thread_local! {
    static STACK: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// The subscriber; clones share what was captured.
#[derive(Clone, Default)]
pub struct Capture {
    state: Arc<Mutex<State>>,
    next: Arc<AtomicU64>,
}

impl Capture {
    /// A new capture, installed for the current thread until the guard is
    /// dropped.
    pub fn install() -> (Capture, tracing::subscriber::DefaultGuard) {
        let capture = Capture::default();
        let guard = tracing::subscriber::set_default(capture.clone());
        (capture, guard)
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<Captured> {
        self.state.lock().unwrap().events.clone()
    }

    /// The events with this message.
    pub fn named(&self, message: &str) -> Vec<Captured> {
        self.events()
            .into_iter()
            .filter(|e| e.message == message)
            .collect()
    }

    /// The events at exactly this level.
    pub fn at(&self, level: Level) -> Vec<Captured> {
        self.events()
            .into_iter()
            .filter(|e| e.level == level)
            .collect()
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        let mut fields = Fields::default();
        span.record(&mut fields);
        self.state.lock().unwrap().spans.insert(
            id,
            SpanData {
                name: span.metadata().name().to_string(),
                fields: fields.0,
            },
        );
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut fields = Fields::default();
        values.record(&mut fields);
        if let Some(s) = self.state.lock().unwrap().spans.get_mut(&span.into_u64()) {
            s.fields.extend(fields.0);
        }
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let message = fields.0.remove("message").unwrap_or_default();
        let stack = STACK.with(|s| s.borrow().clone());
        let mut state = self.state.lock().unwrap();
        let spans = stack
            .iter()
            .filter_map(|id| state.spans.get(id))
            .map(|s| (s.name.clone(), s.fields.clone()))
            .collect();
        state.events.push(Captured {
            level: *event.metadata().level(),
            target: event.metadata().target().to_string(),
            message,
            fields: fields.0,
            spans,
        });
    }

    fn enter(&self, span: &Id) {
        STACK.with(|s| s.borrow_mut().push(span.into_u64()));
    }

    fn exit(&self, span: &Id) {
        STACK.with(|s| {
            let mut s = s.borrow_mut();
            if let Some(i) = s.iter().rposition(|id| *id == span.into_u64()) {
                s.remove(i);
            }
        });
    }
}
