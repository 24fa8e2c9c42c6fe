//! Concurrency for the tests that race requests: a multi-threaded runtime and a helper that
//! starts many tasks at once.

use std::future::Future;

/// A runtime with two worker threads, for the tests that race requests.
#[track_caller]
pub fn runtime() -> tokio::runtime::Runtime {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(2).build().expect("a runtime")
}

/// Runs `count` copies of `task(i)` at once on `runtime`; their outputs in order.
pub fn race<T: Send + 'static, F: Future<Output = T> + Send + 'static>(
    runtime: &tokio::runtime::Runtime,
    count: usize,
    task: impl Fn(usize) -> F,
) -> Vec<T> {
    runtime.block_on(async {
        let tasks: Vec<_> = (0..count).map(|i| tokio::spawn(task(i))).collect();
        let mut outputs = Vec::new();
        for task in tasks {
            outputs.push(task.await.expect("a task that does not panic"));
        }
        outputs
    })
}
