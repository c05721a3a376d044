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
    mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc, mi_zalloc_aligned,
};

/// The alignment every mimalloc block has: its size classes are multiples of the word.
const WORD_ALIGN: usize = std::mem::size_of::<usize>();

pub struct Allocator;

/// Blocks of at least this many bytes are mappings of their own (see the module header).
pub const LARGE_BLOCK: usize = 4 << 20;

/// Whether a block of `layout` is a large one: decided by the layout alone, which Rust hands
/// back unchanged at `dealloc` and `realloc`, so both find the block where it was made.
#[inline]
fn is_large(layout: Layout) -> bool {
    cfg!(target_os = "linux") && layout.size() >= LARGE_BLOCK && layout.align() <= large::PAGE
}

// SAFETY: every method forwards to mimalloc, whose blocks satisfy the layout: word-aligned
// always (small alignments), or aligned as asked by the `_aligned` calls.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            if is_large(layout) {
                large::map(layout.size())
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
            if is_large(layout) {
                large::map(layout.size())
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
        // so `is_large` says where.
        unsafe {
            if is_large(layout) {
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
            if is_large(layout) || is_large(new_layout) {
                if is_large(layout) && is_large(new_layout) {
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

/// Large blocks: anonymous private mappings, a whole number of pages each.
#[cfg(target_os = "linux")]
mod large {
    pub const PAGE: usize = 4096;

    fn pages(size: usize) -> usize {
        size.div_ceil(PAGE) * PAGE
    }

    /// A fresh zeroed mapping of `size` bytes, or null.
    ///
    /// # Safety
    /// Only through `Allocator` (the block is freed by `unmap` with the same size).
    pub unsafe fn map(size: usize) -> *mut u8 {
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
        // SAFETY: `p` is the mapping just made; the advice only changes its page size.
        unsafe { libc::madvise(p, pages(size), libc::MADV_HUGEPAGE) };
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
    pub unsafe fn map(_: usize) -> *mut u8 {
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
}
