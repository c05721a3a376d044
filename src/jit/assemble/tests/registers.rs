//! Register allocation seen from the outside: move cycles between loop-carried values,
//! spilling when more values are live than registers, values kept across helper calls,
//! and which values give their register up first.

use super::*;

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
