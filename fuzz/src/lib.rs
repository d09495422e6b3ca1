//! Shared by the fuzz targets: a counting global allocator, and how a `message_layer`
//! input is laid out.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// The system allocator, counting: bytes live now, the most live since the last
/// [`Counting::reset`], and the largest single allocation since then (a realloc counts
/// with its new size). Each target installs it with `#[global_allocator]`.
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

fn grew(size: usize) {
    let live = LIVE.fetch_add(size, Relaxed) + size;
    PEAK.fetch_max(live, Relaxed);
    LARGEST.fetch_max(size, Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Relaxed);
            grew(new_size);
        }
        p
    }
}

/// What the allocator saw since a [`Counting::reset`].
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// The most bytes live at once, over what was live at the reset.
    pub peak_growth: usize,
    /// The largest single allocation (or reallocation's new size).
    pub largest: usize,
}

impl Counting {
    /// Starts a measurement; returns the baseline to hand to [`Counting::usage`].
    pub fn reset() -> usize {
        let live = LIVE.load(Relaxed);
        PEAK.store(live, Relaxed);
        LARGEST.store(0, Relaxed);
        live
    }

    pub fn usage(baseline: usize) -> Usage {
        Usage {
            peak_growth: PEAK.load(Relaxed).saturating_sub(baseline),
            largest: LARGEST.load(Relaxed),
        }
    }
}

/// The message layer's reservation ahead of a data frame's announced length
/// (`RESERVE_AHEAD` in `src/protocol/mod.rs`).
pub const RESERVE_AHEAD: usize = 1 << 20;

/// Message limits the first byte's low nibble picks from (mod the length): none, the
/// default of `Options` (64 MiB), and smaller ones around the frame-length classes.
pub const MAX_MESSAGE: [Option<usize>; 7] = [
    None,
    Some(64 << 20),
    Some(64 << 10),
    Some(4 << 10),
    Some(126),
    Some(125),
    Some(0),
];
/// Frame limits the first byte's high nibble picks from (mod the length): none, the default
/// of `Options` (16 MiB), smaller ones.
pub const MAX_FRAME: [Option<usize>; 6] = [
    None,
    Some(16 << 20),
    Some(64 << 10),
    Some(4 << 10),
    Some(125),
    Some(0),
];

/// A `message_layer` input, decoded.
#[derive(Debug)]
pub struct LayerInput<'a> {
    pub bytes: &'a [u8],
    pub cuts: Vec<usize>,
    pub max_message: Option<usize>,
    pub max_frame: Option<usize>,
}

/// The layout of a `message_layer` input:
///
/// - byte 0: the limits: low nibble indexes [`MAX_MESSAGE`], high nibble [`MAX_FRAME`]
///   (each mod its length; so 0x00 is no limits, 0x11 the defaults);
/// - byte 1: `k`, how many cut points;
/// - the server's bytes;
/// - the last `2k` bytes (fewer if the input is short): `k` cut offsets, big-endian u16
///   each, taken mod the server bytes' length + 1 (`fuzz::message_layer` does that).
///
/// Inputs shorter than 2 bytes are no limits, no cuts, and those bytes as the server's.
pub fn layer_input(data: &[u8]) -> LayerInput<'_> {
    let (selector, k, rest) = match data {
        [s, k, rest @ ..] => (*s, *k as usize, rest),
        _ => (0, 0, data),
    };
    let tail = (2 * k).min(rest.len()) & !1;
    let (bytes, cut_bytes) = rest.split_at(rest.len() - tail);
    let cuts = cut_bytes
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]) as usize)
        .collect();
    LayerInput {
        bytes,
        cuts,
        max_message: MAX_MESSAGE[(selector & 0xF) as usize % MAX_MESSAGE.len()],
        max_frame: MAX_FRAME[(selector >> 4) as usize % MAX_FRAME.len()],
    }
}

/// Builds a `message_layer` input (for seeds): the layout of [`layer_input`].
pub fn encode_layer_input(selector: u8, bytes: &[u8], cuts: &[u16]) -> Vec<u8> {
    assert!(cuts.len() <= 255);
    let mut out = vec![selector, cuts.len() as u8];
    out.extend_from_slice(bytes);
    for c in cuts {
        out.extend_from_slice(&c.to_be_bytes());
    }
    out
}
