//! Tests of the backend: hand-built peeled traces run natively against a fake frame
//! (`Vec<Value>` slots and globals), results read back through `locations` + `ExitState`.
//! Array values in the frame are real `ArrayObj`s on a `Heap` owned by the test.
//!
//! This file holds what every test uses (the trace `Builder`, compiling, running, reading
//! values back); the tests are split by subject: `scalars`, `registers`, `arrays`,
//! `strings`, `dicts`, `structs`, `linking` (traces joined to traces) and `evaluator`
//! (native code against the reference evaluator).

use super::*;
use crate::jit::abi::ExitState;
use crate::jit::abi::BACK_TO_LOOP;
use crate::jit::assemble::ParentExit;
use crate::jit::ir::eval::{eval, Outcome};
use crate::jit::ir::table::{Select, TySet};
use crate::jit::ir::OPS;
use crate::jit::ir::{MathFn, Snapshot};
use crate::runtime::heap::{Gc, Heap};
use crate::runtime::object::{ArrayObj, StrObj};
use crate::runtime::ops::floats_equal;
use crate::runtime::value::Value;

mod arrays;
mod dicts;
mod evaluator;
mod linking;
mod registers;
mod scalars;
mod strings;
mod structs;

/// Builds a two-operand op, e.g. `Op::AddInt`.
type MakeBinary = fn(InstIdx, InstIdx) -> Op;

struct Builder {
    trace: Trace,
}

impl Builder {
    fn new() -> Builder {
        Builder { trace: Trace::default() }
    }

    fn snap(&mut self, entries: &[(u16, InstIdx)]) -> SnapIdx {
        let pc = self.trace.snapshots.len() as u32;
        self.trace.add_snapshot(Snapshot { pc, entries: entries.to_vec(), ..Snapshot::default() })
    }

    fn inst(&mut self, op: Op, ty: Ty) -> InstIdx {
        self.trace.push(op, ty, None, 0)
    }

    fn guard(&mut self, op: Op, ty: Ty, snap: SnapIdx) -> InstIdx {
        self.trace.push(op, ty, Some(snap), 0)
    }

    /// A Phi whose second operand is filled in by `close_phi` once it exists.
    fn open_phi(&mut self, first: InstIdx, ty: Ty) -> InstIdx {
        self.inst(Op::Phi(first, first), ty)
    }

    fn close_phi(&mut self, phi: InstIdx, second: InstIdx) {
        let Op::Phi(first, _) = self.trace.inst(phi).op else { panic!("{} is not a Phi", phi) };
        self.trace.insts[phi.index()].op = Op::Phi(first, second);
    }

    /// Ends a straight-line computation: `Loop`, then a body that exits at once through
    /// the returned snapshot.
    fn finish_straight(&mut self) -> SnapIdx {
        self.inst(Op::Loop, Ty::Void);
        let done = self.snap(&[]);
        let never = self.inst(Op::KBool(false), Ty::Bool);
        self.guard(Op::GuardTrue(never), Ty::Void, done);
        done
    }
}

fn compile(trace: &Trace) -> CompiledTrace {
    compile_with(trace, false)
}

fn compile_with(trace: &Trace, deopt_stress: bool) -> CompiledTrace {
    assemble(trace, &AssembleOptions::unlinked(0, deopt_stress))
        .unwrap_or_else(|e| panic!("assemble failed: {}\n{}", e, trace))
}

struct Exit {
    number: u32,
    state: Box<ExitState>,
}

fn run(compiled: &mut CompiledTrace, slots: &mut [Value], globals: &mut [Value]) -> Exit {
    let mut state = Box::new(ExitState::default());
    // SAFETY: the frame arrays cover every slot and global the test traces name, `state`
    // and the stress flags outlive the call, and `entry` points into `compiled`'s code.
    let number = unsafe { (compiled.entry)(slots.as_mut_ptr(), globals.as_mut_ptr(), &mut *state) };
    Exit { number, state }
}

/// The 64 bits of IR value `value` at an exit, found the way the exit handler finds them.
fn bits_at_exit(trace: &Trace, compiled: &CompiledTrace, exit: &Exit, value: InstIdx) -> u64 {
    match compiled.locations[value.index()] {
        Location::Gpr(r) => exit.state.gpr[r as usize],
        Location::Xmm(x) => exit.state.xmm[x as usize],
        Location::Spill(n) => exit.state.spill[n as usize],
        Location::Constant => x64::constant_bits(&trace.inst(value).op),
        Location::None => panic!("{} has no location", value),
    }
}

fn int_at_exit(trace: &Trace, compiled: &CompiledTrace, exit: &Exit, value: InstIdx) -> i64 {
    bits_at_exit(trace, compiled, exit, value) as i64
}

fn float_at_exit(trace: &Trace, compiled: &CompiledTrace, exit: &Exit, value: InstIdx) -> f64 {
    f64::from_bits(bits_at_exit(trace, compiled, exit, value))
}

fn int(v: Value) -> i64 {
    match v {
        Value::Int(i) => i,
        other => panic!("expected an int, got {}", other.type_name()),
    }
}

fn float(v: Value) -> f64 {
    match v {
        Value::Float(x) => x,
        other => panic!("expected a float, got {}", other.type_name()),
    }
}

fn boolean(v: Value) -> bool {
    match v {
        Value::Bool(b) => b,
        other => panic!("expected a bool, got {}", other.type_name()),
    }
}

fn same_float(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// `while i < n { i := i + 1 }` over slots 0 (`i`) and 1 (`n`), peeled. Snapshots: 0 entry
/// type guards, 1 pre-roll condition, 2 pre-roll overflow, 3 body condition (the loop
/// exit, slot 0 = the Phi), 4 body overflow.
struct CountingLoop {
    trace: Trace,
    phi: InstIdx,
}

fn counting_loop() -> CountingLoop {
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let i0 = b.guard(Op::SLoad { slot: 0 }, Ty::Int, entry);
    let n = b.guard(Op::SLoad { slot: 1 }, Ty::Int, entry);
    let one = b.inst(Op::KInt(1), Ty::Int);
    let below = b.inst(Op::LtInt(i0, n), Ty::Bool);
    let first_exit = b.snap(&[]);
    b.guard(Op::GuardTrue(below), Ty::Void, first_exit);
    let first_overflow = b.snap(&[]);
    let i1 = b.guard(Op::AddInt(i0, one), Ty::Int, first_overflow);
    b.inst(Op::Loop, Ty::Void);
    let phi = b.open_phi(i1, Ty::Int);
    let still_below = b.inst(Op::LtInt(phi, n), Ty::Bool);
    let loop_exit = b.snap(&[(0, phi)]);
    b.guard(Op::GuardTrue(still_below), Ty::Void, loop_exit);
    let overflow = b.snap(&[(0, phi)]);
    let i2 = b.guard(Op::AddInt(phi, one), Ty::Int, overflow);
    b.close_phi(phi, i2);
    CountingLoop { trace: b.trace, phi }
}

fn new_array(heap: &mut Heap, items: Vec<Value>) -> Gc<ArrayObj> {
    heap.alloc(ArrayObj { items })
}

fn ints(items: impl IntoIterator<Item = i64>) -> Vec<Value> {
    items.into_iter().map(Value::Int).collect()
}
