//! A small worker pool for tests that run many processes of the built binary
//! (`tests/programs.rs`, `tests/differential.rs`, `tests/corpus.rs`,
//! `tests/bench_coverage.rs`): one thread per available core, each taking the next item
//! until none is left.

use std::sync::Mutex;

/// Calls `work` on every item, on `available_parallelism()` threads, items taken in order;
/// returns the number of threads.
pub fn for_each_in_parallel<T: Sync>(items: &[T], work: impl Fn(&T) + Sync) -> usize {
    let queue = Mutex::new(items.iter());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let next = queue.lock().expect("queue lock").next();
                let Some(item) = next else { break };
                work(item);
            });
        }
    });
    workers
}
