//! The register bytecode: instruction set, function prototypes and the compiled program.
//!
//! Terms:
//! - A *prototype* ([`Proto`]) is one compiled function (the top level is `<main>`). Its
//!   frame is a fixed array of `num_slots` numbered *slots* (registers): parameters first
//!   (a method's receiver is slot 0), then locals in declaration order, then temporaries.
//!   Block-scoped locals reuse the slots of blocks that ended. The layout never changes at
//!   run time, so a trace can name slots and a snapshot can map them back.
//! - *Owned operand*: instructions that store a register into a location (a container, a
//!   global, a capture, a callee's parameter, a return value) take ownership of it. The
//!   compiler guarantees the register is a temporary or a dying local, so no second live
//!   holder is created; instructions that copy a value out of a live location (`Move`,
//!   `GetGlobal`, `GetIndex`, ...) mark it shared instead (see `runtime/object.rs`).
//! - *Test-and-jump pairs*: every `Test*` instruction is immediately followed by a `Jump`.
//!   When the test is false the jump is taken; when true it is skipped. This keeps every
//!   instruction 8 bytes while conditional branches stay one dispatch.
//! - *Loop back-edges* are `Jump`s with a negative offset and the `ForNext`/`ForRangeNext`
//!   instructions; their targets are the loop headers a hot-loop counter watches.
//!
//! Invariants: jump offsets are relative to the instruction after the jump; every
//! `spans[pc]` is the source position a runtime error at `pc` reports.

use std::cell::Cell;

use crate::parse::ast::Span;
use crate::runtime::symbol::{Interner, Symbol};
use crate::runtime::value::Value;
use rustc_hash::FxHashMap;

/// A slot number in the current frame.
pub type Reg = u16;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProtoId(pub u32);

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Instr {
    /// `dst := src`, where `src` stays live: the value becomes shared.
    Move {
        dst: Reg,
        src: Reg,
    },
    /// `dst := src` at the last use of `src`: ownership passes to `dst`.
    MoveOwned {
        dst: Reg,
        src: Reg,
    },
    /// `dst := src` where `dst` only looks at the value while nothing can change it: an
    /// argument of a builtin that only looks at it (see `builtins::borrows_arguments`), or
    /// a copy `compile/borrow.rs` proved harmless. Nothing is marked shared.
    Borrow {
        dst: Reg,
        src: Reg,
    },
    LoadConst {
        dst: Reg,
        index: u32,
    },
    LoadInt {
        dst: Reg,
        value: i32,
    },
    LoadNull {
        dst: Reg,
    },
    LoadBool {
        dst: Reg,
        value: bool,
    },
    /// The closure of the running frame (a nested `func f` calling itself).
    LoadSelfFunc {
        dst: Reg,
    },
    GetGlobal {
        dst: Reg,
        global: u32,
    },
    /// Reads a global without marking its value shared: for a statement that writes the
    /// result straight back to it (`g := push(g, x)`, `g := g + s`), or for a read that
    /// only looks at the value while nothing can change it (`compile/borrow.rs`).
    TakeGlobal {
        dst: Reg,
        global: u32,
    },
    SetGlobal {
        global: u32,
        src: Reg,
    },
    GetCapture {
        dst: Reg,
        index: u16,
    },
    /// Reads a capture without sharing it, under the same rules as `TakeGlobal`.
    TakeCapture {
        dst: Reg,
        index: u16,
    },
    SetCapture {
        index: u16,
        src: Reg,
    },
    /// Puts the object in `src`, just read with `TakeGlobal`/`TakeCapture` as an argument,
    /// *on loan*: later arguments run Ruff code that may reach the global or capture, so
    /// the object is marked lent (or shared, if it was not unique). A write through the
    /// variable meanwhile then copies it, as for a shared object. See `runtime/heap.rs`.
    Lend {
        src: Reg,
    },
    /// Ends the loan `Lend` started, just before the call: an object still only lent (no
    /// one copied it meanwhile) is unique again, so the builtin may update it in place.
    EndLoan {
        src: Reg,
    },

    Add {
        dst: Reg,
        lhs: Reg,
        rhs: Reg,
    },
    Sub {
        dst: Reg,
        lhs: Reg,
        rhs: Reg,
    },
    Mul {
        dst: Reg,
        lhs: Reg,
        rhs: Reg,
    },
    Div {
        dst: Reg,
        lhs: Reg,
        rhs: Reg,
    },
    Mod {
        dst: Reg,
        lhs: Reg,
        rhs: Reg,
    },
    /// Arithmetic with a constant right operand (`index` into the constants).
    AddK {
        dst: Reg,
        lhs: Reg,
        index: u16,
    },
    SubK {
        dst: Reg,
        lhs: Reg,
        index: u16,
    },
    MulK {
        dst: Reg,
        lhs: Reg,
        index: u16,
    },
    DivK {
        dst: Reg,
        lhs: Reg,
        index: u16,
    },
    ModK {
        dst: Reg,
        lhs: Reg,
        index: u16,
    },
    Neg {
        dst: Reg,
        src: Reg,
    },
    Not {
        dst: Reg,
        src: Reg,
    },
    Eq {
        dst: Reg,
        lhs: Reg,
        rhs: Reg,
    },
    Ne {
        dst: Reg,
        lhs: Reg,
        rhs: Reg,
    },
    Lt {
        dst: Reg,
        lhs: Reg,
        rhs: Reg,
    },
    Le {
        dst: Reg,
        lhs: Reg,
        rhs: Reg,
    },
    Gt {
        dst: Reg,
        lhs: Reg,
        rhs: Reg,
    },
    Ge {
        dst: Reg,
        lhs: Reg,
        rhs: Reg,
    },
    ToBool {
        dst: Reg,
        src: Reg,
    },

    /// Test-and-jump pairs (see module docs): the following `Jump` runs when false.
    TestLt {
        lhs: Reg,
        rhs: Reg,
    },
    TestLe {
        lhs: Reg,
        rhs: Reg,
    },
    TestGt {
        lhs: Reg,
        rhs: Reg,
    },
    TestGe {
        lhs: Reg,
        rhs: Reg,
    },
    TestEq {
        lhs: Reg,
        rhs: Reg,
    },
    TestNe {
        lhs: Reg,
        rhs: Reg,
    },
    TestLtK {
        lhs: Reg,
        index: u16,
    },
    TestLeK {
        lhs: Reg,
        index: u16,
    },
    TestGtK {
        lhs: Reg,
        index: u16,
    },
    TestGeK {
        lhs: Reg,
        index: u16,
    },
    TestEqK {
        lhs: Reg,
        index: u16,
    },
    TestNeK {
        lhs: Reg,
        index: u16,
    },
    /// True when `src == null` (`TestNotNull`: `src != null`): the `==` of the semantics
    /// layer with a null operand, which is a test of the tag alone.
    TestNull {
        src: Reg,
    },
    TestNotNull {
        src: Reg,
    },
    /// True when `src` is truthy.
    Test {
        src: Reg,
    },
    /// True when `src` is a tagged value matching `patterns[pattern]`.
    TestTag {
        src: Reg,
        pattern: u16,
    },

    Jump {
        offset: i32,
    },
    /// Marks the entry into a `while`/`loop` whose header is the next instruction: a
    /// compiled trace for that loop can start at once, not only at its first back-edge.
    /// Executed once per entry into the loop, never per iteration.
    LoopEntry,
    JumpIfFalse {
        src: Reg,
        offset: i32,
    },
    JumpIfTrue {
        src: Reg,
        offset: i32,
    },
    JumpIfNotNull {
        src: Reg,
        offset: i32,
    },

    /// Calls `R[base]` with `argc` arguments in `R[base+1..]`; the result goes to
    /// `R[base]`. The callee's frame starts at `base + 1`. Bit `i` of `lent` says argument
    /// `i` is a local variable's value lent to the call, not marked shared
    /// (`compile/borrow.rs`): the call marks it first unless the callee only looks at
    /// that parameter ([`Program::lent_arguments_to_share`]).
    Call {
        base: Reg,
        argc: u16,
        lent: u16,
    },
    /// Calls method `name` of the receiver in `R[base+1]` with `argc` arguments in
    /// `R[base+2..]`; the result goes to `R[base]`. The callee's frame starts at
    /// `base + 1`, so the receiver is its slot 0.
    CallMethod {
        base: Reg,
        name: u16,
        argc: u16,
    },
    /// `CallMethod` whose receiver is a copy lent to the call, not marked shared
    /// (`compile/borrow.rs`): the call marks it first unless the method lends its receiver
    /// ([`Program::lent_receiver_to_share`]). A variant of its own rather than a flag: a
    /// flag byte made every instruction's decoding load one more byte.
    CallMethodLent {
        base: Reg,
        name: u16,
        argc: u16,
    },
    Return {
        src: Reg,
    },
    ReturnNull,
    Closure {
        dst: Reg,
        proto: u32,
    },

    NewArray {
        dst: Reg,
        start: Reg,
        count: u16,
    },
    ArrayAppend {
        array: Reg,
        src: Reg,
    },
    ArraySpread {
        array: Reg,
        src: Reg,
    },
    NewDict {
        dst: Reg,
    },
    DictInsert {
        dict: Reg,
        key: Reg,
        value: Reg,
    },
    DictSpread {
        dict: Reg,
        src: Reg,
    },
    /// Fields from `R[start..]` in the order of `struct_literals[literal]`.
    NewStruct {
        dst: Reg,
        literal: u16,
        start: Reg,
    },
    /// Payload from `R[start..]`, constructor `tag_ctors[ctor]`.
    NewTagged {
        dst: Reg,
        ctor: u16,
        start: Reg,
    },
    /// The first payload of a tagged value (null if none).
    GetPayload {
        dst: Reg,
        src: Reg,
    },

    GetIndex {
        dst: Reg,
        obj: Reg,
        index: Reg,
    },
    /// `GetIndex` whose result is only looked at while nothing can change the container:
    /// the same expression only indexes it or reads a field of it next (`a[i][j]`,
    /// `a[i].x`), or `compile/borrow.rs` proved it. The element is not marked shared, so
    /// that reading `a[i][j]` does not make the next `a[i][k] := v` copy row `a[i]`.
    PeekIndex {
        dst: Reg,
        obj: Reg,
        index: Reg,
    },
    /// Element for a nested write target (`a[i][j] := v`): makes `R[obj]` and the
    /// element private first; the result is not marked shared.
    GetIndexForWrite {
        dst: Reg,
        obj: Reg,
        index: Reg,
    },
    SetIndex {
        obj: Reg,
        index: Reg,
        src: Reg,
    },
    GetField {
        dst: Reg,
        obj: Reg,
        name: u16,
    },
    /// `GetField` of a method's receiver (slot 0) at its last use: the receiver dies here,
    /// so when its struct is not shared the field's value changes holder and is not marked
    /// (`v := v.append(x)` with `append` building a new struct from `push(self.items, x)`
    /// pushes in place). A shared struct's field is marked as by `GetField`.
    TakeField {
        dst: Reg,
        obj: Reg,
        name: u16,
    },
    /// `GetField` whose result is only looked at while nothing can change the struct
    /// (`compile/borrow.rs` proves it): the field's value is not marked shared.
    PeekField {
        dst: Reg,
        obj: Reg,
        name: u16,
    },
    GetFieldForWrite {
        dst: Reg,
        obj: Reg,
        name: u16,
    },
    SetField {
        obj: Reg,
        name: u16,
        src: Reg,
    },

    /// Display form of `src` (string interpolation).
    ToStr {
        dst: Reg,
        src: Reg,
    },
    /// Concatenates the strings in `R[start..start+count]`.
    Concat {
        dst: Reg,
        start: Reg,
        count: u16,
    },

    /// `R[base]` holds the iterable; sets up iteration state in `R[base]`, `R[base+1]`
    /// and jumps to the loop's `ForNext`.
    ForPrep {
        base: Reg,
        offset: i32,
    },
    /// Advances: when there is a next element it goes to `R[base+2]` (the loop variable)
    /// and the jump back to the body is taken.
    ForNext {
        base: Reg,
        offset: i32,
    },
    /// `R[base..base+3]` hold start, stop, step of `range(...)`; validates them and jumps
    /// to the loop's `ForRangeNext`.
    ForRangePrep {
        base: Reg,
        offset: i32,
    },
    /// Loop variable `R[base+3]` gets `R[base]`, then `R[base]` advances by the step.
    ForRangeNext {
        base: Reg,
        offset: i32,
    },

    Throw {
        src: Reg,
    },
    /// Installs a handler: an error inside the protected block jumps to the handler with
    /// the error value in `R[err]`.
    TryBegin {
        err: Reg,
        offset: i32,
    },
    TryEnd,
    /// Raises the runtime error whose message is constant `message`.
    Raise {
        message: u32,
    },
}

const _: () = assert!(std::mem::size_of::<Instr>() == 8);

/// Where a closure's captured variable comes from when the closure is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureSource {
    /// A slot of the creating frame.
    Slot(Reg),
    /// A capture of the creating closure.
    Capture(u16),
    /// The creating closure itself (a nested function naming the function it is in).
    CurrentClosure,
}

/// Debug information: the variable held in `slot` while `start <= pc < end`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotName {
    pub slot: Reg,
    pub name: String,
    pub start: u32,
    pub end: u32,
}

/// A protected region: an error raised by an instruction in `begin+1..end` goes to the
/// handler at `handler`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TryRegion {
    pub begin: u32,
    pub end: u32,
    pub handler: u32,
}

#[derive(Clone, Debug)]
pub struct StructLiteral {
    pub type_index: u32,
    pub fields: Vec<Symbol>,
}

#[derive(Clone, Debug)]
pub struct TagCtor {
    pub enum_name: Symbol,
    pub tag: Symbol,
    pub arity: u16,
}

#[derive(Clone, Debug)]
pub struct TagPattern {
    /// `None` matches the tag in any enum.
    pub enum_name: Option<Symbol>,
    pub tag: Symbol,
}

#[derive(Clone, Debug, Default)]
pub struct Proto {
    /// `<main>`, the function's name, or `<lambda>`.
    pub name: String,
    pub arity: u16,
    /// Methods receive their receiver in slot 0, not counted in `arity`.
    pub is_method: bool,
    /// Library functions written in Ruff (`map`, `filter`, ...): errors inside them are
    /// reported at the user's call, and they print as builtins.
    pub is_library: bool,
    pub num_slots: u16,
    pub code: Vec<Instr>,
    pub spans: Vec<Span>,
    pub constants: Vec<Value>,
    pub captures: Vec<CaptureSource>,
    pub struct_literals: Vec<StructLiteral>,
    pub tag_ctors: Vec<TagCtor>,
    pub tag_patterns: Vec<TagPattern>,
    pub try_regions: Vec<TryRegion>,
    /// Names of the variables in slots, for messages about them (JIT explanations).
    pub slot_names: Vec<SlotName>,
    /// Bit `i`: the function only looks at parameter slot `i` (`compile/borrow.rs`), so a
    /// caller may lend it a value without marking it shared.
    pub lendable_params: u64,
    /// A method that only looks at its receiver, and changes no container while it may
    /// still read it (`compile/borrow.rs`): a caller may lend it any receiver, even an
    /// element or a global's value, without marking it shared.
    pub lends_receiver: bool,
    /// The source file (module) the function is written in: an index into the
    /// program's files, 0 for the main program (`modules::Loaded::files`).
    pub file: u32,
    /// The interpreter's inline caches, one entry per instruction of `code`
    /// (`interpret/caches.rs`); sized and cleared by [`Program::reset_inline_caches`].
    pub inline_caches: Box<[Cell<CacheEntry>]>,
}

/// What the interpreter found the last time it ran one instruction; its meaning depends
/// on the instruction (`interpret/caches.rs`). All zero until then.
#[derive(Clone, Copy, Debug, Default)]
pub struct CacheEntry {
    pub key: u32,
    pub answer: u32,
}

#[derive(Clone, Debug)]
pub struct StructType {
    pub name: Symbol,
    pub methods: FxHashMap<Symbol, ProtoId>,
}

#[derive(Clone, Debug)]
pub struct GlobalInfo {
    pub name: String,
}

/// The output of the compiler: everything the interpreter needs to run a file.
pub struct Program {
    pub protos: Vec<Proto>,
    pub main: ProtoId,
    pub globals: Vec<GlobalInfo>,
    pub symbols: Interner,
    pub struct_types: Vec<StructType>,
    /// Global slots initialised before `<main>` runs (hoisted functions, library).
    pub initial_globals: Vec<(u32, ProtoId)>,
}

/// Struct type 0 is always the error value caught by `except`.
pub const ERROR_STRUCT_TYPE: u32 = 0;

impl Proto {
    /// The variable slot `slot` holds at `pc`, if it holds a named one.
    pub fn slot_name(&self, slot: Reg, pc: u32) -> Option<&str> {
        self.slot_names.iter().rev().find(|n| n.slot == slot && n.start <= pc && pc < n.end).map(|n| n.name.as_str())
    }
}

impl Program {
    pub fn proto(&self, id: ProtoId) -> &Proto {
        &self.protos[id.0 as usize]
    }

    /// Gives every prototype one empty inline cache entry per instruction: done before the
    /// program runs, and again for a REPL input that extends it (its prototypes may be
    /// clones whose entries describe the program before).
    pub fn reset_inline_caches(&mut self) {
        for proto in &mut self.protos {
            proto.inline_caches = vec![Cell::new(CacheEntry::default()); proto.code.len()].into();
        }
    }

    /// The arguments among `lent` (bit `i`: argument `i`, see `Instr::Call`) that a call
    /// of `callee` must mark shared before it runs: those the callee may keep, return or
    /// change. The interpreter and the JIT recorder both ask this.
    pub fn lent_arguments_to_share(&self, callee: Value, lent: u16) -> u16 {
        match callee {
            Value::Func(f) => lent & !(self.proto(f.proto).lendable_params as u16),
            Value::Builtin(id) if crate::builtins::borrows_arguments(id) => 0,
            _ => lent,
        }
    }

    /// Whether a method call whose receiver is lent (`lent`, see `Instr::CallMethodLent`) must
    /// mark the receiver shared before `method` runs. The interpreter and the JIT recorder
    /// both ask this.
    pub fn lent_receiver_to_share(&self, method: ProtoId, lent: bool) -> bool {
        lent && !self.proto(method).lends_receiver
    }
}
