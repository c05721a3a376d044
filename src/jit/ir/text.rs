//! The IR text form: its printer (`impl Display for Trace`, [`InstText`]) and its parser,
//! so dumps are readable and pass tests are written as IR text in, IR text out (Cranelift
//! filetests, yk's HIR tests).
//!
//! Grammar, one item per line, tokens separated by any whitespace, blank lines ignored:
//! - `NNNN [>] ty OPNAME operands [#snap] [; Lline]`: an instruction; `NNNN` must be its
//!   position, `>` must be present exactly on guards, `#snap` exactly on guards.
//! - `NNNN ------------ LOOP ------------`
//! - `.... SNAP #n pc=P [ slot=NNNN ... ]`: snapshot `n`, printed before each guard using it
//!   (every printing of one snapshot must agree).
//! - `.... LOOPEND #n pc=P [ ... ]`: `Trace::loop_end`.
//!
//! Each op's operands print and parse as its row in the op table (`table.rs`) says. One
//! opcode name covers the int and float variants, so the variant comes from the result
//! type (arithmetic, `NEG`) or from the first operand's type (comparisons, `TRUTHY`), as
//! the row's `Select` says. String, function and struct-allocation constants print but do
//! not parse (the text form has no heap). Only
//! snapshots that a guard or `LOOPEND` names are printed, so snapshot numbers must be dense
//! from 0. The parser checks syntax only; [`super::verify`] checks the IR.

use std::fmt;

use super::table::Select;
use super::{Inst, InstIdx, MathFn, Op, OpCode, OpProps, SnapIdx, Snapshot, Trace, Ty, OPS};

/// One instruction in the text form (without its index).
pub struct InstText<'a>(pub &'a Inst);

impl fmt::Display for InstText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inst = self.0;
        // The null constant has no field, but its text form names it.
        let operands = match inst.op {
            Op::KNull => "null".to_string(),
            op => op.field_texts().join(" "),
        };
        let guard = if inst.op.is_guard() { '>' } else { ' ' };
        write!(f, "{} {:<4} {:<7} {:<14}", guard, inst.ty.name(), inst.op.name(), operands)?;
        if let Some(s) = inst.snap {
            write!(f, " #{}", s.0)?;
        }
        Ok(())
    }
}

impl fmt::Display for Trace {
    /// The whole trace: instructions, each guard's snapshot printed before it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, inst) in self.insts.iter().enumerate() {
            if let Some(s) = inst.snap {
                let snapshot = &self.snapshots[s.index()];
                write!(f, "....        SNAP    #{} pc={} [", s.0, snapshot.pc)?;
                for (slot, value) in &snapshot.entries {
                    write!(f, " {}={}", slot, value)?;
                }
                write!(f, " ]")?;
                for frame in &snapshot.frames {
                    let method = if frame.closure { "" } else { " method" };
                    write!(
                        f,
                        " +frame(proto{} base={} return={}{})",
                        frame.proto.0, frame.base, frame.return_pc, method
                    )?;
                }
                if snapshot.handlers_left > 0 {
                    write!(f, " -try({})", snapshot.handlers_left)?;
                }
                for handler in &snapshot.handlers {
                    write!(f, " +try(frame={} handler={} err={})", handler.frame, handler.pc, handler.err_slot)?;
                }
                if let Some(slot) = snapshot.stored_slot {
                    write!(f, " +stored({})", slot)?;
                }
                writeln!(f)?;
            }
            if inst.op == Op::Loop {
                writeln!(f, "{:04} ------------ LOOP ------------", n)?;
                continue;
            }
            let text = format!("{:04} {}", n, InstText(inst));
            if inst.line > 0 {
                writeln!(f, "{:<46} ; L{}", text.trim_end(), inst.line)?;
            } else {
                writeln!(f, "{}", text.trim_end())?;
            }
        }
        if let Some(end) = self.loop_end {
            let snapshot = &self.snapshots[end.index()];
            write!(f, "....        LOOPEND #{} pc={} [", end.0, snapshot.pc)?;
            for (slot, value) in &snapshot.entries {
                write!(f, " {}={}", slot, value)?;
            }
            writeln!(f, " ]")?;
        }
        Ok(())
    }
}

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

    /// The op named `name` of result type `ty`: its row chosen among those sharing the
    /// mnemonic (`OpProps::select`), its fields parsed from `operands`.
    fn op(&self, name: &str, ty: Ty, operands: &[&str]) -> Result<Op, String> {
        let rows: Vec<&OpProps> = OPS.iter().filter(|row| row.mnemonic == name).collect();
        if rows.is_empty() {
            return Err(format!("unknown opcode {}", name));
        }
        // Comparisons and TRUTHY are told apart by their first operand's type.
        let first_operand_ty = || -> Result<Ty, String> {
            let token = operands.first().ok_or_else(|| format!("{} needs operand 1", name))?;
            let a: u32 = token.parse().map_err(|_| format!("expected a number, got {:?}", token))?;
            self.trace.insts.get(a as usize).map(|i| i.ty).ok_or_else(|| format!("operand {} is not defined yet", a))
        };
        let mut chosen = None;
        for row in &rows {
            let matches = match row.select {
                Select::Only => true,
                Select::ByResult(want) => ty == want,
                Select::ByFirstOperand(want) => first_operand_ty()? == want,
                Select::ByMathArity(arity) => {
                    let function = operands.first().copied().unwrap_or("");
                    let function = MathFn::ALL.into_iter().find(|f| f.name() == function);
                    function
                        .ok_or_else(|| format!("unknown math function {}", operands.first().unwrap_or(&"")))?
                        .arity()
                        == arity
                }
            };
            if matches {
                chosen = Some(row.code);
                break;
            }
        }
        let code = chosen.ok_or_else(|| match rows[0].select {
            Select::ByFirstOperand(_) => match first_operand_ty() {
                Ok(operand) => format!("{} has no {} variant", name, operand.name()),
                Err(e) => e,
            },
            _ => format!("{} has no {} variant", name, ty.name()),
        })?;
        // The null constant has no field, but its text form names it.
        if code == OpCode::KNull {
            return match operands {
                ["null"] => Ok(Op::KNull),
                _ => Err(format!("bad null constant {}", operands.join(" "))),
            };
        }
        let mut rest = operands;
        let op = Op::parse_fields(code, &mut rest).map_err(|e| format!("{}: {}", name, e))?;
        if !rest.is_empty() {
            return Err(format!("{} takes {} operands, got {}", name, operands.len() - rest.len(), operands.len()));
        }
        Ok(op)
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
    Ty::ALL.into_iter().find(|ty| ty.name() == token).ok_or_else(|| format!("unknown type {}", token))
}

fn parse_number<N: std::str::FromStr>(token: &str) -> Result<N, String> {
    token.parse().map_err(|_| format!("expected a number, got {:?}", token))
}

fn parse_prefixed<N: std::str::FromStr>(token: &str, prefix: &str) -> Result<N, String> {
    parse_number(token.strip_prefix(prefix).ok_or_else(|| format!("expected {}..., got {:?}", prefix, token))?)
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
