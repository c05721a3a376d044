//! The vocabulary the op table's rows are written in (`table.rs`): how ops sharing a
//! mnemonic are told apart ([`Select`]), the [`flag`]s, the container memory classes an
//! op reads and writes ([`Memory`], [`memory`]), and the sets of value types operands and
//! results may have ([`TySet`] and its named sets). Only definitions live here; which op
//! has which property is its row in `table.rs`, the one place that says it.

use std::fmt;

use super::Ty;
/// Which of the ops sharing a mnemonic a line of IR text means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Select {
    /// The only op with its mnemonic.
    Only,
    /// The one whose result has this type (`ADD` of type int is `AddInt`).
    ByResult(Ty),
    /// The one whose first operand has this type (`LT` of two floats is `LtFloat`).
    ByFirstOperand(Ty),
    /// The one whose `MathFn` takes this many arguments (`MATH pow` is `Math2`).
    ByMathArity(usize),
}

/// Property bits of an op.
pub mod flag {
    /// No property: a pure op without memory access.
    pub const PURE: u16 = 0;
    /// Can leave the trace, so carries a snapshot.
    pub const GUARD: u16 = 1 << 0;
    /// A guard exactly when its `MathFn` can fail (`MathFn::can_fail`).
    pub const GUARD_IF_MATH_FAILS: u16 = 1 << 1;
    /// Must stay even when its value is unused (a store, `Loop`, the end of a trace).
    pub const EFFECT: u16 = 1 << 2;
    /// A sunk allocation: no code, no location (see the module docs of `ir`).
    pub const SUNK: u16 = 1 << 3;
    /// A constant.
    pub const CONST: u16 = 1 << 4;
    /// The two operands may be swapped (CSE sorts them).
    pub const COMMUTES: u16 = 1 << 5;
    /// Only sets a condition, so a guard can branch on it directly (the backend fuses it).
    pub const CONDITION: u16 = 1 << 6;
    /// A guard whose exit means a value had another type than when recorded (a load's
    /// tag, a builtin's result): `jit/mod.rs` treats a hot one as a type change, not a
    /// branch.
    pub const TYPE_CHECK: u16 = 1 << 7;
    /// CSE never merges two of it, even with equal operands: it stores, appends or marks,
    /// makes a new object (an allocation, a copy, a call's or a string op's result),
    /// controls the trace, or reads state CSE does not key (a global, a `Phi`, sharing).
    pub const NEVER_MERGED: u16 = 1 << 8;
    /// May make an array shorter (a call, which runs code the optimizer cannot see), so an
    /// index found in bounds before it may no longer be. Every other op, container writes
    /// included, writes an element in place, appends, copies into a new object, or writes
    /// no array.
    pub const MAY_SHORTEN_ARRAYS: u16 = 1 << 9;
    /// Its result is an object already marked shared (a string constant, a one-character
    /// string from the heap's table or marked by the helper that made it): the `SHARE`
    /// a copy of it would get changes nothing, and is left out.
    pub const SHARED_RESULT: u16 = 1 << 10;
}

/// A set of alias classes of container memory (one bit per class): a write into one class
/// never changes what a read of another class sees. Within a class any container may be
/// any other (an element store to one array may change every array's elements).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Memory(u8);

impl Memory {
    /// How many classes there are; a class is numbered by its bit.
    pub const CLASSES: usize = 7;

    pub const fn union(self, other: Memory) -> Memory {
        Memory(self.0 | other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The number of each class in the set, in order.
    pub fn classes(self) -> impl Iterator<Item = usize> {
        (0..Memory::CLASSES).filter(move |&class| self.0 & (1 << class) != 0)
    }

    /// The number of the one class in `self`.
    pub const fn class(self) -> usize {
        self.0.trailing_zeros() as usize
    }
}

/// The classes of container memory, and their sets named in the rows.
pub mod memory {
    use super::Memory;

    pub const NONE: Memory = Memory(0);
    /// Array elements and lengths.
    pub const ELEMENTS: Memory = Memory(1 << 0);
    /// Struct fields: their values and the field lists (a field added, a struct copied).
    pub const FIELDS: Memory = Memory(1 << 1);
    /// The value of the one field the op names, in any struct: a store in place (`FSTORE`)
    /// writes only it, so a read of another field (which reads `FIELDS` and its own
    /// `NAMED_FIELD`) keeps its value. An op that names no field has it only with
    /// `FIELDS`.
    pub const NAMED_FIELD: Memory = Memory(1 << 2);
    /// Dict entries.
    pub const DICT_ENTRIES: Memory = Memory(1 << 3);
    /// Captured variables of closures.
    pub const CAPTURES: Memory = Memory(1 << 4);
    /// String texts (`SAPPEND` changes one in place).
    pub const TEXTS: Memory = Memory(1 << 5);
    /// Objects' shared bits (`SHARE`, loans, and the copies that mark their children).
    pub const SHARED_BITS: Memory = Memory(1 << 6);
    /// Every class: what a call reaches through code the optimizer cannot see.
    pub const ALL: Memory = Memory((1 << Memory::CLASSES) - 1);
}

/// A set of [`Ty`]s (one bit per type).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TySet(u16);

impl TySet {
    pub const fn of(types: &[Ty]) -> TySet {
        let mut bits = 0;
        let mut n = 0;
        while n < types.len() {
            bits |= 1 << types[n] as u16;
            n += 1;
        }
        TySet(bits)
    }

    /// This set without `ty`.
    pub const fn without(self, ty: Ty) -> TySet {
        TySet(self.0 & !(1 << ty as u16))
    }

    pub fn contains(self, ty: Ty) -> bool {
        self.0 & 1 << ty as u16 != 0
    }
}

impl fmt::Display for TySet {
    /// `int`, or `int|flt|bool` for several.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Ty::ALL.iter().filter(|&&t| self.contains(t)).map(|t| t.name()).collect();
        f.write_str(&names.join("|"))
    }
}

impl fmt::Debug for TySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

pub const INT: TySet = TySet::of(&[Ty::Int]);
pub const FLOAT: TySet = TySet::of(&[Ty::Float]);
pub const BOOL: TySet = TySet::of(&[Ty::Bool]);
pub const NULL: TySet = TySet::of(&[Ty::Null]);
pub const BUILTIN: TySet = TySet::of(&[Ty::Builtin]);
pub const STR: TySet = TySet::of(&[Ty::Str]);
pub const FUNC: TySet = TySet::of(&[Ty::Func]);
pub const ARRAY: TySet = TySet::of(&[Ty::Array]);
pub const DICT: TySet = TySet::of(&[Ty::Dict]);
pub const STRUCT: TySet = TySet::of(&[Ty::Struct]);
pub const TAGGED: TySet = TySet::of(&[Ty::Tagged]);
pub const VOID: TySet = TySet::of(&[Ty::Void]);
/// Values without an object.
pub const SCALAR: TySet = TySet::of(&[Ty::Int, Ty::Float, Ty::Bool, Ty::Null]);
/// Any value (every type but `Void`).
pub const VALUE: TySet = TySet::of(&Ty::ALL).without(Ty::Void);
/// What a slot or global load guards for: any tag but a builtin's.
pub const LOADABLE: TySet = VALUE.without(Ty::Builtin);
/// What can be handed to a helper as a tagged value (an element stored or pushed): every
/// value a register holds, which is every loadable one.
pub const PASSABLE: TySet = LOADABLE;
/// What an array push appends (`APUSH`, `PUSHCOPY`: an element of a literal, the argument
/// of `push`, an argument of a call past `MAX_BUILTIN_ARGS`): any value, a builtin (a
/// constant on trace) being stored as its tag and index.
pub const PUSHED: TySet = VALUE;
/// What a field load gives on trace (`Ty::is_field_value`): any value a register holds.
pub const FIELD_VALUE: TySet = PASSABLE;
/// What a store writes into memory (an element, a dict entry, a field, a captured
/// variable): any value, a builtin (a constant on trace) as its tag and index, as `APUSH`
/// stores it; exits and helpers box a builtin constant too.
pub const STORED: TySet = VALUE;
/// What a builtin call or a residual call passes (`CallBuiltin`, `CallResidual`): any
/// value, builtins being constants on trace.
pub const CALL_ARG: TySet = VALUE;
/// What a residual call returns: an int, a bool, a string, an enum object, the array or
/// dict literal it updated, or the container entry it made private.
pub const RESIDUAL_RESULT: TySet =
    TySet::of(&[Ty::Int, Ty::Bool, Ty::Str, Ty::Tagged, Ty::Array, Ty::Dict, Ty::Struct]);
/// An array element read on trace: any value with a tag but a function.
pub const ELEMENT: TySet =
    TySet::of(&[Ty::Int, Ty::Float, Ty::Bool, Ty::Null, Ty::Array, Ty::Dict, Ty::Str, Ty::Struct, Ty::Tagged]);
/// A value a field or a builtin's result holds on trace.
pub const HELD: TySet = TySet::of(&[Ty::Int, Ty::Float, Ty::Bool, Ty::Null, Ty::Str, Ty::Array, Ty::Dict, Ty::Struct]);
/// An enum payload read on trace.
pub const PAYLOAD: TySet = PASSABLE;
/// An object another can be written into (or copied, for a write).
pub const CONTAINER: TySet = TySet::of(&[Ty::Array, Ty::Dict, Ty::Struct]);
/// A value with an object that has a shared bit.
pub const OBJECT: TySet = TySet::of(&[Ty::Array, Ty::Dict, Ty::Str, Ty::Struct, Ty::Tagged]);
/// A dict key on trace.
pub const KEY: TySet = TySet::of(&[Ty::Int, Ty::Str]);
/// A sunk element or payload: a scalar or a string constant (the verifier checks that a
/// string is a constant).
pub const SUNK_SCALAR: TySet = TySet::of(&[Ty::Int, Ty::Float, Ty::Bool, Ty::Null, Ty::Str]);
