//! The IR verifier: every structural and typing invariant the passes and the backend rely
//! on. Run on the recorder's output and after every pass in debug builds (mod.rs).
//!
//! Checked, per instruction:
//! - operands refer to earlier, value-producing (non-void) instructions; the exception is
//!   a `Phi`, whose first operand is before `Loop` and whose second is in the body;
//! - operand and result types match the op's row in the op table (`table.rs`), and the
//!   value-dependent rules of `check_types`;
//! - `snap` is `Some` exactly on guards, in range, and every entry of that snapshot refers
//!   to a value defined before the guard (the exit restores it);
//! - at most one `Loop`; `Phi`s only in the block directly after it;
//! - nothing but a constant defined before a `CallTrace` is used after it (the call
//!   clobbers registers and slots), and a trace with `CallTrace` or `Ret` has no `Loop`;
//! - a sunk value (`DNew`, `DIns`) is used only as the `dict` operand of a `DIns` and by
//!   snapshots: it has no location, so nothing else could read it. The `loop_end`
//!   snapshot must not name one (a `Phi` would have to carry it).
//!
//! Per snapshot: entries in range, non-void, sorted by slot with no duplicates.
//! `loop_end`: in range, named by no guard, and absent once the trace has a `Loop` (the
//! `Phi`s carry that state after peeling).

use std::fmt;

use crate::jit::ir::{AllocKind, InstIdx, Op, SnapIdx, Trace, Ty};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyError {
    /// The offending instruction, when there is one.
    pub inst: Option<InstIdx>,
    pub message: String,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inst {
            Some(i) => write!(f, "{}: {}", i, self.message),
            None => f.write_str(&self.message),
        }
    }
}

pub fn verify(trace: &Trace) -> Result<(), VerifyError> {
    let loop_start = find_loop(trace)?;
    for n in 0..trace.insts.len() {
        let at = InstIdx(n as u32);
        let fail = |message: String| VerifyError { inst: Some(at), message };
        check_operand_order(trace, at, loop_start).map_err(fail)?;
        check_types(trace, at).map_err(fail)?;
        check_snapshot_use(trace, at).map_err(fail)?;
        check_sunk_operands(trace, at).map_err(fail)?;
    }
    check_native_calls(trace, loop_start)?;
    for (n, snapshot) in trace.snapshots.iter().enumerate() {
        let mut previous_slot = None;
        for &(slot, value) in &snapshot.entries {
            let fail =
                |what: &str| VerifyError { inst: None, message: format!("snapshot #{}: slot {} {}", n, slot, what) };
            if previous_slot.is_some_and(|p| p >= slot) {
                return Err(fail("is out of order or duplicated"));
            }
            previous_slot = Some(slot);
            match trace.insts.get(value.index()) {
                None => return Err(fail(&format!("refers to {}, past the end", value))),
                Some(inst) if inst.ty == Ty::Void => {
                    return Err(fail(&format!("refers to {}, which has no value", value)))
                }
                Some(_) => {}
            }
        }
    }
    if let Some(end) = trace.loop_end {
        let fail = |message: String| VerifyError { inst: None, message };
        if end.index() >= trace.snapshots.len() {
            return Err(fail(format!("loop_end #{} is out of range", end.0)));
        }
        if loop_start.is_some() {
            return Err(fail("a peeled trace (with LOOP) must not have a loop_end".into()));
        }
        if let Some(user) = trace.insts.iter().position(|i| i.snap == Some(end)) {
            return Err(fail(format!("loop_end #{} is also the snapshot of guard {:04}", end.0, user)));
        }
        if let Some(&(slot, value)) =
            trace.snapshots[end.index()].entries.iter().find(|&&(_, v)| trace.inst(v).op.is_sunk())
        {
            return Err(fail(format!("loop_end carries the sunk value {} in slot {}", value, slot)));
        }
    }
    Ok(())
}

/// The position of the single `Loop`, after checking that `Phi`s form one block right after it.
fn find_loop(trace: &Trace) -> Result<Option<InstIdx>, VerifyError> {
    let mut loop_start = None;
    let mut in_phi_block = false;
    for (n, inst) in trace.insts.iter().enumerate() {
        let at = InstIdx(n as u32);
        match inst.op {
            Op::Loop if loop_start.is_some() => {
                return Err(VerifyError { inst: Some(at), message: "second LOOP".into() });
            }
            Op::Loop => {
                loop_start = Some(at);
                in_phi_block = true;
            }
            Op::Phi(..) if !in_phi_block => {
                return Err(VerifyError { inst: Some(at), message: "PHI not in the block right after LOOP".into() });
            }
            Op::Phi(..) => {}
            _ => in_phi_block = false,
        }
    }
    Ok(loop_start)
}

fn check_operand_order(trace: &Trace, at: InstIdx, loop_start: Option<InstIdx>) -> Result<(), String> {
    let inst = trace.inst(at);
    let defined = |operand: InstIdx| -> Result<(), String> {
        match trace.insts.get(operand.index()) {
            None => Err(format!("operand {} is past the end", operand)),
            Some(def) if def.ty == Ty::Void => Err(format!("operand {} has no value", operand)),
            Some(_) => Ok(()),
        }
    };
    if let Op::Phi(entry, back_edge) = inst.op {
        let loop_start = loop_start.ok_or("PHI without LOOP")?;
        defined(entry)?;
        defined(back_edge)?;
        if entry >= loop_start {
            return Err(format!("PHI entry value {} is not before LOOP", entry));
        }
        // The back-edge value may also be loop-invariant (defined before LOOP): a slot that
        // takes an invariant value every iteration, after its first.
        if back_edge == loop_start {
            return Err(format!("PHI back-edge value {} is the LOOP marker", back_edge));
        }
        return Ok(());
    }
    for operand in inst.op.operands() {
        defined(operand)?;
        if operand >= at {
            return Err(format!("operand {} is not defined before its use", operand));
        }
    }
    Ok(())
}

/// Checks operand and result types against the op's row in the op table, then the rules
/// that depend on values rather than on the op alone.
fn check_types(trace: &Trace, at: InstIdx) -> Result<(), String> {
    let inst = trace.inst(at);
    let ty_of = |i: InstIdx| trace.inst(i).ty;
    let props = inst.op.props();
    for (operand, want) in inst.op.operands().into_iter().zip(props.operands) {
        if !want.contains(ty_of(operand)) {
            return Err(format!(
                "{} operand {} is {}, expected {}",
                inst.op.name(),
                operand,
                ty_of(operand).name(),
                want
            ));
        }
    }
    if !props.result.contains(inst.ty) {
        return Err(format!("{} has type {}, expected {}", inst.op.name(), inst.ty.name(), props.result));
    }
    // A sunk string (an element or payload) is a constant: an exit builds it from the text.
    let constant_string = |v: InstIdx| ty_of(v) != Ty::Str || matches!(trace.inst(v).op, Op::KStr(_));
    match inst.op {
        Op::AIns { value, .. } if !constant_string(value) => {
            Err(format!("AINS of {}: sunk strings are string constants", value))
        }
        Op::TagNew { payload: Some(p), .. } if !constant_string(p) => {
            Err(format!("ENUM with payload {}: sunk strings are string constants", p))
        }
        Op::Alloc(kind) => {
            let want = match kind {
                AllocKind::Array => Ty::Array,
                AllocKind::Dict => Ty::Dict,
                AllocKind::Struct { .. } => Ty::Struct,
            };
            if inst.ty == want {
                Ok(())
            } else {
                Err(format!("ALLOC has type {}, expected {}", inst.ty.name(), want.name()))
            }
        }
        Op::FieldInit { object, .. } if !matches!(trace.inst(object).op, Op::Alloc(AllocKind::Struct { .. })) => {
            Err(format!("FINIT of {}: it fills a struct just allocated", object))
        }
        Op::CallBuiltin { builtin, .. } => {
            if builtin as usize >= crate::builtins::BUILTINS.len() || !crate::builtins::is_repeatable(builtin) {
                return Err(format!("CALLB of builtin {}, which traces may not call", builtin));
            }
            Ok(())
        }
        Op::CallEffect { builtin, .. } => {
            let effect = crate::builtins::BUILTINS.get(builtin as usize).is_some_and(|b| b.on_trace.has_effect());
            if !effect {
                return Err(format!("CALLE of builtin {}, which has no effect a trace may make", builtin));
            }
            Ok(())
        }
        Op::EffectCheck(call) if !matches!(trace.inst(call).op, Op::CallEffect { .. }) => {
            Err(format!("ECHECK of {}: it checks a CALLE", call))
        }
        Op::Math1(f, _) | Op::Math2(f, ..) if f.arity() != inst.op.operands().len() => {
            Err(format!("MATH {} takes {} operands", f.name(), f.arity()))
        }
        Op::Phi(entry, back_edge) if ty_of(entry) != inst.ty || ty_of(back_edge) != inst.ty => {
            Err(format!("PHI of type {} joins {} and {}", inst.ty.name(), ty_of(entry).name(), ty_of(back_edge).name()))
        }
        _ => Ok(()),
    }
}

fn check_native_calls(trace: &Trace, loop_start: Option<InstIdx>) -> Result<(), VerifyError> {
    let mut last_call: Option<usize> = None;
    for (n, inst) in trace.insts.iter().enumerate() {
        let fail = |message: String| VerifyError { inst: Some(InstIdx(n as u32)), message };
        if matches!(inst.op, Op::CallTrace { .. } | Op::Ret(_) | Op::JumpTrace { .. }) && loop_start.is_some() {
            return Err(fail(format!("{} in a trace with a loop", inst.op.name())));
        }
        if let Some(call) = last_call {
            let mut used: Vec<InstIdx> = inst.op.operands().into_iter().collect();
            if let Some(snap) = inst.snap {
                used.extend(trace.snapshots[snap.index()].entries.iter().map(|&(_, v)| v));
            }
            if let Some(stale) = used.into_iter().find(|&v| v.index() < call && !trace.inst(v).op.is_constant()) {
                return Err(fail(format!("uses {}, defined before the CALLTRACE at {:04}", stale, call)));
            }
        }
        if matches!(inst.op, Op::CallTrace { .. }) {
            last_call = Some(n);
        }
    }
    Ok(())
}

fn check_sunk_operands(trace: &Trace, at: InstIdx) -> Result<(), String> {
    let op = trace.inst(at).op;
    let allowed = match op {
        Op::DIns { dict, .. } => Some(dict),
        Op::AIns { array, .. } => Some(array),
        Op::StructSet { object, .. } => Some(object),
        _ => None,
    };
    if let Some(target) = allowed {
        if !trace.inst(target).op.is_sunk() {
            return Err(format!("{} into {}, which is not sunk", op.name(), target));
        }
    }
    match op.operands().into_iter().find(|&o| trace.inst(o).op.is_sunk() && Some(o) != allowed) {
        Some(o) => Err(format!("{} reads the sunk value {}, which has no location", op.name(), o)),
        None => Ok(()),
    }
}

fn check_snapshot_use(trace: &Trace, at: InstIdx) -> Result<(), String> {
    let inst = trace.inst(at);
    match (inst.op.is_guard(), inst.snap) {
        (true, None) => Err(format!("guard {} has no snapshot", inst.op.name())),
        (false, Some(_)) => Err(format!("{} is not a guard but has a snapshot", inst.op.name())),
        (false, None) => Ok(()),
        (true, Some(SnapIdx(n))) => {
            let snapshot = trace.snapshots.get(n as usize).ok_or_else(|| format!("snapshot #{} is out of range", n))?;
            match snapshot.entries.iter().find(|&&(_, value)| value >= at) {
                Some((slot, value)) => {
                    Err(format!("snapshot #{} restores slot {} from {}, not yet defined", n, slot, value))
                }
                None => Ok(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jit::ir::text::parse;

    fn error_of(text: &str) -> String {
        let trace = parse(text).unwrap_or_else(|e| panic!("{}", e));
        verify(&trace).expect_err("the verifier accepted invalid IR").to_string()
    }

    #[test]
    fn accepts_a_peeled_loop() {
        let trace = parse(
            "
            ....        SNAP    #0 pc=3 [ ]
            0000 > int  SLOAD   #0        #0
            0001   int  K       1
            0002 ------------ LOOP ------------
            0003   int  PHI     0000 0004
            ....        SNAP    #1 pc=5 [ 0=0003 ]
            0004 > int  ADD     0003 0001 #1
            ",
        )
        .unwrap();
        assert_eq!(verify(&trace), Ok(()));
    }

    #[test]
    fn rejects_type_mismatches() {
        assert_eq!(
            error_of("0000 int K 1\n0001 flt K 2.0\n0002 flt ADD 0001 0000"),
            "0002: ADD operand 0000 is int, expected flt"
        );
        assert_eq!(error_of("0000 int K 1\n0001 int LT 0000 0000"), "0001: LT has type int, expected bool");
        assert_eq!(
            error_of("0000 int K 1\n.... SNAP #0 pc=1 [ ]\n0001 > void GTRUE 0000 #0"),
            "0001: GTRUE operand 0000 is int, expected bool"
        );
    }

    #[test]
    fn rejects_forward_references_outside_phis() {
        assert_eq!(
            error_of("0000 int K 1\n0001 int K 2\n0002 bool EQ 0000 0003\n0003 int K 3"),
            "0002: operand 0003 is not defined before its use"
        );
        assert_eq!(
            error_of("0000 int K 1\n0001 ------------ LOOP ------------\n0002 int PHI 0000 0001"),
            "0002: operand 0001 has no value"
        );
    }

    #[test]
    fn rejects_misplaced_phis_and_loops() {
        assert_eq!(
            error_of("0000 int K 1\n0001 ------------ LOOP ------------\n0002 int K 2\n0003 int PHI 0000 0002"),
            "0003: PHI not in the block right after LOOP"
        );
        assert_eq!(
            error_of("0000 ------------ LOOP ------------\n0001 ------------ LOOP ------------"),
            "0001: second LOOP"
        );
    }

    #[test]
    fn rejects_bad_snapshots() {
        assert_eq!(
            error_of(".... SNAP #0 pc=1 [ 2=0000 1=0000 ]\n0000 > int SLOAD #0 #0"),
            "snapshot #0 restores slot 2 from 0000, not yet defined".replace("snapshot", "0000: snapshot")
        );
        assert_eq!(
            error_of("0000 int K 1\n.... SNAP #0 pc=1 [ 2=0000 1=0000 ]\n0001 > int SLOAD #0 #0"),
            "snapshot #0: slot 1 is out of order or duplicated"
        );
        assert_eq!(
            error_of("0000 int K 1\n0001 ------------ LOOP ------------\n.... LOOPEND #0 pc=1 [ 0=0000 ]"),
            "a peeled trace (with LOOP) must not have a loop_end"
        );
    }

    #[test]
    fn sunk_dicts_are_read_only_by_inserts_and_snapshots() {
        let mut heap = crate::runtime::heap::Heap::default();
        let key = heap.alloc(crate::runtime::object::StrObj::new("k".to_string()));
        let mut trace = Trace::default();
        let dict = trace.push(Op::DNew, Ty::Dict, None, 0);
        let k = trace.push(Op::KStr(key), Ty::Str, None, 0);
        let v = trace.push(Op::KInt(1), Ty::Int, None, 0);
        let full = trace.push(Op::DIns { dict, key: k, value: v }, Ty::Dict, None, 0);
        let snap =
            trace.add_snapshot(crate::jit::ir::Snapshot { pc: 0, entries: vec![(0, full)], ..Default::default() });
        let never = trace.push(Op::KBool(false), Ty::Bool, None, 0);
        trace.push(Op::GuardTrue(never), Ty::Void, Some(snap), 0);
        assert_eq!(verify(&trace), Ok(()));
        trace.push(Op::GStore { global: 0, value: full }, Ty::Void, None, 0);
        assert_eq!(
            verify(&trace).unwrap_err().to_string(),
            "0006: GSTORE reads the sunk value 0003, which has no location"
        );
        trace.insts.pop();
        trace.push(Op::DIns { dict: v, key: k, value: v }, Ty::Dict, None, 0);
        assert_eq!(verify(&trace).unwrap_err().to_string(), "0006: DINS operand 0002 is int, expected dict");
    }
}
