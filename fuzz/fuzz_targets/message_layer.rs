//! The message layer fed the server's bytes after a valid upgrade (input layout:
//! `wsthread_fuzz::layer_input`). Checks, besides not panicking:
//! - the same bytes give the same `Outcome` (events and violation) whatever the chunking:
//!   the input's cut points, one piece, and (for short inputs) one byte at a time;
//! - memory follows the bytes given, never the lengths headers announce: the largest
//!   allocation and the most bytes live at once stay within what the limits, the
//!   1 MiB reserved ahead of a data frame, the bytes given and the events returned allow;
//! - a violation is 1002, 1007 or 1009, and no event follows the server's Close.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsthread::fuzz::{self, Outcome};
use wsthread_fuzz::{layer_input, Counting, RESERVE_AHEAD};

#[global_allocator]
static ALLOC: Counting = Counting;

/// Below this many server bytes, a byte-at-a-time run is added.
const BYTEWISE_UP_TO: usize = 512;
/// Room for the small allocations of a run (the cut list is added separately).
const SLACK: usize = 16 * 1024;

fuzz_target!(|data: &[u8]| {
    let input = layer_input(data);
    let n = input.bytes.len();
    // A data frame's announced length reserves at most this much ahead of its bytes: it
    // passed the frame and message limits first, and the reservation is capped.
    let ahead = [Some(RESERVE_AHEAD), input.max_message, input.max_frame]
        .into_iter()
        .flatten()
        .min()
        .unwrap();

    let run = |cuts: &[usize], how: &str| -> Outcome {
        let baseline = Counting::reset();
        let outcome = fuzz::message_layer(input.bytes, cuts, input.max_message, input.max_frame);
        let usage = Counting::usage(baseline);

        // A message's buffer: `ahead` reserved beyond the bytes it holds; past that it
        // grows with the bytes (a Vec doubles, so up to 2n). Live at once, allow twice
        // the worst of both. The events and the violation are allocated too, and
        // returned: count them as they came back.
        let buffer = (n + ahead).max(2 * n);
        let strings = outcome.events.iter().map(String::capacity);
        let why = outcome
            .violation
            .as_ref()
            .map_or(0, |(_, why)| why.capacity());
        let largest_returned = strings
            .clone()
            .chain([why, outcome.events.capacity() * size_of::<String>()])
            .max()
            .unwrap();
        let returned =
            strings.sum::<usize>() + why + outcome.events.capacity() * size_of::<String>();
        let cut_list = 16 * cuts.len();
        assert!(
            usage.largest <= buffer.max(largest_returned) + cut_list + SLACK,
            "{how}: an allocation of {} bytes for {n} bytes given (limits {:?}/{:?})",
            usage.largest,
            input.max_message,
            input.max_frame,
        );
        assert!(
            usage.peak_growth <= 2 * buffer + 2 * returned + cut_list + SLACK,
            "{how}: {} bytes live at once for {n} bytes given (limits {:?}/{:?})",
            usage.peak_growth,
            input.max_message,
            input.max_frame,
        );

        if let Some((code, why)) = &outcome.violation {
            assert!(
                matches!(code, 1002 | 1007 | 1009),
                "{how}: violation with close code {code}: {why}"
            );
        }
        if let Some(at) = outcome.events.iter().position(|e| e.starts_with("Close")) {
            assert_eq!(
                at + 1,
                outcome.events.len(),
                "{how}: events after the server's Close: {:?}",
                outcome.events
            );
        }
        outcome
    };

    let whole = run(&[], "one piece");
    let cut = run(&input.cuts, "cut");
    assert_eq!(cut, whole, "cut at {:?} vs one piece", input.cuts);
    if n <= BYTEWISE_UP_TO {
        let every: Vec<usize> = (1..n).collect();
        let bytewise = run(&every, "byte at a time");
        assert_eq!(bytewise, whole, "byte at a time vs one piece");
    }
});
