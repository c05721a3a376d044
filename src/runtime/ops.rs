//! The primitives Ruff's operators are built from, on concrete values: checked int
//! arithmetic, float arithmetic, float equality, string concatenation (in place or new),
//! and the operator names (`ArithOp`, `CmpOp`). The operators themselves (which primitive
//! each pair of operand kinds uses) are defined once in `semantics::operators`; the
//! concrete domain (`semantics::concrete`) computes with these functions, and the JIT's
//! helpers and reference evaluator call them too.
//!
//! Every function here is pure apart from allocating result strings; errors are returned
//! as the exact runtime error message.

use super::heap::{Gc, Heap};
use super::object::{StrObj, MAX_OBJECT_SIZE};

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

/// An error an operator raises, as data: rendered as the runtime's error text only when
/// the error is raised (`Display`). Built only where the operation raises it (a field
/// error copies the field's name then), so a path that raises nothing pays nothing.
#[derive(Clone, Debug, PartialEq)]
pub enum OpError {
    DivisionByZero,
    ModuloByZero,
    IntOverflow {
        op: ArithOp,
        a: i64,
        b: i64,
    },
    NegationOverflow(i64),
    /// `a op b` on kinds the operator does not accept (type names).
    InvalidBinary {
        symbol: &'static str,
        a: &'static str,
        b: &'static str,
    },
    /// `op a` on a kind the operator does not accept (type name).
    InvalidUnary {
        symbol: &'static str,
        operand: &'static str,
    },
    /// A string longer than [`MAX_OBJECT_SIZE`] bytes.
    StringTooLong(usize),
    /// A value no operator accepts (`semantics::Kind::Undefined`).
    Undefined,
    /// An index outside the sequence (the index as written).
    IndexOutOfBounds(i64),
    /// An array or a string indexed by something else than an int (its type name).
    IndexNotInt(&'static str),
    /// A dict key that is neither a string nor an int (its type name).
    DictKeyType(&'static str),
    /// A dict read under a key it does not hold.
    MissingKey(MissingKey),
    /// Indexing a value that has no elements (its type name).
    CannotIndex(&'static str),
    /// `x[i] := v` on a value that is neither an array nor a dict.
    InvalidIndexAssignment,
    /// A struct without the field read (the field's name).
    FieldNotFound(String),
    /// `v.name` on a value that is not a struct (the name and the value's type name).
    FieldOfNonStruct(String, &'static str),
    /// `v.name := x` on a value that is not a struct.
    AssignFieldOfNonStruct(String, &'static str),
    /// `for x in v` over a value that is not iterable (its type name).
    CannotIterate(&'static str),
    /// A bound of `range(...)` that is not an int (its type name).
    RangeBound(&'static str),
    /// `range(...)` with a step of zero.
    RangeStepZero,
    /// A value whose display form cannot be made (`format::display`'s message).
    Display(String),
}

/// The key a dict read did not find, as the error shows it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MissingKey {
    Str(crate::runtime::heap::Gc<crate::runtime::object::StrObj>),
    Int(i64),
}

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match *self {
            OpError::IndexOutOfBounds(i) => write!(f, "Index out of bounds: {}", i),
            OpError::IndexNotInt(ty) => write!(f, "Index must be an int, got {}", ty),
            OpError::DictKeyType(ty) => write!(f, "Dict keys must be strings or ints, got {}", ty),
            OpError::MissingKey(MissingKey::Str(s)) => write!(f, "Missing map key: \"{}\"", s.text),
            OpError::MissingKey(MissingKey::Int(i)) => write!(f, "Missing map key: {}", i),
            OpError::CannotIndex(ty) => write!(f, "Cannot index a value of type {}", ty),
            OpError::InvalidIndexAssignment => write!(f, "Invalid index assignment"),
            OpError::FieldNotFound(ref name) => write!(f, "Field not found: {}", name),
            OpError::FieldOfNonStruct(ref name, ty) => {
                write!(f, "Cannot access field {} on a value of type {}", name, ty)
            }
            OpError::CannotIterate(ty) => write!(f, "Cannot iterate over a value of type {}", ty),
            OpError::AssignFieldOfNonStruct(ref name, ty) => {
                write!(f, "Cannot assign field {} on a value of type {}", name, ty)
            }
            OpError::DivisionByZero => write!(f, "Division by zero"),
            OpError::ModuloByZero => write!(f, "Modulo by zero"),
            OpError::IntOverflow { op, a, b } => write!(f, "Integer overflow: {} {} {}", a, op.symbol(), b),
            OpError::NegationOverflow(a) => write!(f, "Integer overflow: -({})", a),
            OpError::InvalidBinary { symbol, a, b } => write!(f, "Invalid binary operation: {} {} {}", a, symbol, b),
            OpError::InvalidUnary { symbol, operand } => write!(f, "Invalid unary operation: {}{}", symbol, operand),
            OpError::StringTooLong(length) => {
                write!(f, "Out of memory: a string of {} bytes is more than this program may build", length)
            }
            OpError::Undefined => write!(f, "Undefined value"),
            OpError::RangeBound(ty) => write!(f, "range() requires int arguments, got {}", ty),
            OpError::RangeStepZero => write!(f, "range() step cannot be zero"),
            OpError::Display(ref message) => write!(f, "{}", message),
        }
    }
}

impl From<OpError> for String {
    #[cold]
    #[inline(never)]
    fn from(error: OpError) -> String {
        error.to_string()
    }
}

/// Checked integer arithmetic: overflow and a zero divisor raise.
#[inline]
pub fn int_arith(op: ArithOp, a: i64, b: i64) -> Result<i64, OpError> {
    let result = match op {
        ArithOp::Add => a.checked_add(b),
        ArithOp::Sub => a.checked_sub(b),
        ArithOp::Mul => a.checked_mul(b),
        ArithOp::Div => a.checked_div(b),
        ArithOp::Mod => a.checked_rem(b),
    };
    result.ok_or_else(|| int_error(op, a, b))
}

/// Why `a op b` has no int result: a zero divisor, or overflow.
fn int_error(op: ArithOp, a: i64, b: i64) -> OpError {
    match op {
        ArithOp::Div if b == 0 => OpError::DivisionByZero,
        ArithOp::Mod if b == 0 => OpError::ModuloByZero,
        _ => OpError::IntOverflow { op, a, b },
    }
}

/// Float arithmetic; a zero divisor is the runtime error (the rest is IEEE).
#[inline]
pub fn float_arith(op: ArithOp, a: f64, b: f64) -> Result<f64, OpError> {
    Ok(match op {
        ArithOp::Add => a + b,
        ArithOp::Sub => a - b,
        ArithOp::Mul => a * b,
        ArithOp::Div | ArithOp::Mod if b == 0.0 => return Err(zero_divisor(op)),
        ArithOp::Div => a / b,
        ArithOp::Mod => a % b,
    })
}

fn zero_divisor(op: ArithOp) -> OpError {
    if op == ArithOp::Mod {
        OpError::ModuloByZero
    } else {
        OpError::DivisionByZero
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
pub fn append_in_place(x: Gc<StrObj>, y: Gc<StrObj>) -> Result<usize, OpError> {
    let before = x.text.capacity();
    let length = concat_length(x, y)?;
    // Amortized growth, as `push_str` would do, but reported instead of aborting.
    if x.get_mut_young().text.try_reserve(y.text.len()).is_err() {
        return Err(OpError::StringTooLong(length));
    }
    x.get_mut_young().push_str(&y);
    Ok(x.text.capacity() - before)
}

/// `x + y` on strings as a new string (`semantics::str_add` chooses between this and
/// [`append_in_place`]). Inlined: a call here costs string `+` in the interpreter 6%
/// (`string_concat`).
#[inline(always)]
pub fn concat(heap: &mut Heap, x: Gc<StrObj>, y: Gc<StrObj>) -> Result<Gc<StrObj>, OpError> {
    let length = concat_length(x, y)?;
    let mut text = String::new();
    text.try_reserve_exact(length).map_err(|_| OpError::StringTooLong(length))?;
    text.push_str(&x.text);
    text.push_str(&y.text);
    Ok(heap.alloc(StrObj::new(text)))
}

/// The length of `x + y` in bytes, when it is within [`MAX_OBJECT_SIZE`].
fn concat_length(x: Gc<StrObj>, y: Gc<StrObj>) -> Result<usize, OpError> {
    let length = x.text.len() + y.text.len();
    if length > MAX_OBJECT_SIZE {
        return Err(OpError::StringTooLong(length));
    }
    Ok(length)
}

/// Float equality of LANGUAGE.md section 6: absolute epsilon, NaN equal to nothing,
/// infinities equal only to the same infinity.
#[inline]
pub fn floats_equal(a: f64, b: f64) -> bool {
    a == b || (a.is_finite() && b.is_finite() && (a - b).abs() < f64::EPSILON)
}
