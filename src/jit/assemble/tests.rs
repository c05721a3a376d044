//! Tests of the backend: hand-built peeled traces run natively against a fake frame
//! (`Vec<Value>` slots and globals), results read back through `locations` + `ExitState`.
//! Array values in the frame are real `ArrayObj`s on a `Heap` owned by the test.

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

mod dicts;
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

#[test]
fn counting_loop_exits_with_final_counter() {
    let CountingLoop { trace, phi } = counting_loop();
    let mut compiled = compile(&trace);
    let mut slots = vec![Value::Int(0), Value::Int(1_000_000)];
    let exit = run(&mut compiled, &mut slots, &mut []);
    assert_eq!(exit.number, 3);
    assert_eq!(int_at_exit(&trace, &compiled, &exit, phi), 1_000_000);
    assert_eq!(int(slots[0]), 0, "a trace never writes frame slots");
    assert_eq!(exit.state.loop_iterations, 1_000_000, "one per increment of i, the pre-roll's included");

    let mut slots = vec![Value::Int(5), Value::Int(5)];
    let exit = run(&mut compiled, &mut slots, &mut []);
    assert_eq!(exit.number, 1, "the pre-roll condition fails first");
    assert_eq!(exit.state.loop_iterations, 0);
}

#[test]
fn fused_loop_condition_has_no_location_and_branches_directly() {
    let CountingLoop { trace, .. } = counting_loop();
    let compiled = compile(&trace);
    let comparisons: Vec<usize> =
        (0..trace.insts.len()).filter(|&i| matches!(trace.insts[i].op, Op::LtInt(..))).collect();
    for i in comparisons {
        assert_eq!(compiled.locations[i], Location::None, "comparison {} should be fused", i);
    }
    let listing = disassemble(&compiled);
    assert!(!listing.contains("setl"), "no bool materialized:\n{}", listing);
    assert!(listing.contains("jge ->EXIT 3\n"), "fused branch to the loop exit:\n{}", listing);
}

#[test]
fn disassembly_names_loop_and_exits() {
    let CountingLoop { trace, .. } = counting_loop();
    let compiled = compile(&trace);
    let listing = disassemble(&compiled);
    assert!(listing.contains("->LOOP:\n"), "{}", listing);
    assert!(listing.contains("jmp ->LOOP\n"), "{}", listing);
    assert!(listing.contains("jmp ->SAVE_REGISTERS_AND_RETURN\n"), "{}", listing);
    for n in 0..5 {
        assert!(listing.contains(&format!("->EXIT {}:\n", n)), "exit {} missing:\n{}", n, listing);
    }
    assert!(compiled.code_size > 0 && listing.lines().count() > 20);
}

#[test]
fn int_sum_exits_on_overflow_with_last_good_sum() {
    // sum := sum + x forever; slots 0 = sum, 1 = x.
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let sum0 = b.guard(Op::SLoad { slot: 0 }, Ty::Int, entry);
    let x = b.guard(Op::SLoad { slot: 1 }, Ty::Int, entry);
    let first_overflow = b.snap(&[]);
    let sum1 = b.guard(Op::AddInt(sum0, x), Ty::Int, first_overflow);
    b.inst(Op::Loop, Ty::Void);
    let phi = b.open_phi(sum1, Ty::Int);
    let overflow = b.snap(&[(0, phi)]);
    let sum2 = b.guard(Op::AddInt(phi, x), Ty::Int, overflow);
    b.close_phi(phi, sum2);
    let trace = b.trace;
    let mut compiled = compile(&trace);

    let step = i64::MAX / 7;
    let mut expected = 0i64;
    while let Some(next) = expected.checked_add(step) {
        expected = next;
    }
    let mut slots = vec![Value::Int(0), Value::Int(step)];
    let exit = run(&mut compiled, &mut slots, &mut []);
    assert_eq!(exit.number, overflow.0);
    assert_eq!(int_at_exit(&trace, &compiled, &exit, phi), expected);

    let mut slots = vec![Value::Int(i64::MIN), Value::Int(-1)];
    assert_eq!(run(&mut compiled, &mut slots, &mut []).number, first_overflow.0);
}

#[test]
fn failing_arithmetic_guard_leaves_its_snapshot_operand_intact() {
    // x dies at each guard but is in the guard's snapshot, so the (wrapped) result must
    // not have been computed in x's register.
    let ops: [(MakeBinary, i64); 3] =
        [(Op::AddInt, i64::MAX), (Op::MulInt, i64::MIN), (|x, _| Op::NegInt(x), i64::MIN)];
    for (make, x_value) in ops {
        let mut b = Builder::new();
        let entry = b.snap(&[]);
        let x = b.guard(Op::SLoad { slot: 0 }, Ty::Int, entry);
        let k = b.inst(Op::KInt(3), Ty::Int);
        let failed = b.snap(&[(0, x)]);
        let y = b.guard(make(x, k), Ty::Int, failed);
        b.inst(Op::GStore { global: 0, value: y }, Ty::Void);
        b.finish_straight();
        let trace = b.trace;
        let mut compiled = compile(&trace);
        let exit = run(&mut compiled, &mut [Value::Int(x_value)], &mut [Value::Null]);
        assert_eq!(exit.number, failed.0);
        assert_eq!(int_at_exit(&trace, &compiled, &exit, x), x_value, "{}", trace);
    }
}

#[test]
fn float_accumulation_matches_rust() {
    // while i < n { acc := acc + 0.1; i := i + 1 }; slots 0 = acc, 1 = i, 2 = n.
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let acc0 = b.guard(Op::SLoad { slot: 0 }, Ty::Float, entry);
    let i0 = b.guard(Op::SLoad { slot: 1 }, Ty::Int, entry);
    let n = b.guard(Op::SLoad { slot: 2 }, Ty::Int, entry);
    let tenth = b.inst(Op::KFloat(0.1), Ty::Float);
    let one = b.inst(Op::KInt(1), Ty::Int);
    let below = b.inst(Op::LtInt(i0, n), Ty::Bool);
    let first_exit = b.snap(&[]);
    b.guard(Op::GuardTrue(below), Ty::Void, first_exit);
    let acc1 = b.inst(Op::AddFloat(acc0, tenth), Ty::Float);
    let first_overflow = b.snap(&[(0, acc1)]);
    let i1 = b.guard(Op::AddInt(i0, one), Ty::Int, first_overflow);
    b.inst(Op::Loop, Ty::Void);
    let acc = b.open_phi(acc1, Ty::Float);
    let i = b.open_phi(i1, Ty::Int);
    let still_below = b.inst(Op::LtInt(i, n), Ty::Bool);
    let loop_exit = b.snap(&[(0, acc), (1, i)]);
    b.guard(Op::GuardTrue(still_below), Ty::Void, loop_exit);
    let acc2 = b.inst(Op::AddFloat(acc, tenth), Ty::Float);
    let overflow = b.snap(&[(0, acc2), (1, i)]);
    let i2 = b.guard(Op::AddInt(i, one), Ty::Int, overflow);
    b.close_phi(acc, acc2);
    b.close_phi(i, i2);
    let trace = b.trace;
    let mut compiled = compile(&trace);

    let mut expected = 1.5f64;
    for _ in 0..1000 {
        expected += 0.1;
    }
    let mut slots = vec![Value::Float(1.5), Value::Int(0), Value::Int(1000)];
    let exit = run(&mut compiled, &mut slots, &mut []);
    assert_eq!(exit.number, loop_exit.0);
    assert_eq!(float_at_exit(&trace, &compiled, &exit, acc).to_bits(), expected.to_bits());
    assert_eq!(int_at_exit(&trace, &compiled, &exit, i), 1000);
}

#[test]
fn first_load_exits_on_type_mismatch() {
    let CountingLoop { trace, .. } = counting_loop();
    let mut compiled = compile(&trace);
    for wrong in [Value::Float(0.0), Value::Null, Value::Bool(true), Value::Undef] {
        let mut slots = vec![wrong, Value::Int(10)];
        assert_eq!(run(&mut compiled, &mut slots, &mut []).number, 0);
    }
    let mut slots = vec![Value::Int(0), Value::Float(10.0)];
    assert_eq!(run(&mut compiled, &mut slots, &mut []).number, 0, "second load shares the entry snapshot");
}

#[test]
fn loads_of_bool_null_and_float_check_their_tags() {
    // Slots 0 = bool, 1 = null, 2 = float; stores them to globals 0..3.
    let mut b = Builder::new();
    let bool_snap = b.snap(&[]);
    let flag = b.guard(Op::SLoad { slot: 0 }, Ty::Bool, bool_snap);
    let null_snap = b.snap(&[]);
    let nothing = b.guard(Op::SLoad { slot: 1 }, Ty::Null, null_snap);
    let float_snap = b.snap(&[]);
    let x = b.guard(Op::SLoad { slot: 2 }, Ty::Float, float_snap);
    b.inst(Op::GStore { global: 0, value: flag }, Ty::Void);
    b.inst(Op::GStore { global: 1, value: nothing }, Ty::Void);
    b.inst(Op::GStore { global: 2, value: x }, Ty::Void);
    let done = b.finish_straight();
    let mut compiled = compile(&b.trace);

    let mut globals = vec![Value::Int(7); 3];
    let mut slots = vec![Value::Bool(true), Value::Null, Value::Float(-2.5)];
    assert_eq!(run(&mut compiled, &mut slots, &mut globals).number, done.0);
    assert!(boolean(globals[0]));
    assert!(matches!(globals[1], Value::Null));
    assert_eq!(float(globals[2]), -2.5);

    for (slots, expected) in [
        (vec![Value::Int(1), Value::Null, Value::Float(0.0)], bool_snap),
        (vec![Value::Bool(false), Value::Int(0), Value::Float(0.0)], null_snap),
        (vec![Value::Bool(false), Value::Null, Value::Int(3)], float_snap),
    ] {
        let mut slots = slots;
        assert_eq!(run(&mut compiled, &mut slots, &mut globals).number, expected.0);
    }
}

/// Straight-line `a / b` and `a % b` into globals 0 and 1; `a` (instruction 0) from slot
/// 0, `b` from slot 1 or a constant. Returns the division guard's snapshot and the end.
fn division_trace(constant_divisor: Option<i64>) -> (Trace, SnapIdx, SnapIdx) {
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let a = b.guard(Op::SLoad { slot: 0 }, Ty::Int, entry);
    let divisor = match constant_divisor {
        Some(k) => b.inst(Op::KInt(k), Ty::Int),
        None => b.guard(Op::SLoad { slot: 1 }, Ty::Int, entry),
    };
    let div_snap = b.snap(&[(0, a)]);
    let q = b.guard(Op::DivInt(a, divisor), Ty::Int, div_snap);
    let mod_snap = b.snap(&[(0, a)]);
    let r = b.guard(Op::ModInt(a, divisor), Ty::Int, mod_snap);
    b.inst(Op::GStore { global: 0, value: q }, Ty::Void);
    b.inst(Op::GStore { global: 1, value: r }, Ty::Void);
    let done = b.finish_straight();
    (b.trace, div_snap, done)
}

#[test]
fn int_division_and_remainder_follow_ruff() {
    let cases = [
        (7, 2),
        (-7, 2),
        (7, -2),
        (-7, -2),
        (i64::MIN, 1),
        (i64::MIN, 2),
        (i64::MAX, -1),
        (i64::MIN, -1),
        (5, 0),
        (0, 0),
        (i64::MIN, i64::MIN),
    ];
    let dividend = InstIdx(0);
    for (a, d) in cases {
        for (constant, what) in [(None, "slot"), (Some(d), "constant")] {
            let (trace, div_snap, done) = division_trace(constant);
            let mut compiled = compile(&trace);
            let mut slots = vec![Value::Int(a), Value::Int(d)];
            let mut globals = vec![Value::Null; 2];
            let exit = run(&mut compiled, &mut slots, &mut globals);
            match (a.checked_div(d), a.checked_rem(d)) {
                (Some(q), Some(r)) => {
                    assert_eq!(exit.number, done.0, "{} / {} ({} divisor)", a, d, what);
                    assert_eq!((int(globals[0]), int(globals[1])), (q, r), "{} / {} ({} divisor)", a, d, what);
                }
                _ => {
                    assert_eq!(exit.number, div_snap.0, "{} / {} must exit ({} divisor)", a, d, what);
                    assert_eq!(int_at_exit(&trace, &compiled, &exit, dividend), a, "dividend intact");
                }
            }
        }
    }
}

#[test]
fn remainder_guard_alone_exits_for_zero_and_min_by_minus_one() {
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let a = b.guard(Op::SLoad { slot: 0 }, Ty::Int, entry);
    let d = b.guard(Op::SLoad { slot: 1 }, Ty::Int, entry);
    let mod_snap = b.snap(&[]);
    let r = b.guard(Op::ModInt(a, d), Ty::Int, mod_snap);
    b.inst(Op::GStore { global: 0, value: r }, Ty::Void);
    let done = b.finish_straight();
    let mut compiled = compile(&b.trace);
    for (a, d, expected) in [(-7, 3, Some(-1)), (7, -3, Some(1)), (i64::MIN, -1, None), (3, 0, None)] {
        let mut globals = vec![Value::Null];
        let exit = run(&mut compiled, &mut [Value::Int(a), Value::Int(d)], &mut globals);
        match expected {
            Some(r) => {
                assert_eq!(exit.number, done.0);
                assert_eq!(int(globals[0]), r);
            }
            None => assert_eq!(exit.number, mod_snap.0, "{} % {}", a, d),
        }
    }
}

#[test]
fn float_division_by_a_converted_int_exits_when_the_int_is_zero() {
    // `x / to_float(n)` tests `n` itself for zero; `n` stays live (the snapshot names it).
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let x = b.guard(Op::SLoad { slot: 0 }, Ty::Float, entry);
    let n = b.guard(Op::SLoad { slot: 1 }, Ty::Int, entry);
    let divisor = b.inst(Op::IntToFloat(n), Ty::Float);
    let div_snap = b.snap(&[(2, n)]);
    let q = b.guard(Op::DivFloat(x, divisor), Ty::Float, div_snap);
    let mod_snap = b.snap(&[(2, n)]);
    let r = b.guard(Op::ModFloat(x, divisor), Ty::Float, mod_snap);
    b.inst(Op::GStore { global: 0, value: q }, Ty::Void);
    b.inst(Op::GStore { global: 1, value: r }, Ty::Void);
    let done = b.finish_straight();
    let mut compiled = compile(&b.trace);
    for (x, n) in [(7.0, 2), (-7.5, -4), (1.0, 0), (0.0, 0), (f64::NAN, 0)] {
        let mut globals = vec![Value::Null; 2];
        let exit = run(&mut compiled, &mut [Value::Float(x), Value::Int(n)], &mut globals);
        if n == 0 {
            assert_eq!(exit.number, div_snap.0, "{} / {} must exit", x, n);
        } else {
            assert_eq!(exit.number, done.0);
            assert_eq!(float(globals[0]), x / n as f64);
        }
    }
}

#[test]
fn float_division_and_modulo_guard_zero_divisors() {
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let a = b.guard(Op::SLoad { slot: 0 }, Ty::Float, entry);
    let d = b.guard(Op::SLoad { slot: 1 }, Ty::Float, entry);
    let div_snap = b.snap(&[]);
    let q = b.guard(Op::DivFloat(a, d), Ty::Float, div_snap);
    let mod_snap = b.snap(&[]);
    let r = b.guard(Op::ModFloat(a, d), Ty::Float, mod_snap);
    b.inst(Op::GStore { global: 0, value: q }, Ty::Void);
    b.inst(Op::GStore { global: 1, value: r }, Ty::Void);
    let done = b.finish_straight();
    let mut compiled = compile(&b.trace);
    let cases = [
        (1.0, 4.0),
        (7.5, -2.0),
        (-7.5, 2.0),
        (1.0, f64::NAN),
        (5.0, f64::INFINITY),
        (f64::INFINITY, 3.0),
        (1e308, 1e-308),
        (1.0, 0.0),
        (1.0, -0.0),
        (0.0, 0.0),
    ];
    for (x, y) in cases {
        let mut globals = vec![Value::Null; 2];
        let exit = run(&mut compiled, &mut [Value::Float(x), Value::Float(y)], &mut globals);
        if y == 0.0 {
            assert_eq!(exit.number, div_snap.0, "{} / {}", x, y);
        } else {
            assert_eq!(exit.number, done.0, "{} / {}", x, y);
            assert!(same_float(float(globals[0]), x / y), "{} / {}", x, y);
            assert!(same_float(float(globals[1]), x % y), "{} % {}", x, y);
        }
    }
}

#[test]
fn constant_zero_divisors_always_exit() {
    for (divisor, ty) in [(Op::KInt(0), Ty::Int), (Op::KFloat(-0.0), Ty::Float)] {
        let mut b = Builder::new();
        let entry = b.snap(&[]);
        let a = b.guard(Op::SLoad { slot: 0 }, ty, entry);
        let zero = b.inst(divisor, ty);
        let div_snap = b.snap(&[]);
        let op = if ty == Ty::Int { Op::DivInt(a, zero) } else { Op::DivFloat(a, zero) };
        let q = b.guard(op, ty, div_snap);
        b.inst(Op::GStore { global: 0, value: q }, Ty::Void);
        b.finish_straight();
        let mut compiled = compile(&b.trace);
        let value = if ty == Ty::Int { Value::Int(9) } else { Value::Float(9.0) };
        assert_eq!(run(&mut compiled, &mut [value], &mut [Value::Null]).number, div_snap.0);
    }
}

/// `a, b := b, a` while `i < n`; slots 0 = a, 1 = b, 2 = i, 3 = n. The back-edge moves of
/// the two Phis form a cycle.
fn swap_loop(ty: Ty) -> (Trace, InstIdx, InstIdx, SnapIdx) {
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let a0 = b.guard(Op::SLoad { slot: 0 }, ty, entry);
    let b0 = b.guard(Op::SLoad { slot: 1 }, ty, entry);
    let i0 = b.guard(Op::SLoad { slot: 2 }, Ty::Int, entry);
    let n = b.guard(Op::SLoad { slot: 3 }, Ty::Int, entry);
    let one = b.inst(Op::KInt(1), Ty::Int);
    let below = b.inst(Op::LtInt(i0, n), Ty::Bool);
    let first_exit = b.snap(&[]);
    b.guard(Op::GuardTrue(below), Ty::Void, first_exit);
    let first_overflow = b.snap(&[(0, b0), (1, a0)]);
    let i1 = b.guard(Op::AddInt(i0, one), Ty::Int, first_overflow);
    b.inst(Op::Loop, Ty::Void);
    let pa = b.open_phi(b0, ty);
    let pb = b.open_phi(a0, ty);
    let i = b.open_phi(i1, Ty::Int);
    let still_below = b.inst(Op::LtInt(i, n), Ty::Bool);
    let loop_exit = b.snap(&[(0, pa), (1, pb), (2, i)]);
    b.guard(Op::GuardTrue(still_below), Ty::Void, loop_exit);
    let overflow = b.snap(&[(0, pb), (1, pa)]);
    let i2 = b.guard(Op::AddInt(i, one), Ty::Int, overflow);
    b.close_phi(pa, pb);
    b.close_phi(pb, pa);
    b.close_phi(i, i2);
    (b.trace, pa, pb, loop_exit)
}

#[test]
fn swapping_loop_carried_values_breaks_the_move_cycle() {
    let mut heap = Heap::default();
    let (first, second) = (heap.alloc(ArrayObj { items: Vec::new() }), heap.alloc(ArrayObj { items: Vec::new() }));
    for (ty, a, b) in [
        (Ty::Int, Value::Int(11), Value::Int(22)),
        (Ty::Float, Value::Float(1.25), Value::Float(-8.0)),
        (Ty::Array, Value::Array(first), Value::Array(second)),
    ] {
        let (trace, pa, pb, loop_exit) = swap_loop(ty);
        let mut compiled = compile(&trace);
        assert_ne!(compiled.locations[pa.index()], compiled.locations[pb.index()]);
        for n in [5, 6] {
            let exit = run(&mut compiled, &mut [a, b, Value::Int(0), Value::Int(n)], &mut []);
            assert_eq!(exit.number, loop_exit.0);
            let (final_a, final_b) =
                (bits_at_exit(&trace, &compiled, &exit, pa), bits_at_exit(&trace, &compiled, &exit, pb));
            let bits = |v: Value| match v {
                Value::Int(i) => i as u64,
                Value::Float(x) => x.to_bits(),
                Value::Array(a) => a.addr() as u64,
                _ => unreachable!(),
            };
            let (expected_a, expected_b) = if n % 2 == 1 { (b, a) } else { (a, b) };
            assert_eq!((final_a, final_b), (bits(expected_a), bits(expected_b)), "{:?} after {} swaps", ty, n);
        }
    }
}

/// Pre-roll values `2 * slot k` (ints) and `slot k + 0.5` (floats), all needed by the loop
/// exit's snapshot, so all live through the body at once: more than the registers.
#[test]
fn more_live_values_than_registers_spill_to_state() {
    const INTS: u16 = 14;
    const FLOATS: u16 = 20;
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let two = b.inst(Op::KInt(2), Ty::Int);
    let half = b.inst(Op::KFloat(0.5), Ty::Float);
    let mut doubled = Vec::new();
    let mut shifted = Vec::new();
    for k in 0..INTS {
        let v = b.guard(Op::SLoad { slot: k }, Ty::Int, entry);
        let overflow = b.snap(&[]);
        doubled.push(b.guard(Op::MulInt(v, two), Ty::Int, overflow));
    }
    for k in 0..FLOATS {
        let x = b.guard(Op::SLoad { slot: INTS + k }, Ty::Float, entry);
        shifted.push(b.inst(Op::AddFloat(x, half), Ty::Float));
    }
    let counter_slot = INTS + FLOATS;
    let i0 = b.guard(Op::SLoad { slot: counter_slot }, Ty::Int, entry);
    let one = b.inst(Op::KInt(1), Ty::Int);
    let limit = b.inst(Op::KInt(100), Ty::Int);
    let first_overflow = b.snap(&[]);
    let i1 = b.guard(Op::AddInt(i0, one), Ty::Int, first_overflow);
    b.inst(Op::Loop, Ty::Void);
    let i = b.open_phi(i1, Ty::Int);
    // The sum of all doubled values, recomputed each iteration, keeps them in use.
    let mut sum = doubled[0];
    for &d in &doubled[1..] {
        let overflow = b.snap(&[]);
        sum = b.guard(Op::AddInt(sum, d), Ty::Int, overflow);
    }
    let mut entries: Vec<(u16, InstIdx)> = Vec::new();
    entries.extend(doubled.iter().enumerate().map(|(k, &v)| (k as u16, v)));
    entries.extend(shifted.iter().enumerate().map(|(k, &v)| (INTS + k as u16, v)));
    entries.push((counter_slot, i));
    entries.push((counter_slot + 1, sum));
    let below = b.inst(Op::LtInt(i, limit), Ty::Bool);
    let loop_exit = b.snap(&entries);
    b.guard(Op::GuardTrue(below), Ty::Void, loop_exit);
    let overflow = b.snap(&[]);
    let i2 = b.guard(Op::AddInt(i, one), Ty::Int, overflow);
    b.close_phi(i, i2);
    let trace = b.trace;
    let mut compiled = compile(&trace);
    let spilled = |values: &[InstIdx]| {
        values.iter().filter(|v| matches!(compiled.locations[v.index()], Location::Spill(_))).count()
    };
    assert!(spilled(&doubled) > 0, "ints should spill: {:?}", compiled.locations);
    assert!(spilled(&shifted) > 0, "floats should spill: {:?}", compiled.locations);
    assert!(compiled.spill_slots_used > 0);

    let mut slots: Vec<Value> = (0..INTS).map(|k| Value::Int(k as i64 * 1000 - 3)).collect();
    slots.extend((0..FLOATS).map(|k| Value::Float(k as f64 * 1.5 - 7.0)));
    slots.push(Value::Int(0));
    let exit = run(&mut compiled, &mut slots, &mut []);
    assert_eq!(exit.number, loop_exit.0);
    for (k, &v) in doubled.iter().enumerate() {
        assert_eq!(int_at_exit(&trace, &compiled, &exit, v), 2 * int(slots[k]), "int {}", k);
    }
    for (k, &v) in shifted.iter().enumerate() {
        assert_eq!(float_at_exit(&trace, &compiled, &exit, v), float(slots[INTS as usize + k]) + 0.5, "float {}", k);
    }
    let expected_sum: i64 = (0..INTS as usize).map(|k| 2 * int(slots[k])).sum();
    assert_eq!(int_at_exit(&trace, &compiled, &exit, sum), expected_sum);
    assert_eq!(int_at_exit(&trace, &compiled, &exit, i), 100);
}

#[test]
fn too_many_live_values_is_an_error() {
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let loads: Vec<InstIdx> = (0..300).map(|k| b.guard(Op::SLoad { slot: k }, Ty::Int, entry)).collect();
    b.inst(Op::Loop, Ty::Void);
    let entries: Vec<(u16, InstIdx)> = loads.iter().enumerate().map(|(k, &v)| (k as u16, v)).collect();
    let done = b.snap(&entries);
    let never = b.inst(Op::KBool(false), Ty::Bool);
    b.guard(Op::GuardTrue(never), Ty::Void, done);
    assert_eq!(assemble(&b.trace, &AssembleOptions::unlinked(0, false)).err(), Some(AssembleError::TooManySpillSlots));
}

#[test]
fn global_counter_loads_and_stores_every_iteration() {
    // while g0 < n { g0 := g0 + 1; g1 := true; g2 := g0 * 0.5 } with n in slot 0.
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let n = b.guard(Op::SLoad { slot: 0 }, Ty::Int, entry);
    let one = b.inst(Op::KInt(1), Ty::Int);
    let yes = b.inst(Op::KBool(true), Ty::Bool);
    let half = b.inst(Op::KFloat(0.5), Ty::Float);
    b.inst(Op::Loop, Ty::Void);
    let load_snap = b.snap(&[]);
    let g = b.guard(Op::GLoad { global: 0 }, Ty::Int, load_snap);
    let below = b.inst(Op::LtInt(g, n), Ty::Bool);
    let loop_exit = b.snap(&[]);
    b.guard(Op::GuardTrue(below), Ty::Void, loop_exit);
    let overflow = b.snap(&[]);
    let next = b.guard(Op::AddInt(g, one), Ty::Int, overflow);
    b.inst(Op::GStore { global: 0, value: next }, Ty::Void);
    b.inst(Op::GStore { global: 1, value: yes }, Ty::Void);
    let as_float = b.inst(Op::IntToFloat(next), Ty::Float);
    let scaled = b.inst(Op::MulFloat(as_float, half), Ty::Float);
    b.inst(Op::GStore { global: 2, value: scaled }, Ty::Void);
    let mut compiled = compile(&b.trace);

    let mut globals = vec![Value::Int(3), Value::Bool(false), Value::Null];
    let exit = run(&mut compiled, &mut [Value::Int(1000)], &mut globals);
    assert_eq!(exit.number, loop_exit.0);
    assert_eq!(int(globals[0]), 1000);
    assert!(boolean(globals[1]));
    assert_eq!(float(globals[2]), 500.0);

    let mut globals = vec![Value::Undef, Value::Null, Value::Null];
    assert_eq!(run(&mut compiled, &mut [Value::Int(1)], &mut globals).number, load_snap.0, "unassigned global");
}

const FLOAT_SAMPLES: [f64; 10] =
    [0.0, -0.0, 1.0, 1.0 + f64::EPSILON, -2.5, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 1e300, f64::MIN_POSITIVE];

type FloatCompare = (MakeBinary, fn(f64, f64) -> bool, &'static str);

const FLOAT_COMPARES: [FloatCompare; 6] = [
    (Op::LtFloat, |a, b| a < b, "<"),
    (Op::LeFloat, |a, b| a <= b, "<="),
    (Op::GtFloat, |a, b| a > b, ">"),
    (Op::GeFloat, |a, b| a >= b, ">="),
    (Op::EqFloat, floats_equal, "=="),
    (Op::NeFloat, |a, b| !floats_equal(a, b), "!="),
];

#[test]
fn float_comparisons_as_values_follow_ruff() {
    // All comparisons of slots 0 and 1 stored as bools to globals 0..6, plus truthiness.
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let x = b.guard(Op::SLoad { slot: 0 }, Ty::Float, entry);
    let y = b.guard(Op::SLoad { slot: 1 }, Ty::Float, entry);
    for (k, (make, _, _)) in FLOAT_COMPARES.iter().enumerate() {
        let c = b.inst(make(x, y), Ty::Bool);
        b.inst(Op::GStore { global: k as u32, value: c }, Ty::Void);
    }
    let truthy = b.inst(Op::TruthyFloat(x), Ty::Bool);
    b.inst(Op::GStore { global: 6, value: truthy }, Ty::Void);
    b.finish_straight();
    let mut compiled = compile(&b.trace);
    for a in FLOAT_SAMPLES {
        for c in FLOAT_SAMPLES {
            let mut globals = vec![Value::Null; 7];
            run(&mut compiled, &mut [Value::Float(a), Value::Float(c)], &mut globals);
            for (k, (_, rule, name)) in FLOAT_COMPARES.iter().enumerate() {
                assert_eq!(boolean(globals[k]), rule(a, c), "{:?} {} {:?}", a, name, c);
            }
            assert_eq!(boolean(globals[6]), a != 0.0 || a.is_nan(), "truthy({:?})", a);
        }
    }
    // Within epsilon but not identical: equal in Ruff.
    let mut globals = vec![Value::Null; 7];
    run(&mut compiled, &mut [Value::Float(0.1 + 0.2), Value::Float(0.3)], &mut globals);
    assert!(boolean(globals[4]) && !boolean(globals[5]));
}

#[test]
fn fused_float_guards_exit_exactly_when_the_comparison_fails() {
    for (make, rule, name) in FLOAT_COMPARES {
        for guard_true in [true, false] {
            let mut b = Builder::new();
            let entry = b.snap(&[]);
            let x = b.guard(Op::SLoad { slot: 0 }, Ty::Float, entry);
            let y = b.guard(Op::SLoad { slot: 1 }, Ty::Float, entry);
            let c = b.inst(make(x, y), Ty::Bool);
            let failed = b.snap(&[]);
            let guard = if guard_true { Op::GuardTrue(c) } else { Op::GuardFalse(c) };
            b.guard(guard, Ty::Void, failed);
            let done = b.finish_straight();
            let mut compiled = compile(&b.trace);
            assert_eq!(compiled.locations[c.index()], Location::None, "{} is fused", name);
            for a in FLOAT_SAMPLES {
                for d in FLOAT_SAMPLES {
                    let exit = run(&mut compiled, &mut [Value::Float(a), Value::Float(d)], &mut []);
                    let expected = if rule(a, d) == guard_true { done } else { failed };
                    assert_eq!(exit.number, expected.0, "guard {} on {:?} {} {:?}", guard_true, a, name, d);
                }
            }
        }
    }
}

type IntCompare = (MakeBinary, fn(i64, i64) -> bool);

#[test]
fn int_and_bool_comparisons_fused_and_unfused() {
    let compares: [IntCompare; 6] = [
        (Op::LtInt, |a, b| a < b),
        (Op::LeInt, |a, b| a <= b),
        (Op::GtInt, |a, b| a > b),
        (Op::GeInt, |a, b| a >= b),
        (Op::EqInt, |a, b| a == b),
        (Op::NeInt, |a, b| a != b),
    ];
    let samples = [i64::MIN, -1, 0, 1, 7, i64::MAX];
    for (make, rule) in compares {
        let mut b = Builder::new();
        let entry = b.snap(&[]);
        let x = b.guard(Op::SLoad { slot: 0 }, Ty::Int, entry);
        let y = b.guard(Op::SLoad { slot: 1 }, Ty::Int, entry);
        let stored = b.inst(make(x, y), Ty::Bool);
        b.inst(Op::GStore { global: 0, value: stored }, Ty::Void);
        let negated = b.inst(Op::NotBool(stored), Ty::Bool);
        b.inst(Op::GStore { global: 1, value: negated }, Ty::Void);
        let same = b.inst(Op::EqBool(stored, negated), Ty::Bool);
        b.inst(Op::GStore { global: 2, value: same }, Ty::Void);
        let fused = b.inst(make(x, y), Ty::Bool);
        let failed = b.snap(&[]);
        b.guard(Op::GuardTrue(fused), Ty::Void, failed);
        let done = b.finish_straight();
        let mut compiled = compile(&b.trace);
        for a in samples {
            for c in samples {
                let mut globals = vec![Value::Null; 3];
                let exit = run(&mut compiled, &mut [Value::Int(a), Value::Int(c)], &mut globals);
                assert_eq!(boolean(globals[0]), rule(a, c));
                assert_eq!(boolean(globals[1]), !rule(a, c));
                assert!(!boolean(globals[2]));
                assert_eq!(exit.number, if rule(a, c) { done.0 } else { failed.0 });
            }
        }
    }
}

#[test]
fn truthy_int_and_unfused_guard_on_a_stored_bool() {
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let x = b.guard(Op::SLoad { slot: 0 }, Ty::Int, entry);
    let truthy = b.inst(Op::TruthyInt(x), Ty::Bool);
    b.inst(Op::GStore { global: 0, value: truthy }, Ty::Void);
    let failed = b.snap(&[]);
    // Used twice (store and guard): not fused, the guard tests the bool register.
    b.guard(Op::GuardFalse(truthy), Ty::Void, failed);
    let done = b.finish_straight();
    let mut compiled = compile(&b.trace);
    assert_ne!(compiled.locations[truthy.index()], Location::None);
    for (value, truthy) in [(0, false), (1, true), (-5, true), (i64::MIN, true)] {
        let mut globals = vec![Value::Null];
        let exit = run(&mut compiled, &mut [Value::Int(value)], &mut globals);
        assert_eq!(boolean(globals[0]), truthy);
        assert_eq!(exit.number, if truthy { failed.0 } else { done.0 });
    }
}

#[test]
fn negation_conversion_and_multiplication_overflow() {
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let x = b.guard(Op::SLoad { slot: 0 }, Ty::Int, entry);
    let y = b.guard(Op::SLoad { slot: 1 }, Ty::Float, entry);
    let neg_snap = b.snap(&[]);
    let minus_x = b.guard(Op::NegInt(x), Ty::Int, neg_snap);
    let mul_snap = b.snap(&[]);
    let squared = b.guard(Op::MulInt(x, x), Ty::Int, mul_snap);
    let minus_y = b.inst(Op::NegFloat(y), Ty::Float);
    let converted = b.inst(Op::IntToFloat(x), Ty::Float);
    for (k, v) in [minus_x, squared, minus_y, converted].into_iter().enumerate() {
        b.inst(Op::GStore { global: k as u32, value: v }, Ty::Void);
    }
    let done = b.finish_straight();
    let mut compiled = compile(&b.trace);
    for x in [0i64, 3, -3, 3_037_000_499, 3_037_000_500, i64::MIN, i64::MAX] {
        let y = x as f64 / 3.0;
        let mut globals = vec![Value::Null; 4];
        let exit = run(&mut compiled, &mut [Value::Int(x), Value::Float(y)], &mut globals);
        match (x.checked_neg(), x.checked_mul(x)) {
            (None, _) => assert_eq!(exit.number, neg_snap.0, "-{}", x),
            (Some(_), None) => assert_eq!(exit.number, mul_snap.0, "{}^2", x),
            (Some(n), Some(s)) => {
                assert_eq!(exit.number, done.0);
                assert_eq!((int(globals[0]), int(globals[1])), (n, s));
                assert_eq!(float(globals[2]).to_bits(), (-y).to_bits());
                assert_eq!(float(globals[3]), x as f64);
            }
        }
    }
    let mut globals = vec![Value::Null; 4];
    run(&mut compiled, &mut [Value::Int(0), Value::Float(0.0)], &mut globals);
    assert!(float(globals[2]).is_sign_negative(), "-(0.0) is -0.0");
}

/// Calls builtin `name` the way the interpreter does.
fn call_builtin(name: &str, args: &[Value]) -> Result<Value, String> {
    use crate::compile::bytecode::{Program, ProtoId, StructType};
    use crate::runtime::heap::Heap;
    use crate::runtime::symbol::{Interner, SYM_ERROR};
    let program = Program {
        protos: Vec::new(),
        main: ProtoId(0),
        globals: Vec::new(),
        symbols: Interner::default(),
        struct_types: vec![StructType { name: SYM_ERROR, methods: Default::default() }],
        initial_globals: Vec::new(),
    };
    let mut heap = Heap::default();
    let mut out = Vec::new();
    let mut ctx = crate::builtins::Ctx {
        heap: &mut heap,
        program: &program,
        out: &mut out,
        start_time: std::time::Instant::now(),
    };
    let id = crate::builtins::lookup(name).unwrap_or_else(|| panic!("no builtin {}", name));
    crate::builtins::call(id, &mut ctx, args)
}

const MATH_SAMPLES: [f64; 16] = [
    0.0,
    -0.0,
    0.5,
    -0.5,
    1.0,
    -1.0,
    2.5,
    -2.5,
    3.7,
    -1e-300,
    1e300,
    710.0,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    std::f64::consts::PI,
];

#[test]
fn math_functions_match_the_builtins() {
    use MathFn::*;
    for f in [Abs, Sqrt, Floor, Ceil, Round, Sin, Cos, Tan, Exp, Log, Pow, Min, Max] {
        let mut b = Builder::new();
        let entry = b.snap(&[]);
        let x = b.guard(Op::SLoad { slot: 0 }, Ty::Float, entry);
        let y = b.guard(Op::SLoad { slot: 1 }, Ty::Float, entry);
        let domain = b.snap(&[(0, x)]);
        let op = if f.arity() == 1 { Op::Math1(f, x) } else { Op::Math2(f, x, y) };
        let snap = op.is_guard().then_some(domain);
        let result = b.trace.push(op, Ty::Float, snap, 0);
        b.inst(Op::GStore { global: 0, value: result }, Ty::Void);
        let done = b.finish_straight();
        let mut compiled = compile(&b.trace);
        for a in MATH_SAMPLES {
            for c in MATH_SAMPLES {
                let args = [Value::Float(a), Value::Float(c)];
                let mut globals = vec![Value::Null];
                let exit = run(&mut compiled, &mut args.clone(), &mut globals);
                match call_builtin(f.name(), &args[..f.arity()]) {
                    Ok(expected) => {
                        assert_eq!(exit.number, done.0, "{}({:?}, {:?})", f.name(), a, c);
                        let (got, want) = (float(globals[0]), float(expected));
                        assert!(
                            same_float(got, want),
                            "{}({:?}, {:?}) = {:?}, builtin {:?}",
                            f.name(),
                            a,
                            c,
                            got,
                            want
                        );
                    }
                    Err(_) => assert_eq!(exit.number, domain.0, "{}({:?}) must exit", f.name(), a),
                }
                if f.arity() == 1 {
                    break;
                }
            }
        }
    }
}

#[test]
fn values_in_registers_survive_helper_calls() {
    // Ints and floats live across sin(): their sum after the call must be intact.
    const INTS: u16 = 8;
    const FLOATS: u16 = 12;
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let ints: Vec<InstIdx> = (0..INTS).map(|k| b.guard(Op::SLoad { slot: k }, Ty::Int, entry)).collect();
    let floats: Vec<InstIdx> = (0..FLOATS).map(|k| b.guard(Op::SLoad { slot: INTS + k }, Ty::Float, entry)).collect();
    b.inst(Op::Loop, Ty::Void);
    let sine = b.inst(Op::Math1(MathFn::Sin, floats[0]), Ty::Float);
    // Arguments swapped relative to their registers: xmm0 and xmm1 trade places.
    let power = b.inst(Op::Math2(MathFn::Pow, floats[1], floats[0]), Ty::Float);
    let mut int_sum = ints[0];
    for &v in &ints[1..] {
        let overflow = b.snap(&[]);
        int_sum = b.guard(Op::AddInt(int_sum, v), Ty::Int, overflow);
    }
    let mut float_sum = b.inst(Op::AddFloat(sine, power), Ty::Float);
    for &x in &floats {
        float_sum = b.inst(Op::AddFloat(float_sum, x), Ty::Float);
    }
    b.inst(Op::GStore { global: 0, value: int_sum }, Ty::Void);
    b.inst(Op::GStore { global: 1, value: float_sum }, Ty::Void);
    let done = b.snap(&[]);
    let never = b.inst(Op::KBool(false), Ty::Bool);
    b.guard(Op::GuardTrue(never), Ty::Void, done);
    let mut compiled = compile(&b.trace);
    assert_eq!(compiled.locations[floats[0].index()], Location::Xmm(0));
    assert_eq!(compiled.locations[floats[1].index()], Location::Xmm(1));

    let mut slots: Vec<Value> = (0..INTS).map(|k| Value::Int(1 << (3 * k))).collect();
    slots.extend((0..FLOATS).map(|k| Value::Float(0.25 + k as f64)));
    let mut globals = vec![Value::Null; 2];
    assert_eq!(run(&mut compiled, &mut slots, &mut globals).number, done.0);
    let expected_ints: i64 = (0..INTS).map(|k| 1i64 << (3 * k)).sum();
    let fl = |k: usize| float(slots[INTS as usize + k]);
    let mut expected_floats = fl(0).sin() + fl(1).powf(fl(0));
    for k in 0..FLOATS as usize {
        expected_floats += fl(k);
    }
    assert_eq!(int(globals[0]), expected_ints);
    assert_eq!(float(globals[1]).to_bits(), expected_floats.to_bits());
}

#[test]
fn deopt_stress_takes_every_exit_once_then_runs_normally() {
    let CountingLoop { trace, phi } = counting_loop();
    let mut compiled = compile_with(&trace, true);
    let mut exits = Vec::new();
    let mut body_first_exit_value = None;
    loop {
        let mut slots = vec![Value::Int(0), Value::Int(50)];
        let exit = run(&mut compiled, &mut slots, &mut []);
        exits.push(exit.number);
        if exit.number == 3 && body_first_exit_value.is_none() {
            body_first_exit_value = Some(int_at_exit(&trace, &compiled, &exit, phi));
        } else if exit.number == 3 {
            assert_eq!(int_at_exit(&trace, &compiled, &exit, phi), 50);
            break;
        }
        assert!(exits.len() < 10, "too many exits: {:?}", exits);
    }
    assert_eq!(exits, [0, 1, 2, 3, 4, 3]);
    assert_eq!(body_first_exit_value, Some(1), "first body iteration sees i = 1");
    assert!(compiled.stress_flags.iter().all(|&f| f == 1));
}

#[test]
fn malformed_traces_are_rejected() {
    let mut unpeeled = Builder::new();
    let entry = unpeeled.snap(&[]);
    unpeeled.guard(Op::SLoad { slot: 0 }, Ty::Int, entry);
    let end = unpeeled.snap(&[]);
    unpeeled.trace.loop_end = Some(end);
    let options = AssembleOptions::unlinked(0, false);
    assert!(matches!(assemble(&unpeeled.trace, &options), Err(AssembleError::NotPeeled)));

    let mut ill_typed = Builder::new();
    let entry = ill_typed.snap(&[]);
    let x = ill_typed.guard(Op::SLoad { slot: 0 }, Ty::Float, entry);
    let overflow = ill_typed.snap(&[]);
    ill_typed.guard(Op::AddInt(x, x), Ty::Int, overflow);
    ill_typed.finish_straight();
    let error = assemble(&ill_typed.trace, &options).err().expect("rejected");
    assert!(matches!(error, AssembleError::InvalidIr(_)), "{}", error);
    assert!(error.to_string().contains("expected int"), "{}", error);

    let mut builtin_phi = Builder::new();
    let before = builtin_phi.inst(Op::KBuiltin(0), Ty::Builtin);
    builtin_phi.inst(Op::Loop, Ty::Void);
    let phi = builtin_phi.open_phi(before, Ty::Builtin);
    let after = builtin_phi.inst(Op::KBuiltin(1), Ty::Builtin);
    builtin_phi.close_phi(phi, after);
    let error = assemble(&builtin_phi.trace, &options).err().expect("rejected");
    assert!(matches!(error, AssembleError::Unsupported(_)), "{}", error);
}

#[test]
fn builtin_function_constants_are_stored_and_rematerialized() {
    let mut b = Builder::new();
    let callee = b.inst(Op::KBuiltin(7), Ty::Builtin);
    b.inst(Op::GStore { global: 0, value: callee }, Ty::Void);
    b.inst(Op::Loop, Ty::Void);
    let done = b.snap(&[(0, callee)]);
    let never = b.inst(Op::KBool(false), Ty::Bool);
    b.guard(Op::GuardTrue(never), Ty::Void, done);
    let mut compiled = compile(&b.trace);
    assert_eq!(compiled.locations[callee.index()], Location::Constant);
    let mut globals = vec![Value::Null];
    assert_eq!(run(&mut compiled, &mut [], &mut globals).number, done.0);
    assert!(matches!(globals[0], Value::Builtin(7)));
}

fn new_array(heap: &mut Heap, items: Vec<Value>) -> Gc<ArrayObj> {
    heap.alloc(ArrayObj { items })
}

fn ints(items: impl IntoIterator<Item = i64>) -> Vec<Value> {
    items.into_iter().map(Value::Int).collect()
}

/// `while i < len(a) { sum := sum + a[i]; i := i + 1 }` over slots 0 (`a`), 1 (`sum`),
/// 2 (`i`), peeled.
struct ArraySumLoop {
    trace: Trace,
    sum: InstIdx,
    i: InstIdx,
    first_exit: SnapIdx,
    first_element: SnapIdx,
    loop_exit: SnapIdx,
    element: SnapIdx,
}

fn array_sum_loop() -> ArraySumLoop {
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let a = b.guard(Op::SLoad { slot: 0 }, Ty::Array, entry);
    let s0 = b.guard(Op::SLoad { slot: 1 }, Ty::Int, entry);
    let i0 = b.guard(Op::SLoad { slot: 2 }, Ty::Int, entry);
    let one = b.inst(Op::KInt(1), Ty::Int);
    let len0 = b.inst(Op::ALen(a), Ty::Int);
    let below0 = b.inst(Op::LtInt(i0, len0), Ty::Bool);
    let first_exit = b.snap(&[]);
    b.guard(Op::GuardTrue(below0), Ty::Void, first_exit);
    let first_element = b.snap(&[]);
    let x0 = b.guard(Op::ALoad(a, i0), Ty::Int, first_element);
    let first_add = b.snap(&[]);
    let s1 = b.guard(Op::AddInt(s0, x0), Ty::Int, first_add);
    let first_increment = b.snap(&[(1, s1)]);
    let i1 = b.guard(Op::AddInt(i0, one), Ty::Int, first_increment);
    b.inst(Op::Loop, Ty::Void);
    let sum = b.open_phi(s1, Ty::Int);
    let i = b.open_phi(i1, Ty::Int);
    let len = b.inst(Op::ALen(a), Ty::Int);
    let below = b.inst(Op::LtInt(i, len), Ty::Bool);
    let loop_exit = b.snap(&[(1, sum), (2, i)]);
    b.guard(Op::GuardTrue(below), Ty::Void, loop_exit);
    let element = b.snap(&[(1, sum), (2, i)]);
    let x = b.guard(Op::ALoad(a, i), Ty::Int, element);
    let add = b.snap(&[(1, sum), (2, i)]);
    let s2 = b.guard(Op::AddInt(sum, x), Ty::Int, add);
    let increment = b.snap(&[(1, s2), (2, i)]);
    let i2 = b.guard(Op::AddInt(i, one), Ty::Int, increment);
    b.close_phi(sum, s2);
    b.close_phi(i, i2);
    ArraySumLoop { trace: b.trace, sum, i, first_exit, first_element, loop_exit, element }
}

#[test]
fn array_sum_loop_runs_to_the_end_of_the_array() {
    let ArraySumLoop { trace, sum, i, first_exit, loop_exit, .. } = array_sum_loop();
    let mut compiled = compile(&trace);
    let mut heap = Heap::default();
    let a = new_array(&mut heap, ints(1..=1000));
    let mut slots = vec![Value::Array(a), Value::Int(0), Value::Int(0)];
    let exit = run(&mut compiled, &mut slots, &mut []);
    assert_eq!(exit.number, loop_exit.0);
    assert_eq!(int_at_exit(&trace, &compiled, &exit, sum), 500_500);
    assert_eq!(int_at_exit(&trace, &compiled, &exit, i), 1000);
    assert_eq!(exit.state.loop_iterations, 1000);
    assert_eq!(a.items.len(), 1000, "reading leaves the array alone");
    assert!(!a.is_shared());

    let mut slots = vec![Value::Array(a), Value::Int(7), Value::Int(998)];
    let exit = run(&mut compiled, &mut slots, &mut []);
    assert_eq!(exit.number, loop_exit.0);
    assert_eq!(int_at_exit(&trace, &compiled, &exit, sum), 7 + 999 + 1000, "starts at i = 998");

    let empty = new_array(&mut heap, Vec::new());
    let mut slots = vec![Value::Array(empty), Value::Int(0), Value::Int(0)];
    assert_eq!(run(&mut compiled, &mut slots, &mut []).number, first_exit.0);
    let mut slots = vec![Value::Int(3), Value::Int(0), Value::Int(0)];
    assert_eq!(run(&mut compiled, &mut slots, &mut []).number, 0, "slot 0 must hold an array");
}

#[test]
fn element_of_another_type_exits_with_the_sum_so_far() {
    let ArraySumLoop { trace, sum, i, first_element, element, .. } = array_sum_loop();
    let mut compiled = compile(&trace);
    let mut heap = Heap::default();
    let mut items = ints(1..=1000);
    items[600] = Value::Float(601.0);
    let a = new_array(&mut heap, items);
    let exit = run(&mut compiled, &mut [Value::Array(a), Value::Int(0), Value::Int(0)], &mut []);
    assert_eq!(exit.number, element.0);
    assert_eq!(int_at_exit(&trace, &compiled, &exit, sum), (1..=600).sum::<i64>());
    assert_eq!(int_at_exit(&trace, &compiled, &exit, i), 600);

    for wrong in [Value::Float(1.0), Value::Bool(true), Value::Null, Value::Array(a)] {
        let b = new_array(&mut heap, vec![wrong, Value::Int(2)]);
        let exit = run(&mut compiled, &mut [Value::Array(b), Value::Int(0), Value::Int(0)], &mut []);
        assert_eq!(exit.number, first_element.0, "an int load of a {}", wrong.type_name());
    }
}

#[test]
fn element_loads_of_each_type_check_their_tags() {
    // a[0..4] as int, float, bool and null, stored to globals 0..4.
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let array = b.guard(Op::SLoad { slot: 0 }, Ty::Array, entry);
    let mut guards = Vec::new();
    for (k, ty) in [Ty::Int, Ty::Float, Ty::Bool, Ty::Null].into_iter().enumerate() {
        let index = b.inst(Op::KInt(k as i64), Ty::Int);
        let snap = b.snap(&[(0, array)]);
        let element = b.guard(Op::ALoad(array, index), ty, snap);
        b.inst(Op::GStore { global: k as u32, value: element }, Ty::Void);
        guards.push(snap);
    }
    let done = b.finish_straight();
    let mut compiled = compile(&b.trace);
    let mut heap = Heap::default();
    let a = new_array(&mut heap, vec![Value::Int(-4), Value::Float(0.5), Value::Bool(true), Value::Null]);
    let mut globals = vec![Value::Int(9); 4];
    assert_eq!(run(&mut compiled, &mut [Value::Array(a)], &mut globals).number, done.0);
    assert_eq!(int(globals[0]), -4);
    assert_eq!(float(globals[1]), 0.5);
    assert!(boolean(globals[2]));
    assert!(matches!(globals[3], Value::Null));

    let a = new_array(&mut heap, vec![Value::Int(1), Value::Float(0.5), Value::Bool(false), Value::Null]);
    run(&mut compiled, &mut [Value::Array(a)], &mut globals);
    assert!(!boolean(globals[2]));

    // Each element in turn replaced by the next type in the list: its own guard exits.
    let good = [Value::Int(1), Value::Float(0.5), Value::Bool(true), Value::Null];
    for k in 0..4 {
        let mut items = good.to_vec();
        items[k] = good[(k + 1) % 4];
        let a = new_array(&mut heap, items);
        let exit = run(&mut compiled, &mut [Value::Array(a)], &mut globals);
        assert_eq!(exit.number, guards[k].0, "element {}", k);
        assert_eq!(bits_at_exit(&b.trace, &compiled, &exit, array), a.addr() as u64, "array in its snapshot");
    }
}

#[test]
fn element_loads_exit_outside_the_bounds() {
    // a[i] with i from slot 1 (snapshot keeps i), then a[k] for a constant k.
    for k in [-1, 0, 2, 3, i64::MIN] {
        let mut b = Builder::new();
        let entry = b.snap(&[]);
        let a = b.guard(Op::SLoad { slot: 0 }, Ty::Array, entry);
        let i = b.guard(Op::SLoad { slot: 1 }, Ty::Int, entry);
        let variable = b.snap(&[(5, i)]);
        let x = b.guard(Op::ALoad(a, i), Ty::Int, variable);
        let index = b.inst(Op::KInt(k), Ty::Int);
        let constant = b.snap(&[]);
        let y = b.guard(Op::ALoad(a, index), Ty::Int, constant);
        b.inst(Op::GStore { global: 0, value: x }, Ty::Void);
        b.inst(Op::GStore { global: 1, value: y }, Ty::Void);
        let done = b.finish_straight();
        let mut compiled = compile(&b.trace);
        let mut heap = Heap::default();
        let a = new_array(&mut heap, ints([10, 11, 12]));
        for index in [0, 2, 3, 4, -1, -3, i64::MIN, i64::MAX] {
            let mut globals = vec![Value::Null; 2];
            let exit = run(&mut compiled, &mut [Value::Array(a), Value::Int(index)], &mut globals);
            if !(0..3).contains(&index) {
                assert_eq!(exit.number, variable.0, "a[{}]", index);
                assert_eq!(int_at_exit(&b.trace, &compiled, &exit, i), index);
            } else if !(0..3).contains(&k) {
                assert_eq!(exit.number, constant.0, "a[{}]", k);
            } else {
                assert_eq!(exit.number, done.0);
                assert_eq!((int(globals[0]), int(globals[1])), (10 + index, 10 + k));
            }
        }
        let empty = new_array(&mut heap, Vec::new());
        let exit = run(&mut compiled, &mut [Value::Array(empty), Value::Int(0)], &mut [Value::Null; 2]);
        assert_eq!(exit.number, variable.0, "a[0] of an empty array");
    }
}

#[test]
fn array_values_load_store_and_measure() {
    // g0 := len(slot 0); g1 := slot 0; g3 := len(g2).
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let a = b.guard(Op::SLoad { slot: 0 }, Ty::Array, entry);
    let len = b.inst(Op::ALen(a), Ty::Int);
    b.inst(Op::GStore { global: 0, value: len }, Ty::Void);
    b.inst(Op::GStore { global: 1, value: a }, Ty::Void);
    let global_snap = b.snap(&[]);
    let g = b.guard(Op::GLoad { global: 2 }, Ty::Array, global_snap);
    let global_len = b.inst(Op::ALen(g), Ty::Int);
    b.inst(Op::GStore { global: 3, value: global_len }, Ty::Void);
    let done = b.finish_straight();
    let mut compiled = compile(&b.trace);
    let mut heap = Heap::default();
    for (n, m) in [(0, 5), (3, 0), (100_000, 1)] {
        let a = new_array(&mut heap, ints(0..n));
        let other = new_array(&mut heap, vec![Value::Null; m as usize]);
        let mut globals = vec![Value::Null, Value::Null, Value::Array(other), Value::Null];
        assert_eq!(run(&mut compiled, &mut [Value::Array(a)], &mut globals).number, done.0);
        assert_eq!(int(globals[0]), n);
        assert!(matches!(globals[1], Value::Array(stored) if stored == a), "the same object");
        assert_eq!(int(globals[3]), m);
    }
    let a = new_array(&mut heap, Vec::new());
    let mut globals = vec![Value::Null, Value::Null, Value::Int(0), Value::Null];
    assert_eq!(run(&mut compiled, &mut [Value::Array(a)], &mut globals).number, global_snap.0);
}

/// `a[i] := v` for `v` of each type: slot 0 = a, slot 1 = i (stores the int 40 + i at
/// i, a float at i + 1, slot 2's bool at i + 2, null at i + 3).
struct ArrayStores {
    trace: Trace,
    /// `i`, kept in the stores' snapshots.
    index: InstIdx,
    first_store: SnapIdx,
    done: SnapIdx,
}

fn array_stores() -> ArrayStores {
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let a = b.guard(Op::SLoad { slot: 0 }, Ty::Array, entry);
    let i = b.guard(Op::SLoad { slot: 1 }, Ty::Int, entry);
    let flag = b.guard(Op::SLoad { slot: 2 }, Ty::Bool, entry);
    let forty = b.inst(Op::KInt(40), Ty::Int);
    let overflow = b.snap(&[]);
    let int_value = b.guard(Op::AddInt(i, forty), Ty::Int, overflow);
    let float_value = b.inst(Op::IntToFloat(int_value), Ty::Float);
    let null = b.inst(Op::KNull, Ty::Null);
    let mut index = i;
    let mut first_store = None;
    for (k, value) in [int_value, float_value, flag, null].into_iter().enumerate() {
        if k > 0 {
            let one = b.inst(Op::KInt(1), Ty::Int);
            let overflow = b.snap(&[]);
            index = b.guard(Op::AddInt(index, one), Ty::Int, overflow);
        }
        let snap = b.snap(&[(1, i)]);
        b.guard(Op::AStore { array: a, index, value }, Ty::Void, snap);
        first_store.get_or_insert(snap);
    }
    let done = b.finish_straight();
    ArrayStores { trace: b.trace, index: i, first_store: first_store.expect("four stores"), done }
}

#[test]
fn element_stores_write_each_type_in_place() {
    let ArrayStores { trace, done, .. } = array_stores();
    let mut compiled = compile(&trace);
    let mut heap = Heap::default();
    let mixed = vec![Value::Int(0), Value::Float(9.0), Value::Null, Value::Bool(true), Value::Int(5)];
    for (i, flag) in [(0, true), (1, false)] {
        let a = new_array(&mut heap, mixed.clone());
        let exit = run(&mut compiled, &mut [Value::Array(a), Value::Int(i), Value::Bool(flag)], &mut []);
        assert_eq!(exit.number, done.0);
        let i = i as usize;
        assert_eq!(int(a.items[i]), 40 + i as i64);
        assert_eq!(float(a.items[i + 1]), 40.0 + i as f64);
        assert_eq!(boolean(a.items[i + 2]), flag);
        assert!(matches!(a.items[i + 3], Value::Null));
        assert_eq!(a.items.len(), 5, "stores never grow the array");
        if i == 1 {
            assert_eq!(int(a.items[0]), 0, "elements before i untouched");
        } else {
            assert_eq!(int(a.items[4]), 5, "elements after the last store untouched");
        }
    }
}

#[test]
fn element_stores_exit_on_shared_arrays_and_outside_the_bounds() {
    let ArrayStores { trace, index, first_store, .. } = array_stores();
    let mut compiled = compile(&trace);
    let mut heap = Heap::default();
    let original = ints([1, 2, 3, 4]);
    for i in [4, 5, -1, -4, i64::MIN, i64::MAX - 40] {
        let a = new_array(&mut heap, original.clone());
        let exit = run(&mut compiled, &mut [Value::Array(a), Value::Int(i), Value::Bool(true)], &mut []);
        assert_eq!(exit.number, first_store.0, "a[{}] := ...", i);
        assert_eq!(int_at_exit(&trace, &compiled, &exit, index), i, "index intact at the exit");
        assert!(a.items.iter().zip(&original).all(|(x, y)| int(*x) == int(*y)), "a[{}] unchanged", i);
    }
    let shared = new_array(&mut heap, original.clone());
    shared.set_shared();
    let exit = run(&mut compiled, &mut [Value::Array(shared), Value::Int(0), Value::Bool(true)], &mut []);
    assert_eq!(exit.number, first_store.0, "a shared array is copied by the interpreter first");
    assert!(shared.items.iter().zip(&original).all(|(x, y)| int(*x) == int(*y)));
}

#[test]
fn pushes_grow_the_array_far_past_its_capacity() {
    // while i < n { push(a, i); push(a, i * 0.5); push(a, i < 3); push(a, null); i := i + 1 }
    // over slots 0 = a, 1 = i, 2 = n.
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let a = b.guard(Op::SLoad { slot: 0 }, Ty::Array, entry);
    let i0 = b.guard(Op::SLoad { slot: 1 }, Ty::Int, entry);
    let n = b.guard(Op::SLoad { slot: 2 }, Ty::Int, entry);
    let one = b.inst(Op::KInt(1), Ty::Int);
    let three = b.inst(Op::KInt(3), Ty::Int);
    let half = b.inst(Op::KFloat(0.5), Ty::Float);
    let null = b.inst(Op::KNull, Ty::Null);
    let below0 = b.inst(Op::LtInt(i0, n), Ty::Bool);
    let first_exit = b.snap(&[]);
    b.guard(Op::GuardTrue(below0), Ty::Void, first_exit);
    let first_push = b.snap(&[]);
    b.guard(Op::APush { array: a, value: i0 }, Ty::Void, first_push);
    let first_overflow = b.snap(&[]);
    let i1 = b.guard(Op::AddInt(i0, one), Ty::Int, first_overflow);
    b.inst(Op::Loop, Ty::Void);
    let i = b.open_phi(i1, Ty::Int);
    let below = b.inst(Op::LtInt(i, n), Ty::Bool);
    let loop_exit = b.snap(&[(1, i)]);
    b.guard(Op::GuardTrue(below), Ty::Void, loop_exit);
    let pushes = b.snap(&[(1, i)]);
    b.guard(Op::APush { array: a, value: i }, Ty::Void, pushes);
    let as_float = b.inst(Op::IntToFloat(i), Ty::Float);
    let halved = b.inst(Op::MulFloat(as_float, half), Ty::Float);
    b.guard(Op::APush { array: a, value: halved }, Ty::Void, pushes);
    let small = b.inst(Op::LtInt(i, three), Ty::Bool);
    b.guard(Op::APush { array: a, value: small }, Ty::Void, pushes);
    b.guard(Op::APush { array: a, value: null }, Ty::Void, pushes);
    let overflow = b.snap(&[(1, i)]);
    let i2 = b.guard(Op::AddInt(i, one), Ty::Int, overflow);
    b.close_phi(i, i2);
    let trace = b.trace;
    let mut compiled = compile(&trace);
    // The arguments go to rdi, rsi and rdx: n sits in one of them and must survive.
    assert!(matches!(compiled.locations[n.index()], Location::Gpr(6 | 7)), "{:?}", compiled.locations);

    let mut heap = Heap::default();
    let a = new_array(&mut heap, Vec::new());
    let n = 10_000;
    let exit = run(&mut compiled, &mut [Value::Array(a), Value::Int(0), Value::Int(n)], &mut []);
    assert_eq!(exit.number, loop_exit.0);
    assert_eq!(int_at_exit(&trace, &compiled, &exit, i), n);
    assert_eq!(a.items.len(), 1 + 4 * (n as usize - 1));
    assert_eq!(int(a.items[0]), 0, "the pre-roll pushes only the int");
    for k in 1..n {
        let at = 1 + 4 * (k as usize - 1);
        assert_eq!(int(a.items[at]), k);
        assert_eq!(float(a.items[at + 1]), k as f64 * 0.5);
        assert_eq!(boolean(a.items[at + 2]), k < 3);
        assert!(matches!(a.items[at + 3], Value::Null));
    }

    let shared = new_array(&mut heap, ints([7]));
    shared.set_shared();
    let exit = run(&mut compiled, &mut [Value::Array(shared), Value::Int(0), Value::Int(n)], &mut []);
    assert_eq!(exit.number, first_push.0);
    assert_eq!(shared.items.len(), 1, "a shared array is left to the interpreter");
}

#[test]
fn arrays_rotate_through_phis_and_spill_slots() {
    // Twelve arrays rotate through Phis (more than the general registers); each iteration
    // adds sum((k + 1) * p_k[0]) to s and pushes i onto every array. Slots 0..12 = arrays,
    // 12 = i, 13 = n, 14 = s.
    const K: usize = 12;
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let arrays: Vec<InstIdx> = (0..K).map(|k| b.guard(Op::SLoad { slot: k as u16 }, Ty::Array, entry)).collect();
    let i0 = b.guard(Op::SLoad { slot: K as u16 }, Ty::Int, entry);
    let n = b.guard(Op::SLoad { slot: K as u16 + 1 }, Ty::Int, entry);
    let s0 = b.guard(Op::SLoad { slot: K as u16 + 2 }, Ty::Int, entry);
    let zero = b.inst(Op::KInt(0), Ty::Int);
    let one = b.inst(Op::KInt(1), Ty::Int);
    let weights: Vec<InstIdx> = (0..K).map(|k| b.inst(Op::KInt(k as i64 + 1), Ty::Int)).collect();
    b.inst(Op::Loop, Ty::Void);
    let phis: Vec<InstIdx> = arrays.iter().map(|&a| b.open_phi(a, Ty::Array)).collect();
    let i = b.open_phi(i0, Ty::Int);
    let s = b.open_phi(s0, Ty::Int);
    let below = b.inst(Op::LtInt(i, n), Ty::Bool);
    let mut entries: Vec<(u16, InstIdx)> = phis.iter().enumerate().map(|(k, &p)| (k as u16, p)).collect();
    entries.extend([(K as u16, i), (K as u16 + 2, s)]);
    let loop_exit = b.snap(&entries);
    b.guard(Op::GuardTrue(below), Ty::Void, loop_exit);
    let body = b.snap(&entries);
    let mut sum = s;
    for (k, &p) in phis.iter().enumerate() {
        let x = b.guard(Op::ALoad(p, zero), Ty::Int, body);
        let weighted = b.guard(Op::MulInt(x, weights[k]), Ty::Int, body);
        sum = b.guard(Op::AddInt(sum, weighted), Ty::Int, body);
    }
    for &p in &phis {
        b.guard(Op::APush { array: p, value: i }, Ty::Void, body);
    }
    let i2 = b.guard(Op::AddInt(i, one), Ty::Int, body);
    for (k, &p) in phis.iter().enumerate() {
        b.close_phi(p, phis[(k + 1) % K]);
    }
    b.close_phi(i, i2);
    b.close_phi(s, sum);
    let trace = b.trace;
    let mut compiled = compile(&trace);
    let spilled = phis.iter().filter(|p| matches!(compiled.locations[p.index()], Location::Spill(_))).count();
    assert!(spilled > 0, "some arrays should live in spill slots: {:?}", compiled.locations);

    let mut heap = Heap::default();
    let objects: Vec<Gc<ArrayObj>> = (0..K).map(|m| new_array(&mut heap, ints([m as i64 + 1]))).collect();
    let n = 50;
    let mut slots: Vec<Value> = objects.iter().map(|&a| Value::Array(a)).collect();
    slots.extend([Value::Int(0), Value::Int(n), Value::Int(0)]);
    let exit = run(&mut compiled, &mut slots, &mut []);
    assert_eq!(exit.number, loop_exit.0);
    // In iteration j, p_k is array (k + j) mod K, whose element 0 is that number plus 1.
    let expected: i64 =
        (0..n as usize).map(|j| (0..K).map(|k| (k as i64 + 1) * (((k + j) % K) as i64 + 1)).sum::<i64>()).sum();
    assert_eq!(int_at_exit(&trace, &compiled, &exit, s), expected);
    assert_eq!(int_at_exit(&trace, &compiled, &exit, i), n);
    for (k, &p) in phis.iter().enumerate() {
        let at_exit = bits_at_exit(&trace, &compiled, &exit, p);
        assert_eq!(at_exit, objects[(k + n as usize) % K].addr() as u64, "p_{} after {} rotations", k, n);
    }
    for (m, a) in objects.iter().enumerate() {
        let mut expected_items = vec![m as i64 + 1];
        expected_items.extend(0..n);
        assert_eq!(a.items.iter().map(|&v| int(v)).collect::<Vec<_>>(), expected_items, "array {}", m);
    }
}

/// Emits a peeled trace, unlinked, as if the array layout could not be determined.
fn emit_without_object_layout(
    trace: &Trace,
    loop_pos: usize,
    allocation: &regalloc::Allocation,
) -> Result<x64::Emitted, AssembleError> {
    let table = vec![0usize; trace.snapshots.len()];
    let mut flags = vec![0u8; trace.snapshots.len()];
    let mut counters = vec![0u64; crate::jit::abi::COUNT_EXITS + trace.snapshots.len()];
    let linking = x64::Linking {
        trace_id: 0,
        exit_table: table.as_ptr(),
        stress_flags: flags.as_mut_ptr(),
        counters: Some(counters.as_mut_ptr()),
        end_events: (0, 0),
        iteration_events: (0, 0),
        self_call_target: None,
        trace_entries: &[],
        root_reentry: None,
        parent: None,
        linked_rebuild: None,
        repeats: false,
    };
    x64::emit(trace, Some(loop_pos), allocation, None, false, &linking)
}

#[test]
fn array_ops_need_the_object_layout() {
    // Array values alone compile without it; ALEN does not.
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let a = b.guard(Op::SLoad { slot: 0 }, Ty::Array, entry);
    b.inst(Op::GStore { global: 0, value: a }, Ty::Void);
    b.finish_straight();
    let loop_pos = b.trace.loop_start().expect("peeled").index();
    let allocation = regalloc::allocate(&b.trace, loop_pos).expect("allocated");
    assert!(emit_without_object_layout(&b.trace, loop_pos, &allocation).is_ok());

    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let a = b.guard(Op::SLoad { slot: 0 }, Ty::Array, entry);
    let len = b.inst(Op::ALen(a), Ty::Int);
    b.inst(Op::GStore { global: 0, value: len }, Ty::Void);
    b.finish_straight();
    let loop_pos = b.trace.loop_start().expect("peeled").index();
    let allocation = regalloc::allocate(&b.trace, loop_pos).expect("allocated");
    let error = emit_without_object_layout(&b.trace, loop_pos, &allocation).err().expect("refused");
    assert_eq!(error, AssembleError::Unsupported("object layout unknown".into()));
}

#[test]
fn side_trace_stores_its_slots_and_returns_to_the_loop() {
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let x = b.guard(Op::SLoad { slot: 0 }, Ty::Int, entry);
    let y = b.guard(Op::SLoad { slot: 1 }, Ty::Float, entry);
    let one = b.inst(Op::KInt(1), Ty::Int);
    let overflow = b.snap(&[]);
    let x1 = b.guard(Op::AddInt(x, one), Ty::Int, overflow);
    let half = b.inst(Op::KFloat(0.5), Ty::Float);
    let y1 = b.inst(Op::MulFloat(y, half), Ty::Float);
    let flag = b.inst(Op::KBool(true), Ty::Bool);
    b.inst(Op::SStore { slot: 0, value: x1 }, Ty::Void);
    b.inst(Op::SStore { slot: 1, value: y1 }, Ty::Void);
    b.inst(Op::SStore { slot: 2, value: flag }, Ty::Void);
    let mut compiled = assemble(&b.trace, &AssembleOptions::unlinked(0, false)).expect("a side trace compiles");
    let mut slots = vec![Value::Int(41), Value::Float(3.0), Value::Null];
    let exit = run(&mut compiled, &mut slots, &mut []);
    assert_eq!(exit.number, BACK_TO_LOOP);
    assert!(matches!(slots[0], Value::Int(42)));
    assert!(matches!(slots[1], Value::Float(f) if f == 1.5));
    assert!(matches!(slots[2], Value::Bool(true)));
    let mut overflowing = vec![Value::Int(i64::MAX), Value::Float(3.0), Value::Null];
    let exit = run(&mut compiled, &mut overflowing, &mut []);
    assert_eq!(exit.number, overflow.0, "a guard of a side trace exits through its snapshot");
    assert!(matches!(overflowing[0], Value::Int(i64::MAX)), "slots are stored only at the end");
}

/// `while i < n { s := s + piece; i := i + 1 }` over slots 0 = s, 1 = piece, 2 = i, 3 = n.
fn string_appends() -> (Trace, InstIdx, SnapIdx, SnapIdx) {
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let s = b.guard(Op::SLoad { slot: 0 }, Ty::Str, entry);
    let piece = b.guard(Op::SLoad { slot: 1 }, Ty::Str, entry);
    let i0 = b.guard(Op::SLoad { slot: 2 }, Ty::Int, entry);
    let n = b.guard(Op::SLoad { slot: 3 }, Ty::Int, entry);
    let one = b.inst(Op::KInt(1), Ty::Int);
    b.inst(Op::Loop, Ty::Void);
    let i = b.open_phi(i0, Ty::Int);
    let below = b.inst(Op::LtInt(i, n), Ty::Bool);
    let loop_exit = b.snap(&[(2, i)]);
    b.guard(Op::GuardTrue(below), Ty::Void, loop_exit);
    let append = b.snap(&[(2, i)]);
    b.guard(Op::SAppend { string: s, piece }, Ty::Void, append);
    let overflow = b.snap(&[(2, i)]);
    let next = b.guard(Op::AddInt(i, one), Ty::Int, overflow);
    b.close_phi(i, next);
    (b.trace, i, loop_exit, append)
}

#[test]
fn string_appends_work_in_place_and_exit_on_shared_or_self_appends() {
    let (trace, i, loop_exit, append) = string_appends();
    let mut compiled = compile(&trace);
    let mut heap = Heap::default();
    let s = heap.alloc(StrObj::new("ab".to_string()));
    let piece = heap.alloc(StrObj::new("xyz".to_string()));
    let mut slots = [Value::Str(s), Value::Str(piece), Value::Int(0), Value::Int(1000)];
    let exit = run(&mut compiled, &mut slots, &mut []);
    assert_eq!(exit.number, loop_exit.0);
    assert_eq!(int_at_exit(&trace, &compiled, &exit, i), 1000);
    assert_eq!(s.text, format!("ab{}", "xyz".repeat(1000)));
    assert_eq!(piece.text, "xyz", "the piece is only read");
    assert!(exit.state.heap_growth >= 3000, "growth is reported for pacing: {}", exit.state.heap_growth);

    let before = s.text.clone();
    let mut slots = [Value::Str(s), Value::Str(s), Value::Int(0), Value::Int(10)];
    let exit = run(&mut compiled, &mut slots, &mut []);
    assert_eq!(exit.number, append.0, "s + s builds a new string in the interpreter");
    assert_eq!(s.text, before);

    s.set_shared();
    let mut slots = [Value::Str(s), Value::Str(piece), Value::Int(0), Value::Int(10)];
    let exit = run(&mut compiled, &mut slots, &mut []);
    assert_eq!(exit.number, append.0, "a shared string is never changed in place");
    assert_eq!(s.text, before);
}

#[test]
fn sunk_dicts_are_rebuilt_at_exits_from_values_kept_alive_for_them() {
    // A dict literal {"a": x + 1, "b": x * 2} that native code never builds, named by a
    // snapshot in two slots after enough other values to reuse every register.
    let mut heap = Heap::default();
    let key_a = heap.alloc(StrObj::new("a".to_string()));
    let key_b = heap.alloc(StrObj::new("b".to_string()));
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let x = b.guard(Op::SLoad { slot: 0 }, Ty::Int, entry);
    let one = b.inst(Op::KInt(1), Ty::Int);
    let two = b.inst(Op::KInt(2), Ty::Int);
    let empty = b.inst(Op::DNew, Ty::Dict);
    let a = b.inst(Op::KStr(key_a), Ty::Str);
    let overflow = b.snap(&[]);
    let y = b.guard(Op::AddInt(x, one), Ty::Int, overflow);
    let with_a = b.inst(Op::DIns { dict: empty, key: a, value: y }, Ty::Dict);
    let mut sum = x;
    for k in 0..12 {
        let constant = b.inst(Op::KInt(k), Ty::Int);
        let term = b.guard(Op::AddInt(x, constant), Ty::Int, overflow);
        sum = b.guard(Op::AddInt(sum, term), Ty::Int, overflow);
    }
    b.inst(Op::GStore { global: 0, value: sum }, Ty::Void);
    let z = b.guard(Op::MulInt(x, two), Ty::Int, overflow);
    let bkey = b.inst(Op::KStr(key_b), Ty::Str);
    let full = b.inst(Op::DIns { dict: with_a, key: bkey, value: z }, Ty::Dict);
    b.inst(Op::Loop, Ty::Void);
    let done = b.snap(&[(1, full), (2, full)]);
    let never = b.inst(Op::KBool(false), Ty::Bool);
    b.guard(Op::GuardTrue(never), Ty::Void, done);
    let trace = b.trace;
    let mut compiled = compile(&trace);
    assert_eq!(compiled.locations[full.index()], Location::None, "a sunk dict has no location");

    let mut slots = vec![Value::Int(20), Value::Null, Value::Null];
    let exit = run(&mut compiled, &mut slots, &mut [Value::Null]);
    assert_eq!(exit.number, done.0);
    let pc = crate::jit::exit::restore(&trace, &compiled.locations, &exit.state, done, &mut slots, &mut heap);
    assert_eq!(pc, done.0);
    let (Value::Dict(first), Value::Dict(second)) = (slots[1], slots[2]) else { panic!("slots 1 and 2 hold dicts") };
    assert_eq!(first.addr(), second.addr(), "one IR value is one object");
    let entries: Vec<(String, i64)> = first
        .entries
        .iter()
        .map(|(k, v)| match k {
            crate::runtime::object::DictKey::Str(s) => (s.text.clone(), int(*v)),
            crate::runtime::object::DictKey::Int(i) => panic!("unexpected int key {}", i),
        })
        .collect();
    assert_eq!(entries, vec![("a".to_string(), 21), ("b".to_string(), 40)]);
}

#[test]
fn linked_exit_runs_the_side_trace_natively_and_returns_to_the_root() {
    // Root: `while i < n { i := i + 1 }` over slots 0 (i) and 1 (n). Side trace of the
    // loop-end exit: `if k < 3 { k := k + 1; i := 0 }` over slot 2 (k), then back to the
    // root. Linked, the whole thing runs natively until k reaches 3.
    let CountingLoop { trace: root, phi } = counting_loop();
    let loop_end = SnapIdx(3);
    assert_eq!(root.snapshots[loop_end.index()].entries, vec![(0, phi)]);
    let mut compiled_root = assemble(&root, &AssembleOptions::unlinked(0, false)).expect("root compiles");

    let mut b = Builder::new();
    let entry = b.snap(&[]);
    b.guard(Op::SLoad { slot: 0 }, Ty::Int, entry);
    let k = b.guard(Op::SLoad { slot: 2 }, Ty::Int, entry);
    let three = b.inst(Op::KInt(3), Ty::Int);
    let more = b.inst(Op::LtInt(k, three), Ty::Bool);
    let done = b.snap(&[]);
    b.guard(Op::GuardTrue(more), Ty::Void, done);
    let one = b.inst(Op::KInt(1), Ty::Int);
    let next = b.guard(Op::AddInt(k, one), Ty::Int, done);
    let zero = b.inst(Op::KInt(0), Ty::Int);
    b.inst(Op::SStore { slot: 2, value: next }, Ty::Void);
    b.inst(Op::SStore { slot: 0, value: zero }, Ty::Void);
    let parent = ParentExit {
        trace: &root,
        locations: &compiled_root.locations,
        snap: loop_end,
        exit_return: compiled_root.exit_return(loop_end),
    };
    let options = AssembleOptions {
        deopt_stress: false,
        trace_id: 1,
        root_reentry: Some(compiled_root.reentry),
        parent: Some(parent),
        self_call_target: None,
        trace_entries: &[],
        repeats: false,
        end_events: (0, 0),
        iteration_events: (0, 0),
        count_native: true,
    };
    let side = assemble(&b.trace, &options).expect("side trace compiles");
    let entry_address = side.linked_entry.expect("compiled with its parent exit");
    // SAFETY: `side` was compiled for exit 3 of `compiled_root` and outlives every run.
    unsafe { compiled_root.link_exit(loop_end, entry_address) };

    let mut slots = vec![Value::Int(0), Value::Int(5), Value::Int(0)];
    let exit = run(&mut compiled_root, &mut slots, &mut []);
    assert_eq!((exit.state.exited_trace, exit.number), (1, done.0), "the side trace's guard exits");
    assert_eq!(int(slots[0]), 5, "the linked entry stored i");
    assert_eq!(int(slots[2]), 3);
    assert_eq!(exit.state.loop_iterations, 4 * 5, "four rounds of five iterations, one counter");
}

/// An unpeeled root loop trace (`AssembleOptions::repeats`): `while i < n { i := i + 1 }`
/// as straight-line code that loads its slots, stores `i` back and runs again from its
/// re-entry, counting iterations, until the condition's guard exits.
#[test]
fn unpeeled_root_trace_repeats_through_memory() {
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let i = b.guard(Op::SLoad { slot: 0 }, Ty::Int, entry);
    let n = b.guard(Op::SLoad { slot: 1 }, Ty::Int, entry);
    let below = b.inst(Op::LtInt(i, n), Ty::Bool);
    let done = b.snap(&[]);
    b.guard(Op::GuardTrue(below), Ty::Void, done);
    let one = b.inst(Op::KInt(1), Ty::Int);
    let next = b.guard(Op::AddInt(i, one), Ty::Int, done);
    b.inst(Op::SStore { slot: 0, value: next }, Ty::Void);
    let mut options = AssembleOptions::unlinked(0, false);
    options.repeats = true;
    let mut compiled = assemble(&b.trace, &options).expect("the trace compiles");
    let mut slots = vec![Value::Int(3), Value::Int(40)];
    let exit = run(&mut compiled, &mut slots, &mut []);
    assert_eq!(exit.number, done.0);
    assert_eq!(int(slots[0]), 40);
    assert_eq!(exit.state.loop_iterations, 37);
}

/// A small deterministic generator (xorshift64*) for the property test's random inputs.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Half small numbers (where results are interesting), half any bits.
    fn value(&mut self, ty: Ty) -> Value {
        let bits = self.next();
        let small = bits & 1 == 0;
        match ty {
            Ty::Int if small => Value::Int((bits as i64 >> 1) % 1000),
            Ty::Int => Value::Int(self.next() as i64),
            Ty::Float if small => Value::Float(((bits >> 1) % 20_000) as f64 / 100.0 - 100.0),
            Ty::Float => Value::Float(f64::from_bits(self.next())),
            Ty::Bool => Value::Bool(small),
            other => panic!("no random {} values", other.name()),
        }
    }
}

fn edge_values(ty: Ty) -> Vec<Value> {
    match ty {
        Ty::Int => {
            [0, 1, -1, 2, -2, 3, -3, 7, -7, 10, i64::MAX, i64::MIN, i64::MAX - 1, i64::MIN + 1, 1 << 32, -(1 << 32)]
                .into_iter()
                .map(Value::Int)
                .collect()
        }
        Ty::Float => [
            0.0,
            -0.0,
            1.0,
            -1.0,
            2.5,
            -2.5,
            0.5,
            3.0,
            1e-310,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            1.0 + f64::EPSILON,
            1e300,
        ]
        .into_iter()
        .map(Value::Float)
        .collect(),
        Ty::Bool => vec![Value::Bool(false), Value::Bool(true)],
        other => panic!("no edge {} values", other.name()),
    }
}

/// The one type a single-type set holds.
fn only_type(set: TySet) -> Ty {
    Ty::ALL.into_iter().find(|&t| set.contains(t)).expect("a type")
}

/// `op` on operands of types `types` compiled alone (the last operand a constant when
/// `constant` is given) and run on `args`; its outcome as the evaluator states outcomes.
fn run_alone(op: Op, ty: Ty, types: &[Ty], constant: Option<Value>, args: &[Value]) -> Outcome {
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let mut operands = Vec::new();
    for (n, &t) in types.iter().enumerate() {
        let operand = match constant {
            Some(Value::Int(k)) if n == types.len() - 1 => b.inst(Op::KInt(k), t),
            Some(Value::Float(k)) if n == types.len() - 1 => b.inst(Op::KFloat(k), t),
            _ => b.guard(Op::SLoad { slot: n as u16 }, t, entry),
        };
        operands.push(operand);
    }
    let mut next = operands.iter().copied();
    let op = op.map_operands(|_| next.next().expect("an operand per type"));
    let op_snap = b.snap(&[]);
    let result = if op.is_guard() { b.guard(op, ty, op_snap) } else { b.inst(op, ty) };
    if ty != Ty::Void {
        b.inst(Op::GStore { global: 0, value: result }, Ty::Void);
    }
    let done = b.finish_straight();
    let mut compiled = compile(&b.trace);
    let mut slots = args.to_vec();
    let mut globals = vec![Value::Null];
    let exit = run(&mut compiled, &mut slots, &mut globals);
    if exit.number == op_snap.0 {
        Outcome::Exits
    } else {
        assert_eq!(exit.number, done.0, "{} left through an unexpected exit", b.trace);
        if ty == Ty::Void {
            Outcome::Continues
        } else {
            Outcome::Value(globals[0])
        }
    }
}

/// Whether two outcomes are the same: values of one type and the same bits (any NaN
/// matches any NaN).
fn same_outcome(a: Outcome, b: Outcome) -> bool {
    match (a, b) {
        (Outcome::Value(Value::Int(x)), Outcome::Value(Value::Int(y))) => x == y,
        (Outcome::Value(Value::Bool(x)), Outcome::Value(Value::Bool(y))) => x == y,
        (Outcome::Value(Value::Float(x)), Outcome::Value(Value::Float(y))) => same_float(x, y),
        (Outcome::Continues, Outcome::Continues) | (Outcome::Exits, Outcome::Exits) => true,
        _ => false,
    }
}

/// Every pure scalar op of the op table, with placeholder operands: the rows whose
/// operands are all ints, floats or bools and which the evaluator knows (one op per math
/// function).
fn pure_scalar_ops() -> Vec<Op> {
    let scalar = |set: TySet| [Ty::Int, Ty::Float, Ty::Bool].into_iter().find(|&t| set == TySet::of(&[t]));
    let mut ops = Vec::new();
    for row in OPS {
        let Some(types) = row.operands.iter().map(|&set| scalar(set)).collect::<Option<Vec<Ty>>>() else { continue };
        if types.is_empty() {
            continue;
        }
        let functions: Vec<Vec<&str>> = match row.select {
            Select::ByMathArity(arity) => {
                MathFn::ALL.iter().filter(|f| f.arity() == arity).map(|f| vec![f.name()]).collect()
            }
            _ => vec![vec![]],
        };
        for function in functions {
            let tokens: Vec<&str> = function.into_iter().chain(types.iter().map(|_| "0")).collect();
            let mut rest = &tokens[..];
            let Ok(op) = Op::parse_fields(row.code, &mut rest) else { continue };
            let args: Vec<Value> = types.iter().map(|&t| edge_values(t)[0]).collect();
            if rest.is_empty() && eval(&op, &args).is_some() {
                ops.push(op);
            }
        }
    }
    ops
}

/// Every pure scalar op, compiled alone, against the reference evaluator (`ir::eval`) on
/// edge inputs (overflow, `i64::MIN / -1`, zero divisors, NaN, -0.0, infinities,
/// subnormals) and random ones: the exit taken and the value produced must agree. Binary
/// ops also run with a constant second operand (int division by a constant is a multiply).
#[test]
fn pure_ops_agree_with_the_reference_evaluator() {
    let ops = pure_scalar_ops();
    // 39 ops and the 13 math functions: a new pure scalar op joins the test by itself.
    assert_eq!(ops.len(), 52, "{:?}", ops);
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    for op in ops {
        let props = op.props();
        let types: Vec<Ty> = props.operands[..op.operands().len()].iter().map(|&set| only_type(set)).collect();
        let ty = only_type(props.result);
        let check = |args: &[Value], constant: Option<Value>| {
            let expected = eval(&op, args).expect("a pure scalar op");
            let native = run_alone(op, ty, &types, constant, args);
            assert!(
                same_outcome(native, expected),
                "{} {:?} (constant last operand: {}): native {:?}, evaluator {:?}",
                op.name(),
                args,
                constant.is_some(),
                native,
                expected
            );
        };
        let mut inputs: Vec<Vec<Value>> = match types.len() {
            1 => edge_values(types[0]).into_iter().map(|a| vec![a]).collect(),
            _ => edge_values(types[0])
                .into_iter()
                .flat_map(|a| edge_values(types[1]).into_iter().map(move |b| vec![a, b]))
                .collect(),
        };
        inputs.extend((0..200).map(|_| types.iter().map(|&t| random.value(t)).collect::<Vec<_>>()));
        for args in &inputs {
            check(args, None);
        }
        if types.len() == 2 && types[1] != Ty::Bool {
            for constant in edge_values(types[1]) {
                for first in edge_values(types[0]) {
                    check(&[first, constant], Some(constant));
                }
            }
        }
    }
}

#[test]
fn a_loop_counter_keeps_its_register_while_snapshot_only_values_spill() {
    // Eight pre-roll values that the body names only in its snapshots, the loop bound and
    // the counter need ten registers through the body, two more than there are: the
    // snapshot-only values give theirs up, not the counter or the bound, and the counter's
    // pre-roll value and first step hold none past `Loop`.
    const KEPT: u16 = 8;
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let i0 = b.guard(Op::SLoad { slot: 0 }, Ty::Int, entry);
    let n = b.guard(Op::SLoad { slot: 1 }, Ty::Int, entry);
    let kept: Vec<InstIdx> = (0..KEPT).map(|k| b.guard(Op::SLoad { slot: 2 + k }, Ty::Int, entry)).collect();
    let one = b.inst(Op::KInt(1), Ty::Int);
    let first_step = b.snap(&[]);
    let i1 = b.guard(Op::AddInt(i0, one), Ty::Int, first_step);
    b.inst(Op::Loop, Ty::Void);
    let i = b.open_phi(i1, Ty::Int);
    let mut entries: Vec<(u16, InstIdx)> = vec![(0, i)];
    entries.extend(kept.iter().enumerate().map(|(k, &v)| (2 + k as u16, v)));
    let below = b.inst(Op::LtInt(i, n), Ty::Bool);
    let loop_exit = b.snap(&entries);
    b.guard(Op::GuardTrue(below), Ty::Void, loop_exit);
    let step = b.snap(&entries);
    let i2 = b.guard(Op::AddInt(i, one), Ty::Int, step);
    b.close_phi(i, i2);
    let trace = b.trace;
    let mut compiled = compile(&trace);
    for value in [i, n] {
        assert!(matches!(compiled.locations[value.index()], Location::Gpr(_)), "{}: {:?}", value, compiled.locations);
    }
    assert!(kept.iter().any(|v| matches!(compiled.locations[v.index()], Location::Spill(_))));

    let mut slots: Vec<Value> = vec![Value::Int(0), Value::Int(40)];
    slots.extend((0..KEPT).map(|k| Value::Int(100 + k as i64)));
    let exit = run(&mut compiled, &mut slots, &mut []);
    assert_eq!(exit.number, loop_exit.0);
    assert_eq!(int_at_exit(&trace, &compiled, &exit, i), 40);
    for (k, &v) in kept.iter().enumerate() {
        assert_eq!(int_at_exit(&trace, &compiled, &exit, v), 100 + k as i64);
    }
}
