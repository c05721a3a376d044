//! Expression compilation.
//!
//! Two entry points: [`Compiler::expr_any`] yields some slot holding the value (a local
//! variable's own slot when the expression is just its name, so reading `a[i]` does not
//! copy `a`), and [`Compiler::expr_to`] computes the value into a slot the caller owns.
//! Values that will be stored somewhere always go through `expr_to`, which copies a local
//! with `Move`; the liveness pass later decides whether that copy was the local's last use.

use super::bytecode::{Instr, Reg, StructLiteral, TagCtor, TagPattern};
use super::function::FuncKind;
use super::{CResult, CompileError, Compiler, Name, Taken};
use crate::builtins;
use crate::parse::ast::{ArrayItem, BinOp, DictItem, Expr, ExprKind, InterpPart, PostfixOp, Span, UnOp};
use crate::runtime::symbol::{Symbol, SYM_ERR, SYM_NONE, SYM_OK, SYM_OPTION, SYM_RESULT, SYM_SOME};

/// Array literals longer than this are built by appending, to bound slot use.
const MAX_INLINE_ELEMENTS: usize = 32;

impl<'h> Compiler<'h> {
    pub(super) fn expr_any(&mut self, e: &Expr) -> CResult<Reg> {
        match self.local_slot(e) {
            Some(slot) => Ok(slot),
            None => self.expr_temp(e),
        }
    }

    /// The slot of a local variable, when `e` is just its name.
    fn local_slot(&mut self, e: &Expr) -> Option<Reg> {
        let name = match &e.kind {
            ExprKind::Name(name) => name.as_str(),
            ExprKind::SelfRef => "self",
            _ => return None,
        };
        match self.resolve(name) {
            Name::Slot(slot, _) => Some(slot),
            _ => None,
        }
    }

    pub(super) fn expr_temp(&mut self, e: &Expr) -> CResult<Reg> {
        let slot = self.func().alloc_slot(e.span)?;
        self.expr_to(e, slot)?;
        Ok(slot)
    }

    /// Compiles `e` into `dst`. Temporaries above `dst` are freed afterwards.
    pub(super) fn expr_to(&mut self, e: &Expr, dst: Reg) -> CResult<()> {
        let mark = self.func().next_slot.max(dst + 1);
        self.func().free_slots_to(mark);
        let span = e.span;
        match &e.kind {
            ExprKind::Int(i) => self.load_int(*i, dst, span),
            ExprKind::Float(f) => {
                let index = self.func().float_constant(*f);
                self.func().emit(Instr::LoadConst { dst, index }, span);
            }
            ExprKind::Str(s) => {
                let index = self.string_value(s);
                self.func().emit(Instr::LoadConst { dst, index }, span);
            }
            ExprKind::Interp(parts) => self.interpolation(parts, dst, span)?,
            ExprKind::Bool(value) => {
                self.func().emit(Instr::LoadBool { dst, value: *value }, span);
            }
            ExprKind::Null => {
                self.func().emit(Instr::LoadNull { dst }, span);
            }
            ExprKind::Name(name) => {
                if matches!(self.resolve(name), Name::Undefined) && self.is_module_alias(name) {
                    return Err(CompileError::new(span, format!("Module {} is not a value", name)));
                }
                self.load_name(name, dst, span)
            }
            ExprKind::SelfRef => self.load_name("self", dst, span),
            ExprKind::Array(items) => self.array_literal(items, dst, span)?,
            ExprKind::Dict(items) => self.dict_literal(items, dst, span)?,
            ExprKind::Func(decl) => {
                let proto = self.compile_function(decl, FuncKind::Function, None)?;
                self.func().emit(Instr::Closure { dst, proto: proto.0 }, span);
            }
            ExprKind::Ok(v) => self.tagged(SYM_RESULT, SYM_OK, std::slice::from_ref(v), dst, span)?,
            ExprKind::Err(v) => self.tagged(SYM_RESULT, SYM_ERR, std::slice::from_ref(v), dst, span)?,
            ExprKind::Some(v) => self.tagged(SYM_OPTION, SYM_SOME, std::slice::from_ref(v), dst, span)?,
            ExprKind::None => self.tagged(SYM_OPTION, SYM_NONE, &[], dst, span)?,
            ExprKind::EnumVariant { enum_name, variant, args } => {
                self.enum_variant(enum_name, variant, args.as_deref().unwrap_or(&[]), dst, span)?
            }
            ExprKind::Throw(value) => {
                let src = self.expr_temp(value)?;
                self.func().emit(Instr::Throw { src }, span);
            }
            ExprKind::StructLit { name, fields } => self.struct_literal(name, fields, dst, span)?,
            ExprKind::Unary { ops, operand } => self.unary(ops, operand, dst)?,
            ExprKind::Binary { first, rest } => self.binary(first, rest, dst)?,
            ExprKind::Postfix { base, ops } => self.postfix(base, ops, dst)?,
        }
        self.func().free_slots_to(mark);
        Ok(())
    }

    fn load_int(&mut self, i: i64, dst: Reg, span: Span) {
        match i32::try_from(i) {
            Ok(value) => self.func().emit(Instr::LoadInt { dst, value }, span),
            Err(_) => {
                let index = self.func().int_constant(i);
                self.func().emit(Instr::LoadConst { dst, index }, span)
            }
        };
    }

    pub(super) fn load_name(&mut self, name: &str, dst: Reg, span: Span) {
        match self.resolve(name) {
            Name::Slot(src, _) => {
                if src != dst {
                    self.func().emit(Instr::Move { dst, src }, span);
                }
            }
            Name::Global(global, _) => {
                if self.take_variable == Some(Taken::Global(global)) {
                    self.take_variable = None;
                    self.func().emit(Instr::TakeGlobal { dst, global }, span);
                    if std::mem::take(&mut self.lend_taken) {
                        self.lend(dst, span);
                    }
                } else {
                    self.func().emit(Instr::GetGlobal { dst, global }, span);
                }
            }
            Name::Capture(index, _) => {
                if self.take_variable == Some(Taken::Capture(index)) {
                    self.take_variable = None;
                    self.func().emit(Instr::TakeCapture { dst, index }, span);
                    if std::mem::take(&mut self.lend_taken) {
                        self.lend(dst, span);
                    }
                } else {
                    self.func().emit(Instr::GetCapture { dst, index }, span);
                }
            }
            Name::Field(symbol) => match u16::try_from(symbol.0) {
                Ok(name) => {
                    self.func().emit(Instr::GetField { dst, obj: 0, name }, span);
                }
                Err(_) => self.emit_raise("Too many distinct names in the program".into(), span),
            },
            Name::SelfFunc => {
                self.func().emit(Instr::LoadSelfFunc { dst }, span);
            }
            Name::Builtin(id) => {
                let index = self.func().builtin_constant(id);
                self.func().emit(Instr::LoadConst { dst, index }, span);
            }
            Name::Constant(f) => {
                let index = self.func().float_constant(f);
                self.func().emit(Instr::LoadConst { dst, index }, span);
            }
            Name::Undefined => self.undefined_name(name, span),
        }
    }

    fn interpolation(&mut self, parts: &[InterpPart], dst: Reg, span: Span) -> CResult<()> {
        let start = self.func().next_slot;
        for part in parts {
            let slot = self.func().alloc_slot(span)?;
            match part {
                InterpPart::Lit(text) => {
                    let index = self.string_value(text);
                    self.func().emit(Instr::LoadConst { dst: slot, index }, span);
                }
                InterpPart::Expr(e) => {
                    let src = self.expr_any(e)?;
                    self.func().free_slots_to(slot + 1);
                    self.func().emit(Instr::ToStr { dst: slot, src }, e.span);
                }
            }
        }
        let count = u16::try_from(parts.len()).map_err(|_| CompileError::new(span, "String has too many parts"))?;
        self.func().emit(Instr::Concat { dst, start, count }, span);
        Ok(())
    }

    /// Compiles `items` into consecutive fresh slots; returns the first.
    fn consecutive(&mut self, items: &[&Expr], span: Span) -> CResult<Reg> {
        let start = self.func().next_slot;
        for item in items {
            let slot = self.func().alloc_slot(span)?;
            self.expr_to(item, slot)?;
        }
        Ok(start)
    }

    fn array_literal(&mut self, items: &[ArrayItem], dst: Reg, span: Span) -> CResult<()> {
        let plain: Option<Vec<&Expr>> = items
            .iter()
            .map(|i| match i {
                ArrayItem::Item(e) => Some(e),
                ArrayItem::Spread(_) => None,
            })
            .collect();
        if let Some(plain) = plain.filter(|p| p.len() <= MAX_INLINE_ELEMENTS) {
            let start = self.consecutive(&plain, span)?;
            self.func().emit(Instr::NewArray { dst, start, count: plain.len() as u16 }, span);
            return Ok(());
        }
        // Elements are computed before the array exists in `dst`, so an element that
        // reads the variable being assigned still sees its old value.
        let array = self.func().alloc_slot(span)?;
        self.func().emit(Instr::NewArray { dst: array, start: array, count: 0 }, span);
        for item in items {
            let mark = self.func().next_slot;
            match item {
                ArrayItem::Item(e) => {
                    let src = self.expr_temp(e)?;
                    self.func().emit(Instr::ArrayAppend { array, src }, e.span);
                }
                ArrayItem::Spread(e) => {
                    let src = self.expr_any(e)?;
                    self.func().emit(Instr::ArraySpread { array, src }, e.span);
                }
            }
            self.func().free_slots_to(mark);
        }
        self.func().emit(Instr::MoveOwned { dst, src: array }, span);
        Ok(())
    }

    fn dict_literal(&mut self, items: &[DictItem], dst: Reg, span: Span) -> CResult<()> {
        let dict = self.func().alloc_slot(span)?;
        self.func().emit(Instr::NewDict { dst: dict }, span);
        for item in items {
            let mark = self.func().next_slot;
            match item {
                DictItem::Pair(k, v) => {
                    let key = self.expr_any(k)?;
                    let value = self.expr_temp(v)?;
                    self.func().emit(Instr::DictInsert { dict, key, value }, k.span);
                }
                DictItem::Spread(e) => {
                    let src = self.expr_any(e)?;
                    self.func().emit(Instr::DictSpread { dict, src }, e.span);
                }
            }
            self.func().free_slots_to(mark);
        }
        self.func().emit(Instr::MoveOwned { dst, src: dict }, span);
        Ok(())
    }

    fn tagged(&mut self, enum_name: Symbol, tag: Symbol, payload: &[Expr], dst: Reg, span: Span) -> CResult<()> {
        let arity = u16::try_from(payload.len()).map_err(|_| CompileError::new(span, "Too many payload values"))?;
        let refs: Vec<&Expr> = payload.iter().collect();
        let start = self.consecutive(&refs, span)?;
        let f = self.func();
        f.proto.tag_ctors.push(TagCtor { enum_name, tag, arity });
        let ctor = u16::try_from(f.proto.tag_ctors.len() - 1)
            .map_err(|_| CompileError::new(span, "Too many enum constructors in one function"))?;
        f.emit(Instr::NewTagged { dst, ctor, start }, span);
        Ok(())
    }

    fn enum_variant(&mut self, enum_name: &str, variant: &str, args: &[Expr], dst: Reg, span: Span) -> CResult<()> {
        let builtin = match (enum_name, variant) {
            ("Result", "Ok") => Some((SYM_RESULT, SYM_OK)),
            ("Result", "Err") => Some((SYM_RESULT, SYM_ERR)),
            ("Option", "Some") => Some((SYM_OPTION, SYM_SOME)),
            ("Option", "None") => Some((SYM_OPTION, SYM_NONE)),
            _ => None,
        };
        if let Some((e, t)) = builtin {
            return self.tagged(e, t, args, dst, span);
        }
        match self.enums.get(enum_name) {
            None => self.emit_raise(format!("Undefined enum: {}", enum_name), span),
            Some(variants) if !variants.iter().any(|v| v == variant) => {
                self.emit_raise(format!("Enum {} has no variant {}", enum_name, variant), span)
            }
            Some(_) => {
                let e = self.symbols.intern(enum_name);
                let t = self.symbols.intern(variant);
                self.tagged(e, t, args, dst, span)?;
            }
        }
        Ok(())
    }

    /// The pattern table entry for a `case` tag pattern.
    pub(super) fn tag_pattern(&mut self, enum_name: Option<&str>, tag: &str, span: Span) -> CResult<u16> {
        let enum_name = enum_name.map(|n| self.symbols.intern(n));
        let tag = self.symbols.intern(tag);
        let f = self.func();
        f.proto.tag_patterns.push(TagPattern { enum_name, tag });
        u16::try_from(f.proto.tag_patterns.len() - 1)
            .map_err(|_| CompileError::new(span, "Too many patterns in one function"))
    }

    fn struct_literal(&mut self, name: &str, fields: &[(String, Expr)], dst: Reg, span: Span) -> CResult<()> {
        let Some(info) = self.structs.get(name) else {
            self.emit_raise(format!("Undefined struct: {}", name), span);
            return Ok(());
        };
        let type_index = info.index;
        let mut symbols = Vec::with_capacity(fields.len());
        for (field, _) in fields {
            let s = self.symbols.intern(field);
            if symbols.contains(&s) {
                return Err(CompileError::new(span, format!("Field {} given twice", field)));
            }
            symbols.push(s);
        }
        let values: Vec<&Expr> = fields.iter().map(|(_, e)| e).collect();
        let start = self.consecutive(&values, span)?;
        let f = self.func();
        f.proto.struct_literals.push(StructLiteral { type_index, fields: symbols });
        let literal = u16::try_from(f.proto.struct_literals.len() - 1)
            .map_err(|_| CompileError::new(span, "Too many struct literals in one function"))?;
        f.emit(Instr::NewStruct { dst, literal, start }, span);
        Ok(())
    }

    fn unary(&mut self, ops: &[(UnOp, Span)], operand: &Expr, dst: Reg) -> CResult<()> {
        // Fold a minus applied directly to a number literal (`-5`, `-2.5`).
        let (ops, folded) = match (ops.last(), &operand.kind) {
            (Some((UnOp::Neg, span)), ExprKind::Int(i)) if *i != i64::MIN => {
                self.load_int(-i, dst, *span);
                (&ops[..ops.len() - 1], true)
            }
            (Some((UnOp::Neg, span)), ExprKind::Float(f)) => {
                let index = self.func().float_constant(-f);
                self.func().emit(Instr::LoadConst { dst, index }, *span);
                (&ops[..ops.len() - 1], true)
            }
            _ => (ops, false),
        };
        let mut src = if folded { dst } else { self.expr_any(operand)? };
        for (op, span) in ops.iter().rev() {
            let instr = match op {
                UnOp::Neg => Instr::Neg { dst, src },
                UnOp::Not => Instr::Not { dst, src },
            };
            self.func().emit(instr, *span);
            src = dst;
        }
        if src != dst {
            self.func().emit(Instr::Move { dst, src }, operand.span);
        }
        Ok(())
    }

    /// A numeric literal usable as a `K` operand, negated ones (`-1`) included.
    pub(super) fn numeric_constant(&mut self, e: &Expr) -> Option<u16> {
        let index = match &e.kind {
            ExprKind::Int(i) => self.func().int_constant(*i),
            ExprKind::Float(f) => self.func().float_constant(*f),
            ExprKind::Unary { ops, operand } if matches!(ops[..], [(UnOp::Neg, _)]) => match operand.kind {
                ExprKind::Int(i) if i != i64::MIN => self.func().int_constant(-i),
                ExprKind::Float(f) => self.func().float_constant(-f),
                _ => return None,
            },
            _ => return None,
        };
        u16::try_from(index).ok()
    }

    fn binary(&mut self, first: &Expr, rest: &[(BinOp, Span, Expr)], dst: Reg) -> CResult<()> {
        match rest[0].0 {
            BinOp::And | BinOp::Or => return self.logical(first, rest, dst),
            BinOp::Coalesce => return self.coalesce(first, rest, dst),
            BinOp::Pipe => return self.pipe(first, rest, dst),
            _ => {}
        }
        // A left operand that is not a local is computed straight into `dst`, so that
        // `dst == lhs` and a string can be appended in place (`g := g + piece`).
        let loans = self.loans.len();
        let mut lhs = match self.local_slot(first) {
            Some(slot) => slot,
            None => {
                self.expr_to(first, dst)?;
                dst
            }
        };
        for (op, span, rhs_expr) in rest {
            let mark = self.func().next_slot;
            let constant = match op {
                BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => self.numeric_constant(rhs_expr),
                _ => None,
            };
            let instr = if let Some(index) = constant {
                match op {
                    BinOp::Add => Instr::AddK { dst, lhs, index },
                    BinOp::Sub => Instr::SubK { dst, lhs, index },
                    BinOp::Mul => Instr::MulK { dst, lhs, index },
                    BinOp::Div => Instr::DivK { dst, lhs, index },
                    _ => Instr::ModK { dst, lhs, index },
                }
            } else {
                let rhs = self.expr_any(rhs_expr)?;
                match op {
                    BinOp::Add => Instr::Add { dst, lhs, rhs },
                    BinOp::Sub => Instr::Sub { dst, lhs, rhs },
                    BinOp::Mul => Instr::Mul { dst, lhs, rhs },
                    BinOp::Div => Instr::Div { dst, lhs, rhs },
                    BinOp::Mod => Instr::Mod { dst, lhs, rhs },
                    BinOp::Eq => Instr::Eq { dst, lhs, rhs },
                    BinOp::Ne => Instr::Ne { dst, lhs, rhs },
                    BinOp::Lt => Instr::Lt { dst, lhs, rhs },
                    BinOp::Le => Instr::Le { dst, lhs, rhs },
                    BinOp::Gt => Instr::Gt { dst, lhs, rhs },
                    BinOp::Ge => Instr::Ge { dst, lhs, rhs },
                    BinOp::And | BinOp::Or | BinOp::Coalesce | BinOp::Pipe => {
                        unreachable!("one precedence level per chain")
                    }
                }
            };
            self.end_loans(loans, *span);
            self.func().emit(instr, *span);
            self.func().free_slots_to(mark);
            lhs = dst;
        }
        Ok(())
    }

    fn logical(&mut self, first: &Expr, rest: &[(BinOp, Span, Expr)], dst: Reg) -> CResult<()> {
        let is_and = rest[0].0 == BinOp::And;
        let mut short_circuits = Vec::new();
        let operands = std::iter::once((first.span, first)).chain(rest.iter().map(|(_, s, e)| (*s, e)));
        let count = rest.len() + 1;
        for (i, (span, operand)) in operands.enumerate() {
            self.expr_to(operand, dst)?;
            if i + 1 < count {
                let instr = if is_and {
                    Instr::JumpIfFalse { src: dst, offset: 0 }
                } else {
                    Instr::JumpIfTrue { src: dst, offset: 0 }
                };
                short_circuits.push(self.func().emit(instr, span));
            } else {
                self.func().emit(Instr::ToBool { dst, src: dst }, span);
            }
        }
        let done = self.func().emit_jump(first.span);
        self.func().patch_to_here(short_circuits);
        self.func().emit(Instr::LoadBool { dst, value: !is_and }, first.span);
        self.func().patch_to_here([done]);
        Ok(())
    }

    fn coalesce(&mut self, first: &Expr, rest: &[(BinOp, Span, Expr)], dst: Reg) -> CResult<()> {
        self.expr_to(first, dst)?;
        let mut done = Vec::new();
        for (_, span, operand) in rest {
            done.push(self.func().emit(Instr::JumpIfNotNull { src: dst, offset: 0 }, *span));
            self.expr_to(operand, dst)?;
        }
        self.func().patch_to_here(done);
        Ok(())
    }

    /// `x |> f |> g` is `g(f(x))`, evaluated left to right.
    fn pipe(&mut self, first: &Expr, rest: &[(BinOp, Span, Expr)], dst: Reg) -> CResult<()> {
        let value = self.expr_temp(first)?;
        for (_, span, callee) in rest {
            let base = self.func().alloc_slot(*span)?;
            self.expr_to(callee, base)?;
            let arg = self.func().alloc_slot(*span)?;
            self.func().emit(Instr::MoveOwned { dst: arg, src: value }, *span);
            self.func().emit(Instr::Call { base, argc: 1, lent: 0 }, *span);
            self.func().emit(Instr::MoveOwned { dst: value, src: base }, *span);
            self.func().free_slots_to(base);
        }
        self.func().emit(Instr::MoveOwned { dst, src: value }, first.span);
        Ok(())
    }

    /// Calls, indexes, fields and method calls, left to right. Intermediate results live
    /// in `work`, the topmost slot, so a call's arguments can follow it directly.
    fn postfix(&mut self, base: &Expr, ops: &[(PostfixOp, Span)], dst: Reg) -> CResult<()> {
        let work = if self.func().next_slot == dst + 1 { dst } else { self.func().alloc_slot(base.span)? };
        // `c.x` and `c.f(args)` where `import a.b.c` made `c` a module alias: the export's
        // global, then (for a call) the remaining operations as usual.
        let member = match (&base.kind, ops.first()) {
            (ExprKind::Name(alias), Some((PostfixOp::Field(field) | PostfixOp::Method(field, _), span))) => {
                self.module_member(alias, field, *span)?
            }
            _ => None,
        };
        if let Some(global) = member {
            self.func().emit(Instr::GetGlobal { dst: work, global }, base.span);
            let mut rest: Vec<(PostfixOp, Span)> = Vec::with_capacity(ops.len());
            if let (PostfixOp::Method(_, args), span) = &ops[0] {
                rest.push((PostfixOp::Call(args.clone()), *span));
            }
            rest.extend(ops[1..].iter().cloned());
            return self.postfix_ops(base, &rest, work, work, dst, None);
        }
        let loan_at = self.loan_position(ops);
        let acc = match (self.callback_form(base, ops), self.local_slot(base)) {
            (Some(global), _) => {
                self.func().emit(Instr::GetGlobal { dst: work, global }, base.span);
                work
            }
            (None, Some(slot)) => slot,
            (None, None) => {
                if loan_at.is_none() || !self.take_name(base, work) {
                    self.expr_to(base, work)?;
                }
                work
            }
        };
        self.postfix_ops(base, ops, acc, work, dst, loan_at)
    }

    /// Where a postfix chain reads a container and then indexes it with an expression that
    /// runs Ruff code (`g[f(i)]`, `g.items[f(i)].x`), every step before it being a plain
    /// index or field read: the position of that index. The container is read without
    /// marking and lent while the index expression runs (`postfix_ops`), as `g := push(g,
    /// f())` lends `g` (DESIGN.md, value semantics, item 13): marking it would make the next
    /// write through its variable copy it whole, once per read.
    fn loan_position(&mut self, ops: &[(PostfixOp, Span)]) -> Option<usize> {
        for (position, (op, _)) in ops.iter().enumerate() {
            match op {
                PostfixOp::Index(index) if !self.runs_no_code(index) => return Some(position),
                PostfixOp::Index(_) | PostfixOp::Field(_) => {}
                PostfixOp::Call(_) | PostfixOp::Method(..) => return None,
            }
        }
        None
    }

    /// Reads the global or capture `base` names into `dst` without marking it
    /// (`TakeGlobal`/`TakeCapture`); false (nothing emitted) for any other expression.
    fn take_name(&mut self, base: &Expr, dst: Reg) -> bool {
        let ExprKind::Name(name) = &base.kind else {
            return false;
        };
        let instr = match self.resolve(name) {
            Name::Global(global, _) => Instr::TakeGlobal { dst, global },
            Name::Capture(index, _) => Instr::TakeCapture { dst, index },
            _ => return false,
        };
        self.func().emit(instr, base.span);
        true
    }

    /// The operations of a postfix chain on the value in `acc`, computed in `work`. Up to
    /// `loan_at` (`loan_position`) the steps read without marking, and the container that
    /// index indexes is on loan while its index expression runs.
    fn postfix_ops(
        &mut self,
        base: &Expr,
        ops: &[(PostfixOp, Span)],
        acc: Reg,
        work: Reg,
        dst: Reg,
        loan_at: Option<usize>,
    ) -> CResult<()> {
        let mut acc = acc;
        for (position, (op, span)) in ops.iter().enumerate() {
            let span = *span;
            self.func().free_slots_to(work + 1);
            let before_loan = loan_at.is_some_and(|at| position < at);
            match op {
                PostfixOp::Index(index) => {
                    // The element is only looked into next, with no Ruff code running in
                    // between that could reach its container: no copy of it survives.
                    let peek = before_loan
                        || match ops.get(position + 1) {
                            Some((PostfixOp::Field(_), _)) => true,
                            Some((PostfixOp::Index(next), _)) => self.runs_no_code(next),
                            _ => false,
                        };
                    // A variable's own slot needs no loan: Ruff code cannot reach it.
                    let loans = self.loans.len();
                    if loan_at == Some(position) && acc == work {
                        self.lend(work, span);
                    }
                    let index = self.expr_any(index)?;
                    self.end_loans(loans, span);
                    let instr = if peek {
                        Instr::PeekIndex { dst: work, obj: acc, index }
                    } else {
                        Instr::GetIndex { dst: work, obj: acc, index }
                    };
                    self.func().emit(instr, span);
                }
                PostfixOp::Field(name) => {
                    let name = self.symbol16(name, span)?;
                    let instr = if before_loan {
                        Instr::PeekField { dst: work, obj: acc, name }
                    } else {
                        Instr::GetField { dst: work, obj: acc, name }
                    };
                    self.func().emit(instr, span);
                }
                PostfixOp::Call(args) => {
                    if position == 0 {
                        self.check_call(base, args.len(), span);
                    }
                    if acc != work {
                        self.func().emit(Instr::Move { dst: work, src: acc }, span);
                    }
                    let loans = self.loans.len();
                    if position == 0 && self.names_borrowing_builtin(base) {
                        self.borrowed_arguments(args, span)?;
                    } else {
                        let refs: Vec<&Expr> = args.iter().collect();
                        self.consecutive(&refs, span)?;
                    }
                    self.end_loans(loans, span);
                    let argc = u16::try_from(args.len()).map_err(|_| CompileError::new(span, "Too many arguments"))?;
                    // A builtin's callback form is a call of Ruff code (`sort(a, less)`).
                    let builtin = if position == 0 && self.callback_form(base, ops).is_none() {
                        self.named_builtin(base)
                    } else {
                        None
                    };
                    let call = self.func().emit(Instr::Call { base: work, argc, lent: 0 }, span);
                    if let Some(id) = builtin {
                        self.func().builtin_calls.insert(call, id);
                    }
                }
                PostfixOp::Method(name, args) => {
                    let receiver = self.func().alloc_slot(span)?;
                    self.func().emit(Instr::Move { dst: receiver, src: acc }, span);
                    let refs: Vec<&Expr> = args.iter().collect();
                    self.consecutive(&refs, span)?;
                    let name = self.symbol16(name, span)?;
                    let argc = u16::try_from(args.len()).map_err(|_| CompileError::new(span, "Too many arguments"))?;
                    self.func().emit(Instr::CallMethod { base: work, name, argc }, span);
                }
            }
            acc = work;
        }
        if work != dst {
            self.func().emit(Instr::MoveOwned { dst, src: work }, base.span);
        }
        Ok(())
    }

    /// The library function (its global) that the call `base(args...)`, the first of
    /// `ops`, makes instead of a builtin (`builtins::callback_form`).
    fn callback_form(&mut self, base: &Expr, ops: &[(PostfixOp, Span)]) -> Option<u32> {
        let ExprKind::Name(name) = &base.kind else {
            return None;
        };
        let Some((PostfixOp::Call(args), _)) = ops.first() else {
            return None;
        };
        let Name::Builtin(id) = self.resolve(name) else {
            return None;
        };
        let library = builtins::callback_form(id, args.len())?;
        self.library_names.get(library).copied()
    }

    /// Whether `base` names a builtin that only looks at its arguments.
    fn names_borrowing_builtin(&mut self, base: &Expr) -> bool {
        self.named_builtin(base).is_some_and(builtins::borrows_arguments)
    }

    /// The builtin `base` names, if it is one.
    fn named_builtin(&mut self, base: &Expr) -> Option<u32> {
        let ExprKind::Name(name) = &base.kind else {
            return None;
        };
        match self.resolve(name) {
            Name::Builtin(id) => Some(id),
            _ => None,
        }
    }

    /// Arguments lent to a builtin: a variable is passed without being shared. A global or
    /// capture read while a later argument can run Ruff code (which could reach it and
    /// change it in place before the builtin looks at it) is put on loan until the call.
    fn borrowed_arguments(&mut self, args: &[Expr], span: Span) -> CResult<()> {
        for (i, arg) in args.iter().enumerate() {
            let slot = self.func().alloc_slot(span)?;
            let later_run_no_code = args[i + 1..].iter().all(|a| self.runs_no_code(a));
            let ExprKind::Name(name) = &arg.kind else {
                self.expr_to(arg, slot)?;
                continue;
            };
            match self.resolve(name) {
                Name::Slot(src, _) => {
                    self.func().emit(Instr::Borrow { dst: slot, src }, arg.span);
                }
                Name::Global(global, _) => {
                    self.func().emit(Instr::TakeGlobal { dst: slot, global }, arg.span);
                    if !later_run_no_code {
                        self.lend(slot, arg.span);
                    }
                }
                Name::Capture(index, _) => {
                    self.func().emit(Instr::TakeCapture { dst: slot, index }, arg.span);
                    if !later_run_no_code {
                        self.lend(slot, arg.span);
                    }
                }
                _ => self.expr_to(arg, slot)?,
            }
        }
        Ok(())
    }

    /// Puts the value just read into `slot` on loan until the enclosing call or operator
    /// consumes it (`end_loans`).
    fn lend(&mut self, slot: Reg, span: Span) {
        self.func().emit(Instr::Lend { src: slot }, span);
        self.loans.push(slot);
    }

    /// Ends the loans started since there were `from` of them, just before the
    /// instruction that consumes the lent values.
    fn end_loans(&mut self, from: usize, span: Span) {
        for slot in self.loans.split_off(from) {
            self.func().emit(Instr::EndLoan { src: slot }, span);
        }
    }

    /// Compiles a condition; returns the jumps taken when it is false.
    pub(super) fn condition(&mut self, e: &Expr) -> CResult<Vec<usize>> {
        let mark = self.func().next_slot;
        let jumps = match &e.kind {
            ExprKind::Binary { first, rest } if rest.iter().all(|(op, _, _)| *op == BinOp::And) => {
                let mut jumps = self.condition(first)?;
                for (_, _, operand) in rest {
                    jumps.extend(self.condition(operand)?);
                }
                jumps
            }
            ExprKind::Binary { first, rest } if rest.len() == 1 && comparison(rest[0].0) => {
                let (op, span, rhs) = &rest[0];
                let lhs = self.expr_any(first)?;
                let test = match (op, &rhs.kind) {
                    (BinOp::Eq, ExprKind::Null) => Instr::TestNull { src: lhs },
                    (BinOp::Ne, ExprKind::Null) => Instr::TestNotNull { src: lhs },
                    _ => self.comparison_test(*op, lhs, rhs)?,
                };
                self.func().emit(test, *span);
                vec![self.func().emit_jump(*span)]
            }
            _ => {
                let src = self.expr_any(e)?;
                vec![self.func().emit(Instr::JumpIfFalse { src, offset: 0 }, e.span)]
            }
        };
        self.func().free_slots_to(mark);
        Ok(jumps)
    }

    /// The test of `lhs op rhs` for a condition: with a constant right operand (`TestLtK`,
    /// ...) when `rhs` is a number literal.
    fn comparison_test(&mut self, op: BinOp, lhs: Reg, rhs: &Expr) -> CResult<Instr> {
        if let Some(index) = self.numeric_constant(rhs) {
            return Ok(match op {
                BinOp::Lt => Instr::TestLtK { lhs, index },
                BinOp::Le => Instr::TestLeK { lhs, index },
                BinOp::Gt => Instr::TestGtK { lhs, index },
                BinOp::Ge => Instr::TestGeK { lhs, index },
                BinOp::Eq => Instr::TestEqK { lhs, index },
                _ => Instr::TestNeK { lhs, index },
            });
        }
        let rhs = self.expr_any(rhs)?;
        Ok(match op {
            BinOp::Lt => Instr::TestLt { lhs, rhs },
            BinOp::Le => Instr::TestLe { lhs, rhs },
            BinOp::Gt => Instr::TestGt { lhs, rhs },
            BinOp::Ge => Instr::TestGe { lhs, rhs },
            BinOp::Eq => Instr::TestEq { lhs, rhs },
            _ => Instr::TestNe { lhs, rhs },
        })
    }
}

impl Compiler<'_> {
    /// Whether evaluating `e` cannot run Ruff code (no calls of Ruff functions, method
    /// calls or pipes outside function literals). Operators, indexing, interpolation and
    /// builtins (which never call back into Ruff code) run none.
    pub(super) fn runs_no_code(&mut self, e: &Expr) -> bool {
        match &e.kind {
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Str(_)
            | ExprKind::Bool(_)
            | ExprKind::Null
            | ExprKind::Name(_)
            | ExprKind::SelfRef
            | ExprKind::Func(_)
            | ExprKind::None => true,
            ExprKind::Interp(parts) => parts.iter().all(|p| match p {
                InterpPart::Lit(_) => true,
                InterpPart::Expr(e) => self.runs_no_code(e),
            }),
            ExprKind::Array(items) => items.iter().all(|i| match i {
                ArrayItem::Item(e) | ArrayItem::Spread(e) => self.runs_no_code(e),
            }),
            ExprKind::Dict(items) => items.iter().all(|i| match i {
                DictItem::Pair(k, v) => self.runs_no_code(k) && self.runs_no_code(v),
                DictItem::Spread(e) => self.runs_no_code(e),
            }),
            ExprKind::Ok(v) | ExprKind::Err(v) | ExprKind::Some(v) | ExprKind::Throw(v) => self.runs_no_code(v),
            ExprKind::EnumVariant { args, .. } => args.iter().flatten().all(|a| self.runs_no_code(a)),
            ExprKind::StructLit { fields, .. } => fields.iter().all(|(_, e)| self.runs_no_code(e)),
            ExprKind::Unary { operand, .. } => self.runs_no_code(operand),
            ExprKind::Binary { first, rest } => {
                self.runs_no_code(first) && rest.iter().all(|(op, _, e)| *op != BinOp::Pipe && self.runs_no_code(e))
            }
            ExprKind::Postfix { base, ops } => {
                let calls_builtin = self.names_builtin(base) && self.callback_form(base, ops).is_none();
                self.runs_no_code(base)
                    && ops.iter().enumerate().all(|(n, (op, _))| match op {
                        PostfixOp::Index(e) => self.runs_no_code(e),
                        PostfixOp::Field(_) => true,
                        PostfixOp::Call(args) if n == 0 && calls_builtin => args.iter().all(|a| self.runs_no_code(a)),
                        PostfixOp::Call(_) | PostfixOp::Method(..) => false,
                    })
            }
        }
    }

    /// Whether `base` names a builtin (not a Ruff function of the same name).
    fn names_builtin(&mut self, base: &Expr) -> bool {
        let ExprKind::Name(name) = &base.kind else {
            return false;
        };
        matches!(self.resolve(name), Name::Builtin(_))
    }
}

fn comparison(op: BinOp) -> bool {
    matches!(op, BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne)
}
