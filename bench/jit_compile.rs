//! Criterion benchmark of trace compilation: optimizing and assembling a recorded
//! 100-instruction loop trace (target: under 100 microseconds).

use criterion::{criterion_group, criterion_main};

/// Trace compilation exists only where there is a native backend (x86-64).
#[cfg(target_arch = "x86_64")]
mod native {
    use criterion::Criterion;
    use ruff::jit::assemble::{self, AssembleOptions};
    use ruff::jit::ir::{Op, Snapshot, Trace, Ty};
    use ruff::jit::opt;

    /// A recorded-looking loop iteration of about 100 instructions: int and float arithmetic
    /// on eight slots, a guarded loop test, and the loop-end state.
    fn recorded_trace() -> Trace {
        let mut t = Trace::default();
        let entry = t.add_snapshot(Snapshot { pc: 0, entries: vec![], ..Snapshot::default() });
        let counter = t.push(Op::SLoad { slot: 0 }, Ty::Int, Some(entry), 1);
        let limit = t.push(Op::SLoad { slot: 1 }, Ty::Int, Some(entry), 1);
        let more = t.push(Op::LtInt(counter, limit), Ty::Bool, None, 1);
        t.push(Op::GuardTrue(more), Ty::Void, Some(entry), 1);
        let mut ints = vec![counter];
        let mut floats = Vec::new();
        for slot in 2..6 {
            ints.push(t.push(Op::SLoad { slot }, Ty::Int, Some(entry), 2));
        }
        for slot in 6..10 {
            floats.push(t.push(Op::SLoad { slot }, Ty::Float, Some(entry), 3));
        }
        let mut entries = Vec::new();
        let mut line = 4;
        while t.insts.len() < 100 {
            let snap = t.add_snapshot(Snapshot { pc: line, entries: entries.clone(), ..Snapshot::default() });
            let a = ints[ints.len() - 1];
            let b = ints[ints.len() - 2];
            let sum = t.push(Op::AddInt(a, b), Ty::Int, Some(snap), line);
            let k = t.push(Op::KInt(7), Ty::Int, None, line);
            let rem = t.push(Op::ModInt(sum, k), Ty::Int, Some(snap), line);
            ints.push(rem);
            let x = floats[floats.len() - 1];
            let y = floats[floats.len() - 2];
            let product = t.push(Op::MulFloat(x, y), Ty::Float, None, line);
            let converted = t.push(Op::IntToFloat(rem), Ty::Float, None, line);
            floats.push(t.push(Op::AddFloat(product, converted), Ty::Float, None, line));
            entries = vec![(2, rem)];
            line += 1;
        }
        let one = t.push(Op::KInt(1), Ty::Int, None, line);
        let snap = t.add_snapshot(Snapshot { pc: line, entries: entries.clone(), ..Snapshot::default() });
        let next = t.push(Op::AddInt(counter, one), Ty::Int, Some(snap), line);
        let end = t.add_snapshot(Snapshot {
            pc: 0,
            entries: vec![(0, next), (2, ints[ints.len() - 1]), (6, floats[floats.len() - 1])],
            ..Snapshot::default()
        });
        t.loop_end = Some(end);
        t
    }

    pub fn compile(c: &mut Criterion) {
        let recorded = recorded_trace();
        assert!(recorded.insts.len() >= 100, "the benchmark trace has {} instructions", recorded.insts.len());
        let options = AssembleOptions::unlinked(0, false);
        c.bench_function("optimize and assemble a 100-instruction trace", |b| {
            b.iter(|| {
                let optimized = opt::optimize(&recorded).unwrap_or_else(|e| panic!("optimizer failed: {}", e));
                assemble::assemble(&optimized, &options).unwrap_or_else(|e| panic!("assembler failed: {}", e))
            })
        });
    }
}

#[cfg(target_arch = "x86_64")]
use native::compile;

/// Without a native backend (not x86-64) there is no trace compilation to measure.
#[cfg(not(target_arch = "x86_64"))]
fn compile(_: &mut criterion::Criterion) {}

criterion_group!(benches, compile);
criterion_main!(benches);
