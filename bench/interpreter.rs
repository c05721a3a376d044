//! Criterion benchmarks of the interpreter (`--no-jit` path) on three of the shared
//! benchmark programs, scaled down so one iteration takes milliseconds. Each iteration
//! parses, compiles and runs the whole program, as `ruff run` does.

use criterion::{criterion_group, criterion_main, Criterion};
use ruff::RunOptions;

/// `bench/programs/NAME.ruff` with its problem size replaced, so the benchmark runs the
/// same code as the cross-language comparison.
fn scaled_program(name: &str, full_size: &str, small_size: &str) -> String {
    let path = format!("{}/bench/programs/{}.ruff", env!("CARGO_MANIFEST_DIR"), name);
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {}", path, e));
    assert!(source.contains(full_size), "{} no longer contains {}", path, full_size);
    source.replace(full_size, small_size)
}

fn run(name: &str, source: &str) {
    let sink: Box<dyn std::io::Write> = Box::new(std::io::sink());
    let options =
        RunOptions { interpreter: ruff::interpret::Options { jit: None, ..Default::default() }, ..Default::default() };
    if let Err(failure) = ruff::run_source(name, source, &options, sink).outcome {
        panic!("{} failed: {}", name, failure.message());
    }
}

fn interpreter(c: &mut Criterion) {
    let programs = [
        ("fib_rec", scaled_program("fib_rec", "fib(32)", "fib(20)")),
        ("loop_sum", scaled_program("loop_sum", "20000000", "200000")),
        ("hash_map", scaled_program("hash_map", "r < 15", "r < 1")),
    ];
    let mut group = c.benchmark_group("interpreter");
    group.sample_size(20);
    for (name, source) in &programs {
        group.bench_function(*name, |b| b.iter(|| run(name, source)));
    }
    group.finish();
}

criterion_group!(benches, interpreter);
criterion_main!(benches);
