//! Devices decide where a tensor's elements live.
//!
//! Every op is written once over slices; a device only says how to allocate
//! the buffer behind them. [`Cpu`] keeps elements on the heap behind a
//! reference count, so cloning a tensor (which every saved value of a
//! pullback does) costs one counter increment, and writing to a shared buffer
//! copies it first; a tensor whose type fixes a small size keeps its elements
//! inside the value instead ([`CpuBuf`]). [`Inline`] keeps elements in a
//! fixed-size array inside the tensor value and never allocates.

use core::fmt::Debug;
use core::mem::MaybeUninit;

use generic_array::sequence::GenericSequence;
use generic_array::GenericArray;

use crate::shape::{InlineShape, Shape};
use crate::Float;

/// Where a tensor's elements are stored.
pub trait Device: Copy + Default + Debug + PartialEq + Send + Sync + 'static {
    /// The device's name as printed by `Display` (`cpu`, `inline`).
    const NAME: &'static str;
}

/// A device that can hold a tensor of shape `S` and element `E`.
///
/// [`Cpu`] can hold every shape; [`Inline`] only shapes whose element count
/// is a typenum constant ([`InlineShape`]).
pub trait Storage<S: Shape, E: Float>: Device {
    /// The buffer type.
    type Buf: Clone + Debug + Send + Sync;

    /// Allocates a buffer of `shape.numel()` elements, each set by `f(index)`.
    fn from_fn(shape: &S, f: impl FnMut(usize) -> E) -> Self::Buf;

    /// Allocates a buffer of `shape.numel()` elements and lets `init` write
    /// them, for kernels that overwrite their whole output.
    ///
    /// The default zero-fills the buffer first; `Cpu` skips the fill.
    ///
    /// # Safety
    ///
    /// `init` must write an initialised value into every element of the
    /// slice it gets.
    unsafe fn from_uninit(shape: &S, init: impl FnOnce(&mut [MaybeUninit<E>])) -> Self::Buf {
        let mut buf = Self::from_fn(shape, |_| E::ZERO);
        let slice = Self::as_mut_slice(&mut buf);
        // SAFETY: `MaybeUninit<E>` has the layout of `E`, and the caller
        // writes only initialised values, so the slice stays initialised.
        let slots = unsafe { &mut *(slice as *mut [E] as *mut [MaybeUninit<E>]) };
        init(slots);
        buf
    }

    fn as_slice(buf: &Self::Buf) -> &[E];

    /// The elements for writing; on `Cpu` this copies a shared buffer first.
    fn as_mut_slice(buf: &mut Self::Buf) -> &mut [E];

    /// Clones the buffer: `Cpu` adds a handle to the same heap elements or
    /// copies inline ones, and `Inline` copies them.
    #[inline]
    fn clone_buf(buf: &Self::Buf) -> Self::Buf {
        buf.clone()
    }
}

/// The heap device: no size limit, O(1) clones, copy on write. Small
/// fixed-size tensors stay off the heap ([`CpuBuf`]).
#[cfg(feature = "alloc")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Cpu;

#[cfg(feature = "alloc")]
impl Device for Cpu {
    const NAME: &'static str = "cpu";
}

#[cfg(feature = "alloc")]
impl<S: Shape, E: Float> Storage<S, E> for Cpu {
    type Buf = CpuBuf<S, E>;

    #[inline]
    fn from_fn(shape: &S, mut f: impl FnMut(usize) -> E) -> Self::Buf {
        // SAFETY: the loop writes every element.
        unsafe {
            Self::from_uninit(shape, |slots| {
                for (i, slot) in slots.iter_mut().enumerate() {
                    slot.write(f(i));
                }
            })
        }
    }

    #[inline]
    unsafe fn from_uninit(shape: &S, init: impl FnOnce(&mut [MaybeUninit<E>])) -> Self::Buf {
        if CpuBuf::<S, E>::INLINE {
            // A custom `Dim` whose `STATIC` disagrees with its `size()`
            // breaks `Dim`'s contract. Debug builds stop it here; release
            // builds then see slices of the static length, as on `Inline`.
            debug_assert_eq!(
                shape.numel(),
                CpuBuf::<S, E>::INLINE_LEN,
                "Cpu: the shape {shape:?} has {} elements, but its type's STATIC_NUMEL says {}",
                shape.numel(),
                CpuBuf::<S, E>::INLINE_LEN
            );
            let mut bytes = [MaybeUninit::<u64>::uninit(); INLINE_WORDS];
            // SAFETY: `INLINE` holds only when `INLINE_LEN` elements of `E`
            // fit in the words and `E` needs no stricter alignment than
            // `u64`. Any bits are a valid `MaybeUninit`.
            let slots = unsafe {
                core::slice::from_raw_parts_mut(bytes.as_mut_ptr().cast::<MaybeUninit<E>>(), CpuBuf::<S, E>::INLINE_LEN)
            };
            init(slots);
            return CpuBuf::from_repr(Repr { inline: bytes });
        }
        let mut buf = alloc::sync::Arc::<[E]>::new_uninit_slice(shape.numel());
        init(alloc::sync::Arc::get_mut(&mut buf).expect("a new Arc has no other owner"));
        // SAFETY: the caller's `init` wrote every element.
        let heap = unsafe { buf.assume_init() };
        CpuBuf::from_repr(Repr { heap: core::mem::ManuallyDrop::new(heap) })
    }

    #[inline]
    fn as_slice(buf: &Self::Buf) -> &[E] {
        buf.as_slice()
    }

    #[inline]
    fn as_mut_slice(buf: &mut Self::Buf) -> &mut [E] {
        buf.as_mut_slice()
    }
}

/// The bytes of elements that a [`CpuBuf`] keeps inline, in `u64` words:
/// 8 `f32` or 4 `f64`, the size of a cache line's half.
#[cfg(feature = "alloc")]
const INLINE_WORDS: usize = 4;

/// The buffer of a [`Cpu`] tensor.
///
/// A tensor whose shape fixes a small element count keeps its elements
/// inside the value, like [`Inline`], so creating and dropping it does not
/// touch the heap. Small means up to 8 `f32` or 4 `f64`: a bias, a scalar
/// loss or the tutorial neuron's 5 weights. Every other tensor holds a
/// reference-counted slice: one allocation for the counters and the
/// elements, O(1) clones, and a copy before writing to a shared buffer.
///
/// Which of the two a tensor uses follows from its shape type alone
/// ([`Shape::STATIC_NUMEL`]), so every branch on it folds away when the
/// code is compiled.
#[cfg(feature = "alloc")]
pub struct CpuBuf<S: Shape, E: Float> {
    repr: Repr<E>,
    shape: core::marker::PhantomData<fn() -> S>,
}

/// The storage of a [`CpuBuf`]. `CpuBuf::INLINE` decides which field is live.
#[cfg(feature = "alloc")]
union Repr<E: Float> {
    inline: [MaybeUninit<u64>; INLINE_WORDS],
    heap: core::mem::ManuallyDrop<alloc::sync::Arc<[E]>>,
}

#[cfg(feature = "alloc")]
impl<S: Shape, E: Float> CpuBuf<S, E> {
    /// Whether the elements live in `repr.inline`.
    const INLINE: bool = match S::STATIC_NUMEL {
        // Divides rather than multiplies, so that a shape too large to
        // allocate still compiles (and fails when allocated).
        Some(n) => {
            n <= INLINE_WORDS * core::mem::size_of::<u64>() / core::mem::size_of::<E>()
                && core::mem::align_of::<E>() <= core::mem::align_of::<u64>()
        }
        None => false,
    };

    /// The element count of an inline buffer.
    const INLINE_LEN: usize = match S::STATIC_NUMEL {
        Some(n) => n,
        None => 0,
    };

    #[inline]
    fn from_repr(repr: Repr<E>) -> Self {
        CpuBuf { repr, shape: core::marker::PhantomData }
    }

    /// The elements.
    #[inline]
    pub fn as_slice(&self) -> &[E] {
        if Self::INLINE {
            // SAFETY: `inline` is the live field, and `from_uninit`
            // initialised its first `INLINE_LEN` elements.
            unsafe { core::slice::from_raw_parts(self.repr.inline.as_ptr().cast::<E>(), Self::INLINE_LEN) }
        } else {
            // SAFETY: `heap` is the live field.
            unsafe { &self.repr.heap }
        }
    }

    /// Returns the elements for writing, after copying a shared heap buffer.
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [E] {
        if Self::INLINE {
            // SAFETY: as in `as_slice`, and `self` is borrowed mutably.
            unsafe { core::slice::from_raw_parts_mut(self.repr.inline.as_mut_ptr().cast::<E>(), Self::INLINE_LEN) }
        } else {
            // SAFETY: `heap` is the live field.
            alloc::sync::Arc::make_mut(unsafe { &mut self.repr.heap })
        }
    }
}

#[cfg(feature = "alloc")]
impl<S: Shape, E: Float> Clone for CpuBuf<S, E> {
    /// Copies inline elements, and adds a handle to heap elements.
    #[inline]
    fn clone(&self) -> Self {
        if Self::INLINE {
            // SAFETY: `inline` is the live field, and its words are `Copy`.
            CpuBuf::from_repr(Repr { inline: unsafe { self.repr.inline } })
        } else {
            // SAFETY: `heap` is the live field.
            let heap = unsafe { &self.repr.heap };
            CpuBuf::from_repr(Repr { heap: heap.clone() })
        }
    }
}

#[cfg(feature = "alloc")]
impl<S: Shape, E: Float> Drop for CpuBuf<S, E> {
    #[inline]
    fn drop(&mut self) {
        if !Self::INLINE {
            // SAFETY: `heap` is the live field, and it is dropped only here.
            unsafe { core::mem::ManuallyDrop::drop(&mut self.repr.heap) }
        }
    }
}

#[cfg(feature = "alloc")]
impl<S: Shape, E: Float> Debug for CpuBuf<S, E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        Debug::fmt(self.as_slice(), f)
    }
}

/// The allocation-free device: elements live in an array inside the tensor,
/// so a tensor is `Copy`-sized data on the stack or in a static. Shapes must
/// be static.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Inline;

impl Device for Inline {
    const NAME: &'static str = "inline";
}

impl<S: InlineShape, E: Float> Storage<S, E> for Inline {
    type Buf = GenericArray<E, S::Len>;

    fn from_fn(_shape: &S, f: impl FnMut(usize) -> E) -> Self::Buf {
        GenericArray::generate(f)
    }

    fn as_slice(buf: &Self::Buf) -> &[E] {
        buf.as_slice()
    }

    fn as_mut_slice(buf: &mut Self::Buf) -> &mut [E] {
        buf.as_mut_slice()
    }

    /// Copies the array bitwise. `GenericArray`'s own `clone` goes element by
    /// element through `map`, which the optimizer does not always inline, and
    /// most pullbacks clone a cotangent or a saved value.
    #[inline]
    fn clone_buf(buf: &Self::Buf) -> Self::Buf {
        // SAFETY: `E: Float` is `Copy` and a `GenericArray` is a plain array
        // of its elements, so the bits are a valid value of their own and
        // neither copy owns anything the other could drop.
        unsafe { core::ptr::read(buf) }
    }
}
