//! Statement compilation: declarations, assignments, control flow, `match` and `try`.
//!
//! Slot discipline: slots a construct needs across its whole extent (a `for` loop's
//! iteration state, a `match` subject, a `try` error slot) are allocated before the scope
//! of its body is pushed, so the body's temporaries always sit above them.

use super::bytecode::{Instr, Reg, TryRegion};
use super::function::{Binding, FuncKind, LoopContext, VarLoc};
use super::{CResult, CompileError, Compiler, Name, Taken};
use crate::parse::ast::{
    ArrayItem, AssignOp, Block, DictItem, Expr, ExprKind, InterpPart, MatchCase, Pattern, PostfixOp, Span, Stmt,
    StmtKind, Target, TargetStep,
};

impl<'h> Compiler<'h> {
    pub(super) fn block_stmts(&mut self, stmts: &Block) -> CResult<()> {
        for stmt in stmts {
            self.stmt(stmt)?;
            self.reset_temps();
        }
        Ok(())
    }

    fn scoped_block(&mut self, stmts: &Block) -> CResult<()> {
        self.func().push_scope();
        self.block_stmts(stmts)?;
        self.func().pop_scope();
        Ok(())
    }

    /// Frees every temporary: the next free slot is just above the current scope's locals.
    fn reset_temps(&mut self) {
        let f = self.func();
        let scope = f.scopes.last().expect("a scope is open");
        let top = scope
            .vars
            .iter()
            .filter_map(|v| match v.loc {
                VarLoc::Slot(s) => Some(s + 1),
                VarLoc::Global(_) => None,
            })
            .max()
            .unwrap_or(0)
            .max(scope.slot_base);
        f.free_slots_to(top);
    }

    fn in_main(&mut self) -> bool {
        self.func().kind == FuncKind::Main
    }

    fn stmt(&mut self, stmt: &Stmt) -> CResult<()> {
        let span = stmt.span;
        match &stmt.kind {
            StmtKind::Decl { kind, name, value } => self.declaration(name, Binding::from(*kind), value, span),
            StmtKind::Assign { target, op, value } => self.assignment(target, *op, value, span),
            StmtKind::Func(decl) => {
                let name = decl.name.as_ref().expect("declarations are named");
                if self.in_main() && self.func().scopes.len() == 1 {
                    return Ok(()); // hoisted
                }
                let proto = self.compile_function(decl, FuncKind::Function, Some(name.clone()))?;
                let slot = self.func().alloc_slot(span)?;
                self.func().emit(Instr::Closure { dst: slot, proto: proto.0 }, span);
                self.bind_new(name, Binding::Mutable, slot, span)
            }
            StmtKind::Struct(decl) => {
                let index = self.register_struct(decl);
                for method in &decl.methods {
                    let proto = self.compile_function(method, FuncKind::Method { struct_index: index }, None)?;
                    let name = method.name.as_ref().expect("methods are named");
                    let symbol = self.symbols.intern(name);
                    self.struct_types[index as usize].methods.insert(symbol, proto);
                }
                Ok(())
            }
            StmtKind::Enum { name, variants } => {
                self.enums.insert(name.clone(), variants.clone());
                Ok(())
            }
            StmtKind::If { branches, else_block } => self.if_chain(branches, else_block.as_ref()),
            StmtKind::While { cond, body } => self.while_loop(Some(cond), body, span),
            StmtKind::Loop { body } => self.while_loop(None, body, span),
            StmtKind::For { var, iter, body, .. } => self.for_loop(var, iter, body, span),
            StmtKind::Break => self.loop_exit(true, span),
            StmtKind::Continue => self.loop_exit(false, span),
            StmtKind::Return(value) => {
                let instr = match value {
                    Some(e) => {
                        let src = self.expr_any(e)?;
                        if self.in_main() {
                            Instr::ReturnNull
                        } else {
                            Instr::Return { src }
                        }
                    }
                    None => Instr::ReturnNull,
                };
                self.func().emit(instr, span);
                Ok(())
            }
            StmtKind::Match { subject, cases, default } => self.match_stmt(subject, cases, default.as_ref(), span),
            StmtKind::Try { body, err_name, handler } => self.try_stmt(body, err_name, handler, span),
            StmtKind::Expr(e) => {
                self.warn_lost_push(e);
                self.expr_any(e)?;
                Ok(())
            }
            StmtKind::Import(import) => self.import(import, span),
        }
    }

    /// Binds `name` in the current scope to the value in `slot` (a fresh slot). Top-level
    /// code stores it into a global instead.
    fn bind_new(&mut self, name: &str, binding: Binding, slot: Reg, span: Span) -> CResult<()> {
        if !self.in_main() {
            self.func().declare(name, binding, VarLoc::Slot(slot));
            return Ok(());
        }
        let global =
            if self.func().scopes.len() == 1 { self.toplevel_names[name] } else { self.new_global(name, binding) };
        self.global_bindings[global as usize] = binding;
        self.func().emit(Instr::SetGlobal { global, src: slot }, span);
        self.func().declare(name, binding, VarLoc::Global(global));
        Ok(())
    }

    fn declaration(&mut self, name: &str, binding: Binding, value: &Expr, span: Span) -> CResult<()> {
        if self.func().current_scope_has(name) {
            self.emit_raise(format!("Duplicate declaration in the same scope: {}", name), span);
            return Ok(());
        }
        let slot = self.func().alloc_slot(span)?;
        self.expr_to(value, slot)?;
        self.bind_new(name, binding, slot, span)
    }

    fn immutable_error(binding: Binding, name: &str) -> Option<String> {
        match binding {
            Binding::Let => Some(format!("Cannot reassign immutable let binding: {}", name)),
            Binding::Const => Some(format!("Cannot reassign const binding: {}", name)),
            Binding::Imported => Some(format!("Cannot assign imported name: {}", name)),
            Binding::Mutable => None,
        }
    }

    /// Whether `g := push(g, ...)` or `g := g + ...` can read `g` without sharing it: the
    /// statement overwrites `g` with the result, so the old value has no other holder.
    /// `Some(true)` when Ruff code runs between the read and the write-back (it could reach
    /// `g`): the read then puts the value on loan until the call or `+` (`Instr::Lend`).
    /// In a chain (`g + a + b`) only the first right operand may run code: the later ones
    /// would see `g`'s object already appended to.
    fn consumes_own_value(&mut self, name: &str, value: &Expr) -> Option<bool> {
        let runs_code = match &value.kind {
            ExprKind::Postfix { base, ops } => {
                let ExprKind::Name(callee) = &base.kind else {
                    return None;
                };
                let [(PostfixOp::Call(args), _)] = ops.as_slice() else {
                    return None;
                };
                if !((callee == "push" || callee == "append")
                    && matches!(self.resolve(callee), Name::Builtin(_))
                    && matches!(args.first().map(|a| &a.kind), Some(ExprKind::Name(n)) if n == name))
                {
                    return None;
                }
                !args[1..].iter().all(|a| self.runs_no_code(a))
            }
            ExprKind::Binary { first, rest } => {
                if !(rest[0].0 == crate::parse::ast::BinOp::Add
                    && matches!(&first.kind, ExprKind::Name(n) if n == name)
                    && rest[1..].iter().all(|(_, _, e)| self.runs_no_code(e)))
                {
                    return None;
                }
                !self.runs_no_code(&rest[0].2)
            }
            _ => return None,
        };
        Some(runs_code)
    }

    fn assignment(&mut self, target: &Target, op: AssignOp, value: &Expr, span: Span) -> CResult<()> {
        if !target.path.is_empty() {
            return self.path_assignment(target, op, value, span);
        }
        let name = target.name.as_str();
        let resolved = self.resolve(name);
        let binding = match resolved {
            Name::Slot(_, b) | Name::Global(_, b) | Name::Capture(_, b) => Some(b),
            _ => None,
        };
        if let Some(message) = binding.and_then(|b| Self::immutable_error(b, name)) {
            self.warn(span, message.clone());
            self.emit_raise(message, span);
            return Ok(());
        }
        if op != AssignOp::Set {
            return self.compound_assignment(name, resolved, op, value, span);
        }
        match resolved {
            Name::Slot(slot, _) => {
                let temp = self.expr_temp(value)?;
                if !self.func().retarget_last(temp, slot) {
                    self.func().emit(Instr::MoveOwned { dst: slot, src: temp }, span);
                }
            }
            Name::Global(global, _) => {
                if let Some(lend) = self.consumes_own_value(name, value) {
                    self.take_variable = Some(Taken::Global(global));
                    self.lend_taken = lend;
                }
                let temp = self.expr_temp(value)?;
                self.take_variable = None;
                self.lend_taken = false;
                self.func().emit(Instr::SetGlobal { global, src: temp }, span);
            }
            Name::Capture(index, _) => {
                if let Some(lend) = self.consumes_own_value(name, value) {
                    self.take_variable = Some(Taken::Capture(index));
                    self.lend_taken = lend;
                }
                let temp = self.expr_temp(value)?;
                self.take_variable = None;
                self.lend_taken = false;
                self.func().emit(Instr::SetCapture { index, src: temp }, span);
            }
            Name::Field(_) | Name::SelfFunc | Name::Builtin(_) | Name::Constant(_) | Name::Undefined => {
                let slot = self.func().alloc_slot(span)?;
                self.expr_to(value, slot)?;
                self.bind_new(name, Binding::Mutable, slot, span)?;
            }
        }
        Ok(())
    }

    /// Emits `dst := lhs op value`.
    fn emit_arith(&mut self, op: AssignOp, dst: Reg, lhs: Reg, value: &Expr, span: Span) -> CResult<()> {
        let instr = match self.numeric_constant(value) {
            Some(index) => match op {
                AssignOp::Add => Instr::AddK { dst, lhs, index },
                AssignOp::Sub => Instr::SubK { dst, lhs, index },
                AssignOp::Mul => Instr::MulK { dst, lhs, index },
                AssignOp::Div => Instr::DivK { dst, lhs, index },
                AssignOp::Mod => Instr::ModK { dst, lhs, index },
                AssignOp::Set => unreachable!("compound operators only"),
            },
            None => {
                let rhs = self.expr_any(value)?;
                match op {
                    AssignOp::Add => Instr::Add { dst, lhs, rhs },
                    AssignOp::Sub => Instr::Sub { dst, lhs, rhs },
                    AssignOp::Mul => Instr::Mul { dst, lhs, rhs },
                    AssignOp::Div => Instr::Div { dst, lhs, rhs },
                    AssignOp::Mod => Instr::Mod { dst, lhs, rhs },
                    AssignOp::Set => unreachable!("compound operators only"),
                }
            }
        };
        self.func().emit(instr, span);
        Ok(())
    }

    fn compound_assignment(
        &mut self,
        name: &str,
        resolved: Name,
        op: AssignOp,
        value: &Expr,
        span: Span,
    ) -> CResult<()> {
        match resolved {
            Name::Slot(slot, _) => self.emit_arith(op, slot, slot, value, span),
            Name::Global(global, _) => {
                let temp = self.func().alloc_slot(span)?;
                let read = if self.runs_no_code(value) {
                    Instr::TakeGlobal { dst: temp, global }
                } else {
                    Instr::GetGlobal { dst: temp, global }
                };
                self.func().emit(read, span);
                self.emit_arith(op, temp, temp, value, span)?;
                self.func().emit(Instr::SetGlobal { global, src: temp }, span);
                Ok(())
            }
            Name::Capture(index, _) => {
                let temp = self.func().alloc_slot(span)?;
                let read = if self.runs_no_code(value) {
                    Instr::TakeCapture { dst: temp, index }
                } else {
                    Instr::GetCapture { dst: temp, index }
                };
                self.func().emit(read, span);
                self.emit_arith(op, temp, temp, value, span)?;
                self.func().emit(Instr::SetCapture { index, src: temp }, span);
                Ok(())
            }
            _ => {
                self.undefined_name(name, span);
                Ok(())
            }
        }
    }

    /// `v[i].f[j] op= e`: the write goes into the variable's own (made private) value.
    fn path_assignment(&mut self, target: &Target, op: AssignOp, value: &Expr, span: Span) -> CResult<()> {
        let name = target.name.as_str();
        let resolved = self.resolve(name);
        let binding = match resolved {
            Name::Slot(_, b) | Name::Global(_, b) | Name::Capture(_, b) => b,
            Name::Field(_) => {
                self.emit_raise(format!("Cannot assign into field {} of the receiver inside a method", name), span);
                return Ok(());
            }
            _ => {
                self.undefined_name(name, span);
                return Ok(());
            }
        };
        if binding != Binding::Mutable {
            self.emit_raise(format!("Cannot mutate immutable let binding: {}", name), span);
            return Ok(());
        }
        // Index expressions and the value are evaluated first, so that no Ruff code runs
        // between taking the variable's value and writing it back.
        let mut keys = Vec::with_capacity(target.path.len());
        for step in &target.path {
            keys.push(match step {
                TargetStep::Index(e, _) => Some(self.expr_any(e)?),
                TargetStep::Field(..) => None,
            });
        }
        // `v[i] := push(v[i], x)` pushes onto the element in place, and `v.f := g(v.f, x)`
        // hands it to `g` unshared (see `called_on_target`).
        let pushed = if op == AssignOp::Set { self.called_on_target(target, resolved, value) } else { None };
        // A right side that may run Ruff code is evaluated before the write path is taken
        // (the code could reach the variable); the old value is read before it, as in
        // `v[i] := v[i] op e`.
        let new_value = if pushed.is_some() {
            None
        } else if op == AssignOp::Set {
            Some(self.expr_temp(value)?)
        } else if !self.runs_no_code(value) {
            Some(self.read_modify(resolved, &target.path, &keys, op, value, span)?)
        } else {
            None
        };
        let holder = match resolved {
            Name::Slot(slot, _) => slot,
            Name::Global(global, _) => {
                let temp = self.func().alloc_slot(span)?;
                self.func().emit(Instr::TakeGlobal { dst: temp, global }, span);
                temp
            }
            Name::Capture(index, _) => {
                let temp = self.func().alloc_slot(span)?;
                self.func().emit(Instr::TakeCapture { dst: temp, index }, span);
                temp
            }
            _ => unreachable!("checked above"),
        };
        let mut container = holder;
        let (last, inner) = target.path.split_last().expect("path is not empty");
        for (step, key) in inner.iter().zip(&keys) {
            let next = self.func().alloc_slot(span)?;
            let instr = match (step, key) {
                (TargetStep::Index(_, s), Some(index)) => {
                    (Instr::GetIndexForWrite { dst: next, obj: container, index: *index }, *s)
                }
                (TargetStep::Field(field, s), _) => {
                    let name = self.symbol16(field, *s)?;
                    (Instr::GetFieldForWrite { dst: next, obj: container, name }, *s)
                }
                _ => unreachable!("keys parallel the path"),
            };
            self.func().emit(instr.0, instr.1);
            container = next;
        }
        let last_key = *keys.last().expect("path is not empty");
        let src = match (pushed, new_value) {
            (Some((callee, rest)), _) => {
                // The element is taken for the write, private and unshared, as the callee's
                // argument: the builtin appends to it in place, a Ruff function updates it
                // in place.
                let base = self.func().alloc_slot(span)?;
                self.expr_to(callee, base)?;
                let element = self.func().alloc_slot(span)?;
                let take = match (last, last_key) {
                    (TargetStep::Index(..), Some(index)) => {
                        Instr::GetIndexForWrite { dst: element, obj: container, index }
                    }
                    (TargetStep::Field(field, s), _) => {
                        let name = self.symbol16(field, *s)?;
                        Instr::GetFieldForWrite { dst: element, obj: container, name }
                    }
                    _ => unreachable!("keys parallel the path"),
                };
                self.func().emit(take, span);
                for arg in rest {
                    let slot = self.func().alloc_slot(span)?;
                    self.expr_to(arg, slot)?;
                }
                self.func().emit(Instr::Call { base, argc: 1 + rest.len() as u16, lent: 0 }, span);
                base
            }
            (None, Some(v)) => v,
            (None, None) => {
                let old = self.func().alloc_slot(span)?;
                let read = match (last, last_key) {
                    (TargetStep::Index(..), Some(index)) => Instr::GetIndex { dst: old, obj: container, index },
                    (TargetStep::Field(field, s), _) => {
                        let name = self.symbol16(field, *s)?;
                        Instr::GetField { dst: old, obj: container, name }
                    }
                    _ => unreachable!("keys parallel the path"),
                };
                self.func().emit(read, span);
                self.emit_arith(op, old, old, value, span)?;
                old
            }
        };
        let write = match (last, last_key) {
            (TargetStep::Index(_, s), Some(index)) => (Instr::SetIndex { obj: container, index, src }, *s),
            (TargetStep::Field(field, s), _) => {
                let name = self.symbol16(field, *s)?;
                (Instr::SetField { obj: container, name, src }, *s)
            }
            _ => unreachable!("keys parallel the path"),
        };
        self.func().emit(write.0, write.1);
        match resolved {
            Name::Global(global, _) => {
                self.func().emit(Instr::SetGlobal { global, src: holder }, span);
            }
            Name::Capture(index, _) => {
                self.func().emit(Instr::SetCapture { index, src: holder }, span);
            }
            _ => {}
        }
        Ok(())
    }

    /// For `v[i] := push(v[i], x)` (also `append`, field steps, and index steps that are
    /// variables or int literals): the callee and the pushed arguments, when they are
    /// plain operands that do not name `v` (no code runs, and nothing they read changes
    /// when the element is taken). Such a statement takes the element for the write (`GetIndexForWrite`)
    /// and pushes onto it in place; a plain read would share the element and make the
    /// push copy it, every time.
    ///
    /// Also for `v.f := g(v.f, x)` (any path, as above) where `g` is a Ruff function and
    /// `v` a local variable, outside any `try` block of this function: the element is
    /// taken for the write too, and handed to `g` unshared, so that `g` updates it in
    /// place (`v.items := list_add(v.items, x)`, where a shared argument made `list_add`
    /// copy the list at every call). Nothing can see the element change before the result
    /// replaces it: `g`, and any Ruff code the other arguments run, cannot reach a local
    /// variable (closures hold copies); the other arguments may only read other fields of
    /// `v` (`other_fields_only`), and a read of the element itself marks it shared as
    /// usual, so `g` would copy it; and if `g` raises, no handler of this function can
    /// read `v` again.
    fn called_on_target<'e>(
        &mut self,
        target: &Target,
        resolved: Name,
        value: &'e Expr,
    ) -> Option<(&'e Expr, &'e [Expr])> {
        let ExprKind::Postfix { base: callee, ops } = &value.kind else { return None };
        let ([(PostfixOp::Call(args), _)], ExprKind::Name(name)) = (ops.as_slice(), &callee.kind) else {
            return None;
        };
        let (first, rest) = args.split_first()?;
        let ExprKind::Postfix { base, ops: steps } = &first.kind else { return None };
        let same_base = matches!(&base.kind, ExprKind::Name(n) if *n == target.name);
        let same_steps = steps.len() == target.path.len()
            && steps.iter().zip(&target.path).all(|((step, _), target_step)| match (step, target_step) {
                (PostfixOp::Field(a), TargetStep::Field(b, _)) => a == b,
                (PostfixOp::Index(a), TargetStep::Index(b, _)) => same_simple_key(a, b),
                _ => false,
            });
        if !(same_base && same_steps) {
            return None;
        }
        let callee_is_builtin = matches!(self.resolve(name), Name::Builtin(_));
        let taken = if callee_is_builtin {
            matches!(name.as_str(), "push" | "append") && rest.iter().all(|e| self.plain_operand(e, &target.name))
        } else {
            let first_field = match target.path.first() {
                Some(TargetStep::Field(field, _)) => Some(field.as_str()),
                _ => None,
            };
            *name != target.name
                && matches!(resolved, Name::Slot(..))
                && self.func().try_depth == 0
                && rest.iter().all(|e| other_fields_only(e, &target.name, first_field))
        };
        taken.then_some((callee.as_ref(), rest))
    }

    /// Whether `e` is built only from literals (of scalars, strings, arrays, dicts,
    /// structs and enum values), variables other than `name`, operators and calls of
    /// builtins: it runs no Ruff code and reads nothing reachable through `name`.
    fn plain_operand(&mut self, e: &Expr, name: &str) -> bool {
        match &e.kind {
            ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Str(_) | ExprKind::Bool(_) | ExprKind::Null => true,
            ExprKind::None => true,
            ExprKind::Name(n) => n != name,
            ExprKind::Interp(parts) => parts.iter().all(|p| match p {
                InterpPart::Lit(_) => true,
                InterpPart::Expr(e) => self.plain_operand(e, name),
            }),
            ExprKind::Array(items) => items.iter().all(|item| match item {
                ArrayItem::Item(e) | ArrayItem::Spread(e) => self.plain_operand(e, name),
            }),
            ExprKind::Dict(items) => items.iter().all(|item| match item {
                DictItem::Pair(k, v) => self.plain_operand(k, name) && self.plain_operand(v, name),
                DictItem::Spread(e) => self.plain_operand(e, name),
            }),
            ExprKind::StructLit { fields, .. } => fields.iter().all(|(_, e)| self.plain_operand(e, name)),
            ExprKind::EnumVariant { args, .. } => args.iter().flatten().all(|e| self.plain_operand(e, name)),
            ExprKind::Ok(v) | ExprKind::Err(v) | ExprKind::Some(v) => self.plain_operand(v, name),
            ExprKind::Unary { operand, .. } => self.plain_operand(operand, name),
            ExprKind::Binary { first, rest } => {
                self.plain_operand(first, name)
                    && rest
                        .iter()
                        .all(|(op, _, e)| *op != crate::parse::ast::BinOp::Pipe && self.plain_operand(e, name))
            }
            ExprKind::Postfix { base, ops } => match (&base.kind, ops.as_slice()) {
                (ExprKind::Name(callee), [(PostfixOp::Call(args), _)]) => {
                    callee != name
                        && matches!(self.resolve(callee), Name::Builtin(_))
                        && args.iter().all(|a| self.plain_operand(a, name))
                }
                _ => false,
            },
            _ => false,
        }
    }

    /// `old op value` where `old` is the current value at `path` read with plain reads;
    /// returns the slot of the result.
    fn read_modify(
        &mut self,
        resolved: Name,
        path: &[TargetStep],
        keys: &[Option<Reg>],
        op: AssignOp,
        value: &Expr,
        span: Span,
    ) -> CResult<Reg> {
        let current = self.func().alloc_slot(span)?;
        let mut container = match resolved {
            Name::Slot(slot, _) => slot,
            Name::Global(global, _) => {
                self.func().emit(Instr::GetGlobal { dst: current, global }, span);
                current
            }
            Name::Capture(index, _) => {
                self.func().emit(Instr::GetCapture { dst: current, index }, span);
                current
            }
            _ => unreachable!("path assignments resolve to variables"),
        };
        for (step, key) in path.iter().zip(keys) {
            let read = match (step, key) {
                (TargetStep::Index(_, s), Some(index)) => {
                    (Instr::GetIndex { dst: current, obj: container, index: *index }, *s)
                }
                (TargetStep::Field(field, s), _) => {
                    let name = self.symbol16(field, *s)?;
                    (Instr::GetField { dst: current, obj: container, name }, *s)
                }
                _ => unreachable!("keys parallel the path"),
            };
            self.func().emit(read.0, read.1);
            container = current;
        }
        let result = self.func().alloc_slot(span)?;
        self.emit_arith(op, result, current, value, span)?;
        Ok(result)
    }

    fn if_chain(&mut self, branches: &[(Expr, Block)], else_block: Option<&Block>) -> CResult<()> {
        let mut done = Vec::new();
        for (i, (cond, body)) in branches.iter().enumerate() {
            let skip = self.condition(cond)?;
            self.scoped_block(body)?;
            if i + 1 < branches.len() || else_block.is_some() {
                done.push(self.func().emit_jump(cond.span));
            }
            self.func().patch_to_here(skip);
        }
        if let Some(body) = else_block {
            self.scoped_block(body)?;
        }
        self.func().patch_to_here(done);
        Ok(())
    }

    fn loop_body(&mut self, body: &Block) -> CResult<LoopContext> {
        let try_depth = self.func().try_depth;
        self.func().loops.push(LoopContext { break_jumps: Vec::new(), continue_jumps: Vec::new(), try_depth });
        self.scoped_block(body)?;
        Ok(self.func().loops.pop().expect("the loop was pushed"))
    }

    fn jump_back(&mut self, target: usize, span: Span) {
        let pc = self.func().pc();
        let offset = target as i32 - (pc as i32 + 1);
        self.func().emit(Instr::Jump { offset }, span);
    }

    fn while_loop(&mut self, cond: Option<&Expr>, body: &Block, span: Span) -> CResult<()> {
        self.func().emit(Instr::LoopEntry, span);
        let head = self.func().label();
        let exits = match cond {
            Some(c) => self.condition(c)?,
            None => Vec::new(),
        };
        let context = self.loop_body(body)?;
        for j in context.continue_jumps {
            self.func().patch_jump(j, head);
        }
        self.jump_back(head, span);
        self.func().patch_to_here(exits.into_iter().chain(context.break_jumps));
        Ok(())
    }

    /// The arguments of `range(...)` when `iter` is a call of the builtin `range`.
    fn range_arguments<'e>(&mut self, iter: &'e Expr) -> Option<&'e [Expr]> {
        let ExprKind::Postfix { base, ops } = &iter.kind else {
            return None;
        };
        let ExprKind::Name(callee) = &base.kind else {
            return None;
        };
        let [(PostfixOp::Call(args), _)] = ops.as_slice() else {
            return None;
        };
        let is_builtin_range = callee == "range" && matches!(self.resolve(callee), Name::Builtin(_));
        (is_builtin_range && (1..=3).contains(&args.len())).then_some(args.as_slice())
    }

    fn for_loop(&mut self, var: &str, iter: &Expr, body: &Block, span: Span) -> CResult<()> {
        let mark = self.func().next_slot;
        let (base, var_slot, prep) = match self.range_arguments(iter) {
            Some(args) => {
                let base = self.func().alloc_slots(4, span)?;
                match args {
                    [stop] => {
                        self.func().emit(Instr::LoadInt { dst: base, value: 0 }, span);
                        self.expr_to(stop, base + 1)?;
                    }
                    [start, stop, ..] => {
                        self.expr_to(start, base)?;
                        self.expr_to(stop, base + 1)?;
                    }
                    [] => unreachable!("range_arguments checks the count"),
                }
                match args.get(2) {
                    Some(step) => self.expr_to(step, base + 2)?,
                    None => {
                        self.func().emit(Instr::LoadInt { dst: base + 2, value: 1 }, span);
                    }
                }
                (base, base + 3, self.func().emit(Instr::ForRangePrep { base, offset: 0 }, span))
            }
            None => {
                let base = self.func().alloc_slots(3, span)?;
                self.expr_to(iter, base)?;
                (base, base + 2, self.func().emit(Instr::ForPrep { base, offset: 0 }, span))
            }
        };
        let body_start = self.func().label();
        self.func().push_scope();
        self.bind_loop_variable(var, var_slot, span)?;
        let context = self.loop_body(body)?;
        self.func().pop_scope();
        let next = self.func().label();
        for j in context.continue_jumps.into_iter().chain([prep]) {
            self.func().patch_jump(j, next);
        }
        let offset = body_start as i32 - (next as i32 + 1);
        let advance =
            if var_slot == base + 3 { Instr::ForRangeNext { base, offset } } else { Instr::ForNext { base, offset } };
        self.func().emit(advance, span);
        self.func().patch_to_here(context.break_jumps);
        self.func().free_slots_to(mark);
        Ok(())
    }

    fn bind_loop_variable(&mut self, var: &str, slot: Reg, span: Span) -> CResult<()> {
        if self.in_main() {
            let global = self.new_global(var, Binding::Mutable);
            self.func().emit(Instr::SetGlobal { global, src: slot }, span);
            self.func().declare(var, Binding::Mutable, VarLoc::Global(global));
        } else {
            self.func().declare(var, Binding::Mutable, VarLoc::Slot(slot));
        }
        Ok(())
    }

    fn loop_exit(&mut self, is_break: bool, span: Span) -> CResult<()> {
        let keyword = if is_break { "break" } else { "continue" };
        let Some(try_depth) = self.func().loops.last().map(|l| l.try_depth) else {
            return Err(CompileError::new(span, format!("'{}' outside of a loop", keyword)));
        };
        for _ in try_depth..self.func().try_depth {
            self.func().emit(Instr::TryEnd, span);
        }
        let jump = self.func().emit_jump(span);
        let context = self.func().loops.last_mut().expect("checked above");
        if is_break {
            context.break_jumps.push(jump);
        } else {
            context.continue_jumps.push(jump);
        }
        Ok(())
    }

    fn match_stmt(&mut self, subject: &Expr, cases: &[MatchCase], default: Option<&Block>, span: Span) -> CResult<()> {
        let mark = self.func().next_slot;
        let value = self.func().alloc_slot(span)?;
        self.expr_to(subject, value)?;
        let mut done = Vec::new();
        for case in cases {
            let skip = match &case.pattern {
                Pattern::Tag { enum_name, tag, .. } => {
                    let pattern = self.tag_pattern(enum_name.as_deref(), tag, case.span)?;
                    self.func().emit(Instr::TestTag { src: value, pattern }, case.span);
                    self.func().emit_jump(case.span)
                }
                Pattern::Str(text) => {
                    let expected = self.func().alloc_slot(case.span)?;
                    let index = self.string_value(text);
                    self.func().emit(Instr::LoadConst { dst: expected, index }, case.span);
                    self.func().emit(Instr::TestEq { lhs: value, rhs: expected }, case.span);
                    self.func().free_slots_to(expected);
                    self.func().emit_jump(case.span)
                }
            };
            self.func().push_scope();
            if let Pattern::Tag { binding: Some((name, name_span)), .. } = &case.pattern {
                let slot = self.func().alloc_slot(*name_span)?;
                self.func().emit(Instr::GetPayload { dst: slot, src: value }, *name_span);
                self.bind_new(name, Binding::Mutable, slot, *name_span)?;
            }
            self.block_stmts(&case.body)?;
            self.func().pop_scope();
            done.push(self.func().emit_jump(case.span));
            self.func().patch_to_here([skip]);
        }
        if let Some(body) = default {
            self.scoped_block(body)?;
        }
        self.func().patch_to_here(done);
        self.func().free_slots_to(mark);
        Ok(())
    }

    fn try_stmt(&mut self, body: &Block, err_name: &str, handler: &Block, span: Span) -> CResult<()> {
        let mark = self.func().next_slot;
        let err = self.func().alloc_slot(span)?;
        let begin = self.func().emit(Instr::TryBegin { err, offset: 0 }, span);
        self.func().try_depth += 1;
        self.scoped_block(body)?;
        self.func().try_depth -= 1;
        let end = self.func().emit(Instr::TryEnd, span);
        let skip = self.func().emit_jump(span);
        let handler_pc = self.func().label();
        self.func().patch_jump(begin, handler_pc);
        self.func().proto.try_regions.push(TryRegion {
            begin: begin as u32,
            end: end as u32,
            handler: handler_pc as u32,
        });
        self.func().push_scope();
        self.bind_new(err_name, Binding::Mutable, err, span)?;
        self.block_stmts(handler)?;
        self.func().pop_scope();
        self.func().patch_to_here([skip]);
        self.func().free_slots_to(mark);
        Ok(())
    }
}

/// Whether two index expressions are the same variable, int literal or string literal,
/// so that they denote the same element when evaluated once.
fn same_simple_key(a: &Expr, b: &Expr) -> bool {
    match (&a.kind, &b.kind) {
        (ExprKind::Name(x), ExprKind::Name(y)) => x == y,
        (ExprKind::Int(x), ExprKind::Int(y)) => x == y,
        (ExprKind::Str(x), ExprKind::Str(y)) => x == y,
        _ => false,
    }
}

/// Whether `e` reads the variable `name` only through a field other than `taken` (`v.g`,
/// `v.g.size()`, with `taken` the field `f` of `v.f := g(v.f, ...)`; never when `taken` is
/// `None`): so evaluating it cannot reach `v.f`. Function literals (which would copy `v`)
/// and `self` do not qualify.
fn other_fields_only(e: &Expr, name: &str, taken: Option<&str>) -> bool {
    let each = |items: &mut dyn Iterator<Item = &Expr>| {
        for e in items {
            if !other_fields_only(e, name, taken) {
                return false;
            }
        }
        true
    };
    match &e.kind {
        ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Str(_) | ExprKind::Bool(_) | ExprKind::Null => true,
        ExprKind::None => true,
        ExprKind::Name(n) => n != name,
        ExprKind::SelfRef | ExprKind::Func(_) => false,
        ExprKind::Interp(parts) => each(&mut parts.iter().filter_map(|p| match p {
            InterpPart::Lit(_) => None,
            InterpPart::Expr(e) => Some(e),
        })),
        ExprKind::Array(items) => each(&mut items.iter().map(|item| match item {
            ArrayItem::Item(e) | ArrayItem::Spread(e) => e,
        })),
        ExprKind::Dict(items) => items.iter().all(|item| match item {
            DictItem::Pair(k, v) => other_fields_only(k, name, taken) && other_fields_only(v, name, taken),
            DictItem::Spread(e) => other_fields_only(e, name, taken),
        }),
        ExprKind::StructLit { fields, .. } => each(&mut fields.iter().map(|(_, e)| e)),
        ExprKind::EnumVariant { args, .. } => each(&mut args.iter().flatten()),
        ExprKind::Ok(v) | ExprKind::Err(v) | ExprKind::Some(v) | ExprKind::Throw(v) => {
            other_fields_only(v, name, taken)
        }
        ExprKind::Unary { operand, .. } => other_fields_only(operand, name, taken),
        ExprKind::Binary { first, rest } => {
            other_fields_only(first, name, taken) && each(&mut rest.iter().map(|(_, _, e)| e))
        }
        ExprKind::Postfix { base, ops } => {
            let base_ok = match (&base.kind, ops.first(), taken) {
                (ExprKind::Name(n), Some((PostfixOp::Field(field), _)), Some(taken)) if n == name => field != taken,
                _ => other_fields_only(base, name, taken),
            };
            base_ok
                && ops.iter().all(|(op, _)| match op {
                    PostfixOp::Call(args) | PostfixOp::Method(_, args) => each(&mut args.iter()),
                    PostfixOp::Index(e) => other_fields_only(e, name, taken),
                    PostfixOp::Field(_) => true,
                })
        }
    }
}
