//! The per-function state of the compiler: slot allocation, lexical scopes, constants,
//! jumps and labels for one prototype under construction.
//!
//! Terms:
//! - Slots are allocated as a stack: locals of the innermost scope sit above those of
//!   enclosing scopes, temporaries above all locals. `next_slot` is the first free slot;
//!   leaving a scope or finishing an expression lowers it again.
//! - A *label* is a code position that some jump targets. `label_at_end` records whether
//!   the current end of the code is such a position, which forbids rewriting the last
//!   instruction (another path flows into the code after it).

use rustc_hash::FxHashMap;

use super::bytecode::{CaptureSource, Instr, Proto, Reg, SlotName};
use super::CompileError;
use crate::parse::ast::{DeclKind, Span};
use crate::runtime::value::Value;

/// How a name was bound, for the immutability checks of LANGUAGE.md section 8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binding {
    Let,
    Const,
    Mutable,
    /// A name bound by `from m import x`: only module `m` assigns it.
    Imported,
}

impl From<DeclKind> for Binding {
    fn from(kind: DeclKind) -> Binding {
        match kind {
            DeclKind::Let => Binding::Let,
            DeclKind::Const => Binding::Const,
            DeclKind::Mut => Binding::Mutable,
        }
    }
}

/// Where a variable lives: a slot of its function's frame, or (top-level code) a global.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarLoc {
    Slot(Reg),
    Global(u32),
}

#[derive(Clone, Debug)]
pub struct Var {
    pub name: String,
    pub binding: Binding,
    pub loc: VarLoc,
    /// Its entry in `Proto::slot_names`, for a local in a slot.
    slot_name: Option<usize>,
}

#[derive(Default)]
pub struct Scope {
    pub vars: Vec<Var>,
    /// `next_slot` when the scope was entered.
    pub slot_base: Reg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FuncKind {
    /// The top level: its variables are globals.
    Main,
    Function,
    /// A struct method; slot 0 holds the receiver.
    Method {
        struct_index: u32,
    },
}

pub struct LoopContext {
    pub break_jumps: Vec<usize>,
    pub continue_jumps: Vec<usize>,
    /// `try_depth` when the loop was entered: `break`/`continue` close the handlers above.
    pub try_depth: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum ConstKey {
    Int(i64),
    Float(u64),
    Builtin(u32),
}

pub struct FuncState {
    pub proto: Proto,
    pub kind: FuncKind,
    pub scopes: Vec<Scope>,
    pub next_slot: Reg,
    /// Names captured from enclosing functions, parallel to `proto.captures`.
    pub capture_names: Vec<(String, Binding)>,
    pub loops: Vec<LoopContext>,
    pub try_depth: usize,
    /// The name a nested `func NAME` uses to call itself.
    pub self_name: Option<String>,
    /// Declared fields of the receiver's struct, visible as bare names in methods.
    pub fields: Vec<String>,
    /// The pc of each `Call` of a builtin known at compile time, and the builtin's index
    /// (for `borrow.rs`: such a call runs no Ruff code).
    pub builtin_calls: FxHashMap<usize, u32>,
    label_at_end: bool,
    constants: FxHashMap<ConstKey, u32>,
    string_constants: FxHashMap<String, u32>,
}

/// Slots above this are reserved so a call frame can always start past the last one.
const MAX_SLOTS: u32 = 60_000;

impl FuncState {
    pub fn new(name: String, kind: FuncKind) -> FuncState {
        FuncState {
            proto: Proto { name, ..Proto::default() },
            kind,
            scopes: vec![Scope::default()],
            next_slot: 0,
            capture_names: Vec::new(),
            loops: Vec::new(),
            try_depth: 0,
            self_name: None,
            fields: Vec::new(),
            builtin_calls: FxHashMap::default(),
            label_at_end: false,
            constants: FxHashMap::default(),
            string_constants: FxHashMap::default(),
        }
    }

    pub fn alloc_slot(&mut self, span: Span) -> Result<Reg, CompileError> {
        let slot = self.next_slot;
        if slot as u32 >= MAX_SLOTS {
            return Err(CompileError::new(span, "Function too large: it needs more than 60000 slots"));
        }
        self.next_slot += 1;
        self.proto.num_slots = self.proto.num_slots.max(self.next_slot);
        Ok(slot)
    }

    pub fn alloc_slots(&mut self, count: u16, span: Span) -> Result<Reg, CompileError> {
        let first = self.next_slot;
        for _ in 0..count {
            self.alloc_slot(span)?;
        }
        Ok(first)
    }

    pub fn free_slots_to(&mut self, slot: Reg) {
        self.next_slot = slot;
    }

    pub fn pc(&self) -> usize {
        self.proto.code.len()
    }

    pub fn emit(&mut self, instr: Instr, span: Span) -> usize {
        self.proto.code.push(instr);
        self.proto.spans.push(span);
        self.label_at_end = false;
        self.proto.code.len() - 1
    }

    /// Emits a jump whose target is patched later.
    pub fn emit_jump(&mut self, span: Span) -> usize {
        self.emit(Instr::Jump { offset: 0 }, span)
    }

    /// Points the jump at `jump_pc` to `target`.
    pub fn patch_jump(&mut self, jump_pc: usize, target: usize) {
        let offset = target as i32 - (jump_pc as i32 + 1);
        match &mut self.proto.code[jump_pc] {
            Instr::Jump { offset: o }
            | Instr::JumpIfFalse { offset: o, .. }
            | Instr::JumpIfTrue { offset: o, .. }
            | Instr::JumpIfNotNull { offset: o, .. }
            | Instr::ForPrep { offset: o, .. }
            | Instr::ForNext { offset: o, .. }
            | Instr::ForRangePrep { offset: o, .. }
            | Instr::ForRangeNext { offset: o, .. }
            | Instr::TryBegin { offset: o, .. } => *o = offset,
            other => unreachable!("patching a non-jump instruction {:?}", other),
        }
        if target == self.pc() {
            self.label_at_end = true;
        }
    }

    /// Patches jumps to the current end of the code.
    pub fn patch_to_here(&mut self, jumps: impl IntoIterator<Item = usize>) {
        let here = self.pc();
        for j in jumps {
            self.patch_jump(j, here);
        }
        self.label_at_end = true;
    }

    /// Marks the current position as a jump target (for backward jumps emitted later).
    pub fn label(&mut self) -> usize {
        self.label_at_end = true;
        self.pc()
    }

    /// Rewrites the destination of the last instruction from `from` to `to`, when that
    /// instruction alone produced `from` and no jump lands after it. Returns whether it did.
    pub fn retarget_last(&mut self, from: Reg, to: Reg) -> bool {
        if self.label_at_end {
            return false;
        }
        let Some(last) = self.proto.code.last_mut() else {
            return false;
        };
        let dst = match last {
            Instr::Add { dst, .. }
            | Instr::Sub { dst, .. }
            | Instr::Mul { dst, .. }
            | Instr::Div { dst, .. }
            | Instr::Mod { dst, .. }
            | Instr::AddK { dst, .. }
            | Instr::SubK { dst, .. }
            | Instr::MulK { dst, .. }
            | Instr::DivK { dst, .. }
            | Instr::ModK { dst, .. }
            | Instr::Neg { dst, .. }
            | Instr::Not { dst, .. }
            | Instr::Eq { dst, .. }
            | Instr::Ne { dst, .. }
            | Instr::Lt { dst, .. }
            | Instr::Le { dst, .. }
            | Instr::Gt { dst, .. }
            | Instr::Ge { dst, .. }
            | Instr::LoadConst { dst, .. }
            | Instr::LoadInt { dst, .. }
            | Instr::LoadNull { dst }
            | Instr::LoadBool { dst, .. }
            | Instr::GetGlobal { dst, .. }
            | Instr::TakeGlobal { dst, .. }
            | Instr::GetCapture { dst, .. }
            | Instr::TakeCapture { dst, .. }
            | Instr::GetIndex { dst, .. }
            | Instr::PeekIndex { dst, .. }
            | Instr::GetField { dst, .. }
            | Instr::ToStr { dst, .. } => dst,
            _ => return false,
        };
        if *dst != from {
            return false;
        }
        *dst = to;
        true
    }

    fn add_constant(&mut self, key: Option<ConstKey>, value: Value) -> u32 {
        if let Some(key) = key {
            if let Some(&index) = self.constants.get(&key) {
                return index;
            }
            let index = self.proto.constants.len() as u32;
            self.constants.insert(key, index);
            self.proto.constants.push(value);
            return index;
        }
        self.proto.constants.push(value);
        self.proto.constants.len() as u32 - 1
    }

    pub fn int_constant(&mut self, i: i64) -> u32 {
        self.add_constant(Some(ConstKey::Int(i)), Value::Int(i))
    }

    pub fn float_constant(&mut self, f: f64) -> u32 {
        self.add_constant(Some(ConstKey::Float(f.to_bits())), Value::Float(f))
    }

    pub fn builtin_constant(&mut self, id: u32) -> u32 {
        self.add_constant(Some(ConstKey::Builtin(id)), Value::Builtin(id))
    }

    /// A string constant; `make` allocates it on first use.
    pub fn string_constant(&mut self, text: &str, make: impl FnOnce() -> Value) -> u32 {
        if let Some(&index) = self.string_constants.get(text) {
            return index;
        }
        let index = self.add_constant(None, make());
        self.string_constants.insert(text.to_string(), index);
        index
    }

    pub fn push_scope(&mut self) {
        let slot_base = self.next_slot;
        self.scopes.push(Scope { vars: Vec::new(), slot_base });
    }

    pub fn pop_scope(&mut self) {
        let scope = self.scopes.pop().expect("scope stack never empties below the function scope");
        self.next_slot = scope.slot_base;
        let end = self.pc() as u32;
        for var in &scope.vars {
            if let Some(entry) = var.slot_name {
                self.proto.slot_names[entry].end = end;
            }
        }
    }

    pub fn current_scope_has(&self, name: &str) -> bool {
        self.scopes.last().is_some_and(|s| s.vars.iter().any(|v| v.name == name))
    }

    pub fn declare(&mut self, name: &str, binding: Binding, loc: VarLoc) {
        let slot_name = match loc {
            VarLoc::Slot(slot) => {
                let start = self.proto.code.len() as u32;
                self.proto.slot_names.push(SlotName { slot, name: name.to_string(), start, end: u32::MAX });
                Some(self.proto.slot_names.len() - 1)
            }
            VarLoc::Global(_) => None,
        };
        let scope = self.scopes.last_mut().expect("scope stack never empties below the function scope");
        scope.vars.push(Var { name: name.to_string(), binding, loc, slot_name });
        if let VarLoc::Slot(slot) = loc {
            // A local claims its slot for the rest of the scope.
            if slot >= scope.slot_base && slot + 1 > self.next_slot {
                self.next_slot = slot + 1;
            }
        }
    }

    /// The innermost visible variable called `name` in this function.
    pub fn lookup(&self, name: &str) -> Option<&Var> {
        self.scopes.iter().rev().find_map(|s| s.vars.iter().rev().find(|v| v.name == name))
    }

    pub fn capture_index(&self, name: &str) -> Option<(u16, Binding)> {
        self.capture_names.iter().position(|(n, _)| n == name).map(|i| (i as u16, self.capture_names[i].1))
    }

    pub fn add_capture(&mut self, name: &str, binding: Binding, source: CaptureSource) -> u16 {
        self.capture_names.push((name.to_string(), binding));
        self.proto.captures.push(source);
        (self.proto.captures.len() - 1) as u16
    }
}
