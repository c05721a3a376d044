//! The semantics of Ruff's operators: the single definition that the interpreter executes
//! and that the JIT recorder follows (LANGUAGE.md sections 5 and 6).
//!
//! Every function here is pure apart from allocating result strings; errors are returned
//! as the exact runtime error message.

use smallvec::{smallvec, SmallVec};

use super::heap::{Gc, Heap};
use super::object::{StrObj, MAX_OBJECT_SIZE};
use super::value::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl ArithOp {
    pub fn symbol(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
            ArithOp::Mod => "%",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

pub fn invalid_binary(op: &str, a: &Value, b: &Value) -> String {
    format!("Invalid binary operation: {} {} {}", a.type_name(), op, b.type_name())
}

/// Checked integer arithmetic; `Err` carries the runtime error message.
#[inline]
pub fn int_arith(op: ArithOp, a: i64, b: i64) -> Result<i64, String> {
    let result = match op {
        ArithOp::Add => a.checked_add(b),
        ArithOp::Sub => a.checked_sub(b),
        ArithOp::Mul => a.checked_mul(b),
        ArithOp::Div => {
            if b == 0 {
                return Err("Division by zero".into());
            }
            a.checked_div(b)
        }
        ArithOp::Mod => {
            if b == 0 {
                return Err("Modulo by zero".into());
            }
            a.checked_rem(b)
        }
    };
    result.ok_or_else(|| format!("Integer overflow: {} {} {}", a, op.symbol(), b))
}

#[inline]
pub fn float_arith(op: ArithOp, a: f64, b: f64) -> Result<f64, String> {
    Ok(match op {
        ArithOp::Add => a + b,
        ArithOp::Sub => a - b,
        ArithOp::Mul => a * b,
        ArithOp::Div => {
            if b == 0.0 {
                return Err("Division by zero".into());
            }
            a / b
        }
        ArithOp::Mod => {
            if b == 0.0 {
                return Err("Modulo by zero".into());
            }
            a % b
        }
    })
}

/// Numeric arithmetic on any pair of values; `None` when the operands are not both numbers.
#[inline]
pub fn numeric_arith(op: ArithOp, a: Value, b: Value) -> Option<Result<Value, String>> {
    Some(match (a, b) {
        (Value::Int(x), Value::Int(y)) => int_arith(op, x, y).map(Value::Int),
        (Value::Float(x), Value::Float(y)) => float_arith(op, x, y).map(Value::Float),
        (Value::Int(x), Value::Float(y)) => float_arith(op, x as f64, y).map(Value::Float),
        (Value::Float(x), Value::Int(y)) => float_arith(op, x, y as f64).map(Value::Float),
        _ => return None,
    })
}

/// `a op b` for every operand pair. `reuse_lhs` allows appending to the left string in
/// place: the caller guarantees the left operand's holder is overwritten by the result.
pub fn arith(heap: &mut Heap, op: ArithOp, a: Value, b: Value, reuse_lhs: bool) -> Result<Value, String> {
    if let Some(result) = numeric_arith(op, a, b) {
        return result;
    }
    match (op, a, b) {
        (ArithOp::Add, Value::Str(x), Value::Str(y)) => Ok(Value::Str(concat(heap, x, y, reuse_lhs)?)),
        _ => Err(invalid_binary(op.symbol(), &a, &b)),
    }
}

/// Whether `x + y` may append to `x` itself, when its holder is overwritten by the result:
/// nothing else holds `x`, and `y` is not `x` (whose text would change while being read).
pub fn can_append_in_place(x: Gc<StrObj>, y: Gc<StrObj>) -> bool {
    !x.is_shared() && x != y
}

/// Appends `y` to `x` in place (only where [`can_append_in_place`] holds); returns the
/// bytes by which `x`'s buffer grew, for the collector's pacing. Leaves `x` as it was and
/// fails when the result would be too long or its memory cannot be had.
pub fn append_in_place(x: Gc<StrObj>, y: Gc<StrObj>) -> Result<usize, String> {
    let before = x.text.capacity();
    let length = concat_length(x, y)?;
    // Amortized growth, as `push_str` would do, but reported instead of aborting.
    if x.get_mut().text.try_reserve(y.text.len()).is_err() {
        return Err(string_too_long(length));
    }
    x.get_mut().push_str(&y);
    Ok(x.text.capacity() - before)
}

fn concat(heap: &mut Heap, x: Gc<StrObj>, y: Gc<StrObj>, reuse_lhs: bool) -> Result<Gc<StrObj>, String> {
    if reuse_lhs && can_append_in_place(x, y) {
        heap.note_growth(append_in_place(x, y)?);
        return Ok(x);
    }
    let length = concat_length(x, y)?;
    let mut text = String::new();
    text.try_reserve_exact(length).map_err(|_| string_too_long(length))?;
    text.push_str(&x.text);
    text.push_str(&y.text);
    Ok(heap.alloc(StrObj::new(text)))
}

/// The length of `x + y` in bytes, when it is within [`MAX_OBJECT_SIZE`].
fn concat_length(x: Gc<StrObj>, y: Gc<StrObj>) -> Result<usize, String> {
    let length = x.text.len() + y.text.len();
    if length > MAX_OBJECT_SIZE {
        return Err(string_too_long(length));
    }
    Ok(length)
}

fn string_too_long(length: usize) -> String {
    format!("Out of memory: a string of {} bytes is more than this program may build", length)
}

pub fn negate(v: Value) -> Result<Value, String> {
    match v {
        Value::Int(i) => i.checked_neg().map(Value::Int).ok_or_else(|| format!("Integer overflow: -({})", i)),
        Value::Float(f) => Ok(Value::Float(-f)),
        _ => Err(format!("Invalid unary operation: -{}", v.type_name())),
    }
}

pub fn not(v: Value) -> Result<Value, String> {
    match v {
        Value::Bool(b) => Ok(Value::Bool(!b)),
        _ => Err(format!("Invalid unary operation: !{}", v.type_name())),
    }
}

/// Ordering comparisons: numbers (mixed int and float) and strings.
#[inline]
pub fn compare(op: CmpOp, a: Value, b: Value) -> Result<bool, String> {
    let ordering = match (a, b) {
        (Value::Int(x), Value::Int(y)) => {
            return Ok(match op {
                CmpOp::Lt => x < y,
                CmpOp::Le => x <= y,
                CmpOp::Gt => x > y,
                CmpOp::Ge => x >= y,
            })
        }
        (Value::Str(x), Value::Str(y)) => Some(x.text.as_str().cmp(y.text.as_str())),
        _ => match (a.as_number(), b.as_number()) {
            (Some(x), Some(y)) => x.partial_cmp(&y),
            _ => return Err(invalid_binary(op.symbol(), &a, &b)),
        },
    };
    Ok(match ordering {
        None => false,
        Some(o) => match op {
            CmpOp::Lt => o.is_lt(),
            CmpOp::Le => o.is_le(),
            CmpOp::Gt => o.is_gt(),
            CmpOp::Ge => o.is_ge(),
        },
    })
}

/// Float equality of LANGUAGE.md section 6: absolute epsilon, NaN equal to nothing,
/// infinities equal only to the same infinity.
#[inline]
pub fn floats_equal(a: f64, b: f64) -> bool {
    a == b || (a.is_finite() && b.is_finite() && (a - b).abs() < f64::EPSILON)
}

/// `==` on two strings: the same object, or the same text.
pub fn strings_equal(a: Gc<StrObj>, b: Gc<StrObj>) -> bool {
    a == b || a.text == b.text
}

/// `==` on any two values; never fails. Iterative, so deeply nested data cannot overflow
/// the native stack.
pub fn values_equal(a: Value, b: Value) -> bool {
    // Held inline: comparing scalars, or a value with `null`, allocates nothing.
    let mut pending: SmallVec<[(Value, Value); 8]> = smallvec![(a, b)];
    while let Some((a, b)) = pending.pop() {
        let equal = match (a, b) {
            (Value::Int(x), Value::Int(y)) => x == y,
            (Value::Float(_) | Value::Int(_), Value::Float(_) | Value::Int(_)) => {
                floats_equal(a.as_number().unwrap_or(f64::NAN), b.as_number().unwrap_or(f64::NAN))
            }
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Null, Value::Null) => true,
            (Value::Str(x), Value::Str(y)) => strings_equal(x, y),
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
            (Value::Builtin(x), Value::Builtin(y)) => x == y,
            _ => false,
        };
        if !equal {
            return false;
        }
    }
    true
}
