//! Parser for the IR text form that `impl Display for Trace` (ir.rs) prints, so pass tests
//! are written as IR text in, IR text out (Cranelift filetests, yk's HIR tests); and the
//! test helper [`check`].
//!
//! Grammar, one item per line, tokens separated by any whitespace, blank lines ignored:
//! - `NNNN [>] ty OPNAME operands [#snap] [; Lline]`: an instruction; `NNNN` must be its
//!   position, `>` must be present exactly on guards, `#snap` exactly on guards.
//! - `NNNN ------------ LOOP ------------`
//! - `.... SNAP #n pc=P [ slot=NNNN ... ]`: snapshot `n`, printed before each guard using it
//!   (every printing of one snapshot must agree).
//! - `.... LOOPEND #n pc=P [ ... ]`: `Trace::loop_end`.
//!
//! One opcode name covers the int and float variants, so the variant comes from the result
//! type (arithmetic, `NEG`) or from the first operand's type (comparisons, `TRUTHY`). Only
//! snapshots that a guard or `LOOPEND` names are printed, so snapshot numbers must be dense
//! from 0. The parser checks syntax only; [`super::verify`] checks the IR.

use std::fmt;

use crate::builtins::BUILTINS;
use crate::jit::ir::{Inst, InstIdx, MathFn, Op, SnapIdx, Snapshot, Trace, Ty, MAX_BUILTIN_ARGS};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line in the input.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Parses a whole trace.
pub fn parse(text: &str) -> Result<Trace, ParseError> {
    let mut parser = Parser::default();
    for (n, line) in text.lines().enumerate() {
        parser.line(line.trim()).map_err(|message| ParseError { line: n + 1, message })?;
    }
    parser.finish().map_err(|message| ParseError { line: text.lines().count(), message })
}

#[derive(Default)]
struct Parser {
    trace: Trace,
    /// Indexed by snapshot number; `None` until its SNAP or LOOPEND line is seen.
    snapshots: Vec<Option<Snapshot>>,
}

impl Parser {
    fn line(&mut self, line: &str) -> Result<(), String> {
        if line.is_empty() {
            return Ok(());
        }
        let (code, source_line) = match line.split_once("; L") {
            Some((code, number)) => (code, number.trim().parse::<u32>().map_err(|_| "bad line suffix".to_string())?),
            None => (line, 0),
        };
        let tokens: Vec<&str> = code.split_whitespace().collect();
        if tokens[0] == "...." {
            return self.snapshot_line(&tokens[1..]);
        }
        let position: u32 =
            tokens[0].parse().map_err(|_| format!("expected an instruction number, got {:?}", tokens[0]))?;
        if position as usize != self.trace.insts.len() {
            return Err(format!("instruction {:04} is numbered {}", self.trace.insts.len(), tokens[0]));
        }
        if tokens.get(2) == Some(&"LOOP") {
            self.trace.push(Op::Loop, Ty::Void, None, source_line);
            return Ok(());
        }
        self.instruction(&tokens[1..], source_line)
    }

    fn snapshot_line(&mut self, tokens: &[&str]) -> Result<(), String> {
        let (kind, rest) = tokens.split_first().ok_or("empty snapshot line")?;
        let (number, snapshot) = parse_snapshot(rest)?;
        self.define_snapshot(number, snapshot)?;
        match *kind {
            "SNAP" => Ok(()),
            "LOOPEND" => match self.trace.loop_end {
                Some(earlier) if earlier != number => Err("two different LOOPEND snapshots".into()),
                _ => {
                    self.trace.loop_end = Some(number);
                    Ok(())
                }
            },
            other => Err(format!("unknown line kind {}", other)),
        }
    }

    fn define_snapshot(&mut self, number: SnapIdx, snapshot: Snapshot) -> Result<(), String> {
        if self.snapshots.len() <= number.index() {
            self.snapshots.resize(number.index() + 1, None);
        }
        match &self.snapshots[number.index()] {
            Some(earlier) if *earlier != snapshot => {
                Err(format!("snapshot #{} printed twice with different contents", number.0))
            }
            _ => {
                self.snapshots[number.index()] = Some(snapshot);
                Ok(())
            }
        }
    }

    fn instruction(&mut self, tokens: &[&str], source_line: u32) -> Result<(), String> {
        let (marked_guard, tokens) = match tokens.split_first() {
            Some((&">", rest)) => (true, rest),
            _ => (false, tokens),
        };
        let [ty, name, operands @ ..] = tokens else { return Err("expected a type and an opcode".into()) };
        let ty = parse_ty(ty)?;
        // SLOAD's operand `#slot` looks like a snapshot number, so it is never the last-token snapshot.
        let (operands, snap) = match operands.split_last() {
            Some((last, rest)) if last.starts_with('#') && !(*name == "SLOAD" && rest.is_empty()) => {
                (rest, Some(SnapIdx(parse_number(&last[1..])?)))
            }
            _ => (operands, None),
        };
        let op = self.op(name, ty, operands)?;
        if marked_guard != op.is_guard() {
            return Err(format!(
                "{} is {}a guard; the '>' mark says otherwise",
                name,
                if op.is_guard() { "" } else { "not " }
            ));
        }
        if let Some(s) = snap {
            if self.snapshots.get(s.index()).is_none_or(Option::is_none) {
                return Err(format!("snapshot #{} is used before its SNAP line", s.0));
            }
        }
        self.trace.insts.push(Inst { op, ty, snap, line: source_line });
        Ok(())
    }

    fn op(&self, name: &str, ty: Ty, operands: &[&str]) -> Result<Op, String> {
        let reference = |n: usize| -> Result<InstIdx, String> {
            let token = operands.get(n).ok_or_else(|| format!("{} needs operand {}", name, n + 1))?;
            Ok(InstIdx(parse_number(token)?))
        };
        // The variant of comparisons and TRUTHY is chosen by their first operand's type.
        let operand_ty = || -> Result<Ty, String> {
            let a = reference(0)?;
            self.trace.insts.get(a.index()).map(|i| i.ty).ok_or_else(|| format!("operand {} is not defined yet", a))
        };
        let by_ty = |int: Op, float: Op, value_ty: Ty| match value_ty {
            Ty::Int => Ok(int),
            Ty::Float => Ok(float),
            other => Err(format!("{} has no {} variant", name, other.name())),
        };
        let expected_operands = match name {
            "K" | "SLOAD" | "GLOAD" => 1,
            "GSTORE" | "SSTORE" | "ADD" | "SUB" | "MUL" | "DIV" | "MOD" | "LT" | "LE" | "GT" | "GE" | "EQ" | "NE"
            | "PHI" | "ALOAD" | "APUSH" | "DTAG" | "DGET" => 2,
            "ASTORE" | "DSET" => 3,
            "MATH" => 1 + parse_math_fn(operands.first().copied().unwrap_or(""))?.arity(),
            // The builtin's name, then its arguments.
            "CALLB" => operands.len().clamp(1, 1 + MAX_BUILTIN_ARGS),
            _ => 1,
        };
        if operands.len() != expected_operands {
            return Err(format!("{} takes {} operands, got {}", name, expected_operands, operands.len()));
        }
        let (a, b) = (|| reference(0), || reference(1));
        Ok(match name {
            "K" => parse_constant(ty, operands[0])?,
            "SLOAD" => Op::SLoad { slot: parse_prefixed(operands[0], "#")? },
            "GLOAD" => Op::GLoad { global: parse_prefixed(operands[0], "g")? },
            "GSTORE" => Op::GStore { global: parse_prefixed(operands[0], "g")?, value: b()? },
            "ADD" => by_ty(Op::AddInt(a()?, b()?), Op::AddFloat(a()?, b()?), ty)?,
            "SUB" => by_ty(Op::SubInt(a()?, b()?), Op::SubFloat(a()?, b()?), ty)?,
            "MUL" => by_ty(Op::MulInt(a()?, b()?), Op::MulFloat(a()?, b()?), ty)?,
            "DIV" => by_ty(Op::DivInt(a()?, b()?), Op::DivFloat(a()?, b()?), ty)?,
            "MOD" => by_ty(Op::ModInt(a()?, b()?), Op::ModFloat(a()?, b()?), ty)?,
            "NEG" => by_ty(Op::NegInt(a()?), Op::NegFloat(a()?), ty)?,
            "CONV" => Op::IntToFloat(a()?),
            "LT" => by_ty(Op::LtInt(a()?, b()?), Op::LtFloat(a()?, b()?), operand_ty()?)?,
            "LE" => by_ty(Op::LeInt(a()?, b()?), Op::LeFloat(a()?, b()?), operand_ty()?)?,
            "GT" => by_ty(Op::GtInt(a()?, b()?), Op::GtFloat(a()?, b()?), operand_ty()?)?,
            "GE" => by_ty(Op::GeInt(a()?, b()?), Op::GeFloat(a()?, b()?), operand_ty()?)?,
            "NE" => by_ty(Op::NeInt(a()?, b()?), Op::NeFloat(a()?, b()?), operand_ty()?)?,
            "EQ" => match operand_ty()? {
                Ty::Bool => Op::EqBool(a()?, b()?),
                other => by_ty(Op::EqInt(a()?, b()?), Op::EqFloat(a()?, b()?), other)?,
            },
            "TRUTHY" => by_ty(Op::TruthyInt(a()?), Op::TruthyFloat(a()?), operand_ty()?)?,
            "NOT" => Op::NotBool(a()?),
            "GTRUE" => Op::GuardTrue(a()?),
            "GFALSE" => Op::GuardFalse(a()?),
            "MATH" => {
                let function = parse_math_fn(operands[0])?;
                let operand = |n: usize| Ok::<_, String>(InstIdx(parse_number(operands[n])?));
                match function.arity() {
                    1 => Op::Math1(function, operand(1)?),
                    _ => Op::Math2(function, operand(1)?, operand(2)?),
                }
            }
            "PHI" => Op::Phi(a()?, b()?),
            "ALEN" => Op::ALen(a()?),
            "DTAG" => Op::DTag(a()?, b()?),
            "DGET" => Op::DGet(a()?, b()?),
            "DSET" => Op::DSet { dict: a()?, key: b()?, value: reference(2)? },
            "SSTORE" => Op::SStore { slot: parse_prefixed(operands[0], "#")?, value: b()? },
            "ALOAD" => Op::ALoad(a()?, b()?),
            "ASTORE" => Op::AStore { array: a()?, index: b()?, value: reference(2)? },
            "APUSH" => Op::APush { array: a()?, value: b()? },
            "CALLB" => {
                let builtin =
                    crate::builtins::lookup(operands[0]).ok_or_else(|| format!("unknown builtin {}", operands[0]))?;
                let mut args = [InstIdx(0); MAX_BUILTIN_ARGS];
                for (n, arg) in args.iter_mut().enumerate().take(operands.len() - 1) {
                    *arg = reference(n + 1)?;
                }
                Op::CallBuiltin { builtin, args, argc: (operands.len() - 1) as u8 }
            }
            other => return Err(format!("unknown opcode {}", other)),
        })
    }

    fn finish(self) -> Result<Trace, String> {
        let mut trace = self.trace;
        for (n, snapshot) in self.snapshots.into_iter().enumerate() {
            trace
                .snapshots
                .push(snapshot.ok_or_else(|| format!("snapshot #{} is never printed (numbers must be dense)", n))?);
        }
        Ok(trace)
    }
}

/// `#n pc=P [ slot=NNNN ... ]`
fn parse_snapshot(tokens: &[&str]) -> Result<(SnapIdx, Snapshot), String> {
    let [number, pc, open, entries @ .., close] = tokens else { return Err("expected #n pc=P [ entries ]".into()) };
    if *open != "[" || *close != "]" {
        return Err("snapshot entries must be in [ ]".into());
    }
    let number = SnapIdx(parse_prefixed(number, "#")?);
    let pc = parse_prefixed(pc, "pc=")?;
    let entries = entries
        .iter()
        .map(|entry| {
            let (slot, value) = entry.split_once('=').ok_or_else(|| format!("bad snapshot entry {}", entry))?;
            Ok((parse_number(slot)?, InstIdx(parse_number(value)?)))
        })
        .collect::<Result<_, String>>()?;
    Ok((number, Snapshot { pc, entries, ..Snapshot::default() }))
}

fn parse_ty(token: &str) -> Result<Ty, String> {
    [Ty::Int, Ty::Float, Ty::Bool, Ty::Null, Ty::Builtin, Ty::Array, Ty::Dict, Ty::Str, Ty::Func, Ty::Struct, Ty::Void]
        .into_iter()
        .find(|ty| ty.name() == token)
        .ok_or_else(|| format!("unknown type {}", token))
}

fn parse_math_fn(token: &str) -> Result<MathFn, String> {
    use MathFn::*;
    [Abs, Sqrt, Floor, Ceil, Round, Sin, Cos, Tan, Exp, Log, Pow, Min, Max]
        .into_iter()
        .find(|f| f.name() == token)
        .ok_or_else(|| format!("unknown math function {}", token))
}

fn parse_constant(ty: Ty, token: &str) -> Result<Op, String> {
    let bad = || format!("bad {} constant {}", ty.name(), token);
    match ty {
        Ty::Int => token.parse().map(Op::KInt).map_err(|_| bad()),
        Ty::Float => token.parse().map(Op::KFloat).map_err(|_| bad()),
        Ty::Bool => token.parse().map(Op::KBool).map_err(|_| bad()),
        Ty::Null if token == "null" => Ok(Op::KNull),
        Ty::Builtin => BUILTINS.iter().position(|b| b.name == token).map(|id| Op::KBuiltin(id as u32)).ok_or_else(bad),
        _ => Err(bad()),
    }
}

fn parse_number<N: std::str::FromStr>(token: &str) -> Result<N, String> {
    token.parse().map_err(|_| format!("expected a number, got {:?}", token))
}

fn parse_prefixed<N: std::str::FromStr>(token: &str, prefix: &str) -> Result<N, String> {
    parse_number(token.strip_prefix(prefix).ok_or_else(|| format!("expected {}..., got {:?}", prefix, token))?)
}

/// Parses `input`, runs `pass`, verifies both sides and compares the printed output with
/// `expected`. Lines are compared with whitespace runs collapsed and blank lines dropped, so
/// expectations need not reproduce Display's column padding. Panics with a diff.
#[cfg(test)]
pub(crate) fn check(pass: fn(&Trace) -> Trace, input: &str, expected: &str) {
    let trace = parse(input).unwrap_or_else(|e| panic!("input does not parse: {}", e));
    if let Err(e) = super::verify::verify(&trace) {
        panic!("input is not valid IR: {}\n{}", e, trace);
    }
    let output = pass(&trace);
    if let Err(e) = super::verify::verify(&output) {
        panic!("the pass produced invalid IR: {}\n{}", e, output);
    }
    let (expected, actual) = (normalize(expected), normalize(&output.to_string()));
    if expected != actual {
        panic!("output differs (- expected, + actual):\n{}", line_diff(&expected, &actual));
    }
}

#[cfg(test)]
fn normalize(text: &str) -> Vec<String> {
    text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|l| !l.is_empty()).collect()
}

/// A longest-common-subsequence line diff; traces in tests are short.
#[cfg(test)]
fn line_diff(expected: &[String], actual: &[String]) -> String {
    let (n, m) = (expected.len(), actual.len());
    let mut common = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            common[i][j] = if expected[i] == actual[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < n || j < m {
        if i < n && j < m && expected[i] == actual[j] {
            out += &format!("  {}\n", expected[i]);
            (i, j) = (i + 1, j + 1);
        } else if j < m && (i == n || common[i][j + 1] > common[i + 1][j]) {
            out += &format!("+ {}\n", actual[j]);
            j += 1;
        } else {
            out += &format!("- {}\n", expected[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything Display prints parses back to the same trace, LOOPEND included.
    #[test]
    fn display_round_trips() {
        let mut t = Trace::default();
        let s0 = t.add_snapshot(Snapshot { pc: 3, entries: vec![], ..Snapshot::default() });
        let i = t.push(Op::SLoad { slot: 0 }, Ty::Int, Some(s0), 7);
        let x = t.push(Op::SLoad { slot: 1 }, Ty::Float, Some(s0), 7);
        let k = t.push(Op::KFloat(-0.0), Ty::Float, None, 0);
        let s = t.push(Op::Math1(MathFn::Sqrt, x), Ty::Float, Some(s0), 8);
        let p = t.push(Op::Math2(MathFn::Pow, s, k), Ty::Float, None, 8);
        let c = t.push(Op::LtFloat(p, k), Ty::Bool, None, 9);
        let e = t.push(Op::EqBool(c, c), Ty::Bool, None, 9);
        let s1 = t.add_snapshot(Snapshot { pc: 12, entries: vec![(1, p), (4, i)], ..Snapshot::default() });
        t.push(Op::GuardFalse(e), Ty::Void, Some(s1), 9);
        t.push(Op::GStore { global: 3, value: p }, Ty::Void, None, 10);
        t.push(Op::KNull, Ty::Null, None, 0);
        t.push(Op::KBuiltin(3), Ty::Builtin, None, 0);
        t.loop_end = Some(t.add_snapshot(Snapshot { pc: 3, entries: vec![(1, p)], ..Snapshot::default() }));
        let printed = t.to_string();
        let parsed = parse(&printed).unwrap_or_else(|e| panic!("{}\n{}", e, printed));
        assert_eq!(parsed, t);
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse("0000   int  K  1\n0002   int  K  2\n").unwrap_err();
        assert_eq!(err, ParseError { line: 2, message: "instruction 0001 is numbered 0002".into() });
        let err = parse("0000 > int SLOAD #0 #0\n").unwrap_err();
        assert_eq!(err.message, "snapshot #0 is used before its SNAP line");
        let err = parse("0000 int SLOAD #0\n").unwrap_err();
        assert_eq!(err.message, "SLOAD is a guard; the '>' mark says otherwise");
    }
}
