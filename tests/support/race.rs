//! Concurrency for the tests that race requests: a multi-threaded runtime and a helper that
//! starts many tasks at once.

use std::future::Future;
use std::sync::Arc;

/// A runtime with `threads` worker threads, for the tests that race requests.
#[track_caller]
pub fn runtime(threads: usize) -> tokio::runtime::Runtime {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(threads).build().expect("a runtime")
}

/// Runs the futures `task(0)` .. `task(count - 1)` on `runtime`, each in a task of its own
/// and released at once (behind one barrier); their outputs in order.
pub fn race<T: Send + 'static, F: Future<Output = T> + Send + 'static>(
    runtime: &tokio::runtime::Runtime,
    count: usize,
    task: impl Fn(usize) -> F,
) -> Vec<T> {
    runtime.block_on(race_async(count, task))
}

/// [`race`] on the current runtime.
pub async fn race_async<T: Send + 'static, F: Future<Output = T> + Send + 'static>(
    count: usize,
    task: impl Fn(usize) -> F,
) -> Vec<T> {
    let barrier = Arc::new(tokio::sync::Barrier::new(count));
    let tasks: Vec<_> = (0..count)
        .map(|i| {
            let (barrier, future) = (Arc::clone(&barrier), task(i));
            tokio::spawn(async move {
                barrier.wait().await;
                future.await
            })
        })
        .collect();
    let mut outputs = Vec::new();
    for task in tasks {
        outputs.push(task.await.expect("a task that does not panic"));
    }
    outputs
}
