//! The concrete domain: the operations of [`super::operators`] on the runtime's own
//! values, which is what the interpreter runs. Every primitive is computed directly (with
//! `runtime::ops` for checked and float arithmetic, float equality and concatenation);
//! errors are `Failed`, with the `ops::OpError` raised kept aside until the interpreter
//! takes its text. Also here: `==` on containers, the structural
//! walk over two values' contents, iterative so that deeply nested data cannot overflow
//! the native stack.
//!
//! `Concrete<H>` is the domain with heap access `H`: [`Concrete::pure`] (no heap) runs every
//! operation but string concatenation, [`Concrete::with_heap`] runs all of them.
//!
//! Invariant: nothing here fails where the runtime raises no error: equality and
//! truthiness always produce a value.

use std::cell::Cell;

use smallvec::{smallvec, SmallVec};

use super::containers::{index_into, position, set_field, set_index};
use super::operators::{equal, truthy};
use super::{Allocating, Comparison, Containers, Domain, Kind, Texts};
use crate::compile::bytecode::Program;
use crate::runtime::access::{self, Mark};
use crate::runtime::format;
use crate::runtime::heap::{Gc, Heap};
use crate::runtime::object::{
    make_unique_array, make_unique_dict, make_unique_struct, make_unique_value, ArrayObj, DictKey, DictObj, StrObj,
    StructObj,
};
use crate::runtime::ops::{self, ArithOp, CmpOp, MissingKey, OpError};
use crate::runtime::symbol::Symbol;
use crate::runtime::value::Value;

/// The concrete domain's error: the operation raised. What it raised waits in
/// [`RAISED`] until the interpreter takes its text (`String::from`). A marker keeps every
/// operation's result as small as the value itself (returned in registers, nothing to
/// drop), which the interpreter's handlers depend on: an error held in the result made
/// them assemble results in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failed;

thread_local! {
    /// The error of the last operation that failed on this thread (see [`Failed`]).
    static RAISED: Cell<Option<OpError>> = const { Cell::new(None) };
}

impl From<Failed> for String {
    #[cold]
    #[inline(never)]
    fn from(_: Failed) -> String {
        RAISED.with(Cell::take).map_or_else(|| "Unknown error".into(), |error| error.to_string())
    }
}

/// The concrete domain, with heap access `H` (`()` or `&mut Heap`).
pub struct Concrete<H = ()> {
    heap: H,
}

impl Concrete {
    /// The domain for operations that build nothing.
    #[inline(always)]
    pub fn pure() -> Concrete {
        Concrete { heap: () }
    }
}

impl<'h> Concrete<&'h mut Heap> {
    /// The domain for every operation, allocating new strings in `heap`.
    #[inline(always)]
    pub fn with_heap(heap: &'h mut Heap) -> Concrete<&'h mut Heap> {
        Concrete { heap }
    }
}

impl<H> Domain for Concrete<H> {
    type Value = Value;
    type Int = i64;
    type Float = f64;
    type Bool = bool;
    type Str = Gc<StrObj>;
    type Array = Gc<ArrayObj>;
    type Dict = Gc<DictObj>;
    type Struct = Gc<StructObj>;
    type Error = Failed;

    #[inline(always)]
    fn kind(&mut self, v: Value) -> Kind<Self> {
        match v {
            Value::Null => Kind::Null,
            Value::Bool(b) => Kind::Bool(b),
            Value::Int(i) => Kind::Int(i),
            Value::Float(f) => Kind::Float(f),
            Value::Str(s) => Kind::Str(s),
            Value::Array(a) => Kind::Array(a),
            Value::Dict(d) => Kind::Dict(d),
            Value::Struct(s) => Kind::Struct(s),
            Value::Tagged(_) => Kind::Tagged,
            Value::Func(_) => Kind::Func,
            Value::Builtin(id) => Kind::Builtin(id),
            Value::Undef => Kind::Undefined,
        }
    }

    fn type_name(&self, v: Value) -> &'static str {
        v.type_name()
    }

    #[cold]
    #[inline(never)]
    fn fail(&mut self, error: OpError) -> Failed {
        RAISED.with(|raised| raised.set(Some(error)));
        Failed
    }

    #[inline(always)]
    fn int_value(&mut self, x: i64) -> Value {
        Value::Int(x)
    }

    #[inline(always)]
    fn float_value(&mut self, x: f64) -> Value {
        Value::Float(x)
    }

    #[inline(always)]
    fn bool_value(&mut self, x: bool) -> Value {
        Value::Bool(x)
    }

    #[inline(always)]
    fn bool_constant(&mut self, b: bool) -> bool {
        b
    }

    #[inline(always)]
    fn int_constant(&mut self, i: i64) -> i64 {
        i
    }

    #[inline(always)]
    fn decide(&mut self, condition: bool) -> bool {
        condition
    }

    #[inline(always)]
    fn int_arith(&mut self, op: ArithOp, a: i64, b: i64) -> Result<i64, Failed> {
        ops::int_arith(op, a, b).map_err(|error| self.fail(error))
    }

    #[inline(always)]
    fn int_negate(&mut self, a: i64) -> Result<i64, Failed> {
        a.checked_neg().ok_or_else(|| self.fail(OpError::NegationOverflow(a)))
    }

    #[inline(always)]
    fn int_compare(&mut self, op: Comparison, a: i64, b: i64) -> bool {
        match op {
            Comparison::Order(CmpOp::Lt) => a < b,
            Comparison::Order(CmpOp::Le) => a <= b,
            Comparison::Order(CmpOp::Gt) => a > b,
            Comparison::Order(CmpOp::Ge) => a >= b,
            Comparison::Equal => a == b,
            Comparison::NotEqual => a != b,
        }
    }

    #[inline(always)]
    fn int_truthy(&mut self, a: i64) -> bool {
        a != 0
    }

    #[inline(always)]
    fn int_to_float(&mut self, a: i64) -> f64 {
        a as f64
    }

    #[inline(always)]
    fn float_arith(&mut self, op: ArithOp, a: f64, b: f64) -> Result<f64, Failed> {
        ops::float_arith(op, a, b).map_err(|error| self.fail(error))
    }

    #[inline(always)]
    fn float_negate(&mut self, a: f64) -> f64 {
        -a
    }

    #[inline(always)]
    fn float_compare(&mut self, op: Comparison, a: f64, b: f64) -> bool {
        match op {
            Comparison::Order(CmpOp::Lt) => a < b,
            Comparison::Order(CmpOp::Le) => a <= b,
            Comparison::Order(CmpOp::Gt) => a > b,
            Comparison::Order(CmpOp::Ge) => a >= b,
            Comparison::Equal => ops::floats_equal(a, b),
            Comparison::NotEqual => !ops::floats_equal(a, b),
        }
    }

    #[inline(always)]
    fn float_truthy(&mut self, a: f64) -> bool {
        a != 0.0
    }

    #[inline(always)]
    fn bool_equal(&mut self, a: bool, b: bool) -> bool {
        a == b
    }

    #[inline(always)]
    fn bool_not(&mut self, a: bool) -> bool {
        !a
    }

    /// Inlined into the interpreter's equality handlers as far as the lengths; the bytes
    /// are compared out of line (`texts_equal`), which keeps the handlers short.
    #[inline(always)]
    fn str_equal(&mut self, a: Gc<StrObj>, b: Gc<StrObj>) -> bool {
        a == b || (a.text.len() == b.text.len() && texts_equal(a, b))
    }

    fn str_order(&mut self, op: CmpOp, a: Gc<StrObj>, b: Gc<StrObj>) -> Result<bool, Failed> {
        let ordering = a.text.as_str().cmp(b.text.as_str());
        Ok(match op {
            CmpOp::Lt => ordering.is_lt(),
            CmpOp::Le => ordering.is_le(),
            CmpOp::Gt => ordering.is_gt(),
            CmpOp::Ge => ordering.is_ge(),
        })
    }

    #[inline(always)]
    fn str_byte_length(&mut self, a: Gc<StrObj>) -> i64 {
        a.text.len() as i64
    }

    #[inline(always)]
    fn array_length(&mut self, a: Gc<ArrayObj>) -> i64 {
        a.items.len() as i64
    }

    #[inline(always)]
    fn dict_length(&mut self, d: Gc<DictObj>) -> Result<i64, Failed> {
        Ok(d.len() as i64)
    }

    fn contents_equal(&mut self, a: Value, b: Value) -> Result<bool, Failed> {
        Ok(contents_equal(a, b))
    }
}

impl Allocating for Concrete<&mut Heap> {
    #[inline(always)]
    fn str_appendable(&mut self, a: Gc<StrObj>, b: Gc<StrObj>) -> bool {
        ops::can_append_in_place(a, b)
    }

    #[inline(always)]
    fn str_append(&mut self, a: Gc<StrObj>, b: Gc<StrObj>) -> Result<Value, Failed> {
        match ops::append_in_place(a, b) {
            Ok(grown) => {
                self.heap.note_growth(a, grown);
                Ok(Value::Str(a))
            }
            Err(error) => Err(self.fail(error)),
        }
    }

    #[inline(always)]
    fn str_concat(&mut self, a: Gc<StrObj>, b: Gc<StrObj>) -> Result<Value, Failed> {
        match ops::concat(self.heap, a, b) {
            Ok(s) => Ok(Value::Str(s)),
            Err(error) => Err(self.fail(error)),
        }
    }
}

impl Texts for Concrete<&mut Heap> {
    fn display(&mut self, program: &Program, v: Value) -> Result<Value, Failed> {
        match format::display(program, &v) {
            Ok(text) => Ok(Value::Str(self.heap.alloc(StrObj::new(text)))),
            Err(message) => Err(self.fail(OpError::Display(message))),
        }
    }

    /// The first two parts joined into a new string, each further part added to it by
    /// string `+` (`str_add`) whose result replaces it (so, being new, it grows in place);
    /// one part copied.
    fn str_join(&mut self, parts: &[Gc<StrObj>]) -> Result<Value, Failed> {
        let joined = match *parts {
            [first, second, ref rest @ ..] => {
                let mut joined = self.str_concat(first, second)?;
                for &part in rest {
                    let Value::Str(so_far) = joined else { unreachable!("string + makes a string") };
                    joined = super::operators::str_add(self, so_far, part, true)?;
                }
                return Ok(joined);
            }
            [only] => self.heap.alloc(StrObj::new(only.text.clone())),
            [] => self.heap.alloc(StrObj::new(String::new())),
        };
        Ok(Value::Str(joined))
    }
}

impl Containers for Concrete<&mut Heap> {
    #[inline(always)]
    fn array_get(&mut self, a: Gc<ArrayObj>, at: i64, out: &mut Value) -> Result<bool, Failed> {
        Ok(match a.items.get(at as usize) {
            Some(element) => {
                element.relay().store(out);
                true
            }
            None => false,
        })
    }

    #[inline(always)]
    fn array_store(&mut self, a: Gc<ArrayObj>, at: i64, value: Value) -> Result<bool, Failed> {
        if !a.is_shared() {
            if let Some(element) = a.get_mut(self.heap).items.get_mut(at as usize) {
                value.relay().store(element);
                return Ok(true);
            }
        }
        Ok(false)
    }

    #[inline(always)]
    fn array_get_for_write(&mut self, a: Gc<ArrayObj>, at: i64, out: &mut Value) -> Result<bool, Failed> {
        Ok(match element_for_write(a, at) {
            Some(element) => {
                element.relay().store(out);
                true
            }
            None => false,
        })
    }

    fn array_unique(&mut self, a: Gc<ArrayObj>) -> Result<Gc<ArrayObj>, Failed> {
        Ok(make_unique_array(self.heap, a))
    }

    fn array_element_unique(&mut self, a: Gc<ArrayObj>, at: i64, out: &mut Value) -> Result<bool, Failed> {
        let Some(element) = a.get_mut(self.heap).items.get_mut(at as usize) else { return Ok(false) };
        make_unique_value(self.heap, element);
        *out = *element;
        Ok(true)
    }

    #[inline(always)]
    fn array_value(&mut self, a: Gc<ArrayObj>) -> Value {
        Value::Array(a)
    }

    #[cold]
    fn out_of_bounds(&mut self, i: i64) -> Failed {
        self.fail(OpError::IndexOutOfBounds(i))
    }

    fn str_index(&mut self, s: Gc<StrObj>, i: i64) -> Result<Value, Failed> {
        let c = string_char(&s, i)?;
        Ok(Value::Str(self.heap.char_string(c)))
    }

    fn dict_get(&mut self, x: Gc<DictObj>, key: Value, out: &mut Value) -> Result<(), Failed> {
        match x.get(&dict_key(key)) {
            Some(v) => {
                *out = v;
                Ok(())
            }
            None => {
                let shown = match key {
                    Value::Str(s) => MissingKey::Str(s),
                    Value::Int(i) => MissingKey::Int(i),
                    _ => unreachable!("the operation checked the key's kind"),
                };
                Err(self.fail(OpError::MissingKey(shown)))
            }
        }
    }

    fn dict_unique(&mut self, x: Gc<DictObj>) -> Result<Gc<DictObj>, Failed> {
        Ok(make_unique_dict(self.heap, x))
    }

    fn dict_insert(&mut self, x: Gc<DictObj>, key: Value, value: Value) -> Result<(), Failed> {
        let grown = access::insert_entry(self.heap, x, dict_key(key), value);
        self.heap.note_growth(x, grown);
        Ok(())
    }

    fn dict_element_unique(&mut self, x: Gc<DictObj>, key: Value, out: &mut Value) -> Result<(), Failed> {
        if make_unique_value(self.heap, out) {
            x.get_mut(self.heap).insert(dict_key(key), *out);
        }
        Ok(())
    }

    #[inline(always)]
    fn dict_value(&mut self, x: Gc<DictObj>) -> Value {
        Value::Dict(x)
    }

    #[inline(always)]
    fn mark_shared(&mut self, v: &Value) {
        v.mark_shared();
    }

    #[inline(always)]
    fn struct_field(
        &mut self,
        s: Gc<StructObj>,
        name: Symbol,
        guess: usize,
        out: &mut Value,
    ) -> Result<Option<usize>, Failed> {
        let Some(position) = s.position(name, guess) else { return Ok(None) };
        s.fields[position].1.relay().store(out);
        Ok(Some(position))
    }

    #[inline(always)]
    fn struct_is_shared(&mut self, s: Gc<StructObj>) -> bool {
        s.is_shared()
    }

    fn struct_has_field(&mut self, s: Gc<StructObj>, name: Symbol) -> bool {
        s.field(name).is_some()
    }

    #[inline(always)]
    fn struct_store(
        &mut self,
        s: Gc<StructObj>,
        name: Symbol,
        guess: usize,
        value: Value,
    ) -> Result<Option<usize>, Failed> {
        if s.is_shared() {
            return Ok(None);
        }
        let Some(position) = s.position(name, guess) else { return Ok(None) };
        value.relay().store(&mut s.get_mut(self.heap).fields[position].1);
        Ok(Some(position))
    }

    fn struct_unique(&mut self, s: Gc<StructObj>) -> Result<Gc<StructObj>, Failed> {
        Ok(make_unique_struct(self.heap, s))
    }

    fn struct_set(&mut self, s: Gc<StructObj>, name: Symbol, value: Value) -> Result<Gc<StructObj>, Failed> {
        s.get_mut(self.heap).set(name, value);
        Ok(s)
    }

    fn struct_field_unique(&mut self, s: Gc<StructObj>, name: Symbol, out: &mut Value) -> Result<(), Failed> {
        *out = access::private_field_for_write(self.heap, s, name).expect("the operation checked the field");
        Ok(())
    }

    #[inline(always)]
    fn struct_value(&mut self, s: Gc<StructObj>) -> Value {
        Value::Struct(s)
    }

    #[inline(always)]
    fn loop_test(&mut self, more: bool) -> bool {
        more
    }

    fn float_to_int(&mut self, f: f64) -> Result<i64, Failed> {
        Ok(f as i64)
    }

    fn dict_keys(&mut self, x: Gc<DictObj>) -> Result<Value, Failed> {
        Ok(access::dict_keys(self.heap, x))
    }

    fn str_char_at_byte(&mut self, s: Gc<StrObj>, at: i64, item: &mut Value) -> Result<i64, Failed> {
        let mut after = at;
        *item = access::next_char(self.heap, &s, &mut after).expect("a character starts before the end");
        Ok(after - at)
    }

    #[inline(always)]
    fn range_advance(&mut self, current: i64, step: i64, stop: i64) -> Result<i64, Failed> {
        Ok(current.checked_add(step).unwrap_or(stop))
    }
}

/// Element `at` of unshared array `a` for a write through it, when it is not shared
/// either (`Containers::array_get_for_write`).
#[inline(always)]
pub fn element_for_write(a: Gc<ArrayObj>, at: i64) -> Option<Value> {
    if a.is_shared() {
        return None;
    }
    a.items.get(at as usize).copied().filter(|element| !element.is_shared())
}

/// The character `s[i]` denotes (`Containers::str_index`), or the out-of-bounds error.
pub fn string_char(s: &StrObj, i: i64) -> Result<char, Failed> {
    let mut domain = Concrete::pure();
    let at = position(&mut domain, i, s.char_count() as i64)?;
    usize::try_from(at).ok().and_then(|at| s.char_at(at)).ok_or_else(|| domain.fail(OpError::IndexOutOfBounds(i)))
}

/// The dict key a string or an int denotes (a string spelling a canonical int is that
/// int); the operations check the kind first.
fn dict_key(key: Value) -> DictKey {
    match key {
        Value::Str(s) => DictKey::of_string(s),
        Value::Int(i) => DictKey::Int(i),
        _ => unreachable!("the operation checked the key's kind"),
    }
}

/// `container[index]` on concrete values, marked shared (a builtin's or a native
/// helper's indexing).
pub fn get_index(heap: &mut Heap, container: Value, index: Value) -> Result<Value, Failed> {
    let mut out = Value::Null;
    index_into(&mut Concrete::with_heap(heap), container, index, Mark::Shared, &mut out)?;
    Ok(out)
}

/// `holder.name := value` on concrete values (native code's `FSET`); `name_text` is
/// called only for an error message.
pub fn assign_field<'a>(
    heap: &mut Heap,
    holder: &mut Value,
    name: Symbol,
    name_text: impl FnOnce() -> &'a str,
    value: Value,
) -> Result<(), Failed> {
    set_field(&mut Concrete::with_heap(heap), holder, name, 0, name_text, value).map(|_| ())
}

/// `holder[index] := value` on concrete values.
pub fn assign_index(heap: &mut Heap, holder: &mut Value, index: Value, value: Value) -> Result<(), Failed> {
    set_index(&mut Concrete::with_heap(heap), holder, index, value)
}

/// `a == b` on concrete values.
pub fn values_equal(a: Value, b: Value) -> bool {
    matches!(equal(&mut Concrete::pure(), a, b), Ok(true))
}

/// Whether `v` counts as true (the concrete entry point of [`truthy`]).
#[inline(always)]
pub fn is_truthy(v: Value) -> bool {
    matches!(truthy(&mut Concrete::pure(), v), Ok(true))
}

/// `==` on two containers of one kind: the same object, or the same structure (length,
/// keys, struct type and field names, enum constructor) with equal elements, which are
/// compared by [`equal`] (a pair of containers among them by this walk).
fn contents_equal(a: Value, b: Value) -> bool {
    // Held inline: comparing small containers allocates nothing.
    let mut pending: SmallVec<[(Value, Value); 8]> = smallvec![(a, b)];
    while let Some((a, b)) = pending.pop() {
        let equal = match (a, b) {
            (Value::Array(x), Value::Array(y)) => {
                if x == y {
                    true
                } else if x.items.len() != y.items.len() {
                    false
                } else {
                    pending.extend(x.items.iter().copied().zip(y.items.iter().copied()));
                    true
                }
            }
            (Value::Dict(x), Value::Dict(y)) => {
                if x == y {
                    true
                } else if x.len() != y.len() {
                    false
                } else {
                    let mut same_keys = true;
                    for (k, v) in &x.entries {
                        match y.get(k) {
                            Some(w) => pending.push((*v, w)),
                            None => {
                                same_keys = false;
                                break;
                            }
                        }
                    }
                    same_keys
                }
            }
            (Value::Struct(x), Value::Struct(y)) => {
                if x == y {
                    true
                } else if x.type_index != y.type_index || x.fields.len() != y.fields.len() {
                    false
                } else {
                    let mut same_fields = true;
                    for (name, v) in &x.fields {
                        match y.get(*name) {
                            Some(w) => pending.push((*v, w)),
                            None => {
                                same_fields = false;
                                break;
                            }
                        }
                    }
                    same_fields
                }
            }
            (Value::Tagged(x), Value::Tagged(y)) => {
                if x == y {
                    true
                } else if x.tag != y.tag || x.enum_name != y.enum_name || x.payload.len() != y.payload.len() {
                    false
                } else {
                    pending.extend(x.payload.iter().copied().zip(y.payload.iter().copied()));
                    true
                }
            }
            (Value::Func(x), Value::Func(y)) => x == y,
            // Scalars, strings, and values of different kinds.
            _ => values_equal(a, b),
        };
        if !equal {
            return false;
        }
    }
    true
}

/// Whether two strings of the same length spell the same text.
#[inline(never)]
fn texts_equal(a: Gc<StrObj>, b: Gc<StrObj>) -> bool {
    a.same_text(&b)
}
