//! The op table: every IR op defined once, as one row of [`define_ops!`], which generates
//! the [`Op`] enum, its fieldless twin [`OpCode`], and the property table [`OPS`] that
//! every other part of the JIT reads an op's properties from (LuaJIT's `IRDEF` in
//! lj_ir.h is the model). Adding an op means writing its row (and teaching the recorder
//! to emit it and the backend to compile it); no second list is kept in step.
//!
//! A row is `Variant(fields) => "MNEMONIC", select, [operand types] -> result type, flags`,
//! then optionally `, reads CLASSES` and `, writes CLASSES`, ending with `;`
//! - *fields*: each `name: RustType as Kind`. The kind (a type implementing [`Field`])
//!   says how the field is printed and parsed in the text form, and whether it is an
//!   operand (`Ref`, `OptRef`, `Args`: fields that name other instructions), which is
//!   what `map_operands` and `operands` visit.
//! - *mnemonic*: the name in the text form. Ops sharing one (the int and float `ADD`)
//!   are told apart by *select* ([`Select`]) when text is parsed.
//! - *operand types*, *result type*: the [`TySet`] each operand (in `operands()` order)
//!   and the result must belong to; the verifier checks them, and adds only the rules
//!   that depend on values (a `Phi` joins values of its own type, a sunk element that is
//!   a string must be a constant, `Alloc`'s type follows its `AllocKind`, ...).
//! - *flags* ([`flag`]): guard, effect, sunk, constant, commutative, condition (fusable
//!   into a guard's branch), type check, never merged by CSE, may shorten arrays.
//! - *reads*, *writes* ([`Memory`]): the alias classes of container memory the op reads
//!   and may change (none when left out); CSE keys reads by them and forgets what writes
//!   change, and a loop that writes any forgets container contents at its head.
//!
//! The flags, memory classes and type sets themselves are defined in `props.rs`
//! (re-exported here); this file holds the rows and what is generated from them.
//!
//! Invariants: `OPS[op.code() as usize]` is the row of `op` (rows are in `OpCode` order,
//! which the macro guarantees); an op with the `GUARD` flag (or `GUARD_IF_MATH_FAILS`
//! and a `MathFn` that can fail) always carries a snapshot.

pub use super::props::*;
use super::{AllocKind, BuiltinArgs, InstIdx, MathFn, Ty, SELF_TRACE};
use crate::jit::residual::Residual;
use crate::runtime::heap::Gc;
use crate::runtime::object::{FuncObj, StrObj};
use flag::*;
use kind::*;
use memory::*;
use Select::*;

/// One row of the op table.
#[derive(Debug)]
pub struct OpProps {
    pub code: OpCode,
    /// The op's name in the text form.
    pub mnemonic: &'static str,
    /// How the parser picks this op among those sharing its mnemonic.
    pub select: Select,
    /// The types each operand may have, in operand order (an op with a variable number of
    /// operands lists the most it takes).
    pub operands: &'static [TySet],
    /// The types the result may have.
    pub result: TySet,
    /// Bits of [`flag`].
    pub flags: u16,
    /// The classes of container memory the op reads.
    pub reads: Memory,
    /// The classes of container memory the op may change.
    pub writes: Memory,
}

impl OpProps {
    pub fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }
}

/// How one kind of field of an op is visited as an operand, printed and parsed.
pub trait Field<T> {
    /// Rewrites the instructions this field names (none, for a field that is no operand).
    fn visit<F: FnMut(InstIdx) -> InstIdx>(_value: &mut T, _f: &mut F) {}
    /// The field's text, or `None` when it prints nothing (an absent optional operand).
    fn print(value: &T) -> Option<String>;
    /// Takes the field's text off the front of `tokens`.
    fn parse(tokens: &mut &[&str]) -> Result<T, String>;
}

/// The field kinds named in the rows.
pub mod kind {
    use super::*;

    fn next<'a>(tokens: &mut &[&'a str]) -> Result<&'a str, String> {
        let (first, rest) = tokens.split_first().ok_or("missing operand")?;
        *tokens = rest;
        Ok(first)
    }

    fn number<N: std::str::FromStr>(token: &str) -> Result<N, String> {
        token.parse().map_err(|_| format!("expected a number, got {:?}", token))
    }

    fn prefixed<N: std::str::FromStr>(token: &str, prefix: &str) -> Result<N, String> {
        number(token.strip_prefix(prefix).ok_or_else(|| format!("expected {}..., got {:?}", prefix, token))?)
    }

    /// An instruction this one reads.
    pub struct Ref;
    impl Field<InstIdx> for Ref {
        fn visit<F: FnMut(InstIdx) -> InstIdx>(value: &mut InstIdx, f: &mut F) {
            *value = f(*value);
        }
        fn print(value: &InstIdx) -> Option<String> {
            Some(value.to_string())
        }
        fn parse(tokens: &mut &[&str]) -> Result<InstIdx, String> {
            Ok(InstIdx(number(next(tokens)?)?))
        }
    }

    /// An optional operand, printed only when present (last in its row).
    pub struct OptRef;
    impl Field<Option<InstIdx>> for OptRef {
        fn visit<F: FnMut(InstIdx) -> InstIdx>(value: &mut Option<InstIdx>, f: &mut F) {
            if let Some(v) = value {
                *v = f(*v);
            }
        }
        fn print(value: &Option<InstIdx>) -> Option<String> {
            value.map(|v| v.to_string())
        }
        fn parse(tokens: &mut &[&str]) -> Result<Option<InstIdx>, String> {
            if tokens.is_empty() {
                Ok(None)
            } else {
                Ref::parse(tokens).map(Some)
            }
        }
    }

    /// A builtin's arguments: the rest of the operands.
    pub struct Args;
    impl Field<BuiltinArgs> for Args {
        fn visit<F: FnMut(InstIdx) -> InstIdx>(value: &mut BuiltinArgs, f: &mut F) {
            value.map(f);
        }
        fn print(value: &BuiltinArgs) -> Option<String> {
            let texts: Vec<String> = value.as_slice().iter().map(|a| a.to_string()).collect();
            let spread = if value.is_spread() { "..." } else { "" };
            (!texts.is_empty()).then(|| format!("{}{}", spread, texts.join(" ")))
        }
        fn parse(tokens: &mut &[&str]) -> Result<BuiltinArgs, String> {
            if let [spread] = tokens {
                if let Some(array) = spread.strip_prefix("...") {
                    *tokens = &[];
                    return Ok(BuiltinArgs::spread(InstIdx(number(array)?)));
                }
            }
            let args = tokens.iter().map(|t| Ok(InstIdx(number(t)?))).collect::<Result<Vec<_>, String>>()?;
            if args.len() > super::super::MAX_BUILTIN_ARGS {
                return Err(format!("{} arguments: at most {}", args.len(), super::super::MAX_BUILTIN_ARGS));
            }
            *tokens = &[];
            Ok(BuiltinArgs::new(&args))
        }
    }

    /// Immediates printed as they are (`Debug` for floats, so `-0.0` and `1.0` survive).
    pub struct Int;
    impl Field<i64> for Int {
        fn print(value: &i64) -> Option<String> {
            Some(value.to_string())
        }
        fn parse(tokens: &mut &[&str]) -> Result<i64, String> {
            number(next(tokens)?)
        }
    }
    pub struct Float;
    impl Field<f64> for Float {
        fn print(value: &f64) -> Option<String> {
            Some(format!("{:?}", value))
        }
        fn parse(tokens: &mut &[&str]) -> Result<f64, String> {
            number(next(tokens)?)
        }
    }
    pub struct Bool;
    impl Field<bool> for Bool {
        fn print(value: &bool) -> Option<String> {
            Some(value.to_string())
        }
        fn parse(tokens: &mut &[&str]) -> Result<bool, String> {
            number(next(tokens)?)
        }
    }

    /// A builtin, by its name in `builtins::BUILTINS`.
    pub struct BuiltinName;
    impl Field<u32> for BuiltinName {
        fn print(value: &u32) -> Option<String> {
            Some(crate::builtins::BUILTINS[*value as usize].name.to_string())
        }
        fn parse(tokens: &mut &[&str]) -> Result<u32, String> {
            let name = next(tokens)?;
            crate::builtins::lookup(name).ok_or_else(|| format!("unknown builtin {}", name))
        }
    }

    /// A string constant, printed quoted; the text form cannot make one (no heap).
    pub struct StrText;
    impl Field<Gc<StrObj>> for StrText {
        fn print(value: &Gc<StrObj>) -> Option<String> {
            Some(format!("{:?}", value.text))
        }
        fn parse(_: &mut &[&str]) -> Result<Gc<StrObj>, String> {
            Err("string constants cannot be parsed (no heap)".into())
        }
    }

    /// A function object, printed as its prototype (addresses vary between runs); the
    /// text form cannot make one.
    pub struct Proto;
    impl Field<Gc<FuncObj>> for Proto {
        fn print(value: &Gc<FuncObj>) -> Option<String> {
            Some(format!("proto{}", value.proto.0))
        }
        fn parse(_: &mut &[&str]) -> Result<Gc<FuncObj>, String> {
            Err("function constants cannot be parsed (no heap)".into())
        }
    }

    /// A function trace: `self` or `traceN` (numbered from 1, as reports number traces).
    pub struct TraceNumber;
    impl Field<u32> for TraceNumber {
        fn print(value: &u32) -> Option<String> {
            Some(match *value {
                SELF_TRACE => "self".to_string(),
                other => format!("trace{}", other + 1),
            })
        }
        fn parse(tokens: &mut &[&str]) -> Result<u32, String> {
            match next(tokens)? {
                "self" => Ok(SELF_TRACE),
                token => prefixed::<u32>(token, "trace")?.checked_sub(1).ok_or_else(|| "trace0".to_string()),
            }
        }
    }

    /// What `Alloc` allocates: `arr`, `dict` or `typeN` (a struct; the text form does not
    /// show its field count, so it cannot be parsed back).
    pub struct Allocation;
    impl Field<AllocKind> for Allocation {
        fn print(value: &AllocKind) -> Option<String> {
            Some(match value {
                AllocKind::Array => "arr".to_string(),
                AllocKind::Dict => "dict".to_string(),
                AllocKind::Struct { type_index, .. } => format!("type{}", type_index),
            })
        }
        fn parse(tokens: &mut &[&str]) -> Result<AllocKind, String> {
            match next(tokens)? {
                "arr" => Ok(AllocKind::Array),
                "dict" => Ok(AllocKind::Dict),
                other => Err(format!("cannot parse ALLOC {}", other)),
            }
        }
    }

    /// A math builtin, by name.
    pub struct Math;
    impl Field<MathFn> for Math {
        fn print(value: &MathFn) -> Option<String> {
            Some(value.name().to_string())
        }
        fn parse(tokens: &mut &[&str]) -> Result<MathFn, String> {
            let name = next(tokens)?;
            MathFn::ALL.into_iter().find(|f| f.name() == name).ok_or_else(|| format!("unknown math function {}", name))
        }
    }

    /// A residual call's runtime function, by name.
    pub struct ResidualName;
    impl Field<Residual> for ResidualName {
        fn print(value: &Residual) -> Option<String> {
            Some(value.name().to_string())
        }
        fn parse(tokens: &mut &[&str]) -> Result<Residual, String> {
            let name = next(tokens)?;
            Residual::from_name(name).ok_or_else(|| format!("unknown residual function {}", name))
        }
    }

    /// Numbers written with a prefix: `#3` (a slot), `g2` (a global), `field7` (a symbol).
    macro_rules! prefixed_kind {
        ($($(#[$doc:meta])* $kind:ident: $ty:ty = $prefix:literal;)*) => {$(
            $(#[$doc])*
            pub struct $kind;
            impl Field<$ty> for $kind {
                fn print(value: &$ty) -> Option<String> {
                    Some(format!(concat!($prefix, "{}"), value))
                }
                fn parse(tokens: &mut &[&str]) -> Result<$ty, String> {
                    prefixed(next(tokens)?, $prefix)
                }
            }
        )*};
    }

    prefixed_kind! {
        /// A frame slot, numbered from the trace's frame base.
        Slot: u16 = "#";
        Global: u32 = "g";
        /// A struct type (`StructObj::type_index`).
        TypeIndex: u32 = "type";
        /// A field name (a symbol).
        FieldName: u32 = "field";
        /// Where a field stands in a struct's field list (`FieldLoad`, `FieldStore`, ...).
        FieldPosition: u32 = "@";
        CaptureIndex: u32 = "capture";
        /// A function prototype (`ProtoId`).
        ProtoNumber: u32 = "proto";
        /// An enum's name and a tag of it (symbols).
        EnumName: u32 = "enum";
        TagName: u32 = "tag";
        ArgCount: u16 = "args=";
        ClearedCount: u16 = "cleared=";
        SlotCount: u16 = "slots=";
        ReturnPc: u32 = "return=";
    }
}

/// Generates `Op`, `OpCode`, `OPS` and the per-field code of `Op` from the rows below.
macro_rules! define_ops {
    ($(
        $(#[$doc:meta])*
        $variant:ident
        $( ( $($tuple_name:ident : $tuple_ty:ty as $tuple_kind:ident),* ) )?
        $( { $($field_name:ident : $field_ty:ty as $field_kind:ident),* } )?
        => $mnemonic:literal, $select:expr, [$($operand:expr),*] -> $result:expr, $flags:expr
        $(, reads $($reads:ident)|+)? $(, writes $($writes:ident)|+)?;
    )*) => {
        /// An IR op with its immediates and operands. Its properties are its row in `OPS`.
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub enum Op {
            $(
                $(#[$doc])*
                $variant $( ( $($tuple_ty),* ) )? $( { $($field_name: $field_ty),* } )?,
            )*
        }

        /// An op without its fields: the index of its row in `OPS`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum OpCode {
            $($variant,)*
        }

        /// The op table, one row per `OpCode`, in order.
        pub static OPS: &[OpProps] = &[
            $(
                OpProps {
                    code: OpCode::$variant,
                    mnemonic: $mnemonic,
                    select: $select,
                    operands: &[$($operand),*],
                    result: $result,
                    flags: $flags,
                    reads: NONE $($(.union($reads))+)?,
                    writes: NONE $($(.union($writes))+)?,
                },
            )*
        ];

        impl Op {
            pub fn code(&self) -> OpCode {
                match self {
                    $( Op::$variant { .. } => OpCode::$variant, )*
                }
            }

            /// Rewrites every operand through `f`.
            pub fn map_operands(&self, mut f: impl FnMut(InstIdx) -> InstIdx) -> Op {
                let mut op = *self;
                match &mut op {
                    $(
                        Op::$variant $( ( $($tuple_name),* ) )? $( { $($field_name),* } )? => {
                            $( $( <$tuple_kind as Field<$tuple_ty>>::visit($tuple_name, &mut f); )* )?
                            $( $( <$field_kind as Field<$field_ty>>::visit($field_name, &mut f); )* )?
                        }
                    )*
                }
                op
            }

            /// The text of each field that prints any, in order (the text form's operands).
            pub fn field_texts(&self) -> Vec<String> {
                let mut texts = Vec::new();
                match self {
                    $(
                        Op::$variant $( ( $($tuple_name),* ) )? $( { $($field_name),* } )? => {
                            $( $( texts.extend(<$tuple_kind as Field<$tuple_ty>>::print($tuple_name)); )* )?
                            $( $( texts.extend(<$field_kind as Field<$field_ty>>::print($field_name)); )* )?
                        }
                    )*
                }
                texts
            }

            /// The op `code` with its fields parsed off the front of `tokens`.
            pub fn parse_fields(code: OpCode, tokens: &mut &[&str]) -> Result<Op, String> {
                Ok(match code {
                    $(
                        OpCode::$variant => Op::$variant
                            $( ( $( <$tuple_kind as Field<$tuple_ty>>::parse(tokens)? ),* ) )?
                            $( { $( $field_name: <$field_kind as Field<$field_ty>>::parse(tokens)? ),* } )?,
                    )*
                })
            }
        }
    };
}

impl Op {
    pub fn props(&self) -> &'static OpProps {
        &OPS[self.code() as usize]
    }

    pub fn name(&self) -> &'static str {
        self.props().mnemonic
    }

    /// The instructions this one reads, in operand order.
    pub fn operands(&self) -> smallvec::SmallVec<[InstIdx; 2]> {
        let mut operands = smallvec::SmallVec::new();
        self.map_operands(|o| {
            operands.push(o);
            o
        });
        operands
    }

    pub fn is_constant(&self) -> bool {
        self.props().has(CONST)
    }

    /// Whether this is a sunk allocation (see the module docs of `ir`): no code, no location.
    pub fn is_sunk(&self) -> bool {
        self.props().has(SUNK)
    }

    /// Whether this instruction can leave the trace (and so needs a snapshot).
    pub fn is_guard(&self) -> bool {
        match self {
            Op::Math1(function, _) if self.props().has(GUARD_IF_MATH_FAILS) => function.can_fail(),
            _ => self.props().has(GUARD),
        }
    }

    /// The classes of container memory this instruction reads (so it moves only across
    /// instructions that write none of them).
    pub fn reads(&self) -> Memory {
        self.props().reads
    }

    /// The classes of container memory this instruction may change.
    pub fn writes(&self) -> Memory {
        self.props().writes
    }

    /// Whether removing this instruction when its value is unused changes behaviour.
    /// Guards must stay (they check a condition the interpreter would act on), stores
    /// must stay, and `Loop` marks structure.
    pub fn has_effect(&self) -> bool {
        self.is_guard() || self.props().has(EFFECT)
    }

    /// Whether the two operands may be swapped.
    pub fn is_commutative(&self) -> bool {
        self.props().has(COMMUTES)
    }

    /// Whether the op is a guard on a value's type (see `flag::TYPE_CHECK`).
    pub fn is_type_check(&self) -> bool {
        self.props().has(TYPE_CHECK)
    }

    /// Whether CSE may merge it with an equal instruction (see `flag::NEVER_MERGED`;
    /// sunk allocations are each their own object too).
    pub fn is_mergeable(&self) -> bool {
        !self.props().has(NEVER_MERGED) && !self.is_sunk()
    }

    /// Whether its result is an object already marked shared (see `flag::SHARED_RESULT`).
    pub fn result_is_shared(&self) -> bool {
        self.props().has(SHARED_RESULT)
    }

    /// Whether it may make an array shorter (see `flag::MAY_SHORTEN_ARRAYS`).
    pub fn may_shorten_arrays(&self) -> bool {
        self.props().has(MAY_SHORTEN_ARRAYS)
    }

    /// Whether the op only sets a condition, so a guard can branch on it directly.
    pub fn is_condition(&self) -> bool {
        self.props().has(CONDITION)
    }
}

define_ops! {
    /// Constants. Their type is the constant's type.
    KInt(value: i64 as Int)
        => "K", ByResult(Ty::Int), [] -> INT, CONST;
    KFloat(value: f64 as Float)
        => "K", ByResult(Ty::Float), [] -> FLOAT, CONST;
    KBool(value: bool as Bool)
        => "K", ByResult(Ty::Bool), [] -> BOOL, CONST;
    KNull
        => "K", ByResult(Ty::Null), [] -> NULL, CONST;
    /// The builtin function with this index in `builtins::BUILTINS`.
    KBuiltin(value: u32 as BuiltinName)
        => "K", ByResult(Ty::Builtin), [] -> BUILTIN, CONST;
    /// A string constant of the traced function. Its proto's constant table keeps the
    /// object alive, and constants are marked shared, so native code never changes it.
    KStr(value: Gc<StrObj> as StrText)
        => "K", ByResult(Ty::Str), [] -> STR, CONST | SHARED_RESULT;
    /// A function object: the callee an inlined call was recorded with, compared with
    /// `EqRef`. Kept alive by the global or closure that held it when recorded, and by the
    /// trace's own reference (`jit::NativeTrace` roots nothing: see `Jit::mark_roots`).
    KFunc(value: Gc<FuncObj> as Proto)
        => "K", ByResult(Ty::Func), [] -> FUNC, CONST;
    /// Loads frame slot `slot` (relative to the trace's frame base), guarding that its tag
    /// is the instruction's type. A guard.
    SLoad { slot: u16 as Slot }
        => "SLOAD", Only, [] -> LOADABLE, GUARD | TYPE_CHECK;
    /// Guards that frame slot `slot` holds builtin `builtin` (tag and index): a builtin read
    /// from memory, which the trace then knows as the constant `K fn` (builtins have no
    /// register form). A guard of type `Void`.
    SBuiltin { slot: u16 as Slot, builtin: u32 as BuiltinName }
        => "SBUILTIN", Only, [] -> VOID, GUARD | NEVER_MERGED;
    /// `SBuiltin` of global `global`.
    GBuiltin { global: u32 as Global, builtin: u32 as BuiltinName }
        => "GBUILTIN", Only, [] -> VOID, GUARD | NEVER_MERGED;
    /// Loads global `global`, guarding its tag (also fails on an unassigned global). A guard.
    GLoad { global: u32 as Global }
        => "GLOAD", Only, [] -> LOADABLE, GUARD | TYPE_CHECK | NEVER_MERGED;
    /// Stores `value` (of its own type) into global `global`. Type `Void`.
    GStore { global: u32 as Global, value: InstIdx as Ref }
        => "GSTORE", Only, [VALUE] -> VOID, EFFECT | NEVER_MERGED;
    /// Stores `value` into frame slot `slot`. Only at the end of a side trace, to hand the
    /// frame back to the root trace. Type `Void`.
    SStore { slot: u16 as Slot, value: InstIdx as Ref }
        => "SSTORE", Only, [VALUE] -> VOID, EFFECT | NEVER_MERGED;
    /// Int arithmetic with Ruff's checks: overflow (`Add`, `Sub`, `Mul`, `Neg`), zero
    /// divisor and `MIN / -1` (`Div`, `Mod`) fail the guard. All are guards.
    AddInt(a: InstIdx as Ref, b: InstIdx as Ref)
        => "ADD", ByResult(Ty::Int), [INT, INT] -> INT, GUARD | COMMUTES;
    SubInt(a: InstIdx as Ref, b: InstIdx as Ref)
        => "SUB", ByResult(Ty::Int), [INT, INT] -> INT, GUARD;
    MulInt(a: InstIdx as Ref, b: InstIdx as Ref)
        => "MUL", ByResult(Ty::Int), [INT, INT] -> INT, GUARD | COMMUTES;
    DivInt(a: InstIdx as Ref, b: InstIdx as Ref)
        => "DIV", ByResult(Ty::Int), [INT, INT] -> INT, GUARD;
    ModInt(a: InstIdx as Ref, b: InstIdx as Ref)
        => "MOD", ByResult(Ty::Int), [INT, INT] -> INT, GUARD;
    NegInt(a: InstIdx as Ref)
        => "NEG", ByResult(Ty::Int), [INT] -> INT, GUARD;
    /// Int `+` and `-` that the range pass proved cannot overflow (`opt/range.rs`): no
    /// check, so no guard. They wrap in two's complement (what the machine does).
    AddIntExact(a: InstIdx as Ref, b: InstIdx as Ref)
        => "ADDNOV", Only, [INT, INT] -> INT, COMMUTES;
    SubIntExact(a: InstIdx as Ref, b: InstIdx as Ref)
        => "SUBNOV", Only, [INT, INT] -> INT, PURE;
    /// The bit builtins on ints (`builtins::math::BitOp`). A shift count outside `0..=63`
    /// is a Ruff error, so the shifts are guards.
    BitAnd(a: InstIdx as Ref, b: InstIdx as Ref)
        => "BAND", Only, [INT, INT] -> INT, COMMUTES;
    BitOr(a: InstIdx as Ref, b: InstIdx as Ref)
        => "BOR", Only, [INT, INT] -> INT, COMMUTES;
    BitXor(a: InstIdx as Ref, b: InstIdx as Ref)
        => "BXOR", Only, [INT, INT] -> INT, COMMUTES;
    BitNot(a: InstIdx as Ref)
        => "BNOT", Only, [INT] -> INT, PURE;
    ShiftLeft(a: InstIdx as Ref, b: InstIdx as Ref)
        => "BSHL", Only, [INT, INT] -> INT, GUARD;
    ShiftRight(a: InstIdx as Ref, b: InstIdx as Ref)
        => "BSHR", Only, [INT, INT] -> INT, GUARD;
    /// Float arithmetic (IEEE). `DivFloat` and `ModFloat` are guards: a zero divisor is a
    /// Ruff error. `ModFloat` is C `fmod`.
    AddFloat(a: InstIdx as Ref, b: InstIdx as Ref)
        => "ADD", ByResult(Ty::Float), [FLOAT, FLOAT] -> FLOAT, PURE;
    SubFloat(a: InstIdx as Ref, b: InstIdx as Ref)
        => "SUB", ByResult(Ty::Float), [FLOAT, FLOAT] -> FLOAT, PURE;
    MulFloat(a: InstIdx as Ref, b: InstIdx as Ref)
        => "MUL", ByResult(Ty::Float), [FLOAT, FLOAT] -> FLOAT, PURE;
    DivFloat(a: InstIdx as Ref, b: InstIdx as Ref)
        => "DIV", ByResult(Ty::Float), [FLOAT, FLOAT] -> FLOAT, GUARD;
    ModFloat(a: InstIdx as Ref, b: InstIdx as Ref)
        => "MOD", ByResult(Ty::Float), [FLOAT, FLOAT] -> FLOAT, GUARD;
    NegFloat(a: InstIdx as Ref)
        => "NEG", ByResult(Ty::Float), [FLOAT] -> FLOAT, PURE;
    /// Int to float conversion (mixed arithmetic).
    IntToFloat(a: InstIdx as Ref)
        => "CONV", Only, [INT] -> FLOAT, PURE;
    /// Comparisons producing a bool. Float `Eq`/`Ne` use Ruff's rule: equal when `a == b` or
    /// both finite and `|a - b| < f64::EPSILON` (`runtime::ops::floats_equal`).
    LtInt(a: InstIdx as Ref, b: InstIdx as Ref)
        => "LT", ByFirstOperand(Ty::Int), [INT, INT] -> BOOL, CONDITION;
    LeInt(a: InstIdx as Ref, b: InstIdx as Ref)
        => "LE", ByFirstOperand(Ty::Int), [INT, INT] -> BOOL, CONDITION;
    GtInt(a: InstIdx as Ref, b: InstIdx as Ref)
        => "GT", ByFirstOperand(Ty::Int), [INT, INT] -> BOOL, CONDITION;
    GeInt(a: InstIdx as Ref, b: InstIdx as Ref)
        => "GE", ByFirstOperand(Ty::Int), [INT, INT] -> BOOL, CONDITION;
    EqInt(a: InstIdx as Ref, b: InstIdx as Ref)
        => "EQ", ByFirstOperand(Ty::Int), [INT, INT] -> BOOL, CONDITION | COMMUTES;
    NeInt(a: InstIdx as Ref, b: InstIdx as Ref)
        => "NE", ByFirstOperand(Ty::Int), [INT, INT] -> BOOL, CONDITION | COMMUTES;
    LtFloat(a: InstIdx as Ref, b: InstIdx as Ref)
        => "LT", ByFirstOperand(Ty::Float), [FLOAT, FLOAT] -> BOOL, CONDITION;
    LeFloat(a: InstIdx as Ref, b: InstIdx as Ref)
        => "LE", ByFirstOperand(Ty::Float), [FLOAT, FLOAT] -> BOOL, CONDITION;
    GtFloat(a: InstIdx as Ref, b: InstIdx as Ref)
        => "GT", ByFirstOperand(Ty::Float), [FLOAT, FLOAT] -> BOOL, CONDITION;
    GeFloat(a: InstIdx as Ref, b: InstIdx as Ref)
        => "GE", ByFirstOperand(Ty::Float), [FLOAT, FLOAT] -> BOOL, CONDITION;
    EqFloat(a: InstIdx as Ref, b: InstIdx as Ref)
        => "EQ", ByFirstOperand(Ty::Float), [FLOAT, FLOAT] -> BOOL, CONDITION | COMMUTES;
    NeFloat(a: InstIdx as Ref, b: InstIdx as Ref)
        => "NE", ByFirstOperand(Ty::Float), [FLOAT, FLOAT] -> BOOL, CONDITION | COMMUTES;
    /// Bool equality and negation.
    EqBool(a: InstIdx as Ref, b: InstIdx as Ref)
        => "EQ", ByFirstOperand(Ty::Bool), [BOOL, BOOL] -> BOOL, CONDITION | COMMUTES;
    /// Whether two function values are the same object (identity, not contents).
    EqRef(a: InstIdx as Ref, b: InstIdx as Ref)
        => "SAME", Only, [FUNC, FUNC] -> BOOL, CONDITION | COMMUTES;
    NotBool(a: InstIdx as Ref)
        => "NOT", Only, [BOOL] -> BOOL, PURE;
    /// Truthiness of an int (`!= 0`) or a float (`!= 0.0`, NaN is truthy).
    TruthyInt(a: InstIdx as Ref)
        => "TRUTHY", ByFirstOperand(Ty::Int), [INT] -> BOOL, CONDITION;
    TruthyFloat(a: InstIdx as Ref)
        => "TRUTHY", ByFirstOperand(Ty::Float), [FLOAT] -> BOOL, CONDITION;
    /// Leave the trace unless the bool operand is true / false. Guards of type `Void`.
    GuardTrue(a: InstIdx as Ref)
        => "GTRUE", Only, [BOOL] -> VOID, GUARD;
    GuardFalse(a: InstIdx as Ref)
        => "GFALSE", Only, [BOOL] -> VOID, GUARD;
    /// The length of an array. Pure, but reads array memory: it moves only across
    /// instructions that do not store into arrays.
    ALen(a: InstIdx as Ref)
        => "ALEN", Only, [ARRAY] -> INT, PURE, reads ELEMENTS;
    /// Element `index` of an array, guarding `0 <= index < length` and that the element's
    /// tag is the instruction's type. It only reads: the recorder follows it with `SHARE`
    /// of an object read out, as `semantics::index_into` marks it (the array still holds it),
    /// except for `PeekIndex`, which does not mark. A guard.
    ALoad(a: InstIdx as Ref, b: InstIdx as Ref)
        => "ALOAD", Only, [ARRAY, INT] -> ELEMENT, GUARD, reads ELEMENTS;
    /// Element `index` of an array, for a write into it (`a[i][j] := v`, the interpreter's
    /// `semantics::index_for_write`): guards that the array is not shared, that
    /// `0 <= index < length`, that the element's tag is the instruction's type (an array,
    /// dict or struct) and that the element is not shared either, so that neither needs
    /// the copy the interpreter would make; the element is not marked shared (the write
    /// goes through it). A guard.
    ALoadForWrite(a: InstIdx as Ref, b: InstIdx as Ref)
        => "ALOADW", Only, [ARRAY, INT] -> CONTAINER, GUARD, reads ELEMENTS | SHARED_BITS;
    /// The array, private to its holder for a write: the array itself when it is not
    /// shared, else a copy made by the interpreter's own copy-on-write
    /// (`object::make_unique_array`, which marks the elements shared). The recorder writes
    /// the result back into the holder's slot, as the interpreter does. A guard that exits
    /// when the heap then wants a collection (redoing the instruction finds the copy
    /// private and copies nothing). Allocates.
    AUnique(a: InstIdx as Ref)
        => "AUNIQUE", Only, [ARRAY] -> ARRAY, GUARD | NEVER_MERGED, reads ELEMENTS | SHARED_BITS, writes SHARED_BITS;
    /// Element `index` of an unshared array, for a write into it, as
    /// `semantics::index_for_write` takes it: guards that the array is not shared, that
    /// `0 <= index < length` and that the element has the instruction's type (an array,
    /// dict or struct), then makes the element private, copying it in place when it is
    /// shared. Exits afterwards when a collection is due. Allocates.
    ALoadUnique(a: InstIdx as Ref, b: InstIdx as Ref)
        => "ALOADU", Only, [ARRAY, INT] -> CONTAINER, GUARD | NEVER_MERGED, reads ELEMENTS | SHARED_BITS, writes ELEMENTS | SHARED_BITS;
    /// `array[index] = value` in place, guarding that the array is not shared (a shared
    /// array must be copied first, which only the interpreter does) and that
    /// `0 <= index < length`. `value` is a scalar or an object (handed over, as
    /// `semantics::set_index` takes it). A guard.
    AStore { array: InstIdx as Ref, index: InstIdx as Ref, value: InstIdx as Ref }
        => "ASTORE", Only, [ARRAY, INT, STORED] -> VOID, GUARD | EFFECT | NEVER_MERGED, writes ELEMENTS;
    /// `ALoad` at an index the optimizer knows is in bounds (an earlier check of that array
    /// and index passed, and nothing since can have shortened an array): a guard on the
    /// element's type only.
    ALoadKnown(a: InstIdx as Ref, b: InstIdx as Ref)
        => "ALOADK", Only, [ARRAY, INT] -> ELEMENT, GUARD, reads ELEMENTS;
    /// `AStore` at an index known to be in bounds, into an array known to be unshared (no
    /// object was marked shared since a check found it so): no check.
    AStoreKnown { array: InstIdx as Ref, index: InstIdx as Ref, value: InstIdx as Ref }
        => "ASTOREK", Only, [ARRAY, INT, STORED] -> VOID, EFFECT | NEVER_MERGED, writes ELEMENTS;
    /// Appends `value` (any value: the call's argument, handed over) to an
    /// array in place, guarding that the array is not shared. May grow the array's
    /// buffer. A guard.
    APush { array: InstIdx as Ref, value: InstIdx as Ref }
        => "APUSH", Only, [ARRAY, PUSHED] -> VOID, GUARD | EFFECT | NEVER_MERGED, writes ELEMENTS;
    /// `push(array, value)` on a shared array: a new array holding `array`'s elements and
    /// `value`, through the `push` builtin (which copies a shared array rather than change
    /// it). A guard that exits, for the interpreter to push, when the array is no longer
    /// shared (the builtin would change it in place, which an exit could not undo) or the
    /// heap then wants a collection. Allocates; marks the elements shared.
    PushCopy { array: InstIdx as Ref, value: InstIdx as Ref }
        => "PUSHCOPY", Only, [ARRAY, PUSHED] -> ARRAY, GUARD | NEVER_MERGED, reads ELEMENTS, writes ELEMENTS | SHARED_BITS;
    /// `s := s + piece` appending to `string` in place, as the interpreter does for an
    /// unshared string whose holder the result overwrites: guards that `string` is not
    /// shared and is not `piece` itself (otherwise the interpreter builds a new string).
    /// May grow the string's buffer. A guard of type `Void`; the result is `string`.
    SAppend { string: InstIdx as Ref, piece: InstIdx as Ref }
        => "SAPPEND", Only, [STR, STR] -> VOID, GUARD | EFFECT | NEVER_MERGED, writes TEXTS;
    /// Guards that an array, dict or struct object is not shared (a `TakeField` recorded
    /// on an unshared struct, which then did not mark the field it took).
    GuardUnshared(a: InstIdx as Ref)
        => "UNSHARED", Only, [CONTAINER] -> VOID, GUARD | NEVER_MERGED, reads SHARED_BITS;
    /// Sets the shared bit of an array, dict, string or struct object, as the
    /// interpreter's `Move` (a copy) does: a later in-place write through either holder
    /// then finds it shared (and leaves the trace, the interpreter copying). Type `Void`.
    MarkShared(a: InstIdx as Ref)
        => "SHARE", Only, [OBJECT] -> VOID, EFFECT | NEVER_MERGED, writes SHARED_BITS;
    /// Puts an array, dict, string or struct object on loan to a builtin call
    /// (`Instr::Lend`): a unique object becomes lent, any other shared. Type `Void`.
    Lend(a: InstIdx as Ref)
        => "LEND", Only, [OBJECT] -> VOID, EFFECT | NEVER_MERGED, writes SHARED_BITS;
    /// Ends a loan (`Instr::EndLoan`): a still lent object becomes unique. Type `Void`.
    EndLoan(a: InstIdx as Ref)
        => "ENDLOAN", Only, [OBJECT] -> VOID, EFFECT | NEVER_MERGED, writes SHARED_BITS;
    /// A new string `a + b` (the interpreter's `+` on strings that builds a new string).
    /// Allocates; a guard that exits, before the concatenation, when the heap then wants a
    /// collection (the interpreter redoes it and collects).
    SConcat(a: InstIdx as Ref, b: InstIdx as Ref)
        => "SCONCAT", Only, [STR, STR] -> STR, GUARD | NEVER_MERGED, reads TEXTS;
    /// The text of an int, float, bool or null as a new string (`to_string`, string
    /// interpolation), through the interpreter's formatting. Allocates; a guard like
    /// `SConcat`.
    ToStr(a: InstIdx as Ref)
        => "TOSTR", Only, [SCALAR] -> STR, GUARD | NEVER_MERGED;
    /// The array a `for` loop over a dict iterates: the dict's keys as strings, through
    /// the interpreter's `access::dict_keys` (`semantics::iteration_source` of a dict). Allocates; a guard like `SConcat`.
    DictKeys(a: InstIdx as Ref)
        => "KEYS", Only, [DICT] -> ARRAY, GUARD | NEVER_MERGED, reads DICT_ENTRIES | TEXTS;
    /// `string[index]`: the character at an int index as a one-character string, marked
    /// shared as `GetIndex` marks it: the heap's string of an ASCII character, or a new
    /// one through the interpreter's indexing (negative indices count from the end). May
    /// allocate; a guard that exits, before the indexing, when the index is out of bounds
    /// (the interpreter raises the error) or the heap then wants a collection.
    SChar(a: InstIdx as Ref, b: InstIdx as Ref)
        => "SCHAR", Only, [STR, INT] -> STR, GUARD | NEVER_MERGED | SHARED_RESULT, reads TEXTS;
    /// The length of a string in characters (`len`). Reads string memory (an `SAppend`
    /// changes it).
    SLen(a: InstIdx as Ref)
        => "SLEN", Only, [STR] -> INT, PURE, reads TEXTS;
    /// Whether two strings have the same text (`==` on strings). Reads string memory.
    SEq(a: InstIdx as Ref, b: InstIdx as Ref)
        => "SEQ", Only, [STR, STR] -> BOOL, PURE, reads TEXTS;
    /// The type tag (`runtime::value::Tag`) of the entry of a dict under an int key, or
    /// -1 when there is none. Reads dict memory; a guard on it makes the `DGet` after it
    /// valid.
    DTag(a: InstIdx as Ref, b: InstIdx as Ref)
        => "DTAG", Only, [DICT, KEY] -> INT, PURE, reads DICT_ENTRIES | TEXTS;
    /// The value of the entry of a dict under a key, of the instruction's type (any
    /// element type). Only after a guard that `DTag` of the same dict and key is that
    /// type's tag. It only reads: the recorder follows it with `SHARE` of an object read
    /// out, as `semantics::index_into` marks it (the dict still holds it). Reads dict memory.
    DGet(a: InstIdx as Ref, b: InstIdx as Ref)
        => "DGET", Only, [DICT, KEY] -> ELEMENT, PURE, reads DICT_ENTRIES | TEXTS;
    /// `dict[key] = value` in place, guarding that the dict is not shared. `value` is any
    /// value a helper is passed, handed over as the interpreter's insert takes it. May grow
    /// the dict. A guard.
    DSet { dict: InstIdx as Ref, key: InstIdx as Ref, value: InstIdx as Ref }
        => "DSET", Only, [DICT, KEY, STORED] -> VOID, GUARD | EFFECT | NEVER_MERGED, writes DICT_ENTRIES | SHARED_BITS;
    /// A new empty array or dict, or a struct with no fields yet, of the instruction's
    /// type: a sunk value built for real where it escapes (it is stored, pushed, passed to
    /// native code or carried into the next iteration); `APush`, `DSet` and `FieldInit` then
    /// fill it. Allocates; a guard like `SConcat`.
    Alloc(kind: AllocKind as Allocation)
        => "ALLOC", Only, [] -> CONTAINER, GUARD | NEVER_MERGED;
    /// A sunk empty dict (see the module docs). Type `Dict`.
    DNew
        => "DNEW", Only, [] -> DICT, SUNK;
    /// The sunk dict `dict` with `value` (int, float, bool or null) inserted under the
    /// string constant `key`, as a dict literal's `DictInsert` does. Type `Dict`; `dict`
    /// is a sunk value and this instruction its only use besides snapshots.
    DIns { dict: InstIdx as Ref, key: InstIdx as Ref, value: InstIdx as Ref }
        => "DINS", Only, [DICT, STR, SCALAR] -> DICT, SUNK;
    /// The value of field `field` (a symbol) of a struct object, found at `position` in its
    /// field list, of the instruction's type (int, float, bool, null, a function, or a
    /// string, array, dict, struct or enum object, which the recorder then marks shared). A guard: it leaves the trace
    /// unless the struct has that field at that position holding a value of that type (an
    /// inline cache of where the field was when the trace was recorded). Reads struct memory.
    FieldLoad { object: InstIdx as Ref, field: u32 as FieldName, position: u32 as FieldPosition }
        => "FLOAD", Only, [STRUCT] -> FIELD_VALUE, GUARD, reads FIELDS | NAMED_FIELD;
    /// Guards that field `field` of a struct object, at `position` in its field list, holds
    /// builtin `builtin` (as `FieldLoad` finds the field, then as `SBuiltin` checks the
    /// value): the trace knows the field's builtin as the constant `K fn`. Type `Void`.
    FieldBuiltin { object: InstIdx as Ref, field: u32 as FieldName, position: u32 as FieldPosition, builtin: u32 as BuiltinName }
        => "FBUILTIN", Only, [STRUCT] -> VOID, GUARD | NEVER_MERGED, reads FIELDS | NAMED_FIELD;
    /// `object.field := value` in place, at `position` in the field list (see `FieldLoad`).
    /// A guard: it leaves the trace when the struct is shared (the interpreter copies it
    /// first) or does not have the field at that position. Writes struct memory.
    FieldStore { object: InstIdx as Ref, field: u32 as FieldName, position: u32 as FieldPosition, value: InstIdx as Ref }
        => "FSTORE", Only, [STRUCT, STORED] -> VOID, GUARD | NEVER_MERGED, writes NAMED_FIELD;
    /// `FieldLoad` of a field the optimizer knows the struct has at `position` (an earlier
    /// `FLOAD`, `FSTORE` or `FLOADU` of that object, field and position passed: a struct's
    /// fields never move or go, so that stays true): a guard on the value's type only.
    FieldLoadKnown { object: InstIdx as Ref, field: u32 as FieldName, position: u32 as FieldPosition }
        => "FLOADK", Only, [STRUCT] -> FIELD_VALUE, GUARD, reads FIELDS | NAMED_FIELD;
    /// `FieldStore` into a struct the optimizer knows has the field at `position` and is
    /// still unshared (no object was marked shared since a check that it was): no check.
    FieldStoreKnown { object: InstIdx as Ref, field: u32 as FieldName, position: u32 as FieldPosition, value: InstIdx as Ref }
        => "FSTOREK", Only, [STRUCT, STORED] -> VOID, EFFECT | NEVER_MERGED, writes NAMED_FIELD;
    /// `object.field := value` (an int, float, bool or null) through the interpreter's field
    /// assignment: in place when the struct is not shared, else on a new copy. The result
    /// (type `Struct`) is the struct now holding the field. Writes struct memory and may
    /// allocate: a guard like `SConcat`.
    FieldSet { object: InstIdx as Ref, field: u32 as FieldName, value: InstIdx as Ref }
        => "FSET", Only, [STRUCT, STORED] -> STRUCT, GUARD | NEVER_MERGED, writes FIELDS | SHARED_BITS;
    /// Fills field `field` of `object`, a struct just made by `Alloc` (unshared, with room
    /// reserved for its fields): appends (`field`, `value`) to its field list in place, in
    /// the literal's order, taking the value over as `NewStruct` does. `Recorder::materialize`
    /// emits one per distinct field right after the `Alloc`, so the struct cannot be shared,
    /// already hold the field, or lack room: no check, no search, no call.
    FieldInit { object: InstIdx as Ref, field: u32 as FieldName, value: InstIdx as Ref }
        => "FINIT", Only, [STRUCT, STORED] -> VOID, EFFECT | NEVER_MERGED, writes FIELDS;
    /// The constructor of an enum object (`TaggedObj`): its enum name's symbol in the high
    /// 32 bits, its tag's in the low ones. Enum objects never change.
    TagKey(a: InstIdx as Ref)
        => "TAGKEY", Only, [TAGGED] -> INT, PURE;
    /// The type tag of an enum object's payload (`Tag::Null` when it has none); a guard
    /// on it makes the `PayloadGet` after it valid.
    PayloadTag(a: InstIdx as Ref)
        => "PTAG", Only, [TAGGED] -> INT, PURE;
    /// An enum object's payload, of the instruction's type (any value a register holds).
    PayloadGet(a: InstIdx as Ref)
        => "PGET", Only, [TAGGED] -> PAYLOAD, PURE;
    /// The struct type (`StructObj::type_index`) of a struct object: methods are per type.
    StructType(a: InstIdx as Ref)
        => "STTYPE", Only, [STRUCT] -> INT, PURE;
    /// The type tag of captured variable `index` of a closure (`func`; for a builtin also
    /// which one: `abi::capture_key`), and its value (of
    /// the instruction's type: a scalar, or a string, array, dict, struct or function,
    /// which `GetCapture`'s recording then marks shared) after a guard on that tag. Read
    /// closure memory (`CaptureSet` writes it).
    CaptureTag { func: InstIdx as Ref, index: u32 as CaptureIndex }
        => "CTAG", Only, [FUNC] -> INT, PURE, reads CAPTURES;
    CaptureGet { func: InstIdx as Ref, index: u32 as CaptureIndex }
        => "CGET", Only, [FUNC] -> FIELD_VALUE, PURE, reads CAPTURES;
    /// A sunk struct instance of struct type `type_index` with no fields yet, and the sunk
    /// struct `object` with field `field` (a symbol) set to `value` (int, float, bool or
    /// null): a struct literal's fields in order, and field assignments after it. Type
    /// `Struct`, sunk like `DNew`/`DIns`.
    StructNew { type_index: u32 as TypeIndex }
        => "STNEW", Only, [] -> STRUCT, SUNK;
    StructSet { object: InstIdx as Ref, field: u32 as FieldName, value: InstIdx as Ref }
        => "STSET", Only, [STRUCT, STORED] -> STRUCT, SUNK;
    /// A sunk empty array, and the sunk array `array` with `value` (an int, float, bool,
    /// null or string constant) appended: an array literal's elements in order. Type
    /// `Array`, sunk like `DNew`/`DIns`.
    ANew
        => "ANEW", Only, [] -> ARRAY, SUNK;
    AIns { array: InstIdx as Ref, value: InstIdx as Ref }
        => "AINS", Only, [ARRAY, SUNK_SCALAR] -> ARRAY, SUNK;
    /// A sunk enum value: tag `tag` (a symbol) of enum `enum_name`, with no payload or one
    /// (an int, float, bool, null or string constant). Type `Tagged`.
    TagNew { enum_name: u32 as EnumName, tag: u32 as TagName, payload: Option<InstIdx> as OptRef }
        => "ENUM", Only, [SUNK_SCALAR] -> TAGGED, SUNK;
    /// A float-valued numeric builtin on float operands. `Sqrt` of a negative and `Log` of a
    /// non-positive operand are Ruff errors, so those two are guards.
    Math1(function: MathFn as Math, a: InstIdx as Ref)
        => "MATH", ByMathArity(1), [FLOAT] -> FLOAT, GUARD_IF_MATH_FAILS;
    Math2(function: MathFn as Math, a: InstIdx as Ref, b: InstIdx as Ref)
        => "MATH", ByMathArity(2), [FLOAT, FLOAT] -> FLOAT, PURE;
    /// Builtin `builtin` (an index into `builtins::BUILTINS` that `builtins::is_repeatable`
    /// allows) called on the first `argc` of `args` through `builtins::call`, the
    /// interpreter's own code. Arguments are any values a register holds, and builtin
    /// constants; the result has the instruction's type (one of the
    /// same, but not a function). A guard that exits, for the interpreter to make the
    /// same call again, when the builtin raises an error, returns a value of another type,
    /// or leaves the heap wanting a collection. Reads containers and may mark their
    /// elements shared; never merged with another call (each may allocate).
    CallBuiltin { builtin: u32 as BuiltinName, args: BuiltinArgs as Args }
        => "CALLB", Only, [CALL_ARG, CALL_ARG, CALL_ARG] -> HELD, GUARD | TYPE_CHECK | NEVER_MERGED | MAY_SHORTEN_ARRAYS, reads ALL, writes ALL;
    /// A residual call: runtime function `function` (`jit::residual`, the interpreter's
    /// own implementation of an instruction the recorder has no specialised rule for) on
    /// `args`, passed as tagged values as `CallBuiltin` passes them. The result has the
    /// instruction's type, the one the function always returns. A guard that exits, for
    /// the interpreter to redo the instruction (and raise its error), when the function
    /// fails or leaves the heap wanting a collection. Reads containers; may allocate, so
    /// never merged with another call.
    CallResidual { function: Residual as ResidualName, args: BuiltinArgs as Args }
        => "CALLR", Only, [CALL_ARG, CALL_ARG, CALL_ARG] -> RESIDUAL_RESULT, GUARD | NEVER_MERGED | MAY_SHORTEN_ARRAYS, reads ALL, writes ALL;
    /// Builtin `builtin`, one with an effect (`builtins::OnTrace::Effect`: output, files,
    /// the clock, an argument updated in place), called on `args` through
    /// `builtins::call` with the program's own output and clock, as `CallBuiltin` calls
    /// the others. Its result (of any type) is also stored into frame slot `slot`, the
    /// call's callee slot. A guard whose snapshot is the state before the call: it exits
    /// only when the builtin failed, which it does before its effect, so the interpreter
    /// makes the call again and raises the error (or after it, for a
    /// `OnTrace::FailsAfterEffect` row, whose error the interpreter's call raises without
    /// running: `builtins::call_from_trace`). Everything else the call may do to the
    /// trace (a result of another type, a collection due) is `EffectCheck`'s, which follows
    /// it. Never merged or removed.
    CallEffect { builtin: u32 as BuiltinName, slot: u16 as Slot, args: BuiltinArgs as Args }
        => "CALLE", Only, [CALL_ARG, CALL_ARG, CALL_ARG] -> HELD, GUARD | EFFECT | NEVER_MERGED | MAY_SHORTEN_ARRAYS, reads ALL, writes ALL;
    /// Follows the `CallEffect` `a`: exits when its result had another type than the
    /// instruction's or the heap now wants a collection, through a snapshot of the state
    /// *after* the call, which leaves the call's slot out (the call stored its result
    /// there), so the interpreter goes on after the call and its effect is never made
    /// twice. Type `Void`.
    EffectCheck(a: InstIdx as Ref)
        => "ECHECK", Only, [HELD] -> VOID, GUARD | TYPE_CHECK | NEVER_MERGED;
    /// Calls a function trace natively (the traced function's own, for recursion, or
    /// another function's; in a function trace or a side trace), as a new frame
    /// whose slot 0 is slot `base + 1` of the current one, its first `filled` slots (the
    /// arguments, stored into the frame before the call) kept and those up to `cleared`
    /// (past the last one the callee may read before writing it) set to null, as a new
    /// interpreter frame has them; the others, up to `callee_slots`, hold what earlier
    /// frames left, which only an exit lets the interpreter see, and it sets them to null
    /// then (`Jit::clear_dead_slots`). The callee's `Ret` leaves the result in slot `base`.
    /// `return_pc` is where the interpreter resumes this frame if an exit happens inside
    /// the call. The call clobbers every register and slot, so no value defined before it
    /// is used after it except constants (the verifier checks this). A guard: it exits,
    /// before calling, when the native recursion depth budget is spent. Type `Void`.
    /// The function called, and its function trace (`SELF_TRACE`: the trace being
    /// compiled, or for a side trace its root).
    CallTrace { trace: u32 as TraceNumber, function: Gc<FuncObj> as Proto, base: u16 as Slot, filled: u16 as ArgCount, cleared: u16 as ClearedCount, callee_slots: u16 as SlotCount, return_pc: u32 as ReturnPc }
        => "CALLTRACE", Only, [] -> VOID, GUARD | NEVER_MERGED | MAY_SHORTEN_ARRAYS, writes ALL;
    /// Ends a function trace (or its side trace) at a loop that has a trace of its own:
    /// jumps into that loop trace's pre-roll (the frame's slots are stored first), which
    /// runs the loop on the same frame. Type `Void`.
    JumpTrace { trace: u32 as TraceNumber }
        => "JUMP", Only, [] -> VOID, EFFECT | NEVER_MERGED;
    /// Ends a function trace: the function returns `value` (into the slot below its frame)
    /// to its native caller, or to the interpreter. Type `Void`.
    Ret(a: InstIdx as Ref)
        => "RET", Only, [VALUE] -> VOID, EFFECT | NEVER_MERGED;
    /// Separates the pre-roll from the loop body (after peeling). Type `Void`.
    Loop
        => "LOOP", Only, [] -> VOID, EFFECT | NEVER_MERGED;
    /// A loop-carried value (see the module docs). The second operand may be later.
    Phi(a: InstIdx as Ref, b: InstIdx as Ref)
        => "PHI", Only, [VALUE, VALUE] -> VALUE, NEVER_MERGED;
    /// The struct, private to its holder for a write through one of its fields: the struct
    /// itself when it is not shared, else a copy made by the interpreter's own
    /// copy-on-write (`object::make_unique_struct`, which marks the fields shared), as
    /// `semantics::field_for_write` begins. The recorder writes the result back into the
    /// holder's slot. A guard that exits when the heap then wants a collection. Allocates.
    SUnique(a: InstIdx as Ref)
        => "SUNIQUE", Only, [STRUCT] -> STRUCT, GUARD | NEVER_MERGED, reads FIELDS | SHARED_BITS, writes SHARED_BITS;
    /// Field `field` of an unshared struct (at `position`, as `FieldLoad` caches it), for
    /// a write through it, as `semantics::field_for_write` ends
    /// (`access::private_field_for_write`): the container in it (of the instruction's
    /// type: an array, dict or struct) is made private in place, copied when shared. A
    /// guard: it exits, changing nothing, unless the struct is unshared and has the field
    /// at that position holding a value of that type, and afterwards when a collection is
    /// due. Allocates.
    FieldLoadUnique { object: InstIdx as Ref, field: u32 as FieldName, position: u32 as FieldPosition }
        => "FLOADU", Only, [STRUCT] -> CONTAINER, GUARD | NEVER_MERGED, reads FIELDS | NAMED_FIELD | SHARED_BITS, writes NAMED_FIELD | SHARED_BITS;
    /// The length of a string in bytes: where a `for` over its characters ends (its
    /// position is a byte offset). Reads string memory.
    SBytes(a: InstIdx as Ref)
        => "SBYTES", Only, [STR] -> INT, PURE, reads TEXTS;
    /// The character of a string that starts at byte `position` (an int), as a new
    /// one-character string: one step of `for c in s`, through the interpreter's own
    /// `access::next_char`. Allocates; a guard that exits, before the step, when no
    /// character starts there or the heap then wants a collection. Reads string memory.
    SNextChar(a: InstIdx as Ref, b: InstIdx as Ref)
        => "SNEXTCH", Only, [STR, INT] -> STR, GUARD | NEVER_MERGED, reads TEXTS;
    /// The prototype (`ProtoId`) of a function object. A call through a variable guards
    /// it rather than the object's identity, so any closure of the function recorded (a
    /// fresh one each time round) stays on trace; the callee's captured variables are read
    /// from the closure that arrived. Function objects never change prototype.
    FuncProto(a: InstIdx as Ref)
        => "FPROTO", Only, [FUNC] -> INT, PURE;
    /// A new closure of prototype `proto` whose captured variables are all null yet, as
    /// `Instr::Closure` begins it; the `CaptureSet`s recorded with it fill them in before
    /// anything else sees it. Allocates; a guard like `SConcat`.
    FuncNew { proto: u32 as ProtoNumber }
        => "FNEW", Only, [] -> FUNC, GUARD | NEVER_MERGED;
    /// `closure.captures[index] := value` in place (a closure's own copy of a captured
    /// variable, as `SetCapture` and the filling of a new closure write it); the value is
    /// handed over. Writes closure memory.
    CaptureSet { func: InstIdx as Ref, index: u32 as CaptureIndex, value: InstIdx as Ref }
        => "CSET", Only, [FUNC, STORED] -> VOID, EFFECT | NEVER_MERGED, writes CAPTURES;
}
