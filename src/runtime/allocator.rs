//! The global allocator: mimalloc, called the way it is fastest.
//!
//! The `mimalloc` crate's `GlobalAlloc` asks for every block with `mi_malloc_aligned`,
//! whose fast path only serves a block that happens to sit at the asked alignment in a
//! page that has a free block; whenever the page has none, a size that is not a power of
//! two (a 96-byte struct, a 40-byte object) goes to the over-allocating path and takes the
//! next size class up. Every block mimalloc hands out is word-aligned, so a layout asking
//! for no more than that is served by plain `mi_malloc`, as C's `malloc` would be; only
//! larger alignments go to the aligned entry points.
//!
//! *Large blocks* (at least [`LARGE_BLOCK`] bytes: an array of a quarter million elements,
//! a long string) are mappings of their own on Linux, as glibc's malloc makes them: growing
//! one is `mremap`, which moves page tables instead of copying and never holds the old and
//! the new buffer at once, and freeing one gives its memory back at once. In mimalloc's
//! arenas a freed large block stays resident for a second (its purge delay) and a doubling
//! buffer copies into fresh memory beside the old one, so a program that builds and drops
//! big arrays peaked at more than twice what it held (array_sum: 81 MiB). Large mappings
//! ask for transparent huge pages, as mimalloc does for its arenas, so that touching them
//! costs a fault per 2 MiB, not per 4 KiB.
//!
//! *Zeroed mappings*: a zeroed block of at least [`ZEROED_MAPPING`] bytes (below
//! [`LARGE_BLOCK`]) is a fresh mapping too. mimalloc can hand out a block of arena memory
//! that held freed objects, and then clears it with `memset`, which makes every page of it
//! resident: the interpreter's 2 MiB slot stack (`heap::untouched_nulls`), which a program
//! touches only at its bottom, cost 512 page faults and 2 MiB of RSS in most runs (half the
//! faults of a 170-line program). A fresh mapping is zero already and resident only where
//! touched. Such a block is told from a mimalloc block of the same size by asking mimalloc
//! whether it owns the address (`mi_is_in_heap_region`), at `dealloc` and `realloc` of
//! blocks in that size range only.
//!
//! *The first arena* is a mapping this module makes and hands to mimalloc before anything
//! is allocated ([`reserve_first_arena`], run by `main.rs` as the process loads). Left to
//! itself mimalloc reserves its arenas with transparent huge pages advised on the whole
//! range, and the kernel then backs every 2 MiB a program touches, however little of it,
//! with a whole huge page: half of a small program's resident memory was that padding, and
//! where it fell moved with the code layout. Our arena keeps its first
//! [`SMALL_PAGE_PREFIX`] bytes in ordinary pages and advises huge pages after them, so a
//! small program is resident for what it uses, while a program with a big heap still gets
//! huge pages for nearly all of it (without them binary_trees took 1.11-1.18x the CPU).

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys::{
    mi_free, mi_is_in_heap_region, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc,
    mi_zalloc_aligned,
};

/// The alignment every mimalloc block has: its size classes are multiples of the word.
const WORD_ALIGN: usize = std::mem::size_of::<usize>();

pub struct Allocator;

/// Blocks of at least this many bytes are mappings of their own (see the module header).
pub const LARGE_BLOCK: usize = 4 << 20;

/// Zeroed blocks of at least this many bytes are fresh mappings (see the module header).
pub const ZEROED_MAPPING: usize = 1 << 20;

/// Whether a block of `layout` is a large one: decided by the layout alone, which Rust hands
/// back unchanged at `dealloc` and `realloc`, so both find the block where it was made.
#[inline]
fn is_large(layout: Layout) -> bool {
    cfg!(target_os = "linux") && layout.size() >= LARGE_BLOCK && layout.align() <= large::PAGE
}

/// Whether a block of `layout` may be a zeroed mapping: `alloc_zeroed` maps blocks of these
/// layouts, other calls leave them to mimalloc.
#[inline]
fn may_be_zeroed_mapping(layout: Layout) -> bool {
    cfg!(target_os = "linux") && (ZEROED_MAPPING..LARGE_BLOCK).contains(&layout.size()) && layout.align() <= large::PAGE
}

/// Whether the block `ptr` of `layout` is a mapping of its own (a large block or a zeroed
/// mapping) rather than mimalloc's.
///
/// # Safety
/// `ptr` must be a live block of this allocator with `layout`.
#[inline]
unsafe fn is_mapping(ptr: *mut u8, layout: Layout) -> bool {
    // SAFETY: asking mimalloc about an address reads only its page map.
    is_large(layout) || (may_be_zeroed_mapping(layout) && !unsafe { mi_is_in_heap_region(ptr.cast()) })
}

// SAFETY: every method forwards to mimalloc, whose blocks satisfy the layout: word-aligned
// always (small alignments), or aligned as asked by the `_aligned` calls.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            if is_large(layout) {
                large::map(layout.size(), true)
            } else if layout.align() <= WORD_ALIGN {
                mi_malloc(layout.size()).cast()
            } else {
                mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            if is_large(layout) || may_be_zeroed_mapping(layout) {
                large::map(layout.size(), is_large(layout))
            } else if layout.align() <= WORD_ALIGN {
                mi_zalloc(layout.size()).cast()
            } else {
                mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator with `layout` (the `GlobalAlloc` contract),
        // so `is_mapping` says where.
        unsafe {
            if is_mapping(ptr, layout) {
                large::unmap(ptr, layout.size())
            } else {
                mi_free(ptr.cast::<c_void>())
            }
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator with `layout` (the `GlobalAlloc` contract).
        unsafe {
            let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
            let mapped = is_mapping(ptr, layout);
            if mapped || is_large(new_layout) {
                // A mapping stays one when `dealloc` will recognize it as one: at a large
                // size, or at a zeroed mapping's size (mimalloc does not own the address).
                if mapped && (is_large(new_layout) || may_be_zeroed_mapping(new_layout)) {
                    return large::remap(ptr, layout.size(), new_size);
                }
                let fresh = self.alloc(new_layout);
                if !fresh.is_null() {
                    std::ptr::copy_nonoverlapping(ptr, fresh, layout.size().min(new_size));
                    self.dealloc(ptr, layout);
                }
                fresh
            } else if layout.align() <= WORD_ALIGN {
                mi_realloc(ptr.cast(), new_size).cast()
            } else {
                mi_realloc_aligned(ptr.cast(), new_size, layout.align()).cast()
            }
        }
    }
}

/// The size of the first arena: mimalloc's own reservation size (`arena_reserve`, 1 GiB).
/// Address space only; pages become resident when touched.
pub const FIRST_ARENA: usize = 1 << 30;

/// How much of the first arena stays in ordinary 4 KiB pages (see the module header): more
/// than a small program's whole heap, little beside a big one.
pub const SMALL_PAGE_PREFIX: usize = 8 << 20;

/// Makes the first arena (see the module header) and gives it to mimalloc. Must run before
/// the first allocation, or mimalloc will have reserved an arena of its own and go on
/// using it; if the mapping fails (a low `ulimit -v`), mimalloc reserves its own as usual.
#[cfg(target_os = "linux")]
pub fn reserve_first_arena() {
    // mimalloc's arenas start at a multiple of their 64 KiB slice; a 2 MiB boundary also
    // lines the huge-page part up with whole huge pages.
    const ALIGN: usize = 2 << 20;
    // SAFETY: an anonymous private mapping at an address the kernel chooses touches no
    // existing memory; the unaligned head and tail are unmapped again, and the aligned
    // middle is handed to mimalloc, which owns it from then on (it is never unmapped).
    unsafe {
        libmimalloc_sys::mi_process_init();
        let raw = libc::mmap(
            std::ptr::null_mut(),
            FIRST_ARENA + ALIGN,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        );
        if raw == libc::MAP_FAILED {
            return;
        }
        let raw = raw as usize;
        let start = raw.next_multiple_of(ALIGN);
        if start > raw {
            libc::munmap(raw as *mut libc::c_void, start - raw);
        }
        libc::munmap((start + FIRST_ARENA) as *mut libc::c_void, raw + ALIGN - start);
        let arena = start as *mut libc::c_void;
        libc::madvise(arena, SMALL_PAGE_PREFIX, libc::MADV_NOHUGEPAGE);
        libc::madvise(
            (start + SMALL_PAGE_PREFIX) as *mut libc::c_void,
            FIRST_ARENA - SMALL_PAGE_PREFIX,
            libc::MADV_HUGEPAGE,
        );
        let mut arena_id = std::mem::zeroed();
        if !libmimalloc_sys::mi_manage_os_memory_ex(arena, FIRST_ARENA, true, false, true, -1, false, &mut arena_id) {
            libc::munmap(arena, FIRST_ARENA);
        }
    }
}

/// Ends the process with `status` without tearing it down: standard output and error are
/// flushed, and then the process exits at once (`_exit`). A normal exit runs mimalloc's
/// process-done hook, which frees and purges every page of the heap (dozens of `madvise`
/// calls on a small program) just before the kernel drops the whole address space anyway,
/// and the thread that returns first frees its stack and its heap the same way. For a
/// short script that teardown was a tenth of its run. Only for the end of a command whose
/// every output is written (files closed, buffers flushed); when mimalloc is asked to
/// print statistics or messages at exit (`MIMALLOC_SHOW_STATS`, `MIMALLOC_VERBOSE`), the
/// exit is the normal one, which prints them.
pub fn exit_without_teardown(status: u8) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: reading an option is a plain read of mimalloc's option table.
    let reports = unsafe {
        libmimalloc_sys::mi_option_is_enabled(libmimalloc_sys::mi_option_show_stats)
            || libmimalloc_sys::mi_option_is_enabled(libmimalloc_sys::mi_option_verbose)
    };
    if reports {
        std::process::exit(i32::from(status));
    }
    // SAFETY: `_exit` ends the process; nothing runs after it, and every output the caller
    // owes was written above or by the caller (the function's contract).
    unsafe { libc::_exit(i32::from(status)) }
}

/// Large blocks: anonymous private mappings, a whole number of pages each.
#[cfg(target_os = "linux")]
mod large {
    pub const PAGE: usize = 4096;

    fn pages(size: usize) -> usize {
        size.div_ceil(PAGE) * PAGE
    }

    /// A fresh zeroed mapping of `size` bytes, or null; with `huge`, advised to use
    /// transparent huge pages.
    ///
    /// # Safety
    /// Only through `Allocator` (the block is freed by `unmap` with the same size).
    pub unsafe fn map(size: usize, huge: bool) -> *mut u8 {
        // SAFETY: an anonymous private mapping at an address the kernel chooses touches no
        // existing memory.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                pages(size),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return std::ptr::null_mut();
        }
        if huge {
            // SAFETY: `p` is the mapping just made; the advice only changes its page size.
            unsafe { libc::madvise(p, pages(size), libc::MADV_HUGEPAGE) };
        }
        p.cast()
    }

    /// # Safety
    /// `ptr` must be a block `map` or `remap` made with `size` bytes, used no more.
    pub unsafe fn unmap(ptr: *mut u8, size: usize) {
        // SAFETY: the caller's contract: the mapping is ours and dead.
        unsafe { libc::munmap(ptr.cast(), pages(size)) };
    }

    /// The block `ptr` of `old` bytes grown or shrunk to `new` bytes, its contents kept,
    /// possibly at another address; null (and `ptr` untouched) if that fails.
    ///
    /// # Safety
    /// As for `unmap`; on success `ptr` is used no more.
    pub unsafe fn remap(ptr: *mut u8, old: usize, new: usize) -> *mut u8 {
        // SAFETY: the caller's contract: the mapping is ours; `MREMAP_MAYMOVE` moves its
        // pages, so no other memory is touched.
        let p = unsafe { libc::mremap(ptr.cast(), pages(old), pages(new), libc::MREMAP_MAYMOVE) };
        if p == libc::MAP_FAILED {
            return std::ptr::null_mut();
        }
        p.cast()
    }
}

/// Elsewhere large blocks are mimalloc's like any other (`is_large` is always false).
#[cfg(not(target_os = "linux"))]
mod large {
    pub const PAGE: usize = 0;
    pub unsafe fn map(_: usize, _: bool) -> *mut u8 {
        unreachable!()
    }
    pub unsafe fn unmap(_: *mut u8, _: usize) {
        unreachable!()
    }
    pub unsafe fn remap(_: *mut u8, _: usize, _: usize) -> *mut u8 {
        unreachable!()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_keep_their_contents_across_the_large_threshold() {
        let allocator = Allocator;
        let small = Layout::from_size_align(1000, 8).unwrap();
        // SAFETY: each block is used within its size and freed once, with its layout.
        unsafe {
            let p = allocator.alloc_zeroed(small);
            assert!(!p.is_null() && (0..1000).all(|i| *p.add(i) == 0));
            p.write_bytes(7, 1000);
            let large = Layout::from_size_align(3 * LARGE_BLOCK, 8).unwrap();
            let p = allocator.realloc(p, small, large.size());
            assert!((0..1000).all(|i| *p.add(i) == 7), "small to large copies");
            p.add(large.size() - 1).write(9);
            let p = allocator.realloc(p, large, 5 * LARGE_BLOCK);
            assert_eq!(*p.add(large.size() - 1), 9, "large to large keeps the pages");
            assert!((0..1000).all(|i| *p.add(i) == 7));
            let p = allocator.realloc(p, Layout::from_size_align(5 * LARGE_BLOCK, 8).unwrap(), 64);
            assert!((0..64).all(|i| *p.add(i) == 7), "large to small copies");
            allocator.dealloc(p, Layout::from_size_align(64, 8).unwrap());
            let z = allocator.alloc_zeroed(large);
            assert!(*z == 0 && *z.add(large.size() - 1) == 0, "a fresh large block is zeroed");
            allocator.dealloc(z, large);
        }
    }

    #[test]
    fn zeroed_mappings_are_zero_and_move_across_every_threshold() {
        let allocator = Allocator;
        let mid = Layout::from_size_align(2 * ZEROED_MAPPING, 8).unwrap();
        // SAFETY: each block is used within its size and freed once, with its layout.
        unsafe {
            // A mimalloc block of the same size first, dirtied and freed, so that a zeroed
            // block cannot be zero by luck.
            let dirty = allocator.alloc(mid);
            dirty.write_bytes(5, mid.size());
            assert!(!is_mapping(dirty, mid), "a block `alloc` makes at that size is mimalloc's");
            allocator.dealloc(dirty, mid);
            let z = allocator.alloc_zeroed(mid);
            assert!((0..mid.size()).step_by(4096).all(|i| *z.add(i) == 0) && *z.add(mid.size() - 1) == 0);
            assert_eq!(is_mapping(z, mid), cfg!(target_os = "linux"), "a zeroed mid-sized block is a mapping");
            z.write_bytes(3, 100);
            let bigger = Layout::from_size_align(3 * ZEROED_MAPPING, 8).unwrap();
            let z = allocator.realloc(z, mid, bigger.size());
            assert!((0..100).all(|i| *z.add(i) == 3), "mapping to mapping keeps the pages");
            let large = Layout::from_size_align(2 * LARGE_BLOCK, 8).unwrap();
            let z = allocator.realloc(z, bigger, large.size());
            assert!((0..100).all(|i| *z.add(i) == 3), "mapping to large keeps the pages");
            let z = allocator.realloc(z, large, bigger.size());
            assert!((0..100).all(|i| *z.add(i) == 3), "large to a zeroed mapping's size");
            let z = allocator.realloc(z, bigger, 4096);
            assert!((0..100).all(|i| *z.add(i) == 3), "mapping to small copies");
            assert!(!is_mapping(z, Layout::from_size_align(4096, 8).unwrap()));
            allocator.dealloc(z, Layout::from_size_align(4096, 8).unwrap());
        }
    }
}
