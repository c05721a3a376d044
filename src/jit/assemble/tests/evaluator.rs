//! The emitter checked against the meaning: every pure scalar op run alone natively and
//! in the reference evaluator (`ir::eval`) on random and edge inputs (overflow,
//! `i64::MIN / -1`, NaN, -0.0), and the outcomes compared.

use super::*;

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
