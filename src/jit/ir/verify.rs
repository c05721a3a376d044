//! The IR verifier: every structural and typing invariant the passes and the backend rely
//! on. Run on the recorder's output and after every pass in debug builds (mod.rs).
//!
//! Checked, per instruction:
//! - operands refer to earlier, value-producing (non-void) instructions; the exception is
//!   a `Phi`, whose first operand is before `Loop` and whose second is in the body;
//! - operand and result types match the op (table in `check_types`);
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

fn check_types(trace: &Trace, at: InstIdx) -> Result<(), String> {
    use Ty::*;
    let inst = trace.inst(at);
    let ty_of = |i: InstIdx| trace.inst(i).ty;
    // Dict keys on trace are ints or strings.
    let dict_operands = |key: InstIdx| -> &'static [Ty] {
        if ty_of(key) == Str {
            &[Dict, Str]
        } else {
            &[Dict, Int]
        }
    };
    // (operand types, result type) that the op requires; `None` means "any value type".
    let (operands, result): (&[Ty], Option<Ty>) = match inst.op {
        Op::KInt(_) => (&[], Some(Int)),
        Op::KFloat(_) => (&[], Some(Float)),
        Op::KBool(_) => (&[], Some(Bool)),
        Op::KNull => (&[], Some(Null)),
        Op::KBuiltin(_) => (&[], Some(Builtin)),
        Op::KStr(_) => (&[], Some(Str)),
        Op::KFunc(_) => (&[], Some(Func)),
        Op::EqRef(..) => (&[Func, Func], Some(Bool)),
        Op::SAppend { .. } => (&[Str, Str], Some(Void)),
        Op::SLoad { .. } | Op::GLoad { .. } => {
            if !matches!(inst.ty, Int | Float | Bool | Null | Array | Dict | Str | Func | Struct | Tagged) {
                return Err(format!(
                    "{} of type {}: loads guard an int, flt, bool, null, arr, dict, str, func, obj or enum tag",
                    inst.op.name(),
                    inst.ty.name()
                ));
            }
            (&[], None)
        }
        Op::ALen(_) => (&[Array], Some(Int)),
        Op::DNew | Op::Alloc(AllocKind::Dict) => (&[], Some(Dict)),
        Op::Alloc(AllocKind::Array) => (&[], Some(Array)),
        Op::Alloc(AllocKind::Struct { .. }) => (&[], Some(Struct)),
        Op::StructNew { .. } => (&[], Some(Struct)),
        Op::ANew => (&[], Some(Array)),
        Op::AIns { value, .. } => {
            let constant_string = matches!(trace.inst(value).op, Op::KStr(_));
            if !matches!(ty_of(value), Int | Float | Bool | Null) && !constant_string {
                return Err(format!(
                    "AINS of a {} value: sunk elements are scalars or string constants",
                    ty_of(value).name()
                ));
            }
            (&[Array], Some(Array))
        }
        Op::TagNew { payload, .. } => {
            if let Some(p) = payload {
                let constant_string = matches!(trace.inst(p).op, Op::KStr(_));
                if !matches!(ty_of(p), Int | Float | Bool | Null) && !constant_string {
                    return Err(format!(
                        "ENUM with a {} payload: sunk payloads are scalars or string constants",
                        ty_of(p).name()
                    ));
                }
            }
            (&[], Some(Tagged))
        }
        Op::FieldTag { .. } | Op::StructType(_) => (&[Struct], Some(Int)),
        Op::CaptureTag { .. } => (&[Func], Some(Int)),
        Op::CaptureGet { .. } => {
            if !matches!(inst.ty, Int | Float | Bool | Null) {
                return Err(format!(
                    "CGET of type {}: captures read on trace are int, flt, bool or null",
                    inst.ty.name()
                ));
            }
            (&[Func], None)
        }
        Op::FieldGet { .. } => {
            if !matches!(inst.ty, Int | Float | Bool | Null | Str | Array | Dict | Struct) {
                return Err(format!(
                    "FGET of type {}: fields read on trace are int, flt, bool, null, str, arr, dict or obj",
                    inst.ty.name()
                ));
            }
            (&[Struct], None)
        }
        Op::StructSet { value, .. } => {
            if !ty_of(value).is_field_value() {
                return Err(format!(
                    "STSET of a {} value: sunk fields are int, flt, bool, null, str, arr, dict, obj or func",
                    ty_of(value).name()
                ));
            }
            (&[Struct], Some(Struct))
        }
        Op::DIns { value, .. } => {
            if !matches!(ty_of(value), Int | Float | Bool | Null) {
                return Err(format!(
                    "DINS of a {} value: sunk entries are int, flt, bool or null",
                    ty_of(value).name()
                ));
            }
            (&[Dict, Str], Some(Dict))
        }
        Op::DTag(_, key) => (dict_operands(key), Some(Int)),
        Op::DGet(_, key) => {
            if !matches!(inst.ty, Int | Float | Bool | Null) {
                return Err(format!("DGET of type {}: entries on trace are int, flt, bool or null", inst.ty.name()));
            }
            (dict_operands(key), None)
        }
        Op::DSet { key, value, .. } => {
            if !matches!(ty_of(value), Int | Float | Bool | Null) {
                return Err(format!(
                    "DSET of a {} value: entries on trace are int, flt, bool or null",
                    ty_of(value).name()
                ));
            }
            (dict_operands(key), Some(Void))
        }
        Op::ALoad(..) => {
            if inst.ty == Void || inst.ty == Builtin || inst.ty == Func {
                return Err(format!("ALOAD of type {}: elements read on trace are values with a tag", inst.ty.name()));
            }
            (&[Array, Int], None)
        }
        Op::ALoadForWrite(..) | Op::ALoadUnique(..) => {
            if !matches!(inst.ty, Array | Dict | Struct) {
                return Err(format!(
                    "{} of type {}: a write goes into an arr, dict or obj",
                    inst.op.name(),
                    inst.ty.name()
                ));
            }
            (&[Array, Int], None)
        }
        Op::AUnique(_) => (&[Array], Some(Array)),
        Op::SLen(_) => (&[Str], Some(Int)),
        Op::SConcat(..) => (&[Str, Str], Some(Str)),
        Op::SChar(..) => (&[Str, Int], Some(Str)),
        Op::DictKeys(_) => (&[Dict], Some(Array)),
        Op::TagKey(_) | Op::PayloadTag(_) => (&[Tagged], Some(Int)),
        Op::PayloadGet(_) => {
            if !matches!(inst.ty, Int | Float | Bool | Null | Str) {
                return Err(format!(
                    "PGET of type {}: payloads on trace are int, flt, bool, null or str",
                    inst.ty.name()
                ));
            }
            (&[Tagged], None)
        }
        Op::FieldSet { value, .. } => {
            if !ty_of(value).is_field_value() {
                return Err(format!(
                    "FSET of a {} value: fields on trace are int, flt, bool, null, str, arr, dict, obj or func",
                    ty_of(value).name()
                ));
            }
            (&[Struct], Some(Struct))
        }
        Op::ToStr(value) => {
            if !matches!(ty_of(value), Int | Float | Bool | Null) {
                return Err(format!("TOSTR of a {} value: only ints, floats, bools and null", ty_of(value).name()));
            }
            (&[], Some(Str))
        }
        Op::CallBuiltin { builtin, args, argc } => {
            if builtin as usize >= crate::builtins::BUILTINS.len() || !crate::builtins::is_repeatable(builtin) {
                return Err(format!("CALLB of builtin {}, which traces may not call", builtin));
            }
            if argc as usize > args.len() {
                return Err(format!("CALLB with {} arguments: at most {}", argc, args.len()));
            }
            if let Some(&arg) = args[..argc as usize].iter().find(|&&a| !is_passable_value(ty_of(a))) {
                return Err(format!("CALLB with a {} argument ({})", ty_of(arg).name(), arg));
            }
            if !matches!(inst.ty, Int | Float | Bool | Null | Str | Array | Dict | Struct) {
                return Err(format!("CALLB of type {}: results on trace are values with a tag", inst.ty.name()));
            }
            (&[], None)
        }
        Op::GuardUnshared(object) => {
            if !matches!(ty_of(object), Array | Dict | Struct) {
                return Err(format!("UNSHARED of a {} value", ty_of(object).name()));
            }
            (&[], Some(Void))
        }
        Op::MarkShared(object) => {
            if !matches!(ty_of(object), Array | Dict | Str | Struct | Tagged) {
                return Err(format!("SHARE of a {} value, which has no object", ty_of(object).name()));
            }
            (&[], Some(Void))
        }
        Op::SEq(..) => (&[Str, Str], Some(Bool)),
        Op::PushCopy { value, .. } => {
            if !is_passable_value(ty_of(value)) {
                return Err(format!("PUSHCOPY of a {} value", ty_of(value).name()));
            }
            (&[Array], Some(Array))
        }
        // Pushing and storing hand the value over (its holder copied it first if it had to).
        Op::APush { value, .. } if is_passable_value(ty_of(value)) => (&[Array], Some(Void)),
        Op::AStore { value, .. } if is_passable_value(ty_of(value)) => (&[Array, Int], Some(Void)),
        Op::AStore { value, .. } | Op::APush { value, .. } => {
            if !matches!(ty_of(value), Int | Float | Bool | Null) {
                return Err(format!(
                    "{} of a {} value: elements on trace are int, flt, bool or null",
                    inst.op.name(),
                    ty_of(value).name()
                ));
            }
            match inst.op {
                Op::AStore { .. } => (&[Array, Int], Some(Void)),
                _ => (&[Array], Some(Void)),
            }
        }
        Op::GStore { value, .. } | Op::SStore { value, .. } => {
            if ty_of(value) == Void {
                return Err(format!("{} of a value-less instruction", inst.op.name()));
            }
            (&[], Some(Void))
        }
        Op::AddInt(..) | Op::SubInt(..) | Op::MulInt(..) | Op::DivInt(..) | Op::ModInt(..) => (&[Int, Int], Some(Int)),
        Op::NegInt(_) => (&[Int], Some(Int)),
        Op::AddFloat(..) | Op::SubFloat(..) | Op::MulFloat(..) | Op::DivFloat(..) | Op::ModFloat(..) => {
            (&[Float, Float], Some(Float))
        }
        Op::NegFloat(_) => (&[Float], Some(Float)),
        Op::IntToFloat(_) => (&[Int], Some(Float)),
        Op::LtInt(..) | Op::LeInt(..) | Op::GtInt(..) | Op::GeInt(..) | Op::EqInt(..) | Op::NeInt(..) => {
            (&[Int, Int], Some(Bool))
        }
        Op::LtFloat(..) | Op::LeFloat(..) | Op::GtFloat(..) | Op::GeFloat(..) | Op::EqFloat(..) | Op::NeFloat(..) => {
            (&[Float, Float], Some(Bool))
        }
        Op::EqBool(..) => (&[Bool, Bool], Some(Bool)),
        Op::NotBool(_) => (&[Bool], Some(Bool)),
        Op::TruthyInt(_) => (&[Int], Some(Bool)),
        Op::TruthyFloat(_) => (&[Float], Some(Bool)),
        Op::GuardTrue(_) | Op::GuardFalse(_) => (&[Bool], Some(Void)),
        Op::Math1(f, _) | Op::Math2(f, ..) => {
            if f.arity() != inst.op.operands().len() {
                return Err(format!("MATH {} takes {} operands", f.name(), f.arity()));
            }
            (&[Float, Float][..f.arity()], Some(Float))
        }
        Op::Loop => (&[], Some(Void)),
        Op::CallTrace { .. } | Op::JumpTrace { .. } => (&[], Some(Void)),
        Op::Ret(value) => {
            if ty_of(value) == Void {
                return Err("RET of a value-less instruction".into());
            }
            (&[], Some(Void))
        }
        Op::Phi(entry, back_edge) => {
            if ty_of(entry) != inst.ty || ty_of(back_edge) != inst.ty {
                return Err(format!(
                    "PHI of type {} joins {} and {}",
                    inst.ty.name(),
                    ty_of(entry).name(),
                    ty_of(back_edge).name()
                ));
            }
            (&[], None)
        }
    };
    for (operand, want) in inst.op.operands().into_iter().zip(operands) {
        if ty_of(operand) != *want {
            return Err(format!(
                "{} operand {} is {}, expected {}",
                inst.op.name(),
                operand,
                ty_of(operand).name(),
                want.name()
            ));
        }
    }
    match result {
        Some(want) if inst.ty != want => {
            Err(format!("{} has type {}, expected {}", inst.op.name(), inst.ty.name(), want.name()))
        }
        None if inst.ty == Void => Err(format!("{} must produce a value", inst.op.name())),
        _ => Ok(()),
    }
}

/// Whether a value of type `ty` can be handed to a helper as a tagged value (a
/// `CallBuiltin` argument, an element pushed): a scalar or an object in a register.
fn is_passable_value(ty: Ty) -> bool {
    matches!(ty, Ty::Int | Ty::Float | Ty::Bool | Ty::Null | Ty::Str | Ty::Array | Ty::Dict | Ty::Struct | Ty::Func)
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
