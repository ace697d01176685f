//! Devices decide where a tensor's elements live.
//!
//! Every op is written once over slices; a device only says how to allocate
//! the buffer behind them. [`Cpu`] keeps elements on the heap behind a
//! reference count, so cloning a tensor (which every saved value of a
//! pullback does) costs one counter increment, and writing to a shared buffer
//! copies it first. [`Inline`] keeps elements in a fixed-size array inside the
//! tensor value and never allocates.

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

    /// Clones the buffer: `Cpu` adds a handle to the same elements, `Inline`
    /// copies them.
    #[inline]
    fn clone_buf(buf: &Self::Buf) -> Self::Buf {
        buf.clone()
    }
}

/// The heap device: no size limit, O(1) clones, copy on write.
#[cfg(feature = "alloc")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Cpu;

#[cfg(feature = "alloc")]
impl Device for Cpu {
    const NAME: &'static str = "cpu";
}

#[cfg(feature = "alloc")]
impl<S: Shape, E: Float> Storage<S, E> for Cpu {
    /// A reference-counted slice: one allocation holds the counters and the
    /// elements, where `Arc<Vec<E>>` would need two.
    type Buf = alloc::sync::Arc<[E]>;

    fn from_fn(shape: &S, mut f: impl FnMut(usize) -> E) -> Self::Buf {
        let mut buf = alloc::sync::Arc::<[E]>::new_uninit_slice(shape.numel());
        let slots = alloc::sync::Arc::get_mut(&mut buf).expect("a new Arc has no other owner");
        for (i, slot) in slots.iter_mut().enumerate() {
            slot.write(f(i));
        }
        // SAFETY: the loop above wrote every element.
        unsafe { buf.assume_init() }
    }

    unsafe fn from_uninit(shape: &S, init: impl FnOnce(&mut [MaybeUninit<E>])) -> Self::Buf {
        let mut buf = alloc::sync::Arc::<[E]>::new_uninit_slice(shape.numel());
        init(alloc::sync::Arc::get_mut(&mut buf).expect("a new Arc has no other owner"));
        // SAFETY: the caller's `init` wrote every element.
        unsafe { buf.assume_init() }
    }

    fn as_slice(buf: &Self::Buf) -> &[E] {
        buf
    }

    fn as_mut_slice(buf: &mut Self::Buf) -> &mut [E] {
        alloc::sync::Arc::make_mut(buf)
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
