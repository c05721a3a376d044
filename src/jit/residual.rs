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
//! the interpreter redoes it, raising its error at the right line.

use crate::compile::bytecode::Program;
use crate::runtime::format;
use crate::runtime::heap::Heap;
use crate::runtime::object::{StrObj, TaggedObj};
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
    /// `NewTagged` with at most one payload, where the value must exist as an object
    /// (stored, passed, compared): arguments the enum name and tag symbols (ints), then
    /// the payload, if any.
    NewTagged,
}

impl Residual {
    /// Every function, in code order (see [`Residual::code`]).
    pub const ALL: [Residual; 9] = [
        Residual::DictLength,
        Residual::Equal,
        Residual::Order(CmpOp::Lt),
        Residual::Order(CmpOp::Le),
        Residual::Order(CmpOp::Gt),
        Residual::Order(CmpOp::Ge),
        Residual::Text,
        Residual::Concat,
        Residual::NewTagged,
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
        }
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
            (Residual::Text, [v @ Value::Str(_)]) => *v,
            (Residual::Text, [v]) => Value::Str(heap.alloc(StrObj::new(format::display(program, v)?))),
            (Residual::Concat, parts) => {
                let mut text = String::new();
                for part in parts {
                    if let Value::Str(s) = part {
                        text.push_str(&s.text);
                    }
                }
                Value::Str(heap.alloc(StrObj::new(text)))
            }
            (Residual::NewTagged, [Value::Int(enum_name), Value::Int(tag), payload @ ..]) => {
                let (enum_name, tag) = (Symbol(*enum_name as u32), Symbol(*tag as u32));
                Value::Tagged(heap.alloc(TaggedObj { enum_name, tag, payload: payload.to_vec() }))
            }
            _ => return Err(format!("{} called with {} arguments", self.name(), args.len())),
        })
    }
}
