//! One buffer written by several parallel tasks at once, each in places no other task touches:
//! the distance matrix's tiles, the merge updates of the hierarchical clustering, the
//! candidates' columns of k-means++. Slices cannot express "disjoint, but interleaved", so the
//! tasks share a [`Disjoint`] view and promise, at each access, that no other task reads or
//! writes the same element meanwhile.
//!
//! Safety argument, once for every use: the view borrows the buffer mutably for its lifetime,
//! so the owner cannot read or write it while tasks run, and the view hands out no references:
//! each access copies one value or one slice in or out through a raw pointer, bounds-checked.
//! What remains is the caller's promise of disjointness, stated where each `unsafe` block is.

use std::marker::PhantomData;

/// A mutable buffer shared by tasks that access disjoint elements.
pub(crate) struct Disjoint<'a, T> {
    ptr: *mut T,
    len: usize,
    _buf: PhantomData<&'a mut [T]>,
}

// SAFETY: the view only moves `T` values in and out (so `T: Send` suffices), and every access is
// an `unsafe fn` whose caller promises that no other thread touches that element meanwhile.
unsafe impl<T: Send> Sync for Disjoint<'_, T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for Disjoint<'_, T> {}

impl<'a, T: Copy> Disjoint<'a, T> {
    /// Shares `buf` for the view's lifetime.
    pub(crate) fn new(buf: &'a mut [T]) -> Self {
        Self { ptr: buf.as_mut_ptr(), len: buf.len(), _buf: PhantomData }
    }

    /// Element `i`.
    ///
    /// # Safety
    /// No other thread writes element `i` meanwhile.
    ///
    /// # Panics
    /// If `i` is out of bounds.
    #[inline(always)]
    pub(crate) unsafe fn get(&self, i: usize) -> T {
        assert!(i < self.len, "index {i} outside a buffer of {}", self.len);
        // SAFETY: in bounds; the caller promises no concurrent write.
        unsafe { *self.ptr.add(i) }
    }

    /// Sets element `i`.
    ///
    /// # Safety
    /// No other thread reads or writes element `i` meanwhile.
    ///
    /// # Panics
    /// If `i` is out of bounds.
    #[inline(always)]
    pub(crate) unsafe fn set(&self, i: usize, v: T) {
        assert!(i < self.len, "index {i} outside a buffer of {}", self.len);
        // SAFETY: in bounds; the caller promises no concurrent access.
        unsafe { *self.ptr.add(i) = v }
    }

    /// Copies `src` to the elements from `at` on.
    ///
    /// # Safety
    /// No other thread reads or writes `at..at + src.len()` meanwhile.
    ///
    /// # Panics
    /// If the range is out of bounds.
    #[inline(always)]
    pub(crate) unsafe fn write(&self, at: usize, src: &[T]) {
        assert!(at.checked_add(src.len()).is_some_and(|end| end <= self.len), "range {at}+{} outside a buffer of {}", src.len(), self.len);
        // SAFETY: in bounds; `src` cannot overlap the buffer, which the view borrows mutably;
        // the caller promises no concurrent access to the range.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr.add(at), src.len()) };
    }

    /// Hints that element `i` will be read soon (nothing out of bounds).
    #[inline(always)]
    pub(crate) fn prefetch(&self, i: usize) {
        #[cfg(target_arch = "x86_64")]
        if i < self.len {
            // SAFETY: a prefetch never faults and has no architectural effect; the address is in bounds.
            unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(self.ptr.add(i).cast::<i8>().cast_const()) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    #[test]
    fn interleaved_disjoint_writes_from_parallel_tasks_all_land() {
        let (n, tasks) = (10_000usize, 7usize);
        let mut buf = vec![0u32; n];
        {
            let view = Disjoint::new(&mut buf);
            // Task t writes every index ≡ t (mod tasks): interleaved, never shared.
            (0..tasks).into_par_iter().for_each(|t| {
                for i in (t..n).step_by(tasks) {
                    // SAFETY: index i belongs to task i % tasks only.
                    unsafe { view.set(i, u32::try_from(i * 3).unwrap()) };
                }
            });
            (0..tasks).into_par_iter().for_each(|t| {
                for i in (t..n).step_by(tasks) {
                    // SAFETY: as above.
                    assert_eq!(unsafe { view.get(i) }, u32::try_from(i * 3).unwrap());
                }
            });
        }
        assert!(buf.iter().enumerate().all(|(i, &v)| v as usize == i * 3));
    }

    #[test]
    #[should_panic(expected = "outside a buffer of 4")]
    fn an_access_out_of_bounds_panics_instead_of_writing_past_the_end() {
        let mut buf = [0.0f32; 4];
        let view = Disjoint::new(&mut buf);
        // SAFETY: one thread only.
        unsafe { view.write(2, &[1.0, 2.0, 3.0]) };
    }
}
