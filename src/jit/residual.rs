//! Residual calls: the operations a trace runs by calling the interpreter's own
//! implementation of an instruction (PyPy's residual call) where the recorder has no
//! specialised rule for the operand types it met. Each [`Residual`] names one runtime
//! function the interpreter's dispatch loop calls for an instruction, and [`Residual::run`]
//! calls exactly that function, so the trace and the interpreter cannot disagree.
//!
//! Terms: the IR op is `CALLR` (`ir::Op::CallResidual`): up to three tagged values (any
//! value a register holds, enum objects and builtin constants included; sunk values are
//! materialized first), passed as `CALLB` passes a builtin's arguments, and a result whose
//! type is the one recorded (each function has one result type, so the guard on it only
//! fails on errors).
//!
//! Invariants: every function here is repeatable (no output, no argument changed in
//! place; an allocation nobody holds yet is garbage at the next collection), so a call
//! that fails, or leaves the heap wanting a collection, exits *before* the instruction and
//! the interpreter redoes it, raising its error at the right line; or it updates a
//! literal being built in place ([`Residual::in_place`]), fails only before that, and is
//! never followed by an exit for a collection, so it is never redone either.

use crate::compile::bytecode::Program;
use crate::runtime::access;
use crate::runtime::heap::Heap;
use crate::runtime::object::{self, TaggedObj};
use crate::runtime::ops::CmpOp;
use crate::runtime::symbol::Symbol;
use crate::runtime::value::Value;
use crate::semantics::{self, Concrete};

/// A runtime function a trace may call on tagged values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Residual {
    /// The number of entries of a dict (its truthiness, in `semantics::truthy`).
    DictLength,
    /// `==` of two values whose contents decide (arrays, dicts, structs, enum values):
    /// `semantics::values_equal` (`!=` negates it on trace).
    Equal,
    /// An ordering of two strings: `semantics::compare`.
    Order(CmpOp),
    /// `ToStr` (string interpolation) of any value: a string as it is, any other value's
    /// display form (`format::display`) as a new string.
    Text,
    /// `Concat` of one to three strings: a new string of their texts.
    Concat,
    /// `NewTagged`, where the value must exist as an object (stored, passed, compared, or
    /// holding several payloads): arguments the enum name and tag symbols (ints), then the
    /// payloads, if any (past one payload the call is a spread one).
    NewTagged,
    /// `ArraySpread`: `access::spread_into_array` of the literal being built (the first
    /// argument, also the result) and the value spread. Updates its first argument in
    /// place (see [`Residual::in_place`]).
    ArraySpread,
    /// `DictSpread`: `access::spread_into_dict`, as `ArraySpread` for dict literals.
    DictSpread,
    /// `DictInsert` of a string key into the dict literal being built (the first argument,
    /// also the result): `access::set_index`, as the interpreter's `DictInsert` makes it
    /// once the key is a string. In place.
    DictInsert,
    /// A shared dict made private for a write (`semantics::set_index` through
    /// `Containers::dict_unique`): `object::make_unique_dict`'s copy.
    DictUnique,
    /// The entry of a dict under a key made private for a nested write through it
    /// (`d[k].a := v`): `semantics::index_for_write` on the dict, which must not be shared
    /// (the call fails otherwise, before changing anything, and the interpreter copies
    /// the dict as well); the result is the entry. Updates the dict in place (see
    /// [`Residual::in_place`]).
    DictEntryUnique,
}

impl Residual {
    /// Every function, in code order (see [`Residual::code`]).
    pub const ALL: [Residual; 14] = [
        Residual::DictLength,
        Residual::Equal,
        Residual::Order(CmpOp::Lt),
        Residual::Order(CmpOp::Le),
        Residual::Order(CmpOp::Gt),
        Residual::Order(CmpOp::Ge),
        Residual::Text,
        Residual::Concat,
        Residual::NewTagged,
        Residual::ArraySpread,
        Residual::DictSpread,
        Residual::DictInsert,
        Residual::DictUnique,
        Residual::DictEntryUnique,
    ];

    /// The number the emitted code passes for this function.
    pub fn code(self) -> u32 {
        Residual::ALL.iter().position(|&r| r == self).expect("every function is in ALL") as u32
    }

    pub fn from_code(code: u32) -> Option<Residual> {
        Residual::ALL.get(code as usize).copied()
    }

    /// The name in the IR text form and in exit explanations.
    pub fn name(self) -> &'static str {
        match self {
            Residual::DictLength => "dict_length",
            Residual::Equal => "equal",
            Residual::Order(CmpOp::Lt) => "lt",
            Residual::Order(CmpOp::Le) => "le",
            Residual::Order(CmpOp::Gt) => "gt",
            Residual::Order(CmpOp::Ge) => "ge",
            Residual::Text => "text",
            Residual::Concat => "concat",
            Residual::NewTagged => "new_tagged",
            Residual::ArraySpread => "array_spread",
            Residual::DictSpread => "dict_spread",
            Residual::DictInsert => "dict_insert",
            Residual::DictUnique => "dict_unique",
            Residual::DictEntryUnique => "dict_entry_unique",
        }
    }

    /// Whether it updates its first argument in place (a literal being built, or the dict
    /// holding an entry made private), which makes
    /// doing it twice show. Such a function is called only when no collection is due, and
    /// a collection that becomes due during it does not exit: the next allocation or
    /// in-place update on trace exits before itself (as `APUSH` does), so an exit never
    /// follows the update and the interpreter never redoes it. It fails only before it
    /// changes anything.
    pub fn in_place(self) -> bool {
        matches!(self, Residual::ArraySpread | Residual::DictSpread | Residual::DictInsert | Residual::DictEntryUnique)
    }

    pub fn from_name(name: &str) -> Option<Residual> {
        Residual::ALL.iter().copied().find(|r| r.name() == name)
    }

    /// Runs the function on `args` as the interpreter's instruction would; `Err` is the
    /// error it raises.
    pub fn run(self, heap: &mut Heap, program: &Program, args: &[Value]) -> Result<Value, String> {
        Ok(match (self, args) {
            (Residual::DictLength, [Value::Dict(d)]) => Value::Int(d.len() as i64),
            (Residual::Equal, [a, b]) => Value::Bool(semantics::values_equal(*a, *b)),
            (Residual::Order(op), [a, b]) => Value::Bool(semantics::compare(&mut Concrete::pure(), op, *a, *b)?),
            (Residual::Text, [v]) => semantics::text_of(&mut Concrete::with_heap(heap), program, *v)?,
            (Residual::Concat, parts) => semantics::join(&mut Concrete::with_heap(heap), parts)?,
            (Residual::NewTagged, [Value::Int(enum_name), Value::Int(tag), payload @ ..]) => {
                let (enum_name, tag) = (Symbol(*enum_name as u32), Symbol(*tag as u32));
                Value::Tagged(heap.alloc(TaggedObj { enum_name, tag, payload: payload.to_vec() }))
            }
            (Residual::ArraySpread, [target @ Value::Array(array), source]) => {
                access::spread_into_array(heap, *array, *source)?;
                *target
            }
            (Residual::DictSpread, [target @ Value::Dict(dict), source]) => {
                access::spread_into_dict(heap, *dict, *source)?;
                *target
            }
            (Residual::DictInsert, [dict @ Value::Dict(_), key @ Value::Str(_), value]) => {
                let mut holder = *dict;
                semantics::set_index(&mut Concrete::with_heap(heap), &mut holder, *key, *value)?;
                holder
            }
            (Residual::DictUnique, [Value::Dict(dict)]) => Value::Dict(object::make_unique_dict(heap, *dict)),
            (Residual::DictEntryUnique, [holder @ Value::Dict(dict), key]) => {
                if dict.is_shared() {
                    return Err("the dict is shared".into());
                }
                let (mut holder, mut entry) = (*holder, Value::Null);
                semantics::index_for_write(&mut Concrete::with_heap(heap), &mut holder, *key, &mut entry)?;
                entry
            }
            _ => return Err(format!("{} called with {} arguments", self.name(), args.len())),
        })
    }
}
