//! The server's answer to the upgrade request, as arbitrary bytes: the head parser, the
//! upgrade checks and the refusal-body framing must not panic, and must allocate in
//! proportion to the bytes given, never to a length a header announces.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsthread::fuzz;
use wsthread_fuzz::Counting;

#[global_allocator]
static ALLOC: Counting = Counting;

fuzz_target!(|data: &[u8]| {
    let baseline = Counting::reset();
    fuzz::upgrade_response(data);
    let usage = Counting::usage(baseline);
    // The head parser's 128 header slots and the parsed headers are a few KiB; header
    // values made UTF-8 lossily take up to 3 bytes per byte; a body is at most the bytes.
    let n = data.len();
    assert!(
        usage.largest <= 16 * 1024 + 4 * n,
        "an allocation of {} bytes for {n} bytes of answer",
        usage.largest
    );
    assert!(
        usage.peak_growth <= 32 * 1024 + 8 * n,
        "{} bytes live at once for {n} bytes of answer",
        usage.peak_growth
    );
});
