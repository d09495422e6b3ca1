//! A decompression bomb: 64 MiB of zeros in one compressed message of about 64 KiB, after
//! permessage-deflate was agreed, to a client whose message limit is 1 MiB. The client must
//! close with 1009 having inflated about the limit, not the bomb: the process's peak
//! resident memory stays far below 64 MiB (Linux, where /proc tells it).

#![cfg(feature = "deflate")]

mod support;

use flate2::{Compress, Compression, FlushCompress};
use support::hostile::mib;
use support::*;
use wsthread::DeflateOptions;

const BOMB: usize = 64 << 20;
const LIMIT: usize = 1 << 20;

/// The bomb as a permessage-deflate payload, made 1 MiB at a time (the test itself never
/// holds 64 MiB either).
fn bomb() -> Vec<u8> {
    let mut c = Compress::new(Compression::best(), false);
    let zeros = vec![0u8; 1 << 20];
    let mut out = Vec::with_capacity(128 << 10);
    for i in 0..BOMB / zeros.len() {
        let flush = if i + 1 == BOMB / zeros.len() { FlushCompress::Sync } else { FlushCompress::None };
        let mut input = &zeros[..];
        loop {
            out.reserve(64 << 10);
            let before = c.total_in();
            c.compress_vec(input, &mut out, flush).unwrap();
            input = &input[(c.total_in() - before) as usize..];
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
    }
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    out
}

/// Peak resident memory of this process (Linux: VmHWM in /proc/self/status).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib << 10)
}

#[test]
fn bomb_closes_1009_near_the_limit() {
    let payload = bomb();
    assert!(payload.len() < 100 << 10, "the bomb is {} bytes", payload.len());
    Violation::new(frame(true, true, OP_BINARY, &payload))
        .answering(&["Sec-WebSocket-Extensions: permessage-deflate"])
        .options(|o| o.deflate(Some(DeflateOptions::default())).max_message_size(Some(LIMIT)))
        .expect_close(1009, "limit");
    if let Some(peak) = peak_rss() {
        eprintln!("peak resident memory: {:.1} MiB", mib(peak));
        assert!(peak < 40 << 20, "peak resident memory {:.1} MiB for a 1 MiB limit", mib(peak));
    }
}
