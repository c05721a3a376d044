//! The garbage-collected heap: allocation, the `Gc<T>` handle, and a non-moving,
//! generational mark-sweep collector with a write barrier.
//!
//! Terms:
//! - A *heap object* is a [`GcBox<T>`]: a [`GcHeader`] followed by the object. `Gc<T>` is a
//!   plain pointer to one (8 bytes, `Copy`, no reference counting), so native code can keep
//!   it in a register.
//! - *Sharing state* (a header byte, [`Sharing`]): *unique* (one holder), *shared* (a
//!   second live holder may exist: set whenever a value is copied while its source stays
//!   live; never cleared) or *lent* (a global's or capture's unique object was handed to a
//!   builtin call as an argument while later arguments run Ruff code, `Instr::Lend`). A
//!   write through any holder of an object that is not unique first replaces the holder's
//!   value with a private copy (copy-on-write, see `object.rs`); the byte is non-zero
//!   exactly then, which is all native code tests.
//! - A loan ends (`Instr::EndLoan`) just before the call: *lent* goes back to *unique*,
//!   since nothing copied the object meanwhile (a copy would have made it *shared*).
//!   Lending an object that is not unique makes it *shared*, so nested loans of one
//!   object never end each other. A loan that never ends (an exception in a later
//!   argument) only costs one copy at the next write.
//! - *Safe point*: a moment when every live value is reachable from the roots (interpreter
//!   slots, globals, constants, handlers). Collections only run at safe points, which the
//!   interpreter reaches after each instruction that allocated; allocation itself never
//!   collects, so Rust code may hold fresh objects in local variables between safe points.
//! - *Young*, *survivor*, *old* (the header's age): an object no collection has seen, one
//!   that survived one collection, one promoted after surviving two. A *minor* collection marks, traces and sweeps young objects and
//!   survivors only; a *major* one all objects.
//! - *Remembered set*: old objects that may refer to young ones. The *write barrier*
//!   ([`Gc::get_mut`], and native code's stores, which call [`Heap::remember_address`])
//!   adds an old object to it before any in-place write.
//!
//! Invariants:
//! - Objects never move. A `Gc<T>` stays valid until a collection finds it unreachable.
//! - The runtime is single-threaded and never keeps a `&mut` from [`Gc::get_mut`] alive
//!   across another access to the same object; this is what makes the accessors sound.
//! - Marking is iterative (an explicit gray stack), so deeply nested data cannot overflow
//!   the native stack.
//! - An old object whose `unremembered` byte is set refers to old objects only; every
//!   other old object is in the remembered set. Only a collection ages objects, and none
//!   runs while native code does, so an object a trace allocated stays young for the run.

use std::cell::Cell;
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;

use super::fields::{Field, FieldList};
use super::object::{ArrayObj, DictKey, DictObj, FuncObj, StrObj, StructObj, TaggedObj};
use super::value::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ObjKind {
    Str,
    Array,
    Dict,
    Struct,
    Tagged,
    Func,
}

#[repr(C)]
pub struct GcHeader {
    kind: ObjKind,
    marked: Cell<bool>,
    sharing: Cell<Sharing>,
    /// Set exactly on an old object that is not in the remembered set: an in-place write
    /// into it must first remember it ([`Heap::remember`]). Native code tests this byte.
    unremembered: Cell<bool>,
    /// [`YOUNG`], [`SURVIVOR`] or [`OLD`].
    age: Cell<u8>,
}

/// The age of an object no collection has seen yet.
const YOUNG: u8 = 0;
/// The age of a young object that survived one minor collection; it is promoted at the
/// next one it survives.
const SURVIVOR: u8 = 1;
/// The age of an object in the old generation: only major collections trace or free it.
const OLD: u8 = 2;

impl GcHeader {
    fn new(kind: ObjKind) -> GcHeader {
        GcHeader {
            kind,
            marked: Cell::new(false),
            sharing: Cell::new(Sharing::Unique),
            unremembered: Cell::new(false),
            age: Cell::new(YOUNG),
        }
    }
}

/// Who may hold an object (see the module docs). `Unique` is zero: native code tests the
/// byte against zero to decide whether a write must copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Sharing {
    Unique = 0,
    Shared = 1,
    Lent = 2,
}

#[repr(C)]
pub struct GcBox<T> {
    header: GcHeader,
    value: T,
}

/// Implemented by every type that lives on the heap.
pub trait HeapObject: Sized {
    const KIND: ObjKind;
    /// Pushes every `Value` this object refers to.
    fn trace(&self, marker: &mut Marker);
    /// An estimate of the memory this object owns, for collection pacing.
    fn heap_size(&self) -> usize;
}

pub struct Gc<T> {
    ptr: NonNull<GcBox<T>>,
    _marker: PhantomData<T>,
}

impl<T> Clone for Gc<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Gc<T> {}

impl<T> std::fmt::Debug for Gc<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Gc({:#x})", self.addr())
    }
}

impl<T> PartialEq for Gc<T> {
    fn eq(&self, other: &Self) -> bool {
        self.ptr == other.ptr
    }
}
impl<T> Eq for Gc<T> {}

impl<T> Gc<T> {
    fn header(&self) -> &GcHeader {
        // SAFETY: a `Gc` points to a live `GcBox` (module invariant: objects are freed
        // only when unreachable, and an unreachable `Gc` is never used again).
        unsafe { &self.ptr.as_ref().header }
    }

    /// Whether a write must copy the object first: it is shared or on loan.
    #[inline]
    pub fn is_shared(&self) -> bool {
        self.header().sharing.get() != Sharing::Unique
    }

    #[inline]
    pub fn set_shared(&self) {
        self.header().sharing.set(Sharing::Shared)
    }

    /// Puts a variable's object on loan to a call (`Instr::Lend`).
    #[inline]
    pub fn lend(&self) {
        let sharing = self.header().sharing.get();
        self.header().sharing.set(if sharing == Sharing::Unique { Sharing::Lent } else { Sharing::Shared });
    }

    /// Ends a loan (`Instr::EndLoan`): a still lent object is unique again.
    #[inline]
    pub fn end_loan(&self) {
        if self.header().sharing.get() == Sharing::Lent {
            self.header().sharing.set(Sharing::Unique);
        }
    }

    pub fn addr(&self) -> usize {
        self.ptr.as_ptr() as usize
    }

    /// The handle for an object address that native code held.
    ///
    /// # Safety
    /// `addr` must be the address of a live `GcBox<T>` of this heap (for example one a
    /// trace loaded from a slot and hands back at an exit).
    pub unsafe fn from_address(addr: usize) -> Gc<T> {
        // SAFETY: the caller guarantees `addr` is a live, non-null `GcBox<T>`.
        Gc { ptr: unsafe { NonNull::new_unchecked(addr as *mut GcBox<T>) }, _marker: PhantomData }
    }

    /// Mutable access to the object for an in-place write, through the write barrier: an
    /// old object not yet remembered is remembered first, so that the next minor
    /// collection finds the young objects the write may store into it. Callers uphold the
    /// module invariant: no other reference to the same object is alive while the returned
    /// one is.
    #[inline]
    #[allow(clippy::mut_from_ref)]
    pub fn get_mut(&self, heap: &mut Heap) -> &mut T {
        if self.header().unremembered.get() {
            heap.remember(self.ptr.cast());
        }
        self.get_mut_unbarriered()
    }

    /// Mutable access to an object that needs no write barrier: a young one (just
    /// allocated, or in a heap that never collected), or a string (which refers to no
    /// object). Same aliasing rule as [`Gc::get_mut`].
    #[inline]
    #[allow(clippy::mut_from_ref)]
    pub fn get_mut_young(&self) -> &mut T {
        debug_assert!(
            !self.header().unremembered.get() || self.header().kind == ObjKind::Str,
            "an in-place write into an old object must go through the write barrier"
        );
        self.get_mut_unbarriered()
    }

    #[inline]
    #[allow(clippy::mut_from_ref)]
    fn get_mut_unbarriered(&self) -> &mut T {
        // SAFETY: the object is live (module invariant) and the runtime is single-threaded
        // with no overlapping borrows of one object (module invariant).
        unsafe { &mut (*self.ptr.as_ptr()).value }
    }
}

impl<T> Deref for Gc<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: see `header`.
        unsafe { &self.ptr.as_ref().value }
    }
}

/// A vector of `len` nulls whose memory is touched only where it is used: the slot stack
/// keeps a megabyte-sized window above every frame (`interpret::WINDOW`) that most frames
/// never reach, and writing nulls into it all would make it all resident (+2 MiB on a
/// 11 MiB run). The allocator hands out fresh pages, which are zero and unmapped until
/// touched, and an all-zero `Value` is `Value::Null`.
pub fn untouched_nulls(len: usize) -> Vec<Value> {
    const _: () = assert!(crate::runtime::value::Tag::Null as u8 == 0);
    if len == 0 {
        return Vec::new();
    }
    let layout = std::alloc::Layout::array::<Value>(len).expect("a slot stack fits in the address space");
    // SAFETY: the layout has a non-zero size.
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<Value>();
    if ptr.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    keep_small_pages(ptr.cast(), layout.size());
    // SAFETY: `ptr` comes from the global allocator with the layout of `len` values, which
    // `Vec` frees with; all `len` are initialized, since all-zero bytes are `Value::Null`
    // (tag 0, no payload: `value.rs`'s layout).
    unsafe { Vec::from_raw_parts(ptr, len, len) }
}

/// Keeps the whole pages inside `size` bytes at `start` out of transparent huge pages: the
/// allocator's arenas ask for them, and the kernel's background collapsing would make a
/// barely used region resident 2 MiB at a time.
fn keep_small_pages(start: *mut u8, size: usize) {
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let first = (start as usize).next_multiple_of(PAGE);
        let end = (start as usize + size) & !(PAGE - 1);
        if end > first {
            // SAFETY: the range lies inside one live allocation; `madvise` with
            // MADV_NOHUGEPAGE changes no contents, only how the kernel may back the pages.
            unsafe { libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_NOHUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (start, size);
}

/// Where the sharing byte lives, in bytes from the start of any heap object.
pub const SHARED_FLAG_OFFSET: usize = std::mem::offset_of!(GcBox<()>, header) + std::mem::offset_of!(GcHeader, sharing);

/// Where the write barrier's byte lives (non-zero on an old object not yet remembered),
/// in bytes from the start of any heap object.
pub const UNREMEMBERED_FLAG_OFFSET: usize =
    std::mem::offset_of!(GcBox<()>, header) + std::mem::offset_of!(GcHeader, unremembered);

/// Where an object of type `T` starts, in bytes from the start of its `GcBox`.
pub const fn value_offset<T>() -> usize {
    std::mem::offset_of!(GcBox<T>, value)
}

/// Collects the gray set during marking.
pub struct Marker {
    gray: Vec<NonNull<GcHeader>>,
    /// A minor collection: old objects are neither marked nor traced.
    minor: bool,
    /// Whether a [`YOUNG`] object was reached since this was last cleared: the object
    /// being traced then keeps a young child after the collection (see `Heap::minor`).
    reached_young: bool,
}

impl Marker {
    pub fn mark_value(&mut self, v: &Value) {
        match v {
            Value::Str(g) => self.mark(*g),
            Value::Array(g) => self.mark(*g),
            Value::Dict(g) => self.mark(*g),
            Value::Struct(g) => self.mark(*g),
            Value::Tagged(g) => self.mark(*g),
            Value::Func(g) => self.mark(*g),
            _ => {}
        }
    }

    pub fn mark_values<'a>(&mut self, vs: impl IntoIterator<Item = &'a Value>) {
        for v in vs {
            self.mark_value(v);
        }
    }

    pub fn mark_key(&mut self, k: &DictKey) {
        if let DictKey::Str(s) = k {
            self.mark(*s);
        }
    }

    pub fn mark<T>(&mut self, g: Gc<T>) {
        self.mark_header(g.ptr.cast());
    }

    #[inline]
    fn mark_header(&mut self, header: NonNull<GcHeader>) {
        // SAFETY: a marked handle points to a live object (module invariant).
        let h = unsafe { header.as_ref() };
        let age = h.age.get();
        if self.minor && age == OLD {
            return;
        }
        self.reached_young |= age == YOUNG;
        if !h.marked.get() {
            h.marked.set(true);
            self.gray.push(header);
        }
    }

    /// Traces every gray object. A survivor about to be promoted that keeps a young child
    /// joins `remembered`: in a minor collection one of age [`SURVIVOR`]; in a major one
    /// any object that reached a [`YOUNG`] one (which stays young), of which the major
    /// collection keeps those that are old afterwards.
    fn drain(&mut self, remembered: &mut Vec<NonNull<GcHeader>>) {
        while let Some(header) = self.gray.pop() {
            self.reached_young = false;
            // SAFETY: the gray stack only holds pointers to live objects that were just
            // marked, and the header's kind tells the concrete type behind it.
            unsafe { trace_object(header, self) };
            // SAFETY: as above.
            let promoted = unsafe { header.as_ref() }.age.get() == SURVIVOR;
            if self.reached_young && (promoted || !self.minor) {
                remembered.push(header);
            }
        }
    }
}

/// Counters the statistics report and tests read.
#[derive(Clone, Copy, Debug, Default)]
pub struct HeapStats {
    pub collections: u64,
    pub major_collections: u64,
    pub objects_allocated: u64,
    pub objects_freed: u64,
}

pub struct Heap {
    /// Every object of the heap: the first `old_count` are the old ones (traced and swept
    /// by major collections only), the rest those no collection has promoted ([`YOUNG`] and
    /// [`SURVIVOR`]), oldest first. One list rather than one per generation: a second list
    /// growing while the program runs lands its buffer in fresh huge pages of the arena
    /// (binary_trees --no-jit: +4 MiB of peak, 16%, when its long-lived tree was promoted).
    objects: Vec<NonNull<GcHeader>>,
    old_count: usize,
    /// Old objects that may refer to young ones: written in place since the last
    /// collection (the write barrier, [`Gc::get_mut`], native code's stores), or promoted
    /// or kept by the last minor collection with a child still young. Each has
    /// `unremembered` clear; every other old object has it set and refers to old objects
    /// only.
    remembered: Vec<NonNull<GcHeader>>,
    bytes_since_collection: usize,
    /// Bytes of the objects the last collection left young (survivors and large objects).
    young_bytes: usize,
    /// Bytes of the old generation: what the last major collection left, plus the
    /// promotions and the in-place growth of old objects since ([`Heap::note_growth`]);
    /// the old objects that died since are still in it, being unknown until a major
    /// collection. `old_bytes_after_major` is what that one left. The pacing is in
    /// [`Heap::wants_collection_after`] and [`Heap::collect`].
    old_bytes: usize,
    old_bytes_after_major: usize,
    /// Collect at every safe point that follows an allocation (`RUFF_GC_STRESS=1`).
    pub stress: bool,
    pub stats: HeapStats,
    /// The one-character string of each ASCII character, made on first use and kept as
    /// long as the heap (a root of every collection), marked shared so that nothing
    /// appends to it in place ([`Heap::char_string`]).
    ascii_chars: [Option<Gc<StrObj>>; 128],
}

const MIN_COLLECTION_BYTES: usize = 8 << 20;

/// Where in a `Heap` its one-character strings of the ASCII characters are (an array of
/// 128 `Option<Gc<StrObj>>` indexed by byte, a null word until first made): native code
/// reads a character's string there without a call (`SCHAR`).
pub const ASCII_CHAR_STRINGS_OFFSET: usize = std::mem::offset_of!(Heap, ascii_chars);
const _: () = assert!(std::mem::size_of::<Option<Gc<StrObj>>>() == 8);

/// Under `RUFF_GC_STRESS`, every this many collections is a major one (the others are
/// minor, which is where the write barrier matters).
const STRESS_MAJOR_PERIOD: u64 = 8;

/// How many objects ahead of the one it looks at the sweep asks for a header.
const SWEEP_PREFETCH_DISTANCE: usize = 8;

/// Asks the processor to start loading the cache line at `header` (a hint: no effect on
/// what the program computes).
#[inline(always)]
fn prefetch(header: NonNull<GcHeader>) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and changes no memory, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(header.as_ptr().cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = header;
}

impl Default for Heap {
    fn default() -> Self {
        Self::new(false)
    }
}

impl Heap {
    pub fn new(stress: bool) -> Self {
        Heap {
            objects: Vec::new(),
            old_count: 0,
            remembered: Vec::new(),
            bytes_since_collection: 0,
            young_bytes: 0,
            old_bytes: 0,
            old_bytes_after_major: 0,
            stress,
            stats: HeapStats::default(),
            ascii_chars: [None; 128],
        }
    }

    /// A string holding just `c`. An ASCII character's is the heap's one string for it:
    /// indexing a string and iterating over it (parsers, tokenizers) then allocate
    /// nothing, as CPython's one-character strings do (json --no-jit spent 12% of its time
    /// allocating and freeing them).
    pub fn char_string(&mut self, c: char) -> Gc<StrObj> {
        let Some(slot) = self.ascii_chars.get(c as usize).copied() else {
            return self.alloc(StrObj::new(c.to_string()));
        };
        if let Some(s) = slot {
            return s;
        }
        let s = self.alloc(StrObj::new(c.to_string()));
        s.set_shared();
        self.ascii_chars[c as usize] = Some(s);
        s
    }

    pub fn alloc<T: HeapObject>(&mut self, value: T) -> Gc<T> {
        self.bytes_since_collection += std::mem::size_of::<GcBox<T>>() + value.heap_size();
        debug_assert!(T::KIND != ObjKind::Struct, "structs are allocated by `alloc_struct`");
        let boxed = Box::new(GcBox { header: GcHeader::new(T::KIND), value });
        let ptr = NonNull::from(Box::leak(boxed));
        self.objects.push(ptr.cast());
        self.stats.objects_allocated += 1;
        Gc { ptr, _marker: PhantomData }
    }

    /// A struct of type `type_index` with no fields yet and room for `room` of them in
    /// its own allocation (`fields.rs`): one allocation per struct instead of the object
    /// plus a field buffer (binary_trees: half the `malloc`/`free` calls).
    pub fn alloc_struct(&mut self, type_index: u32, room: u32) -> Gc<StructObj> {
        let (layout, fields_at) = struct_layout(room);
        self.bytes_since_collection += layout.size();
        // SAFETY: `layout` is not zero-sized (it holds a header).
        let raw = unsafe { std::alloc::alloc(layout) };
        let Some(boxed) = NonNull::new(raw.cast::<GcBox<StructObj>>()) else { std::alloc::handle_alloc_error(layout) };
        // SAFETY: `raw` is a fresh allocation of `layout`: a `GcBox<StructObj>` followed, at
        // `fields_at`, by `room` fields, which the list owns for as long as the box lives.
        unsafe {
            let room_ptr = NonNull::new_unchecked(raw.add(fields_at).cast::<Field>());
            let value = StructObj { type_index, fields: FieldList::in_room(room_ptr, room) };
            boxed.as_ptr().write(GcBox { header: GcHeader::new(ObjKind::Struct), value });
        }
        self.objects.push(boxed.cast());
        self.stats.objects_allocated += 1;
        Gc { ptr: boxed, _marker: PhantomData }
    }

    /// The write barrier's slow path: `header`, an old object about to be written in
    /// place, joins the remembered set.
    #[cold]
    #[inline(never)]
    pub fn remember(&mut self, header: NonNull<GcHeader>) {
        // SAFETY: the caller holds a handle to this live object.
        let h = unsafe { header.as_ref() };
        debug_assert!(h.age.get() == OLD && h.unremembered.get());
        h.unremembered.set(false);
        self.remembered.push(header);
    }

    /// [`Heap::remember`] for an object address native code holds, if the object needs it.
    ///
    /// # Safety
    /// `addr` must be the address of a live object of this heap.
    pub unsafe fn remember_address(&mut self, addr: usize) {
        // SAFETY: the caller guarantees a live object at `addr`.
        let header = unsafe { NonNull::new_unchecked(addr as *mut GcHeader) };
        // SAFETY: as above.
        if unsafe { header.as_ref() }.unremembered.get() {
            self.remember(header);
        }
    }

    /// Accounts memory `object` acquired after its allocation (an array, dict or string
    /// that grew in place by `bytes`), so that collection pacing sees it.
    #[inline]
    pub fn note_growth<T: HeapObject>(&mut self, object: Gc<T>, bytes: usize) {
        self.note_native_growth(bytes);
        self.note_object_growth(object, bytes);
    }

    /// The growth native code reported when it exits (`ExitState::heap_growth`), for the
    /// pacing of collections; its helpers report which object grew at once, through
    /// [`Heap::note_object_growth`].
    #[inline]
    pub fn note_native_growth(&mut self, bytes: usize) {
        self.bytes_since_collection += bytes;
    }

    /// What the growth of `object` by `bytes` means for the generations. An old object's
    /// counts towards the next major collection: an array promoted while small that grows
    /// in place to megabytes and dies old is garbage only a major collection frees
    /// (array_sum: 1.65x main's peak memory while only promotions counted). A survivor
    /// that has just become large is young again, so that it is never promoted
    /// ([`is_large`]); that is sound between collections, since every old object that
    /// refers to a survivor is in the remembered set (a collection remembers the old
    /// objects that reached a young one, which the survivor was then).
    #[inline]
    pub fn note_object_growth<T: HeapObject>(&mut self, object: Gc<T>, bytes: usize) {
        if bytes == 0 {
            return;
        }
        let age = &object.header().age;
        if age.get() == OLD {
            self.old_bytes += bytes;
        } else if age.get() == SURVIVOR && is_large(std::mem::size_of::<T>() + object.heap_size()) {
            age.set(YOUNG);
        }
    }

    /// Whether the next safe point should collect.
    #[inline]
    pub fn wants_collection(&self) -> bool {
        self.wants_collection_after(0)
    }

    /// Whether the next safe point should collect once `pending` more bytes (growth native
    /// code has not reported yet) are counted: when the bytes allocated or grown since the
    /// last collection exceed max(8 MiB, the heap's size after it), as when every collection
    /// was a full one. A minor collection is what makes them cheaper, not rarer: a nursery
    /// of its own on top of that budget raised peaks (binary_trees --no-jit by 16%), and one
    /// sized by the young survivors alone collected at different moments than a full
    /// collector and held two of array_sum's 16 MB arrays more.
    #[inline]
    pub fn wants_collection_after(&self, pending: usize) -> bool {
        let since = self.bytes_since_collection + pending;
        if self.stress {
            since > 0
        } else {
            since > MIN_COLLECTION_BYTES.max(self.old_bytes + self.young_bytes)
        }
    }

    /// Runs a collection, minor or major. It is major when the old generation has grown
    /// since the last major collection (promotions and in-place growth of old objects) by
    /// more than max(8 MiB, what that one left): the garbage that can pile up among old
    /// objects is bounded by their live size, as the whole heap's was before generations.
    /// `mark_roots` must mark every value the runtime can still reach.
    pub fn collect(&mut self, mark_roots: impl FnOnce(&mut Marker)) {
        let major = if self.stress {
            self.stats.collections % STRESS_MAJOR_PERIOD == STRESS_MAJOR_PERIOD - 1
        } else {
            self.old_bytes - self.old_bytes_after_major > MIN_COLLECTION_BYTES.max(self.old_bytes_after_major)
        };
        let mut marker = Marker { gray: Vec::new(), minor: !major, reached_young: false };
        mark_roots(&mut marker);
        for s in self.ascii_chars.iter().flatten() {
            marker.mark(*s);
        }
        if major {
            self.major(marker);
        } else {
            self.minor(marker);
        }
        self.stats.collections += 1;
        self.bytes_since_collection = 0;
    }

    /// A minor collection: marks the young objects reachable from the roots and the
    /// remembered set, frees the other young ones, and promotes those that survive for the
    /// second time. The remembered set afterwards holds exactly the old objects (kept or
    /// just promoted) with a child that stays young.
    fn minor(&mut self, mut marker: Marker) {
        let mut remembered = Vec::new();
        let mut young_bytes = 0;
        for header in std::mem::take(&mut self.remembered) {
            marker.reached_young = false;
            // SAFETY: remembered objects are live old objects.
            unsafe {
                trace_object(header, &mut marker);
            }
            if marker.reached_young {
                remembered.push(header);
            } else {
                // SAFETY: as above.
                unsafe { header.as_ref() }.unremembered.set(true);
            }
        }
        marker.drain(&mut remembered);
        // Compacts the young part in place: a promoted object moves to the end of the old
        // part (`promoted_end`), displacing the first young survivor to the end of the kept ones.
        let (mut promoted_end, mut kept) = (self.old_count, self.old_count);
        let mut freed = 0;
        for i in self.old_count..self.objects.len() {
            if let Some(&ahead) = self.objects.get(i + SWEEP_PREFETCH_DISTANCE) {
                prefetch(ahead);
            }
            let header = self.objects[i];
            // SAFETY: `objects` holds exactly the live allocations of this heap.
            let h = unsafe { header.as_ref() };
            if !h.marked.get() {
                // SAFETY: the object is unreachable, so no `Gc` to it will be used again;
                // it was allocated by this heap as a `GcBox` of the type its kind names.
                unsafe { free_object(header) };
                freed += 1;
                continue;
            }
            h.marked.set(false);
            // SAFETY: as above; the object is live.
            let size = unsafe { object_size(header) };
            if h.age.get() == SURVIVOR {
                promote(h);
                self.old_bytes += size;
                self.objects[kept] = self.objects[promoted_end];
                self.objects[promoted_end] = header;
                promoted_end += 1;
            } else {
                if !is_large(size) {
                    h.age.set(SURVIVOR);
                }
                young_bytes += size;
                self.objects[kept] = header;
            }
            kept += 1;
        }
        self.objects.truncate(kept);
        self.old_count = promoted_end;
        for &header in &remembered {
            // SAFETY: the remembered objects are live old objects.
            unsafe { header.as_ref() }.unremembered.set(false);
        }
        self.remembered = remembered;
        self.stats.objects_freed += freed;
        self.young_bytes = young_bytes;
    }

    /// A major collection: marks everything reachable, frees the rest of both generations,
    /// and ages the young survivors as a minor collection does (a major one that promoted
    /// them all made the objects alive at that moment old: storage's and json's peaks grew
    /// by a quarter). The remembered set afterwards holds the old objects that reached a
    /// young one.
    fn major(&mut self, mut marker: Marker) {
        let mut reaching_young = Vec::new();
        marker.drain(&mut reaching_young);
        let before = self.objects.len();
        // Compacts the whole list in place as the minor sweep does its young part: the kept
        // old objects (and the survivors made old now) first, then the young ones.
        let (mut old_end, mut kept) = (0, 0);
        let (mut old_bytes, mut young_bytes) = (0, 0);
        for i in 0..self.objects.len() {
            if let Some(&ahead) = self.objects.get(i + SWEEP_PREFETCH_DISTANCE) {
                prefetch(ahead);
            }
            let header = self.objects[i];
            // SAFETY: `objects` holds exactly the live allocations of this heap.
            let h = unsafe { header.as_ref() };
            if !h.marked.get() {
                // SAFETY: the object is unreachable, so no `Gc` to it will be used again;
                // it was allocated by this heap as a `GcBox` of the type its kind names.
                unsafe { free_object(header) };
                continue;
            }
            h.marked.set(false);
            // SAFETY: as above; the object is live.
            let size = unsafe { object_size(header) };
            if h.age.get() == YOUNG {
                if !is_large(size) {
                    h.age.set(SURVIVOR);
                }
                young_bytes += size;
                self.objects[kept] = header;
            } else {
                promote(h);
                old_bytes += size;
                self.objects[kept] = self.objects[old_end];
                self.objects[old_end] = header;
                old_end += 1;
            }
            kept += 1;
        }
        self.objects.truncate(kept);
        self.old_count = old_end;
        self.young_bytes = young_bytes;
        self.remembered.clear();
        for header in reaching_young {
            // SAFETY: the objects traced are live and survived.
            let h = unsafe { header.as_ref() };
            if h.age.get() == OLD && h.unremembered.get() {
                self.remember(header);
            }
        }
        self.stats.major_collections += 1;
        self.stats.objects_freed += (before - self.objects.len()) as u64;
        self.old_bytes = old_bytes;
        self.old_bytes_after_major = old_bytes;
    }

    pub fn object_count(&self) -> usize {
        self.objects.len()
    }
}

/// Objects of at least this many bytes are never promoted (see [`is_large`]).
const LARGE_OBJECT_BYTES: usize = 1 << 20;

/// Whether an object of `size` bytes is large: it stays at age [`YOUNG`] while it is not
/// old. A big array or dict is often a buffer that grows and is then dropped (array_sum
/// builds a million-element array ten times), and an old one would wait for a major
/// collection to be freed (array_sum peaked at 2.3x the memory). A young one is traced by
/// every minor collection, which the pacing accounts for (`Heap::young_bytes`). A survivor
/// that grows large is made young again when it grows ([`Heap::note_growth`]), never by a
/// collection: the marker decided which old objects keep a young child by the ages it
/// saw (`Marker::reached_young`), so no collection may make an object younger than it was.
fn is_large(size: usize) -> bool {
    size >= LARGE_OBJECT_BYTES
}

/// Makes a survivor old. A string refers to no object, so writes into it never need the
/// barrier.
fn promote(h: &GcHeader) {
    h.age.set(OLD);
    h.unremembered.set(h.kind != ObjKind::Str);
}

impl Drop for Heap {
    fn drop(&mut self) {
        for &header in &self.objects {
            // SAFETY: the heap is going away; nothing can use its objects afterwards.
            unsafe { free_object(header) };
        }
    }
}

/// Dispatches on the header's kind to the concrete object type.
macro_rules! with_object {
    ($header:expr, $obj:ident => $body:expr) => {{
        let header: NonNull<GcHeader> = $header;
        match header.as_ref().kind {
            ObjKind::Str => {
                let $obj = &header.cast::<GcBox<StrObj>>().as_ref().value;
                $body
            }
            ObjKind::Array => {
                let $obj = &header.cast::<GcBox<ArrayObj>>().as_ref().value;
                $body
            }
            ObjKind::Dict => {
                let $obj = &header.cast::<GcBox<DictObj>>().as_ref().value;
                $body
            }
            ObjKind::Struct => {
                let $obj = &header.cast::<GcBox<StructObj>>().as_ref().value;
                $body
            }
            ObjKind::Tagged => {
                let $obj = &header.cast::<GcBox<TaggedObj>>().as_ref().value;
                $body
            }
            ObjKind::Func => {
                let $obj = &header.cast::<GcBox<FuncObj>>().as_ref().value;
                $body
            }
        }
    }};
}

/// # Safety
/// `header` must point to a live object allocated by [`Heap::alloc`].
unsafe fn trace_object(header: NonNull<GcHeader>, marker: &mut Marker) {
    with_object!(header, obj => obj.trace(marker))
}

/// # Safety
/// `header` must point to a live object allocated by [`Heap::alloc`].
unsafe fn object_size(header: NonNull<GcHeader>) -> usize {
    with_object!(header, obj => std::mem::size_of_val(obj) + obj.heap_size())
}

/// # Safety
/// `header` must point to an object allocated by [`Heap::alloc`] that nothing uses again.
unsafe fn free_object(header: NonNull<GcHeader>) {
    match header.as_ref().kind {
        ObjKind::Str => drop(Box::from_raw(header.cast::<GcBox<StrObj>>().as_ptr())),
        ObjKind::Array => drop(Box::from_raw(header.cast::<GcBox<ArrayObj>>().as_ptr())),
        ObjKind::Dict => drop(Box::from_raw(header.cast::<GcBox<DictObj>>().as_ptr())),
        ObjKind::Struct => {
            let boxed = header.cast::<GcBox<StructObj>>().as_ptr();
            let (layout, _) = struct_layout((*boxed).value.fields.room());
            std::ptr::drop_in_place(boxed);
            std::alloc::dealloc(boxed.cast(), layout);
        }
        ObjKind::Tagged => drop(Box::from_raw(header.cast::<GcBox<TaggedObj>>().as_ptr())),
        ObjKind::Func => drop(Box::from_raw(header.cast::<GcBox<FuncObj>>().as_ptr())),
    }
}

/// The allocation of a struct with room for `room` fields, and where the fields start in it.
fn struct_layout(room: u32) -> (std::alloc::Layout, usize) {
    let fields = std::alloc::Layout::array::<Field>(room as usize).expect("a struct's fields fit in memory");
    let (layout, fields_at) =
        std::alloc::Layout::new::<GcBox<StructObj>>().extend(fields).expect("a struct fits in memory");
    (layout.pad_to_align(), fields_at)
}

#[cfg(test)]
mod tests {
    use super::{untouched_nulls, Value};

    #[test]
    fn untouched_nulls_are_nulls() {
        let nulls = untouched_nulls(1000);
        assert_eq!(nulls.len(), 1000);
        assert!(nulls.iter().all(|v| matches!(v, Value::Null)));
        assert!(untouched_nulls(0).is_empty());
    }
}
