//! A struct instance's field list, kept in the same allocation as the struct.
//!
//! Terms:
//! - *Room*: the fields a struct was allocated with space for, right after its
//!   `GcBox<StructObj>` (`Heap::alloc_struct`). A literal gets room for exactly its fields,
//!   so building a struct is one allocation and its fields share its cache lines.
//! - *Spilled*: the list outgrew its room (`o.f := v` may add a field the literal did not
//!   give) and moved to a buffer of its own, which it frees when the struct is freed.
//!
//! Invariants: `ptr` points to `capacity` entries, the first `len` initialised; while not
//! spilled, `ptr` is the room and `capacity == room`. Native code reads `ptr` and `len`
//! at fixed offsets (`object::object_layout`) and appends within the room (`FINIT`), as it
//! did with a `Vec`.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use super::symbol::Symbol;
use super::value::Value;

/// One field: its name and value.
pub type Field = (Symbol, Value);

#[repr(C)]
pub struct FieldList {
    pub(super) ptr: NonNull<Field>,
    pub(super) len: usize,
    capacity: usize,
    room: u32,
    spilled: bool,
}

impl FieldList {
    /// An empty list in `room` entries at `ptr`, which the struct's allocation provides.
    ///
    /// # Safety
    /// `ptr` must be valid for `room` entries for as long as the list lives.
    pub(super) unsafe fn in_room(ptr: NonNull<Field>, room: u32) -> FieldList {
        FieldList { ptr, len: 0, capacity: room as usize, room, spilled: false }
    }

    /// The entries the struct's own allocation has room for.
    pub fn room(&self) -> u32 {
        self.room
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The bytes this list occupies: its room, plus its own buffer once spilled.
    pub fn bytes(&self) -> usize {
        let spilled = if self.spilled { self.capacity } else { 0 };
        (self.room as usize + spilled) * std::mem::size_of::<Field>()
    }

    /// Appends `field`. Inlined: building a struct pushes each of its fields into room
    /// that is known to be there, and an out-of-line call per field (with the field passed
    /// through memory) was a third of the cost of a two-field literal (binary_trees).
    #[inline]
    pub fn push(&mut self, field: Field) {
        if self.len == self.capacity {
            self.spill();
        }
        // SAFETY: `len < capacity` now, and `ptr` holds `capacity` entries (invariant).
        unsafe { self.ptr.as_ptr().add(self.len).write(field) };
        self.len += 1;
    }

    /// Moves the entries into a buffer of their own with twice the space.
    #[cold]
    #[inline(never)]
    fn spill(&mut self) {
        let capacity = (self.capacity * 2).max(4);
        let layout = Layout::array::<Field>(capacity).expect("a struct's fields fit in memory");
        // SAFETY: `layout` is not zero-sized (capacity >= 4).
        let Some(buffer) = NonNull::new(unsafe { alloc(layout) }.cast::<Field>()) else { handle_alloc_error(layout) };
        // SAFETY: both hold at least `len` entries and are distinct allocations.
        unsafe { std::ptr::copy_nonoverlapping(self.ptr.as_ptr(), buffer.as_ptr(), self.len) };
        self.free_spilled();
        self.ptr = buffer;
        self.capacity = capacity;
        self.spilled = true;
    }

    fn free_spilled(&mut self) {
        if self.spilled {
            let layout = Layout::array::<Field>(self.capacity).expect("it was allocated with this layout");
            // SAFETY: a spilled buffer was allocated by `spill` with this layout and nothing
            // else points into it.
            unsafe { dealloc(self.ptr.as_ptr().cast(), layout) };
            self.spilled = false;
        }
    }
}

impl Drop for FieldList {
    fn drop(&mut self) {
        self.free_spilled();
    }
}

impl Deref for FieldList {
    type Target = [Field];
    #[inline]
    fn deref(&self) -> &[Field] {
        // SAFETY: the first `len` entries at `ptr` are initialised (invariant).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for FieldList {
    #[inline]
    fn deref_mut(&mut self) -> &mut [Field] {
        // SAFETY: as in `deref`; `&mut self` is the only access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl<'a> IntoIterator for &'a FieldList {
    type Item = &'a Field;
    type IntoIter = std::slice::Iter<'a, Field>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}
