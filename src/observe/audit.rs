//! The audit sink plug-in and the bounded queue in front of it: a request hands its
//! events to the queue and never waits for the sink; one delivery task, spawned by the
//! host, feeds the sink in order.

use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Poll, Waker};

use async_trait::async_trait;

use super::event::AuditEvent;
use crate::error::StorageError;

/// Receives the server's [`AuditEvent`]s: the host's audit log (a table, a file, a message
/// queue, a SIEM).
///
/// The server never waits for it. A request puts its events in a bounded queue and goes
/// on; the [`AuditDelivery`] task (see
/// [`Server::audit_delivery`](crate::Server::audit_delivery)) hands them to
/// [`record`](Self::record), one at a time, in the order they happened. When the queue is
/// full, because the sink is slow or the delivery task is not running, new events are
/// dropped and counted ([`Server::dropped_audit_events`](crate::Server::dropped_audit_events),
/// the `grantflow_audit_events_dropped_total` metric), and the first drop is logged once.
///
/// # What a sink may do
/// - take its time: events wait in the queue, up to its
///   [capacity](crate::ServerBuilder::audit_queue_capacity);
/// - fail: return an error, and the event counts as dropped; the protocol response was
///   sent long before and is never changed;
/// - write the events anywhere the host's access control covers (see the README's
///   "Operating grantflow": audit logs hold personal data and security history).
///
/// # What it may not do
/// - block the thread: it runs on the host's async runtime; move blocking I/O to the
///   runtime's blocking pool;
/// - panic: that ends the delivery task, and every later event is dropped;
/// - be relied on for a security decision: delivery is best effort under overload, and
///   the server's own checks never depend on it.
///
/// ```
/// use std::sync::Mutex;
/// use async_trait::async_trait;
/// use grantflow::StorageError;
/// use grantflow::observe::{AuditEvent, AuditSink};
///
/// /// Keeps the events in memory, as a test might.
/// #[derive(Debug, Default)]
/// struct Recorded(Mutex<Vec<AuditEvent>>);
///
/// #[async_trait]
/// impl AuditSink for Recorded {
///     async fn record(&self, event: &AuditEvent) -> Result<(), StorageError> {
///         self.0.lock().map_err(|_| StorageError::new("poisoned"))?.push(event.clone());
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait AuditSink: Send + Sync + fmt::Debug {
    /// Records one event.
    ///
    /// # Errors
    /// [`StorageError`] when the event could not be recorded; it is counted as dropped.
    async fn record(&self, event: &AuditEvent) -> Result<(), StorageError>;
}

/// The queue between the requests and the delivery task.
#[derive(Debug)]
pub(crate) struct AuditQueue {
    state: Mutex<QueueState>,
    capacity: usize,
    dropped: AtomicU64,
    /// Whether the first drop has been logged.
    reported: AtomicBool,
}

#[derive(Debug, Default)]
struct QueueState {
    events: VecDeque<AuditEvent>,
    /// The delivery task, waiting for an event.
    waiting: Option<Waker>,
    /// No server holds the queue any more: deliver what is left, then stop.
    closed: bool,
    /// The delivery task was handed out.
    taken: bool,
}

impl AuditQueue {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(QueueState::default()),
            capacity,
            dropped: AtomicU64::new(0),
            reported: AtomicBool::new(false),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `event`, or drops it when the queue is full. Never waits.
    pub(crate) fn push(&self, event: AuditEvent) {
        let waker = {
            let mut state = self.state();
            if state.events.len() >= self.capacity {
                drop(state);
                self.dropped("the audit queue is full");
                return;
            }
            state.events.push_back(event);
            state.waiting.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Counts an event that never reached the sink, and logs the first one.
    fn dropped(&self, why: &'static str) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        super::metrics::audit_event_dropped();
        if !self.reported.swap(true, Ordering::Relaxed) {
            super::trace::audit_events_dropped(why);
        }
    }

    /// How many events were dropped so far.
    pub(crate) fn dropped_count(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Hands out the delivery task's side of the queue, once.
    pub(crate) fn take(&self) -> bool {
        !std::mem::replace(&mut self.state().taken, true)
    }

    /// The next event, waiting for one; `None` once the queue is closed and empty.
    async fn next(&self) -> Option<AuditEvent> {
        poll_fn(|cx| {
            let mut state = self.state();
            if let Some(event) = state.events.pop_front() {
                return Poll::Ready(Some(event));
            }
            if state.closed {
                return Poll::Ready(None);
            }
            state.waiting = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// No more events will come: the delivery task finishes what is queued and ends.
    pub(crate) fn close(&self) {
        let waker = {
            let mut state = self.state();
            state.closed = true;
            state.waiting.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The task that delivers the audit events to the [`AuditSink`], from
/// [`Server::audit_delivery`](crate::Server::audit_delivery): spawn
/// [`run`](Self::run) once on the host's runtime. It delivers the events one at a time, in
/// the order they happened, and ends once every clone of the server is dropped and the
/// queue is empty.
#[must_use = "audit events are delivered only while `run` is polled"]
pub struct AuditDelivery {
    queue: Arc<AuditQueue>,
    sink: Arc<dyn AuditSink>,
}

impl fmt::Debug for AuditDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditDelivery")
            .field("sink", &self.sink)
            .finish_non_exhaustive()
    }
}

impl AuditDelivery {
    pub(crate) fn new(queue: Arc<AuditQueue>, sink: Arc<dyn AuditSink>) -> Self {
        Self { queue, sink }
    }

    /// Delivers events until the server is gone: `tokio::spawn(delivery.run())`.
    pub async fn run(self) {
        while let Some(event) = self.queue.next().await {
            if self.sink.record(&event).await.is_err() {
                self.queue.dropped("the audit sink failed");
            }
        }
    }
}
