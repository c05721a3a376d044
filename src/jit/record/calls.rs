//! Recording calls: Ruff functions inlined (their frames stacked on the recorder's) or
//! called natively through their function trace, methods, builtins (math and bit
//! operations inline, others through `CallBuiltin`), and the return that ends a function
//! trace.

use super::tracing::{TracedValue, Tracing};
use super::{
    contains_loop, field_position, trace_key, FrameClosure, PendingCall, RecordedFrame, Recorder, TraceKind, View,
    MAX_INLINE_DEPTH,
};
use crate::builtins::math::BitOp;
use crate::builtins::{Recording, BUILTINS};
use crate::compile::bytecode::{Instr, Program, Proto, ProtoId, Reg};
use crate::compile::liveness::LiveSlots;
use crate::jit::abort::AbortReason;
use crate::jit::ir::{InstIdx, MathFn, Op, SnapIdx, Trace, Ty, SELF_TRACE};
use crate::runtime::access::Mark;
use crate::runtime::heap::Gc;
use crate::runtime::object::{FuncObj, StructObj};
use crate::runtime::symbol::Symbol;
use crate::runtime::value::Value;
use crate::semantics;
use std::rc::Rc;

/// How a call of a Ruff function is recorded.
#[derive(Clone, Copy)]
enum CallPlan {
    /// Into its body, its frame stacked on the recorder's.
    Inline,
    /// As a `CallTrace` of this function trace.
    Native(u32),
}

impl Recorder {
    /// `receiver.name(args)` on a struct: the method of the receiver's type (known for a
    /// struct built in the loop, guarded otherwise) is inlined with the receiver as its
    /// slot 0. A type without that method calls the function its field `name` holds.
    pub(super) fn call_method(
        &mut self,
        base: Reg,
        name: u32,
        argc: u16,
        lent: bool,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let receiver = self.read_sunk(base + 1, view, pc)?;
        let (Value::Struct(s), true) = (view.slots[base as usize + 1], self.ty(receiver) == Ty::Struct) else {
            // Only structs have methods (or fields holding functions): the interpreter
            // raises.
            return Err(AbortReason::ErrorRaised);
        };
        if !self.trace.inst(receiver).op.is_sunk() {
            let type_index = self.emit(Op::StructType(receiver), Ty::Int);
            let expected = self.emit(Op::KInt(s.type_index as i64), Ty::Int);
            let same = self.emit(Op::EqInt(type_index, expected), Ty::Bool);
            self.emit_guard(Op::GuardTrue(same), Ty::Void, pc);
        }
        let Some(&method) = view.program.struct_types[s.type_index as usize].methods.get(&Symbol(name)) else {
            return self.call_field(receiver, &s, base, name, argc, view, pc);
        };
        let callee = view.program.proto(method);
        if callee.arity as usize != argc as usize {
            return Err(AbortReason::ErrorRaised);
        }
        // A lent receiver the method may keep or change is marked shared first, as the
        // interpreter does; the type guard above fixes the method, so the choice holds.
        if view.program.lent_receiver_to_share(method, lent) && !self.trace.inst(receiver).op.is_sunk() {
            self.emit(Op::MarkShared(receiver), Ty::Void);
        }
        self.write(base + 1, receiver);
        self.enter_inlined(method, FrameClosure::Method, base, argc + 1, view, pc)
    }

    /// `receiver.name(args)` where the receiver's type has no method `name`: the function
    /// in its field `name` is called like any function value, as `Vm::call_method` does it
    /// (the callee replaces the callee slot's value, the arguments move down over the
    /// receiver). The field is read at the position it had when recorded (`FLOAD` guards
    /// it) and the callee is guarded like any other, so a call site whose structs hold
    /// other functions leaves the trace there and grows a side trace per prototype. Every
    /// guard comes before the arguments move: an exit redoes the `CallMethod`.
    #[allow(clippy::too_many_arguments)]
    fn call_field(
        &mut self,
        receiver: InstIdx,
        s: &StructObj,
        base: Reg,
        name: u32,
        argc: u16,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let Some(position) = field_position(s, name) else {
            // The interpreter raises the missing field's error.
            return Err(AbortReason::ErrorRaised);
        };
        let func = match s.fields[position as usize].1 {
            Value::Func(func) => func,
            Value::Builtin(_) => return Err(AbortReason::NyiCall("a builtin stored in a struct field".into())),
            // The interpreter raises: the value cannot be called.
            _ => return Err(AbortReason::ErrorRaised),
        };
        checked_arity(func, argc, view)?;
        let plan = self.plan_call(func, view)?;
        if let CallPlan::Native(_) = plan {
            self.check_native_call()?;
        }
        // The field read is `PeekField`'s (`semantics::field_into`, unmarked).
        let object = TracedValue::of(receiver, view.slots[base as usize + 1]);
        let mut out = object;
        semantics::field_into(&mut Tracing::new(self, pc), object, Symbol(name), 0, || "", Mark::Unmarked, &mut out)?;
        let callee = out.ir;
        if self.ty(callee) != Ty::Func {
            return Err(AbortReason::NyiCall("a function stored in a struct field that held another value".into()));
        }
        let snapshot = match plan {
            CallPlan::Inline => {
                self.guard_prototype(callee, func, pc);
                None
            }
            CallPlan::Native(_) => {
                self.guard_identity(callee, func, pc);
                // The stores before the native call overwrite the receiver and the
                // arguments in memory: the call's snapshot (from before they move) lists
                // them, so an exit before the call finds them where `CallMethod` reads them.
                for r in base + 1..=base + 1 + argc {
                    let value = self.read(r, view, pc)?;
                    self.write(r, value);
                }
                self.materialize_slots(pc, self.stored_before_native_call(base, argc, pc))?;
                Some(self.snapshot(pc))
            }
        };
        let mut arguments = Vec::with_capacity(argc as usize);
        for r in base + 2..base + 2 + argc {
            arguments.push(self.read_sunk(r, view, pc)?);
        }
        for (r, argument) in (base + 1..).zip(arguments) {
            self.write(r, argument);
        }
        self.write(base, callee);
        match (plan, snapshot) {
            (CallPlan::Native(trace), Some(snapshot)) => {
                self.emit_native_call(func, trace, base, argc, snapshot, view, pc)
            }
            _ => self.enter_inlined(func.proto, FrameClosure::Value(callee), base, argc, view, pc),
        }
    }

    /// Follows a call of `func` into its body: guards that the callee slot holds a closure
    /// of `func`'s prototype, then stacks the callee's frame, its slots past the arguments
    /// null, with the callee value as its closure.
    pub(super) fn inline_call(
        &mut self,
        func: Gc<FuncObj>,
        base: Reg,
        argc: u16,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        checked_arity(func, argc, view)?;
        let closure = self.read(base, view, pc)?;
        self.guard_prototype(closure, func, pc);
        self.enter_inlined(func.proto, FrameClosure::Value(closure), base, argc, view, pc)
    }

    /// Stacks the frame of a call of `proto` (with closure `closure`) whose callee value is
    /// in slot `base` and whose first `filled` slots (arguments, or a receiver and
    /// arguments) follow it; the callee's other slots start null, as in a new interpreter
    /// frame.
    pub(super) fn enter_inlined(
        &mut self,
        proto: ProtoId,
        closure: FrameClosure,
        base: Reg,
        filled: u16,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let callee = view.program.proto(proto);
        if let Some(repeated) = self.frames.iter().position(|f| f.proto == proto) {
            // The functions from the repeated one on form a cycle of calls: traces call
            // them natively from now on. The ones inlined from this recording's frame down
            // to the cycle get function traces, so that recording again calls natively
            // where it inlined (a function whose trace calls natively is not inlined).
            self.recursive.extend(self.frames[repeated..].iter().map(|f| f.proto));
            self.wanted_functions.extend(self.frames[1..].iter().take(repeated.max(1)).map(|f| f.proto));
            return Err(AbortReason::RecursionFound(format!("`{}`", callee.name)));
        }
        if self.frames.len() > MAX_INLINE_DEPTH {
            return Err(AbortReason::InlineTooDeep);
        }
        let callee_base = self.slot(base) + 1;
        let callee_slots = callee.num_slots as usize;
        if callee_base + callee_slots > u16::MAX as usize {
            return Err(AbortReason::InlineTooDeep);
        }
        // The filled slots become the callee's first slots. The exit clears an inlined frame
        // and restores only modified slots, so they count as written (and any the trace had
        // not touched is loaded from the caller's frame first).
        for r in base + 1..=base + filled {
            let argument = self.read_sunk(r, view, pc)?;
            self.write(r, argument);
        }
        let live =
            self.live_slots.entry(proto).or_insert_with(|| Rc::new(LiveSlots::compute(view.program, callee))).clone();
        self.frames.last_mut().expect("the root frame is never popped").call = Some((pc, base));
        self.frames.push(RecordedFrame {
            proto,
            closure,
            base: callee_base,
            num_slots: callee_slots,
            live,
            call: None,
            in_memory: false,
        });
        self.max_inlined = self.max_inlined.max(self.frames.len() - 1);
        self.cover_slots(callee_base + callee_slots);
        let null = self.emit(Op::KNull, Ty::Null);
        for r in filled..callee.num_slots {
            self.write(r, null);
        }
        self.calls += 1;
        Ok(())
    }

    /// The inlined callee returns `result`: its frame is popped and the result replaces
    /// the callee value in the caller's frame, as `Vm::return_from_frame` does.
    pub(super) fn return_to_caller(&mut self, result: InstIdx) {
        self.frames.pop();
        // A return inside a try block drops its handlers, as the interpreter's does.
        let depth = self.frames.len() as u16;
        self.handlers.retain(|h| h.frame < depth);
        let caller = self.frames.last_mut().expect("the root frame is never popped");
        let (_, callee_slot) = caller.call.take().expect("the caller is in a call");
        self.write(callee_slot, result);
    }

    /// `len` of an array or a string (`Recording::Length`).
    pub(super) fn length(&mut self, base: Reg, view: &View, pc: u32) -> Result<(), AbortReason> {
        let argument = self.read_sunk(base + 1, view, pc)?;
        let length = if matches!(self.trace.inst(argument).op, Op::ANew | Op::AIns { .. }) {
            let count = self.trace.sunk_elements(argument).len();
            self.emit(Op::KInt(count as i64), Ty::Int)
        } else if let Value::Str(_) = view.slots[base as usize + 1] {
            let string = self.read(base + 1, view, pc)?;
            self.emit(Op::SLen(string), Ty::Int)
        } else {
            let array = self.read(base + 1, view, pc)?;
            self.emit(Op::ALen(array), Ty::Int)
        };
        self.write(base, length);
        Ok(())
    }

    /// `push(a, v)` and its aliases on an array `a`, `v` no builtin (`Recording::Append`).
    pub(super) fn append(&mut self, base: Reg, view: &View, pc: u32) -> Result<(), AbortReason> {
        let Value::Array(a) = view.slots[base as usize + 1] else {
            unreachable!("the call checked that push's first argument is an array")
        };
        let array = self.read(base + 1, view, pc)?;
        let value = self.read(base + 2, view, pc)?;
        // A shared array is copied, as the builtin does; an unshared one grows.
        let result = if a.is_shared() {
            self.emit_guard(Op::PushCopy { array, value }, Ty::Array, pc)
        } else {
            self.emit_guard(Op::APush { array, value }, Ty::Void, pc);
            array
        };
        self.write(base, result);
        Ok(())
    }

    /// The traced function returns: the trace ends with `Ret`.
    pub(super) fn function_return(&mut self, instr: Instr, view: &View, pc: u32) -> Result<Trace, AbortReason> {
        let result = match instr {
            Instr::Return { src } => self.read(src, view, pc)?,
            _ => self.emit(Op::KNull, Ty::Null),
        };
        self.emit(Op::Ret(result), Ty::Void);
        Ok(std::mem::take(&mut self.trace))
    }

    /// Whether a call of `callee` may be a native call of its function trace
    /// (`CallTrace`): only from the recording's own frame, and only of what inlining could
    /// not reproduce (a recursive callee, one with a loop, or the recording's own
    /// function). A root loop trace that calls natively is not peeled, so nothing is
    /// carried in registers across the call. Function and side traces inline small
    /// callees too: a native call stores the frame, checks the depth budget and reloads
    /// every slot after it (permute's function trace called `swap`, three lines, natively
    /// 36M times).
    pub(super) fn native_call_wanted(&self, callee: ProtoId, program: &Program) -> bool {
        if self.inlined() {
            return false;
        }
        let recursive = self.compiled.recursive.contains(&callee)
            || self.compiled.functions.get(&callee).is_some_and(|f| f.calls_natively);
        recursive || callee == self.frames[0].proto || contains_loop(program.proto(callee))
    }

    /// Aborts where a native call cannot be made: an exit inside the native callee
    /// rebuilds no handlers of this frame.
    fn check_native_call(&self) -> Result<(), AbortReason> {
        if self.changed_handlers() {
            return Err(AbortReason::NyiCall("a function with a trace of its own inside a try block".into()));
        }
        Ok(())
    }

    /// Which slots go to memory before a native call whose callee value is in slot `base`
    /// and whose `argc` arguments follow it: the arguments (which start the callee's
    /// frame) and what the frame may read after the call (the callee slot receives the
    /// result).
    fn stored_before_native_call(&self, base: Reg, argc: u16, pc: u32) -> impl Fn(usize) -> bool {
        let live = Rc::clone(&self.frames[0].live);
        let num_slots = self.frames[0].num_slots;
        move |s: usize| {
            let argument = s > base as usize && s <= (base + argc) as usize;
            s < num_slots && s != base as usize && (argument || live.live_after(pc, s as u16))
        }
    }

    /// A call of `func` whose function trace is `trace` (`SELF_TRACE`: this recording's
    /// own function), in the recording's own frame: the frame's live values and the
    /// arguments go to memory, and `CallTrace` runs that trace natively on the callee's
    /// frame. While the interpreter runs the call, recording pauses; after it, every slot
    /// is read from memory again.
    pub(super) fn native_call(
        &mut self,
        func: Gc<FuncObj>,
        trace: u32,
        base: Reg,
        argc: u16,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        self.check_native_call()?;
        self.guard_callee(func, base, argc, view, pc)?;
        for r in base + 1..=base + argc {
            let argument = self.read(r, view, pc)?;
            self.write(r, argument);
        }
        self.materialize_slots(pc, self.stored_before_native_call(base, argc, pc))?;
        let snapshot = self.snapshot(pc);
        self.emit_native_call(func, trace, base, argc, snapshot, view, pc)
    }

    /// The stores and the `CallTrace` of a native call whose callee is guarded, whose
    /// arguments are in place and whose stored slots hold no sunk value; `snapshot` is the
    /// state before the call instruction.
    #[allow(clippy::too_many_arguments)]
    fn emit_native_call(
        &mut self,
        func: Gc<FuncObj>,
        trace: u32,
        base: Reg,
        argc: u16,
        snapshot: SnapIdx,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let stored_slot = self.stored_before_native_call(base, argc, pc);
        let stored: Vec<(u16, InstIdx)> = (0..self.frames[0].num_slots)
            .filter(|&s| self.modified[s] && stored_slot(s))
            .map(|s| (s as u16, self.slots[s].expect("a modified slot holds a value")))
            .collect();
        for (slot, value) in stored {
            self.emit(Op::SStore { slot, value }, Ty::Void);
        }
        let callee = view.program.proto(func.proto);
        let live =
            self.live_slots.entry(func.proto).or_insert_with(|| Rc::new(LiveSlots::compute(view.program, callee)));
        // Slots the callee may read before writing them must start null, as in a new frame.
        let cleared = (argc..callee.num_slots).filter(|&s| live.live_at(0, s)).max().map_or(argc, |s| s + 1);
        let call = Op::CallTrace {
            function: func,
            trace,
            base,
            filled: argc,
            cleared,
            callee_slots: callee.num_slots,
            return_pc: pc + 1,
        };
        self.trace.push(call, Ty::Void, Some(snapshot), self.line);
        // The backend counts the events so far, and this call, at the call.
        self.back_edges = 0;
        self.calls = 0;
        self.in_self_call = Some(self.slot(base));
        Ok(())
    }

    /// Checks a call of `func` with `argc` arguments as the interpreter would (a wrong
    /// count raises) and guards that the callee slot `base` holds this very function: a
    /// native call runs a function trace recorded for that closure.
    fn guard_callee(
        &mut self,
        func: Gc<FuncObj>,
        base: Reg,
        argc: u16,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        checked_arity(func, argc, view)?;
        let value = self.read(base, view, pc)?;
        self.guard_identity(value, func, pc);
        Ok(())
    }

    /// Guards that callee value `value` is the function `func` itself.
    fn guard_identity(&mut self, value: InstIdx, func: Gc<FuncObj>, pc: u32) {
        if self.trace.inst(value).op != Op::KFunc(func) {
            let expected = self.emit(Op::KFunc(func), Ty::Func);
            let same = self.emit(Op::EqRef(value, expected), Ty::Bool);
            self.emit_guard(Op::GuardTrue(same), Ty::Void, pc);
        }
    }

    /// Guards that callee value `value` is a closure of `func`'s prototype, any one of
    /// them: an inlined callee reads its captured variables from the closure that arrives,
    /// so a fresh closure each time round stays on trace.
    fn guard_prototype(&mut self, value: InstIdx, func: Gc<FuncObj>, pc: u32) {
        let known = match self.trace.inst(value).op {
            Op::KFunc(f) => Some(f.proto),
            Op::FuncNew { proto } => Some(ProtoId(proto)),
            _ => None,
        };
        if known != Some(func.proto) {
            let proto = self.emit(Op::FuncProto(value), Ty::Int);
            let expected = self.emit(Op::KInt(func.proto.0 as i64), Ty::Int);
            let same = self.emit(Op::EqInt(proto, expected), Ty::Bool);
            self.emit_guard(Op::GuardTrue(same), Ty::Void, pc);
        }
    }

    /// Calls: Ruff functions are inlined (or called natively when they have traces of
    /// their own); a builtin whose table row names a `Recording` that suits the arguments
    /// is recorded as that; other builtins as their row's `OnTrace` says.
    pub(super) fn call(&mut self, base: Reg, argc: u16, lent: u16, view: &View, pc: u32) -> Result<(), AbortReason> {
        // Lent arguments the callee may keep or change are marked shared first, as the
        // interpreter does; the callee is guarded below, so the choice holds.
        let share = view.program.lent_arguments_to_share(view.slots[base as usize], lent);
        for arg in (0..argc).filter(|i| share & (1 << i) != 0) {
            let value = self.read_sunk(base + 1 + arg, view, pc)?;
            if !self.trace.inst(value).op.is_sunk()
                && matches!(self.ty(value), Ty::Array | Ty::Dict | Ty::Str | Ty::Struct)
            {
                self.emit(Op::MarkShared(value), Ty::Void);
            }
        }
        let (id, name) = match view.slots[base as usize] {
            Value::Builtin(id) => {
                let builtin = &BUILTINS[id as usize];
                if !(builtin.min_args as u16..=builtin.max_args as u16).contains(&argc) {
                    // The interpreter raises the arity error.
                    return Err(AbortReason::ErrorRaised);
                }
                (id, builtin.name)
            }
            Value::Func(f) => return self.call_function(f, base, argc, view, pc),
            // The interpreter raises "Cannot call non-function" (`Vm::call_other`).
            _ => return Err(AbortReason::ErrorRaised),
        };
        // Only a callee loaded as a constant on this trace is known to stay this builtin.
        let known = self.slots[self.slot(base)].map(|v| self.trace.inst(v).op);
        if !matches!(known, Some(Op::KBuiltin(_))) {
            return Err(AbortReason::NyiCall(format!("{} through a variable", name)));
        }
        let argument = |n: u16| if n <= argc { view.slots[(base + n) as usize] } else { Value::Null };
        let numbers = (1..=argc).all(|n| matches!(argument(n), Value::Int(_) | Value::Float(_)));
        match BUILTINS[id as usize].recording {
            Some(Recording::Length) if matches!(argument(1), Value::Array(_) | Value::Str(_)) => {
                return self.length(base, view, pc);
            }
            // Anything else (a non-array, whose push raises; a builtin pushed) is the
            // builtin's own call below.
            Some(Recording::Append)
                if matches!(argument(1), Value::Array(_)) && !matches!(argument(2), Value::Builtin(_)) =>
            {
                return self.append(base, view, pc);
            }
            Some(Recording::HasKey) if matches!(argument(1), Value::Dict(_)) && trace_key(argument(2)).is_some() => {
                return self.has_key(base, view, pc);
            }
            Some(Recording::ToText)
                if matches!(
                    argument(1),
                    Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::Null | Value::Str(_)
                ) =>
            {
                let value = TracedValue::of(self.read(base + 1, view, pc)?, argument(1));
                let text = semantics::text_of(&mut Tracing::new(self, pc), view.program, value)?;
                self.write(base, text.ir);
                return Ok(());
            }
            Some(Recording::Math(function)) if numbers => return self.math(function, base, argc, view, pc),
            Some(Recording::Bits(op)) if (1..=argc).all(|n| matches!(argument(n), Value::Int(_))) => {
                return self.bits(op, base, view, pc);
            }
            _ => {}
        }
        self.call_builtin(id, BUILTINS[id as usize].on_trace.has_effect(), base, argc, view, pc)
    }

    /// A call of Ruff function `f` (the callee value in slot `base`): natively through its
    /// function trace when that is wanted and possible, inlined otherwise.
    fn call_function(&mut self, f: Gc<FuncObj>, base: Reg, argc: u16, view: &View, pc: u32) -> Result<(), AbortReason> {
        match self.plan_call(f, view)? {
            CallPlan::Inline => self.inline_call(f, base, argc, view, pc),
            CallPlan::Native(trace) => self.native_call(f, trace, base, argc, view, pc),
        }
    }

    /// How to record a call of Ruff function `f`, or why it cannot be recorded yet.
    fn plan_call(&mut self, f: Gc<FuncObj>, view: &View) -> Result<CallPlan, AbortReason> {
        if !self.native_call_wanted(f.proto, view.program) {
            return Ok(CallPlan::Inline);
        }
        if self.kind == TraceKind::Function && Some(f) == self.function {
            return Ok(CallPlan::Native(SELF_TRACE));
        }
        match self.compiled.functions.get(&f.proto) {
            Some(compiled) if compiled.function == f => Ok(CallPlan::Native(compiled.trace)),
            _ => {
                // Without a trace of its own, a recursive callee cannot be followed: the
                // trace is recorded again once the callee has one. A callee with a loop is
                // inlined (up to its loop) while it has none. A loop calling its own
                // function leaves that function to its own count: a call picked now would
                // likely not be a leaf, and a trace of a non-leaf call needs this loop's
                // trace first.
                if self.compiled.recursive.contains(&f.proto) || f.proto == self.frames[0].proto {
                    if f.proto != self.frames[0].proto {
                        self.wanted_functions.push(f.proto);
                    }
                    let name = &view.program.proto(f.proto).name;
                    return Err(AbortReason::CalleeWithoutTrace(format!("`{}`", name)));
                }
                if contains_loop(view.program.proto(f.proto)) {
                    self.wanted_functions.push(f.proto);
                }
                Ok(CallPlan::Inline)
            }
        }
    }

    /// A numeric builtin on numbers, as a float-valued `Math` instruction.
    pub(super) fn math(
        &mut self,
        function: MathFn,
        base: Reg,
        argc: u16,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let mut args = Vec::with_capacity(argc as usize);
        for i in 0..argc {
            let v = self.read(base + 1 + i, view, pc)?;
            args.push(self.float_of(v));
        }
        let op = match args.as_slice() {
            [a] => Op::Math1(function, *a),
            [a, b] => Op::Math2(function, *a, *b),
            _ => unreachable!("math builtins take one or two arguments"),
        };
        let result = if op.is_guard() { self.emit_guard(op, Ty::Float, pc) } else { self.emit(op, Ty::Float) };
        self.write(base, result);
        Ok(())
    }

    /// A bit builtin on ints, as its int op (a guard for the shifts, whose count may be out
    /// of range: the exit makes the interpreter call the builtin, which raises the error).
    pub(super) fn bits(&mut self, function: BitOp, base: Reg, view: &View, pc: u32) -> Result<(), AbortReason> {
        let a = self.read(base + 1, view, pc)?;
        let op = match function {
            BitOp::Not => Op::BitNot(a),
            _ => {
                let b = self.read(base + 2, view, pc)?;
                match function {
                    BitOp::And => Op::BitAnd(a, b),
                    BitOp::Or => Op::BitOr(a, b),
                    BitOp::Xor => Op::BitXor(a, b),
                    BitOp::Shl => Op::ShiftLeft(a, b),
                    _ => Op::ShiftRight(a, b),
                }
            }
        };
        let result = if op.is_guard() { self.emit_guard(op, Ty::Int, pc) } else { self.emit(op, Ty::Int) };
        self.write(base, result);
        Ok(())
    }

    /// Any other builtin a trace may call (its row's `OnTrace`): a `CallBuiltin`, or for
    /// one with an `effect` a `CallEffect`, emitted once the interpreter has made the call
    /// and its result's type is known ([`Recorder::resolve_pending_call`]), with a
    /// snapshot from before it.
    pub(super) fn call_builtin(
        &mut self,
        builtin: u32,
        effect: bool,
        base: Reg,
        argc: u16,
        view: &View,
        pc: u32,
    ) -> Result<(), AbortReason> {
        let mut values = Vec::with_capacity(argc as usize);
        for n in 0..argc {
            values.push(self.read(base + 1 + n, view, pc)?);
        }
        let args = self.call_arguments(&values, pc)?;
        let snapshot = self.snapshot(pc);
        self.pending_call = Some(PendingCall { builtin, effect, args, base, snapshot, line: self.line });
        Ok(())
    }
}

/// The prototype of a call of `func` with `argc` arguments; a wrong count is the error the
/// interpreter raises.
fn checked_arity<'p>(func: Gc<FuncObj>, argc: u16, view: &View<'p>) -> Result<&'p Proto, AbortReason> {
    let callee = view.program.proto(func.proto);
    if callee.arity as usize != argc as usize {
        return Err(AbortReason::ErrorRaised);
    }
    Ok(callee)
}
