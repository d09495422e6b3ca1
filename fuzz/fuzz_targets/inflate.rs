//! permessage-deflate, both halves. Input: a mode byte, then the rest.
//! - mode bit 7 clear: the rest is the server's bytes after a handshake that agreed
//!   permessage-deflate (RSV1 payloads are arbitrary compressed data). Bits 0-1 pick the
//!   message limit (none, 1 KiB, 64 KiB, 1 MiB), bit 2 `server_no_context_takeover`.
//!   Checks: no panic; the same messages in one piece and cut in three, and a violation in
//!   both or neither; violations are 1002, 1007 or 1009; the largest allocation stays
//!   within the limit (plus zlib's state and slack; a plain frame reserves up to 1 MiB
//!   ahead), never what a bomb would inflate to.
//! - mode bit 7 set: the rest is messages separated by 0xA5, which we compress (bits 0-2:
//!   window bits 8-15; bit 3: no context takeover; bits 4-6: whole, or pieces of 1, 2, 7,
//!   64, 1000 or 4096 bytes) and inflate back: each must come back as it was.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsthread::fuzz;
use wsthread_fuzz::{Counting, RESERVE_AHEAD};

#[global_allocator]
static ALLOC: Counting = Counting;

/// zlib's inflate state and window, the events' strings, and small allocations.
const SLACK: usize = 256 * 1024;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode & 0x80 != 0 {
        let messages: Vec<&[u8]> = rest.split(|b| *b == 0xA5).collect();
        let piece = [0, 1, 2, 7, 64, 1000, 4096, 0][usize::from(mode >> 4 & 7)];
        fuzz::deflate_round_trip(&messages, piece, 8 + (mode & 7), mode & 8 != 0);
        return;
    }
    let limit = [None, Some(1 << 10), Some(64 << 10), Some(1 << 20)][usize::from(mode & 3)];
    let reset = mode & 4 != 0;
    let n = rest.len();
    let baseline = Counting::reset();
    let whole = fuzz::inflate_layer(rest, &[], limit, reset);
    let usage = Counting::usage(baseline);
    // Without a limit a message may inflate to about 1032 times its compressed size, and a
    // Vec may double past it. A plain (RSV1 clear) frame reserves up to 1 MiB ahead.
    let ahead = limit.map_or(RESERVE_AHEAD, |l| l.min(RESERVE_AHEAD));
    let allowed = limit.map_or(2 * 1032 * n, |l| l + 1).max(n + ahead);
    let returned: usize = whole.events.iter().map(String::capacity).sum();
    assert!(
        usage.largest <= allowed.max(returned) + SLACK,
        "an allocation of {} bytes for {n} bytes given (limit {limit:?})",
        usage.largest
    );
    if let Some((code, why)) = &whole.violation {
        assert!(matches!(code, 1002 | 1007 | 1009), "violation with close code {code}: {why}");
    }
    // Cut differently, the same messages come and the connection fails or not the same;
    // which violation is met first may differ (a corrupt stream, or invalid UTF-8 or the
    // limit in what inflated before it, each found as soon as the bytes allow).
    let cut = fuzz::inflate_layer(rest, &[n / 3, 2 * n / 3], limit, reset);
    assert_eq!(cut.events, whole.events, "cut in three vs one piece");
    assert_eq!(cut.violation.is_some(), whole.violation.is_some(), "cut in three vs one piece: {cut:?} / {whole:?}");
    if let Some((code, why)) = &cut.violation {
        assert!(matches!(code, 1002 | 1007 | 1009), "violation with close code {code}: {why}");
    }
});
