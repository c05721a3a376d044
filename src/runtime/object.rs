//! Heap object types and their copy-on-write rules.
//!
//! Terms:
//! - *Value semantics*: arrays, dicts, struct instances and tagged values behave as
//!   independent values. They are shared by pointer and copied lazily: a write through a
//!   holder whose object is marked shared first gives that holder a private shallow copy
//!   ([`make_unique_array`] and friends). A shallow copy makes every heap child reachable
//!   from two objects, so it marks the children shared too.
//! - Strings are immutable to Ruff code; the only in-place change is appending to an
//!   unshared string whose holder is being overwritten by the result (`s := s + t`).
//! - Dict keys are ints or strings; a string that spells a canonical decimal int is stored
//!   as the int, so `d["1"]` and `d[1]` are the same entry (LANGUAGE.md 11.2).
//!
//! Invariants: a dict never removes entries (the core language has no delete), so
//! `entries` is in insertion order and `index` maps each key to its entry position.

use std::cell::Cell;
use std::hash::{Hash, Hasher};

use rustc_hash::FxHasher;

use super::fields::{Field, FieldList};
use super::heap::{Gc, Heap, HeapObject, Marker, ObjKind};
use super::symbol::{Symbol, SYM_OPTION, SYM_RESULT};
use super::value::Value;
use crate::compile::bytecode::ProtoId;

pub struct StrObj {
    pub text: String,
    char_count: usize,
    hash: Cell<u64>,
}

impl StrObj {
    pub fn new(text: String) -> StrObj {
        let char_count = if text.is_ascii() { text.len() } else { text.chars().count() };
        StrObj { text, char_count, hash: Cell::new(0) }
    }

    pub fn char_count(&self) -> usize {
        self.char_count
    }

    pub fn is_ascii(&self) -> bool {
        self.char_count == self.text.len()
    }

    /// The `i`-th character (0-based, already bounds-checked by the caller's rules).
    pub fn char_at(&self, i: usize) -> Option<char> {
        if self.is_ascii() {
            self.text.as_bytes().get(i).map(|&b| b as char)
        } else {
            self.text.chars().nth(i)
        }
    }

    /// Whether `other` holds the same text. Strings of up to 16 bytes are compared byte
    /// by byte: a library `memcmp` call costs more than that, and parsers compare
    /// one-character strings all the time (json --no-jit: 9% of its time in `memcmp`).
    #[inline]
    pub fn same_text(&self, other: &StrObj) -> bool {
        let (a, b) = (self.text.as_bytes(), other.text.as_bytes());
        a.len() == b.len() && if a.len() <= 16 { a.iter().zip(b).all(|(x, y)| x == y) } else { a == b }
    }

    pub fn push_str(&mut self, tail: &StrObj) {
        self.text.push_str(&tail.text);
        self.char_count += tail.char_count;
        self.hash.set(0);
    }

    pub fn content_hash(&self) -> u64 {
        let cached = self.hash.get();
        if cached != 0 {
            return cached;
        }
        let mut hasher = FxHasher::default();
        self.text.hash(&mut hasher);
        let h = hasher.finish() | 1;
        self.hash.set(h);
        h
    }
}

impl HeapObject for StrObj {
    const KIND: ObjKind = ObjKind::Str;
    fn trace(&self, _: &mut Marker) {}
    fn heap_size(&self) -> usize {
        self.text.capacity()
    }
}

pub struct ArrayObj {
    pub items: Vec<Value>,
}

impl ArrayObj {
    /// Appends `value`, growing the buffer as `Vec::push` would, but failing with a
    /// runtime error instead of ending the process when the memory cannot be had. Returns
    /// the bytes the buffer grew by (for the collector's pacing).
    #[inline]
    pub fn try_push(&mut self, value: Value) -> Result<usize, String> {
        if self.items.len() < self.items.capacity() {
            self.items.push(value);
            return Ok(0);
        }
        self.grow_and_push(value)
    }

    /// `try_push` when the buffer is full.
    #[inline(never)]
    fn grow_and_push(&mut self, value: Value) -> Result<usize, String> {
        let before = self.items.capacity();
        self.items.try_reserve(1).map_err(|_| {
            format!("Out of memory: an array of {} elements is more than this program may build", self.items.len() + 1)
        })?;
        self.items.push(value);
        Ok((self.items.capacity() - before) * std::mem::size_of::<Value>())
    }
}

/// Byte offsets, from the start of a `GcBox<ArrayObj>`, `GcBox<StructObj>` or
/// `GcBox<StrObj>`, of what native code reads and writes: the shared bit, the element
/// buffer's pointer, length and capacity of an array, the field list's pointer and length
/// of a struct (each field an entry of `field_stride` bytes: its name at `field_name`, its
/// value at `field_value`), and a string's UTF-8 bytes (pointer and length) and character
/// count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectLayout {
    pub shared_flag: i32,
    pub items_ptr: i32,
    pub items_len: i32,
    pub items_capacity: i32,
    pub fields_ptr: i32,
    pub fields_len: i32,
    pub field_stride: i32,
    pub field_name: i32,
    pub field_value: i32,
    pub text_ptr: i32,
    pub text_len: i32,
    pub char_count: i32,
}

/// Where a `Vec<T>` keeps its pointer, length and capacity, as word indexes (Rust does not
/// fix the order of its fields): found by building one with distinct pointer, length and
/// capacity and looking at its words. `None` if that does not identify them.
fn vec_words<T>(element: T) -> Option<(usize, usize, usize)> {
    let mut probe: Vec<T> = Vec::with_capacity(3);
    probe.push(element);
    let (pointer, capacity) = (probe.as_ptr() as usize, probe.capacity());
    find_words(probe, pointer, capacity)
}

/// Where `probe`, a `Vec` or `String` of length 1 whose buffer is at `pointer` with room
/// for `capacity`, keeps its pointer, length and capacity (as `vec_words`).
fn find_words<V>(probe: V, pointer: usize, capacity: usize) -> Option<(usize, usize, usize)> {
    const WORDS: usize = std::mem::size_of::<Vec<()>>() / std::mem::size_of::<usize>();
    if std::mem::size_of::<V>() != WORDS * std::mem::size_of::<usize>() {
        return None;
    }
    // SAFETY: `V` is exactly `WORDS` machine words (checked above) and, being a vector's
    // pointer, length and capacity, has no padding between them; reading them as integers
    // copies its bits without using them.
    let words: [usize; WORDS] = unsafe { std::mem::transmute_copy(&probe) };
    let find = |wanted: usize| {
        let mut hits = words.iter().enumerate().filter(|(_, &w)| w == wanted).map(|(i, _)| i);
        match (hits.next(), hits.next()) {
            (Some(i), None) => Some(i),
            _ => None,
        }
    };
    Some((find(pointer)?, find(1)?, find(capacity)?))
}

/// The layout native code uses for arrays and structs; `None` if the vectors' layout
/// cannot be identified, and traces then leave arrays and struct fields to helpers.
pub fn object_layout() -> Option<ObjectLayout> {
    let word = std::mem::size_of::<usize>();
    let (pointer, length, capacity) = vec_words(Value::Null)?;
    let items = super::heap::value_offset::<ArrayObj>() + std::mem::offset_of!(ArrayObj, items);
    let fields = super::heap::value_offset::<StructObj>() + std::mem::offset_of!(StructObj, fields);
    let mut text = String::with_capacity(3);
    text.push('a');
    let (text_pointer, text_capacity) = (text.as_ptr() as usize, text.capacity());
    let (text_words_pointer, text_length, _) = find_words(text, text_pointer, text_capacity)?;
    let string = super::heap::value_offset::<StrObj>();
    Some(ObjectLayout {
        shared_flag: super::heap::SHARED_FLAG_OFFSET as i32,
        items_ptr: (items + pointer * word) as i32,
        items_len: (items + length * word) as i32,
        items_capacity: (items + capacity * word) as i32,
        fields_ptr: (fields + std::mem::offset_of!(FieldList, ptr)) as i32,
        fields_len: (fields + std::mem::offset_of!(FieldList, len)) as i32,
        field_stride: std::mem::size_of::<Field>() as i32,
        field_name: std::mem::offset_of!(Field, 0) as i32,
        field_value: std::mem::offset_of!(Field, 1) as i32,
        text_ptr: (string + std::mem::offset_of!(StrObj, text) + text_words_pointer * word) as i32,
        text_len: (string + std::mem::offset_of!(StrObj, text) + text_length * word) as i32,
        char_count: (string + std::mem::offset_of!(StrObj, char_count)) as i32,
    })
}

impl HeapObject for ArrayObj {
    const KIND: ObjKind = ObjKind::Array;
    fn trace(&self, marker: &mut Marker) {
        marker.mark_values(&self.items);
    }
    fn heap_size(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<Value>()
    }
}

#[derive(Clone, Copy)]
pub enum DictKey {
    Int(i64),
    Str(Gc<StrObj>),
}

impl PartialEq for DictKey {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (DictKey::Int(a), DictKey::Int(b)) => a == b,
            (DictKey::Str(a), DictKey::Str(b)) => a == b || a.text == b.text,
            _ => false,
        }
    }
}
impl Eq for DictKey {}

impl Hash for DictKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            DictKey::Int(i) => state.write_i64(*i),
            DictKey::Str(s) => state.write_u64(s.content_hash()),
        }
    }
}

/// Parses the canonical decimal spelling of an i64 (`0`, `17`, `-3`; not `007`, `-0`, `+1`).
pub fn canonical_int(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" && digits.len() == text.len() || !digits.starts_with('0'));
    if canonical {
        text.parse().ok()
    } else {
        None
    }
}

impl DictKey {
    pub fn of_string(s: Gc<StrObj>) -> DictKey {
        match canonical_int(&s.text) {
            Some(i) => DictKey::Int(i),
            None => DictKey::Str(s),
        }
    }

    /// The key as Ruff code sees it: always a string.
    pub fn to_text(&self) -> String {
        match self {
            DictKey::Int(i) => i.to_string(),
            DictKey::Str(s) => s.text.clone(),
        }
    }
}

/// Dicts of at most this many entries are searched linearly instead of hashed.
/// The most elements an array, or bytes a string, may hold: far beyond any sensible
/// program, and small enough that building one is refused with a runtime error instead of
/// ending the process when memory runs out.
pub const MAX_OBJECT_SIZE: usize = 1 << 31;

const DICT_LINEAR_LIMIT: usize = 8;

const EMPTY_SLOT: u64 = u64::MAX;

fn key_hash(key: &DictKey) -> u64 {
    let raw = match key {
        DictKey::Int(i) => *i as u64,
        DictKey::Str(s) => s.content_hash(),
    };
    raw.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The bits of a hash kept in a slot, to reject most non-matching slots without loading
/// their entry.
fn hash_tag(hash: u64) -> u64 {
    (hash ^ (hash >> 32)) << 32
}

/// Open-addressing index from key to entry position, at most half full, probed
/// linearly. A slot packs a hash tag (high 32 bits) and the entry position (low 32 bits),
/// like CPython's compact dict but with the tag beside the position: a lookup usually
/// touches one slot and one entry.
#[derive(Clone)]
struct DictIndex {
    slots: Vec<u64>,
    /// `64 - log2(slots.len())`: the top bits of the hash choose the first slot.
    shift: u32,
}

impl DictIndex {
    fn for_entries(entries: &[(DictKey, Value)]) -> DictIndex {
        let len = (entries.len() * 2).next_power_of_two().max(16);
        let mut index = DictIndex { slots: vec![EMPTY_SLOT; len], shift: 64 - len.trailing_zeros() };
        for (position, (key, _)) in entries.iter().enumerate() {
            let hash = key_hash(key);
            let Err(free) = index.find(hash, key, entries) else { unreachable!("entries hold distinct keys") };
            index.slots[free] = hash_tag(hash) | position as u64;
        }
        index
    }

    /// `Ok(entry position)` of `key`, or `Err(free slot)` where it would go.
    fn find(&self, hash: u64, key: &DictKey, entries: &[(DictKey, Value)]) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let tag = hash_tag(hash);
        let mut i = (hash >> self.shift) as usize;
        loop {
            let slot = self.slots[i];
            if slot == EMPTY_SLOT {
                return Err(i);
            }
            if slot & 0xFFFF_FFFF_0000_0000 == tag {
                let position = (slot & 0xFFFF_FFFF) as usize;
                if entries[position].0 == *key {
                    return Ok(position);
                }
            }
            i = (i + 1) & mask;
        }
    }
}

#[derive(Default)]
pub struct DictObj {
    pub entries: Vec<(DictKey, Value)>,
    index: Option<DictIndex>,
}

impl DictObj {
    pub fn with_capacity(n: usize) -> DictObj {
        DictObj { entries: Vec::with_capacity(n), index: None }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Where the entry under `key` stands in `entries`.
    pub fn position(&self, key: &DictKey) -> Option<usize> {
        match &self.index {
            Some(index) => index.find(key_hash(key), key, &self.entries).ok(),
            None => self.entries.iter().position(|(k, _)| k == key),
        }
    }

    pub fn get(&self, key: &DictKey) -> Option<Value> {
        self.position(key).map(|i| self.entries[i].1)
    }

    pub fn contains(&self, key: &DictKey) -> bool {
        self.position(key).is_some()
    }

    /// Inserts or replaces; returns how many bytes the dict grew by.
    pub fn insert(&mut self, key: DictKey, value: Value) -> usize {
        let before = self.heap_size();
        match &mut self.index {
            Some(index) => {
                let hash = key_hash(&key);
                match index.find(hash, &key, &self.entries) {
                    Ok(position) => {
                        self.entries[position].1 = value;
                        return 0;
                    }
                    Err(free) => {
                        index.slots[free] = hash_tag(hash) | self.entries.len() as u64;
                        self.entries.push((key, value));
                        if self.entries.len() * 2 > index.slots.len() {
                            *index = DictIndex::for_entries(&self.entries);
                        }
                    }
                }
            }
            None => {
                if let Some(i) = self.entries.iter().position(|(k, _)| *k == key) {
                    self.entries[i].1 = value;
                    return 0;
                }
                self.entries.push((key, value));
                if self.entries.len() > DICT_LINEAR_LIMIT {
                    self.index = Some(DictIndex::for_entries(&self.entries));
                }
            }
        }
        self.heap_size().saturating_sub(before)
    }

    fn shallow_clone(&self) -> DictObj {
        for (k, v) in &self.entries {
            if let DictKey::Str(s) = k {
                s.set_shared();
            }
            v.mark_shared();
        }
        DictObj { entries: self.entries.clone(), index: self.index.clone() }
    }

    /// Entry positions ordered by key bytes, the order of `keys`, `values`, `items` and
    /// printing.
    pub fn sorted_positions(&self) -> Vec<usize> {
        let texts: Vec<String> = self.entries.iter().map(|(k, _)| k.to_text()).collect();
        let mut order: Vec<usize> = (0..self.entries.len()).collect();
        order.sort_by(|&a, &b| texts[a].as_bytes().cmp(texts[b].as_bytes()));
        order
    }
}

impl HeapObject for DictObj {
    const KIND: ObjKind = ObjKind::Dict;
    fn trace(&self, marker: &mut Marker) {
        for (k, v) in &self.entries {
            marker.mark_key(k);
            marker.mark_value(v);
        }
    }
    fn heap_size(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<(DictKey, Value)>()
            + self.index.as_ref().map_or(0, |i| i.slots.len() * std::mem::size_of::<u64>())
    }
}

/// An instance of a struct type. Fields keep the order they were first given. Made only
/// by [`Heap::alloc_struct`] (or [`new_struct`]), which puts the fields in the struct's own
/// allocation.
pub struct StructObj {
    /// Index into the program's struct types (for methods and the printed name).
    pub type_index: u32,
    pub fields: FieldList,
}

/// A struct of type `type_index` holding `fields`, with room for exactly those.
pub fn new_struct<I>(heap: &mut Heap, type_index: u32, fields: I) -> Gc<StructObj>
where
    I: IntoIterator<Item = Field>,
    I::IntoIter: ExactSizeIterator,
{
    let fields = fields.into_iter();
    let room = u32::try_from(fields.len()).expect("a struct literal has fewer than 2^32 fields");
    let s = heap.alloc_struct(type_index, room);
    let list = &mut s.get_mut_young().fields;
    for field in fields {
        list.push(field);
    }
    s
}

impl StructObj {
    pub fn get(&self, name: Symbol) -> Option<Value> {
        self.field(name).copied()
    }

    /// Where field `name` is held.
    #[inline]
    pub fn field(&self, name: Symbol) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The position of field `name` in `fields`, trying position `guess` first (an inline
    /// cache's answer from an earlier access: one comparison when right).
    #[inline(always)]
    pub fn position(&self, name: Symbol, guess: usize) -> Option<usize> {
        match self.fields.get(guess) {
            Some((n, _)) if *n == name => Some(guess),
            _ => self.fields.iter().position(|(n, _)| *n == name),
        }
    }

    /// Where field `name` is held, for writing it.
    #[inline]
    pub fn field_mut(&mut self, name: Symbol) -> Option<&mut Value> {
        self.fields.iter_mut().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    pub fn set(&mut self, name: Symbol, value: Value) {
        match self.field_mut(name) {
            Some(slot) => *slot = value,
            None => self.fields.push((name, value)),
        }
    }
}

impl HeapObject for StructObj {
    const KIND: ObjKind = ObjKind::Struct;
    fn trace(&self, marker: &mut Marker) {
        for (_, v) in &self.fields {
            marker.mark_value(v);
        }
    }
    fn heap_size(&self) -> usize {
        self.fields.bytes()
    }
}

/// `Ok(v)`, `Err(v)`, `Some(v)`, `None` and user enum values such as `Shape::Circle(2)`.
pub struct TaggedObj {
    pub enum_name: Symbol,
    pub tag: Symbol,
    pub payload: Vec<Value>,
}

impl TaggedObj {
    pub fn type_name(&self) -> &'static str {
        match self.enum_name {
            SYM_RESULT => "result",
            SYM_OPTION => "option",
            _ => "tagged",
        }
    }
}

impl HeapObject for TaggedObj {
    const KIND: ObjKind = ObjKind::Tagged;
    fn trace(&self, marker: &mut Marker) {
        marker.mark_values(&self.payload);
    }
    fn heap_size(&self) -> usize {
        self.payload.capacity() * std::mem::size_of::<Value>()
    }
}

/// A function value: a prototype plus this closure's own copies of captured variables.
pub struct FuncObj {
    pub proto: ProtoId,
    pub captures: Vec<Value>,
}

impl HeapObject for FuncObj {
    const KIND: ObjKind = ObjKind::Func;
    fn trace(&self, marker: &mut Marker) {
        marker.mark_values(&self.captures);
    }
    fn heap_size(&self) -> usize {
        self.captures.capacity() * std::mem::size_of::<Value>()
    }
}

/// Gives the holder a private copy of a shared array (copy-on-write) and returns it.
#[inline]
pub fn make_unique_array(heap: &mut Heap, a: Gc<ArrayObj>) -> Gc<ArrayObj> {
    if !a.is_shared() {
        return a;
    }
    copy_array(heap, a)
}

/// A private copy of the shared array `a`.
#[inline(never)]
fn copy_array(heap: &mut Heap, a: Gc<ArrayObj>) -> Gc<ArrayObj> {
    for v in &a.items {
        v.mark_shared();
    }
    heap.alloc(ArrayObj { items: a.items.clone() })
}

pub fn make_unique_dict(heap: &mut Heap, d: Gc<DictObj>) -> Gc<DictObj> {
    if !d.is_shared() {
        return d;
    }
    let copy = d.shallow_clone();
    heap.alloc(copy)
}

pub fn make_unique_struct(heap: &mut Heap, s: Gc<StructObj>) -> Gc<StructObj> {
    if !s.is_shared() {
        return s;
    }
    for (_, v) in &s.fields {
        v.mark_shared();
    }
    new_struct(heap, s.type_index, s.fields.iter().copied())
}

/// Makes the container held by `holder` private, writing the copy back into `holder`.
/// Returns false when `holder` is not a mutable container.
pub fn make_unique_value(heap: &mut Heap, holder: &mut Value) -> bool {
    match *holder {
        Value::Array(a) => *holder = Value::Array(make_unique_array(heap, a)),
        Value::Dict(d) => *holder = Value::Dict(make_unique_dict(heap, d)),
        Value::Struct(s) => *holder = Value::Struct(make_unique_struct(heap, s)),
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dict_index_finds_every_key_across_growth_and_replacement() {
        let mut heap = Heap::default();
        let mut dict = DictObj::default();
        for i in 0..5000i64 {
            dict.insert(DictKey::Int(i * 7919 % 100_003), Value::Int(i));
            let text = heap.alloc(StrObj::new(format!("k{}", i)));
            dict.insert(DictKey::of_string(text), Value::Int(-i));
        }
        assert_eq!(dict.len(), 10_000);
        for i in 0..5000i64 {
            assert!(matches!(dict.get(&DictKey::Int(i * 7919 % 100_003)), Some(Value::Int(v)) if v == i));
            let text = heap.alloc(StrObj::new(format!("k{}", i)));
            assert!(matches!(dict.get(&DictKey::of_string(text)), Some(Value::Int(v)) if v == -i));
        }
        dict.insert(DictKey::Int(0), Value::Int(42));
        assert_eq!(dict.len(), 10_000);
        assert!(matches!(dict.get(&DictKey::Int(0)), Some(Value::Int(42))));
        assert!(dict.get(&DictKey::Int(-1)).is_none());
        // Insertion order is kept for iteration.
        assert!(matches!(dict.entries[0], (DictKey::Int(0), Value::Int(42))));
    }

    #[test]
    fn canonical_int_keys_match_their_string_spelling() {
        let mut heap = Heap::default();
        let one = heap.alloc(StrObj::new("1".into()));
        let padded = heap.alloc(StrObj::new("01".into()));
        let minus_zero = heap.alloc(StrObj::new("-0".into()));
        assert!(DictKey::of_string(one) == DictKey::Int(1));
        assert!(DictKey::of_string(padded) != DictKey::Int(1));
        assert!(DictKey::of_string(minus_zero) != DictKey::Int(0));
        assert_eq!(canonical_int("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(canonical_int("9223372036854775808"), None);
    }
}
