//! Code selection for one instruction: the x86-64 code of each IR op, given the
//! allocation (`Emitter::instruction`), with the sequences several ops share (tagged
//! loads and stores, field addressing, the private-or-helper pattern, float comparison
//! with Ruff's equality). Int arithmetic is in `ints.rs`, arrays in `arrays.rs`, dicts in
//! `dicts.rs`, strings in `strings.rs`.
//!
//! Terms and invariants are those of the parent module (`x64.rs`): operands, work
//! registers, scratch registers that hold nothing between instructions, helpers called
//! with rsp aligned and live caller-saved registers saved.

use super::*;

impl Emitter<'_> {
    pub(super) fn instruction(&mut self, i: usize) -> Result<(), AssembleError> {
        let inst = &self.trace.insts[i];
        let destination = self.destination(i);
        let unused_pure = destination.is_none() && !inst.op.has_effect();
        if self.alloc.fused[i] || inst.op.is_constant() || unused_pure {
            return Ok(());
        }
        let exit = match inst.snap {
            Some(snap) if inst.op.is_guard() => {
                let label = self.exit_label(snap);
                if self.deopt_stress {
                    emit!(self.ops
                        ; mov r11, QWORD self.stress_flags as i64
                        ; cmp BYTE [r11 + snap.0 as i32], 0
                        ; je =>label
                    );
                }
                Some(label)
            }
            _ => None,
        };
        let guard_exit = || exit.ok_or_else(|| AssembleError::Unsupported(format!("guard {} has no snapshot", i)));
        match inst.op {
            Op::KInt(_)
            | Op::KFloat(_)
            | Op::KBool(_)
            | Op::KNull
            | Op::KBuiltin(_)
            | Op::KStr(_)
            | Op::KFunc(_)
            | Op::Loop
            | Op::Phi(..)
            | Op::DNew
            | Op::DIns { .. }
            | Op::StructNew { .. }
            | Op::StructSet { .. }
            | Op::TagNew { .. }
            | Op::ANew
            | Op::AIns { .. } => {}
            Op::SLoad { slot } => {
                self.load_value(SLOTS_BASE, value_offset(slot as u64)?, inst.ty, destination, guard_exit()?)?
            }
            Op::GLoad { global } => {
                self.load_value(GLOBALS_BASE, value_offset(global as u64)?, inst.ty, destination, guard_exit()?)?
            }
            Op::SBuiltin { slot, builtin } => {
                self.guard_builtin(SLOTS_BASE, value_offset(slot as u64)?, builtin, guard_exit()?)
            }
            Op::GBuiltin { global, builtin } => {
                self.guard_builtin(GLOBALS_BASE, value_offset(global as u64)?, builtin, guard_exit()?)
            }
            Op::GStore { global, value } => self.store_value(GLOBALS_BASE, value_offset(global as u64)?, value)?,
            Op::SStore { slot, value } => self.store_value(SLOTS_BASE, value_offset(slot as u64)?, value)?,
            Op::ALen(array) => self.array_length(array, destination)?,
            Op::ALoad(array, index) => self.load_element(i, array, index, destination, guard_exit()?)?,
            Op::ALoadKnown(array, index) => self.load_known_element(i, array, index, destination, guard_exit()?)?,
            Op::GuardUnshared(object) => {
                let exit = guard_exit()?;
                let object = self.gpr_register(self.operand(object));
                emit!(self.ops
                    ; cmp BYTE [Rq(object) + SHARED_FLAG_OFFSET as i32], 0
                    ; jne =>exit
                );
            }
            Op::ALoadForWrite(array, index) => {
                self.load_element_for_write(i, array, index, destination, guard_exit()?)?
            }
            Op::CallTrace { function, trace, base, filled, cleared, return_pc, .. } => {
                let exit = guard_exit()?;
                let stride = value_offset(base as u64 + 1)?;
                emit!(self.ops
                    ; mov rax, [r13 + NATIVE_DEPTH]
                    ; cmp rax, [r13 + DEPTH_BUDGET]
                    ; jae =>exit
                );
                // The call is made: count it with what the trace did since its start (or
                // last call), in case an exit inside the callee unwinds this level.
                let snapshots = &self.trace.snapshots;
                let (back_edges, calls) =
                    inst.snap.map_or((0, 0), |s| (snapshots[s.index()].back_edges, snapshots[s.index()].calls));
                self.count_events(back_edges, calls + 1);
                self.flush_iterations();
                emit!(self.ops
                    ; lea rdx, [Rq(SLOTS_BASE) + stride]
                    ; mov r11, [r13 + NATIVE_FRAMES]
                    ; lea rax, [rax + rax * 2]
                    ; lea r11, [r11 + rax * 8]
                    ; mov [r11], rdx
                    ; mov QWORD [r11 + 8], return_pc as i32
                    ; mov rax, QWORD function.addr() as i64
                    ; mov [r11 + 16], rax
                    ; add QWORD [r13 + NATIVE_DEPTH], 1
                );
                for s in filled..cleared {
                    emit!(self.ops; mov BYTE [rdx + value_offset(s as u64)?], Tag::Null as i8);
                }
                self.count(COUNT_CALLS_MADE);
                emit!(self.ops
                    ; mov Rq(SLOTS_BASE), rdx
                    ; sub rsp, FRAME_SIZE
                );
                let target = match (trace, self.self_call) {
                    (SELF_TRACE, SelfCallTarget::Own(label)) => {
                        emit!(self.ops; call =>label);
                        None
                    }
                    (SELF_TRACE, SelfCallTarget::Address(address)) => Some(address),
                    (other, _) => Some(
                        *self
                            .trace_entries
                            .get(other as usize)
                            .ok_or_else(|| AssembleError::Unsupported(format!("call of unknown trace {}", other)))?,
                    ),
                };
                if let Some(address) = target {
                    emit!(self.ops
                        ; mov r11, QWORD address as i64
                        ; call r11
                    );
                }
                emit!(self.ops
                    ; add rsp, FRAME_SIZE
                    ; sub Rq(SLOTS_BASE), stride
                    ; sub QWORD [r13 + NATIVE_DEPTH], 1
                );
                self.count(COUNT_CALLS_RETURNED);
            }
            Op::JumpTrace { trace } => {
                let address = *self
                    .trace_entries
                    .get(trace as usize)
                    .ok_or_else(|| AssembleError::Unsupported(format!("jump to unknown trace {}", trace)))?;
                self.count_completion();
                self.flush_iterations();
                emit!(self.ops
                    ; mov r11, QWORD address as i64
                    ; jmp r11
                );
            }
            Op::Ret(value) => {
                self.count_completion();
                self.flush_iterations();
                self.store_value(SLOTS_BASE, -16, value)?;
                let native_caller = self.ops.new_dynamic_label();
                emit!(self.ops
                    ; cmp QWORD [r13 + NATIVE_DEPTH], 0
                    ; jne =>native_caller
                    ; mov eax, FUNCTION_RETURNED as i32
                    ; jmp =>self.epilogue
                    ; =>native_caller
                    ; ret
                );
            }
            Op::MarkShared(object) => {
                let r = self.gpr_register(self.operand(object));
                emit!(self.ops; mov BYTE [Rq(r) + SHARED_FLAG_OFFSET as i32], Sharing::Shared as i8);
            }
            Op::Lend(object) => {
                let r = self.gpr_register(self.operand(object));
                emit!(self.ops
                    ; cmp BYTE [Rq(r) + SHARED_FLAG_OFFSET as i32], Sharing::Unique as i8
                    ; jne >not_unique
                    ; mov BYTE [Rq(r) + SHARED_FLAG_OFFSET as i32], Sharing::Lent as i8
                    ; jmp >lent
                    ; not_unique:
                    ; mov BYTE [Rq(r) + SHARED_FLAG_OFFSET as i32], Sharing::Shared as i8
                    ; lent:
                );
            }
            Op::EndLoan(object) => {
                let r = self.gpr_register(self.operand(object));
                emit!(self.ops
                    ; cmp BYTE [Rq(r) + SHARED_FLAG_OFFSET as i32], Sharing::Lent as i8
                    ; jne >still_shared
                    ; mov BYTE [Rq(r) + SHARED_FLAG_OFFSET as i32], Sharing::Unique as i8
                    ; still_shared:
                );
            }
            Op::FieldLoad { object, field, position } => {
                let (layout, exit) = (self.object_layout()?, guard_exit()?);
                let s = self.gpr_register(self.operand(object));
                let offset = self.field_address(s, field, position, layout, exit)?;
                self.load_value(ELEMENT, offset + layout.field_value, inst.ty, destination, exit)?;
            }
            Op::FieldBuiltin { object, field, position, builtin } => {
                let (layout, exit) = (self.object_layout()?, guard_exit()?);
                let s = self.gpr_register(self.operand(object));
                let offset = self.field_address(s, field, position, layout, exit)?;
                self.guard_builtin(ELEMENT, offset + layout.field_value, builtin, exit);
            }
            Op::FieldStore { object, field, position, value } => {
                let (layout, exit) = (self.object_layout()?, guard_exit()?);
                let s = self.gpr_register(self.operand(object));
                self.exit_if_shared(s, layout, exit);
                self.write_barrier(s, value)?;
                let offset = self.field_address(s, field, position, layout, exit)?;
                self.store_value(ELEMENT, offset + layout.field_value, value)?;
            }
            Op::FieldLoadKnown { object, position, .. } => {
                let (layout, exit) = (self.object_layout()?, guard_exit()?);
                let s = self.gpr_register(self.operand(object));
                let offset = self.known_field_address(s, position, layout)?;
                self.load_value(ELEMENT, offset + layout.field_value, inst.ty, destination, exit)?;
            }
            Op::FieldStoreKnown { object, position, value, .. } => {
                let layout = self.object_layout()?;
                let s = self.gpr_register(self.operand(object));
                self.write_barrier(s, value)?;
                let offset = self.known_field_address(s, position, layout)?;
                self.store_value(ELEMENT, offset + layout.field_value, value)?;
            }
            Op::FieldInit { object, field, value } => {
                let layout = self.object_layout()?;
                let s = self.gpr_register(self.operand(object));
                // The struct has room (its `ALLOC` reserved it): the entry goes at the
                // list's length, which then grows by one, as `Vec::push` does without growing.
                emit!(self.ops
                    ; imul Rq(ELEMENT), [Rq(s) + layout.fields_len], layout.field_stride
                    ; add Rq(ELEMENT), [Rq(s) + layout.fields_ptr]
                    ; add QWORD [Rq(s) + layout.fields_len], 1
                    ; mov DWORD [Rq(ELEMENT) + layout.field_name], field as i32
                );
                // After the length: `s` may be rax, which the store may use.
                self.store_value(ELEMENT, layout.field_value, value)?;
            }
            Op::CaptureTag { func: object, index: field } | Op::CaptureGet { func: object, index: field } => {
                let arguments =
                    vec![(Operand::Gpr(RDI), self.operand(object)), (Operand::Gpr(RSI), Operand::Bits(field as u64))];
                let result =
                    if inst.ty == Ty::Float { HelperResult::Xmm0(destination) } else { HelperResult::Rax(destination) };
                self.call_helper(i, arguments, result);
            }
            Op::FuncProto(func) => {
                let f = self.gpr_register(self.operand(func));
                let work = Self::gpr_work(destination);
                emit!(self.ops; mov Rd(work), DWORD [Rq(f) + FUNC_PROTO_OFFSET]);
                self.store(destination, Operand::Gpr(work));
            }
            Op::FuncNew { proto } => {
                let exit = guard_exit()?;
                let arguments =
                    vec![(Operand::Gpr(RDI), Operand::Bits(proto as u64)), (Operand::Gpr(RSI), Operand::Gpr(R13))];
                self.call_helper(i, arguments, HelperResult::Rax(destination));
                emit!(self.ops; cmp QWORD [r13 + MUST_EXIT], 0; jne =>exit);
            }
            Op::CaptureSet { func, index, value } => {
                let tag = value_tag(self.trace.inst(value).ty)?;
                let arguments = vec![
                    (Operand::Gpr(RDI), self.operand(func)),
                    (Operand::Gpr(RSI), Operand::Bits(index as u64)),
                    (Operand::Gpr(RDX), Operand::Bits(tag as u64)),
                    (Operand::Gpr(RCX), self.operand(value)),
                    (Operand::Gpr(R8), Operand::Gpr(R13)),
                ];
                self.call_helper(i, arguments, HelperResult::Nothing);
            }
            Op::StructType(object) | Op::TagKey(object) | Op::PayloadTag(object) => {
                let arguments = vec![(Operand::Gpr(RDI), self.operand(object))];
                self.call_helper(i, arguments, HelperResult::Rax(destination));
            }
            Op::PayloadGet(object) => {
                let arguments = vec![(Operand::Gpr(RDI), self.operand(object))];
                let result =
                    if inst.ty == Ty::Float { HelperResult::Xmm0(destination) } else { HelperResult::Rax(destination) };
                self.call_helper(i, arguments, result);
            }
            Op::SConcat(a, b) => self.concatenate(i, a, b, destination, guard_exit()?),
            Op::ToStr(value) => self.scalar_to_string(i, value, destination, guard_exit()?)?,
            Op::SChar(string, index) => self.string_char(i, string, index, destination, guard_exit()?),
            Op::CallBuiltin { args, .. } | Op::CallResidual { args, .. } | Op::CallEffect { args, .. } => {
                let builtin = match inst.op {
                    Op::CallResidual { function, .. } => function.code(),
                    Op::CallBuiltin { builtin, .. } | Op::CallEffect { builtin, .. } => builtin,
                    _ => unreachable!("matched above"),
                };
                let spread = args.is_spread();
                let (args, argc) = (args.as_slice(), args.as_slice().len() as u8);
                let exit = guard_exit()?;
                let mut arg_tags = [0; MAX_BUILTIN_ARGS];
                let mut arguments = Vec::with_capacity(2 + MAX_BUILTIN_ARGS);
                for (n, register) in [RSI, RDX, RCX].into_iter().enumerate() {
                    let payload = if n < argc as usize {
                        arg_tags[n] = value_tag(self.trace.inst(args[n]).ty)? as u8;
                        self.operand(args[n])
                    } else {
                        Operand::Bits(0)
                    };
                    arguments.push((Operand::Gpr(register), payload));
                }
                let result_tag = value_tag(inst.ty)? as u8;
                let argc = if spread { SPREAD_ARGUMENTS } else { argc };
                let call = BuiltinCall { builtin, argc, arg_tags, result_tag };
                arguments.push((Operand::Gpr(RDI), Operand::Bits(call.encode())));
                arguments.push((Operand::Gpr(R8), Operand::Gpr(R13)));
                let result =
                    if inst.ty == Ty::Float { HelperResult::Xmm0(destination) } else { HelperResult::Rax(destination) };
                self.call_helper(i, arguments, result);
                if let Op::CallEffect { slot, .. } = inst.op {
                    // Only a failure exits before the call; the result goes to its slot
                    // whatever its type, for `ECHECK`'s exit after the call.
                    let displacement = value_offset(slot as u64)?;
                    emit!(self.ops
                        ; cmp QWORD [r13 + MUST_EXIT], 1
                        ; je =>exit
                        ; mov r11, [r13 + CALL_RESULT]
                        ; mov [Rq(SLOTS_BASE) + displacement], r11
                        ; mov r11, [r13 + CALL_RESULT + 8]
                        ; mov [Rq(SLOTS_BASE) + displacement + 8], r11
                    );
                } else {
                    emit!(self.ops; cmp QWORD [r13 + MUST_EXIT], 0; jne =>exit);
                }
            }
            Op::EffectCheck(_) => {
                let exit = guard_exit()?;
                emit!(self.ops; cmp QWORD [r13 + MUST_EXIT], 0; jne =>exit);
            }
            Op::AUnique(container) | Op::SUnique(container) => {
                let (layout, exit) = (self.object_layout()?, guard_exit()?);
                let arguments =
                    vec![(Operand::Gpr(RDI), self.operand(container)), (Operand::Gpr(RSI), Operand::Gpr(R13))];
                self.private_or_helper(i, exit, arguments, |this, slow| {
                    let c = this.gpr_register(this.operand(container));
                    this.exit_if_shared(c, layout, slow);
                    Ok(c)
                })?;
            }
            Op::ALoadUnique(array, index) => self.private_element(i, array, index, guard_exit()?)?,
            Op::FieldLoadUnique { object, field, position } => {
                let (layout, exit) = (self.object_layout()?, guard_exit()?);
                let tag = value_tag(inst.ty)?;
                let arguments = vec![
                    (Operand::Gpr(RDI), self.operand(object)),
                    (Operand::Gpr(RSI), Operand::Bits(field as u64)),
                    (Operand::Gpr(RDX), Operand::Bits(position as u64)),
                    (Operand::Gpr(RCX), Operand::Bits(tag as u64)),
                    (Operand::Gpr(R8), Operand::Gpr(R13)),
                ];
                self.private_or_helper(i, exit, arguments, |this, slow| {
                    let s = this.gpr_register(this.operand(object));
                    this.exit_if_shared(s, layout, slow);
                    let offset = this.field_address(s, field, position, layout, slow)?;
                    Ok(this.private_object_at(offset + layout.field_value, tag, slow))
                })?;
            }
            Op::PushCopy { array, value } => self.push_copy(i, array, value, destination, guard_exit()?)?,
            Op::Alloc(kind) => {
                let exit = guard_exit()?;
                let arguments = vec![
                    (Operand::Gpr(RDI), Operand::Bits(allocation_kind(kind))),
                    (Operand::Gpr(RSI), Operand::Gpr(R13)),
                ];
                self.call_helper(i, arguments, HelperResult::Rax(destination));
                emit!(self.ops; cmp QWORD [r13 + MUST_EXIT], 0; jne =>exit);
            }
            Op::DictKeys(dict) => self.dict_keys(i, dict, destination, guard_exit()?),
            Op::FieldSet { object, field, value } => {
                let exit = guard_exit()?;
                let tag = value_tag(self.trace.inst(value).ty)?;
                let arguments = vec![
                    (Operand::Gpr(RDI), self.operand(object)),
                    (Operand::Gpr(RSI), Operand::Bits(field as u64)),
                    (Operand::Gpr(RDX), Operand::Bits(tag as u64)),
                    (Operand::Gpr(RCX), self.operand(value)),
                    (Operand::Gpr(R8), Operand::Gpr(R13)),
                ];
                self.call_helper(i, arguments, HelperResult::Rax(destination));
                emit!(self.ops; cmp QWORD [r13 + MUST_EXIT], 0; jne =>exit);
            }
            Op::SBytes(string) => self.string_length(i, string, true),
            Op::SNextChar(string, position) => self.next_char(i, string, position, destination, guard_exit()?),
            Op::SLen(string) => self.string_length(i, string, false),
            Op::SEq(a, b) => self.string_equal(i, a, b),
            Op::AStore { array, index, value } => self.store_element(array, index, value, guard_exit()?)?,
            Op::AStoreKnown { array, index, value } => self.store_known_element(array, index, value)?,
            Op::APush { array, value } => self.push_element(i, array, value, guard_exit()?)?,
            Op::SAppend { string, piece } => self.string_append(i, string, piece, guard_exit()?),
            Op::DTag(dict, key) => self.dict_tag(i, dict, key, destination),
            Op::DGet(dict, key) => self.dict_get(i, dict, key, destination),
            Op::DSet { dict, key, value } => self.dict_set(i, dict, key, value, guard_exit()?)?,
            Op::AddInt(a, b) => self.checked_int(IntAlu::Add, a, b, destination, guard_exit()?),
            Op::SubInt(a, b) => self.checked_int(IntAlu::Sub, a, b, destination, guard_exit()?),
            Op::MulInt(a, b) => self.checked_int(IntAlu::Imul, a, b, destination, guard_exit()?),
            Op::DivInt(a, b) => self.int_division(a, b, false, destination, guard_exit()?),
            Op::ModInt(a, b) => self.int_division(a, b, true, destination, guard_exit()?),
            Op::NegInt(a) => {
                let exit = guard_exit()?;
                let work = Self::gpr_work(destination);
                self.load_gpr(work, self.operand(a));
                emit!(self.ops; neg Rq(work); jo =>exit);
                self.store(destination, Operand::Gpr(work));
            }
            Op::AddIntExact(a, b) => self.unchecked_int(IntAlu::Add, a, b, destination),
            Op::SubIntExact(a, b) => self.unchecked_int(IntAlu::Sub, a, b, destination),
            Op::BitAnd(a, b) => self.unchecked_int(IntAlu::And, a, b, destination),
            Op::BitOr(a, b) => self.unchecked_int(IntAlu::Or, a, b, destination),
            Op::BitXor(a, b) => self.unchecked_int(IntAlu::Xor, a, b, destination),
            Op::BitNot(a) => {
                let work = Self::gpr_work(destination);
                self.load_gpr(work, self.operand(a));
                emit!(self.ops; not Rq(work));
                self.store(destination, Operand::Gpr(work));
            }
            Op::ShiftLeft(a, b) => self.shift(true, a, b, destination, guard_exit()?),
            Op::ShiftRight(a, b) => self.shift(false, a, b, destination, guard_exit()?),
            Op::AddFloat(a, b) => self.float_arith(FloatAlu::Add, a, b, destination),
            Op::SubFloat(a, b) => self.float_arith(FloatAlu::Sub, a, b, destination),
            Op::MulFloat(a, b) => self.float_arith(FloatAlu::Mul, a, b, destination),
            Op::DivFloat(a, b) => {
                self.exit_if_divisor_zero(i, b, guard_exit()?);
                if destination.is_some() {
                    self.float_arith(FloatAlu::Div, a, b, destination);
                }
            }
            Op::ModFloat(a, b) => {
                self.exit_if_divisor_zero(i, b, guard_exit()?);
                if destination.is_some() {
                    self.call_float_helper(i, &[a, b]);
                }
            }
            Op::NegFloat(a) => self.flip_sign_bit(a, destination, false),
            Op::IntToFloat(a) => {
                let work = Self::xmm_work(destination);
                let source = self.operand(a);
                // xorps breaks cvtsi2sd's false dependency on the old upper bits of `work`.
                emit!(self.ops; xorps Rx(work), Rx(work));
                match source {
                    Operand::Spill(m) => emit!(self.ops; cvtsi2sd Rx(work), QWORD [r13 + m]),
                    other => {
                        let r = self.gpr_register(other);
                        emit!(self.ops; cvtsi2sd Rx(work), Rq(r));
                    }
                }
                self.store(destination, Operand::Xmm(work));
            }
            Op::NotBool(a) => {
                let work = Self::gpr_work(destination);
                self.load_gpr(work, self.operand(a));
                emit!(self.ops; xor Rq(work), 1);
                self.store(destination, Operand::Gpr(work));
            }
            Op::GuardTrue(condition) | Op::GuardFalse(condition) => {
                let holds = if self.alloc.fused[condition.index()] {
                    self.condition(condition)
                } else {
                    match self.operand(condition) {
                        Operand::Spill(m) => emit!(self.ops; cmp QWORD [r13 + m], 0),
                        other => {
                            let r = self.gpr_register(other);
                            emit!(self.ops; test Rq(r), Rq(r));
                        }
                    }
                    Cond::NotEqual
                };
                let exits_when = if matches!(inst.op, Op::GuardTrue(_)) { holds.negate() } else { holds };
                let exit = guard_exit()?;
                self.jump_if(exits_when, exit);
            }
            Op::Math1(MathFn::Abs, a) => self.flip_sign_bit(a, destination, true),
            Op::Math1(MathFn::Sqrt, a) => {
                // sqrt() fails on x < 0; NaN and -0.0 pass (their roots are NaN and -0.0).
                let exit = guard_exit()?;
                let x = self.operand(a);
                emit!(self.ops; xorps Rx(XMM_WORK), Rx(XMM_WORK));
                self.float_alu(FloatAlu::Ucomi, XMM_WORK, x);
                emit!(self.ops; ja =>exit);
                if destination.is_some() {
                    let work = Self::xmm_work(destination);
                    self.float_alu(FloatAlu::Sqrt, work, x);
                    self.store(destination, Operand::Xmm(work));
                }
            }
            Op::Math1(MathFn::Log, a) => {
                // log() fails on x <= 0; NaN passes (0 >= NaN is unordered: CF set).
                let exit = guard_exit()?;
                emit!(self.ops; xorps Rx(XMM_WORK), Rx(XMM_WORK));
                self.float_alu(FloatAlu::Ucomi, XMM_WORK, self.operand(a));
                emit!(self.ops; jae =>exit);
                if destination.is_some() {
                    self.call_float_helper(i, &[a]);
                }
            }
            Op::Math1(_, a) => self.call_float_helper(i, &[a]),
            Op::Math2(_, a, b) => self.call_float_helper(i, &[a, b]),
            Op::LtInt(..)
            | Op::LeInt(..)
            | Op::GtInt(..)
            | Op::GeInt(..)
            | Op::EqInt(..)
            | Op::NeInt(..)
            | Op::LtFloat(..)
            | Op::LeFloat(..)
            | Op::GtFloat(..)
            | Op::GeFloat(..)
            | Op::EqFloat(..)
            | Op::NeFloat(..)
            | Op::EqBool(..)
            | Op::EqRef(..)
            | Op::TruthyInt(_)
            | Op::TruthyFloat(_) => {
                let holds = self.condition(InstIdx(i as u32));
                self.set_al_if(holds);
                let work = Self::gpr_work(destination);
                emit!(self.ops; movzx Rd(work), al);
                self.store(destination, Operand::Gpr(work));
            }
        }
        Ok(())
    }

    pub(super) fn load_value(
        &mut self,
        base: u8,
        offset: i32,
        ty: Ty,
        destination: Option<Operand>,
        exit: DynamicLabel,
    ) -> Result<(), AssembleError> {
        let payload = offset + 8;
        let tag = value_tag(ty)?;
        emit!(self.ops
            ; cmp BYTE [Rq(base) + offset], tag
            ; jne =>exit
        );
        match (ty, destination) {
            // Types without storage (the verifier admits only null among them for loads).
            (_, None) | (Ty::Null | Ty::Builtin | Ty::Void, _) => {}
            (Ty::Float, Some(Operand::Xmm(x))) => emit!(self.ops; movsd Rx(x), [Rq(base) + payload]),
            (Ty::Bool, destination) => {
                let work = Self::gpr_work(destination);
                emit!(self.ops; movzx Rd(work), BYTE [Rq(base) + payload]);
                self.store(destination, Operand::Gpr(work));
            }
            (
                Ty::Int | Ty::Float | Ty::Array | Ty::Dict | Ty::Str | Ty::Func | Ty::Struct | Ty::Tagged,
                destination,
            ) => {
                let work = Self::gpr_work(destination);
                emit!(self.ops; mov Rq(work), [Rq(base) + payload]);
                self.store(destination, Operand::Gpr(work));
            }
        }
        Ok(())
    }

    /// Exits unless the `Value` at `[base + offset]` is builtin `builtin`: its tag, then its
    /// index (a `u32` at the start of the payload, `Value` being `repr(C, u8)`).
    fn guard_builtin(&mut self, base: u8, offset: i32, builtin: u32, exit: DynamicLabel) {
        emit!(self.ops
            ; cmp BYTE [Rq(base) + offset], Tag::Builtin as i8
            ; jne =>exit
            ; cmp DWORD [Rq(base) + offset + 8], builtin as i32
            ; jne =>exit
        );
    }

    /// Writes `value` as the `Value` at `[base + offset]`: its tag, then its payload.
    /// `base` must not be rax, which may carry the payload.
    pub(super) fn store_value(&mut self, base: u8, offset: i32, value: InstIdx) -> Result<(), AssembleError> {
        let ty = self.trace.inst(value).ty;
        let tag = value_tag(ty)?;
        emit!(self.ops; mov BYTE [Rq(base) + offset], tag);
        if ty == Ty::Null {
            return Ok(());
        }
        let payload = offset + 8;
        // A bool is stored as the whole 0/1 word: byte 8 is the bool, the rest is padding.
        match self.operand(value) {
            Operand::Xmm(x) => emit!(self.ops; movsd [Rq(base) + payload], Rx(x)),
            Operand::Bits(bits) if fits_i32(bits as i64) => {
                emit!(self.ops; mov QWORD [Rq(base) + payload], bits as i32)
            }
            other => {
                let r = self.gpr_register(other);
                emit!(self.ops; mov [Rq(base) + payload], Rq(r));
            }
        }
        Ok(())
    }

    pub(super) fn object_layout(&self) -> Result<ObjectLayout, AssembleError> {
        self.object_layout.ok_or_else(|| AssembleError::Unsupported("object layout unknown".into()))
    }

    /// Exits when the array or struct object at register `a` is shared: writing to it in
    /// place would change what its other holders see, so only the interpreter (which copies
    /// it first) may write.
    /// The ops that make a container private for a write into it (`AUNIQUE`, `SUNIQUE`,
    /// `ALOADU`, `FLOADU`) change nothing when it already is: `fast` emits the checks
    /// that it is (jumping to `slow` where one fails) and returns the register holding
    /// the container, which becomes the result; only `slow` calls the op's helper, which
    /// copies a shared container or notes that the trace must be left. The fast path
    /// allocates nothing, so no collection can have become due on it.
    pub(super) fn private_or_helper(
        &mut self,
        i: usize,
        exit: DynamicLabel,
        arguments: Vec<(Operand, Operand)>,
        fast: impl FnOnce(&mut Self, DynamicLabel) -> Result<u8, AssembleError>,
    ) -> Result<(), AssembleError> {
        let (slow, done) = (self.ops.new_dynamic_label(), self.ops.new_dynamic_label());
        let destination = self.destination(i);
        let found = fast(self, slow)?;
        self.store(destination, Operand::Gpr(found));
        emit!(self.ops
            ; jmp =>done
            ; =>slow
        );
        self.call_helper(i, arguments, HelperResult::Rax(destination));
        emit!(self.ops
            ; cmp QWORD [r13 + MUST_EXIT], 0
            ; jne =>exit
            ; =>done
        );
        Ok(())
    }

    /// Jumps to `slow` unless the `Value` at `[ELEMENT + offset]` has tag `tag` and holds
    /// an unshared object; returns rax, which then holds the object's address.
    pub(super) fn private_object_at(&mut self, offset: i32, tag: i8, slow: DynamicLabel) -> u8 {
        emit!(self.ops
            ; cmp BYTE [Rq(ELEMENT) + offset], tag
            ; jne =>slow
            ; mov rax, [Rq(ELEMENT) + offset + 8]
            ; cmp BYTE [rax + SHARED_FLAG_OFFSET as i32], 0
            ; jne =>slow
        );
        RAX
    }

    /// The write barrier of an in-place store into the object at register `object`
    /// (`runtime/heap.rs`): when the object is old and not yet remembered, calls
    /// `remember_object`, which puts it in the heap's remembered set. The test is one
    /// compare of a header byte; the call is rare (once per object between two
    /// collections), so its path saves and restores every caller-saved register rather
    /// than working out which hold values: those of this instruction's own operands too.
    ///
    /// Each register goes to its own slot of the call save area, except rax: in a trace
    /// entered by a native call (`CALLTRACE`), `[rsp]` is the return address, so rax uses
    /// rsp's slot, which nothing else does.
    ///
    /// Only a stored object can make an old object refer to a young one: a store of an
    /// int, float, bool or null (its type is the IR value's) needs no barrier (bounce's
    /// float field stores: 4% of its instructions with one).
    pub(super) fn write_barrier(&mut self, object: u8, stored: InstIdx) -> Result<(), AssembleError> {
        // Tags `Str` to `Func` are exactly the objects (`value.rs`).
        let tag = value_tag(self.trace.inst(stored).ty)?;
        if !(Tag::Str as i8..=Tag::Func as i8).contains(&tag) {
            return Ok(());
        }
        const CALLER_SAVED_GPRS: [u8; 9] = [RAX, RCX, RDX, RSI, RDI, R8, R9, R10, R11];
        let slot = |r: u8| 8 * if r == RAX { RSP } else { r } as i32;
        emit!(self.ops
            ; cmp BYTE [Rq(object) + UNREMEMBERED_FLAG_OFFSET as i32], 0
            ; je >remembered
        );
        for r in CALLER_SAVED_GPRS {
            emit!(self.ops; mov [rsp + slot(r)], Rq(r));
        }
        for x in 0..16u8 {
            emit!(self.ops; movsd [rsp + CALL_SAVE_XMM + 8 * x as i32], Rx(x));
        }
        emit!(self.ops
            ; mov rdi, Rq(object)
            ; mov rsi, r13
            ; mov rax, QWORD remember_object as extern "sysv64" fn(*mut u8, *mut ExitState) as usize as i64
            ; call rax
        );
        for x in 0..16u8 {
            emit!(self.ops; movsd Rx(x), [rsp + CALL_SAVE_XMM + 8 * x as i32]);
        }
        for r in CALLER_SAVED_GPRS {
            emit!(self.ops; mov Rq(r), [rsp + slot(r)]);
        }
        emit!(self.ops; remembered:);
        Ok(())
    }

    pub(super) fn exit_if_shared(&mut self, a: u8, layout: ObjectLayout, exit: DynamicLabel) {
        emit!(self.ops
            ; cmp BYTE [Rq(a) + layout.shared_flag], 0
            ; jne =>exit
        );
    }

    /// Exits unless the struct object at register `s` holds field `field` at `position` of
    /// its field list; then leaves the list's address in `ELEMENT` and returns the offset of
    /// that entry from it.
    pub(super) fn field_address(
        &mut self,
        s: u8,
        field: u32,
        position: u32,
        layout: ObjectLayout,
        exit: DynamicLabel,
    ) -> Result<i32, AssembleError> {
        let offset = field_offset(position, layout)?;
        emit!(self.ops
            ; cmp QWORD [Rq(s) + layout.fields_len], position as i32
            ; jbe =>exit
            ; mov Rq(ELEMENT), [Rq(s) + layout.fields_ptr]
            ; cmp DWORD [Rq(ELEMENT) + offset + layout.field_name], field as i32
            ; jne =>exit
        );
        Ok(offset)
    }

    /// What `field_address` leaves for a field the struct is known to have at `position`
    /// (`FieldLoadKnown`, `FieldStoreKnown`): the field list's address, no check.
    fn known_field_address(&mut self, s: u8, position: u32, layout: ObjectLayout) -> Result<i32, AssembleError> {
        let offset = field_offset(position, layout)?;
        emit!(self.ops; mov Rq(ELEMENT), [Rq(s) + layout.fields_ptr]);
        Ok(offset)
    }

    pub(super) fn float_arith(&mut self, op: FloatAlu, a: InstIdx, b: InstIdx, destination: Option<Operand>) {
        let work = Self::xmm_work(destination);
        self.load_xmm(work, self.operand(a));
        self.float_alu(op, work, self.operand(b));
        self.store(destination, Operand::Xmm(work));
    }

    /// Exits when float `divisor`, read at position `i`, is zero. A divisor converted from
    /// an int still in its location is zero exactly when that int is (no other int
    /// converts to 0.0), and testing the int is one fused compare-and-branch where the
    /// float's bits take a move to a general register, a shift and a branch: the loop
    /// `1.0 / (i + j + 1)` of spectral_norm ran out of the ports that shifts and branches
    /// share.
    fn exit_if_divisor_zero(&mut self, i: usize, divisor: InstIdx, exit: DynamicLabel) {
        if let Op::IntToFloat(int) = self.trace.inst(divisor).op {
            let live = self.alloc.interval_end[int.index()] >= i;
            match self.operand(int) {
                Operand::Gpr(r) if live => {
                    emit!(self.ops; test Rq(r), Rq(r); jz =>exit);
                    return;
                }
                Operand::Spill(m) if live => {
                    emit!(self.ops; cmp QWORD [r13 + m], 0; je =>exit);
                    return;
                }
                _ => {}
            }
        }
        self.exit_if_float_zero(self.operand(divisor), exit);
    }

    /// Exits when `divisor` is +0.0 or -0.0: the only doubles whose bits without the sign
    /// are all zero (NaN is not zero).
    pub(super) fn exit_if_float_zero(&mut self, divisor: Operand, exit: DynamicLabel) {
        match divisor {
            Operand::Bits(bits) if bits << 1 == 0 => emit!(self.ops; jmp =>exit),
            Operand::Bits(_) => {}
            other => {
                self.load_gpr(RAX, other);
                // `add` rather than `shl`: it fuses with the branch into one uop.
                emit!(self.ops; add rax, rax; jz =>exit);
            }
        }
    }

    /// Negation (flip) or `abs` (clear) as an operation on the sign bit, as `f64::abs`
    /// and IEEE negation are.
    pub(super) fn flip_sign_bit(&mut self, a: InstIdx, destination: Option<Operand>, clear: bool) {
        self.load_gpr(RAX, self.operand(a));
        if clear {
            emit!(self.ops; btr rax, BYTE SIGN_BIT);
        } else {
            emit!(self.ops; btc rax, BYTE SIGN_BIT);
        }
        self.store(destination, Operand::Gpr(RAX));
    }

    /// Sets the flags for comparison `c` and returns the condition under which it holds.
    pub(super) fn condition(&mut self, c: InstIdx) -> Cond {
        let op = self.trace.inst(c).op;
        match op {
            Op::LtInt(a, b) => self.int_compare(a, b, Cond::Less),
            Op::LeInt(a, b) => self.int_compare(a, b, Cond::LessEq),
            Op::GtInt(a, b) => self.int_compare(a, b, Cond::Greater),
            Op::GeInt(a, b) => self.int_compare(a, b, Cond::GreaterEq),
            Op::EqInt(a, b) | Op::EqBool(a, b) | Op::EqRef(a, b) => self.int_compare(a, b, Cond::Equal),
            Op::NeInt(a, b) => self.int_compare(a, b, Cond::NotEqual),
            Op::TruthyInt(a) => {
                match self.operand(a) {
                    Operand::Spill(m) => emit!(self.ops; cmp QWORD [r13 + m], 0),
                    other => {
                        let r = self.gpr_register(other);
                        emit!(self.ops; test Rq(r), Rq(r));
                    }
                }
                Cond::NotEqual
            }
            // ucomisd reports "unordered" (a NaN operand) as CF=ZF=PF=1, so the "above"
            // conditions (CF=0) are false on NaN; `a < b` is therefore tested as `b > a`.
            Op::LtFloat(a, b) => self.float_compare(b, a, Cond::Above),
            Op::LeFloat(a, b) => self.float_compare(b, a, Cond::AboveEq),
            Op::GtFloat(a, b) => self.float_compare(a, b, Cond::Above),
            Op::GeFloat(a, b) => self.float_compare(a, b, Cond::AboveEq),
            Op::EqFloat(a, b) => {
                self.floats_equal(a, b);
                Cond::NotEqual
            }
            Op::NeFloat(a, b) => {
                self.floats_equal(a, b);
                Cond::Equal
            }
            Op::TruthyFloat(a) => {
                // Truthy unless ±0.0; NaN has nonzero bits, so it is truthy.
                self.load_gpr(RAX, self.operand(a));
                emit!(self.ops; add rax, rax);
                Cond::NotEqual
            }
            other => unreachable!("{} is not a comparison", other.name()),
        }
    }

    pub(super) fn int_compare(&mut self, a: InstIdx, b: InstIdx, holds: Cond) -> Cond {
        let r = self.gpr_register(self.operand(a));
        self.int_alu(IntAlu::Cmp, r, self.operand(b));
        holds
    }

    pub(super) fn float_compare(&mut self, first: InstIdx, second: InstIdx, holds: Cond) -> Cond {
        let second = self.sse_source(self.operand(second));
        let x = self.xmm_register(self.operand(first), XMM_WORK);
        self.float_alu(FloatAlu::Ucomi, x, second);
        holds
    }

    /// Leaves al = 1 when `runtime::ops::floats_equal(a, b)`, else 0, and sets ZF from al.
    /// That rule is `a == b || |a - b| < EPSILON` (when an operand is infinite or NaN,
    /// `a - b` is infinite or NaN unless `a == b`, so the finiteness test is implied).
    pub(super) fn floats_equal(&mut self, a: InstIdx, b: InstIdx) {
        let second = self.sse_source(self.operand(b));
        self.load_xmm(XMM_WORK, self.operand(a));
        self.float_alu(FloatAlu::Ucomi, XMM_WORK, second);
        emit!(self.ops
            ; sete al
            ; setnp dl
            ; and al, dl
        );
        self.float_alu(FloatAlu::Sub, XMM_WORK, second);
        // |d| < EPSILON compared as integers: without the sign bit, the bit patterns of
        // non-negative doubles are ordered like their values, and NaNs sort above all.
        emit!(self.ops
            ; movq rdx, Rx(XMM_WORK)
            ; add rdx, rdx
            ; mov r11, QWORD EPSILON_BITS_SHIFTED as i64
            ; cmp rdx, r11
            ; setb dl
            ; or al, dl
            ; test al, al
        );
    }
}

/// The offset of entry `position` in a struct's field list.
fn field_offset(position: u32, layout: ObjectLayout) -> Result<i32, AssembleError> {
    i32::try_from(position)
        .ok()
        .and_then(|p| p.checked_mul(layout.field_stride))
        .ok_or_else(|| AssembleError::Unsupported("a field position too far into the struct".into()))
}
