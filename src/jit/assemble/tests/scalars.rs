//! Scalar code: loop counters, int and float arithmetic with their overflow and division
//! guards, comparisons fused into branches or kept as values, type-checked loads, math
//! functions against the builtins, deopt stress and malformed traces.

use super::*;

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
    // Phi coalescing: `acc + 0.1` is computed in the Phi's register (nothing reads the Phi
    // after it), so the back-edge moves nothing for it.
    assert_eq!(compiled.locations[acc2.index()], compiled.locations[acc.index()]);
}

#[test]
fn a_phi_read_after_its_update_keeps_its_own_register() {
    // while i < n { acc := acc + 0.1; i := i + 1 } with the overflow exit naming the old
    // acc: the update cannot take the Phi's register, and the exit sees the old value.
    let mut b = Builder::new();
    let entry = b.snap(&[]);
    let acc0 = b.guard(Op::SLoad { slot: 0 }, Ty::Float, entry);
    let i0 = b.guard(Op::SLoad { slot: 1 }, Ty::Int, entry);
    let tenth = b.inst(Op::KFloat(0.1), Ty::Float);
    let one = b.inst(Op::KInt(1), Ty::Int);
    let acc1 = b.inst(Op::AddFloat(acc0, tenth), Ty::Float);
    let first_overflow = b.snap(&[(0, acc0)]);
    let i1 = b.guard(Op::AddInt(i0, one), Ty::Int, first_overflow);
    b.inst(Op::Loop, Ty::Void);
    let acc = b.open_phi(acc1, Ty::Float);
    let i = b.open_phi(i1, Ty::Int);
    let acc2 = b.inst(Op::AddFloat(acc, tenth), Ty::Float);
    let overflow = b.snap(&[(0, acc), (1, i)]);
    let i2 = b.guard(Op::AddInt(i, one), Ty::Int, overflow);
    b.close_phi(acc, acc2);
    b.close_phi(i, i2);
    let trace = b.trace;
    let mut compiled = compile(&trace);
    assert_ne!(compiled.locations[acc2.index()], compiled.locations[acc.index()]);

    let mut slots = vec![Value::Float(1.5), Value::Int(i64::MAX - 3)];
    let exit = run(&mut compiled, &mut slots, &mut []);
    assert_eq!(exit.number, overflow.0);
    let mut expected = 1.5f64;
    for _ in 0..3 {
        expected += 0.1;
    }
    assert_eq!(float_at_exit(&trace, &compiled, &exit, acc).to_bits(), expected.to_bits());
    assert_eq!(int_at_exit(&trace, &compiled, &exit, i), i64::MAX);
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
