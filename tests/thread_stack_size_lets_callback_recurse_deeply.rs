//! `thread_stack_size` sets the stack of the connection thread, which runs the callback: a
//! callback that needs far more stack than the default (512 KiB) and more than Rust's
//! default for threads (2 MiB) works when the option allows for it. If the option were not
//! applied, the thread would overflow its stack and the test process would abort.

mod support;

use std::hint::black_box;

use support::*;
use wsthread::{Message, Options, WebSocketClient};

/// About 6 MiB of stack in all.
const DEPTH: usize = 1536;
const FRAME: usize = 4096;

/// Recurses `depth` times with a `FRAME`-byte buffer live in every frame.
fn deep(depth: usize) -> u64 {
    let mut buf = [0u8; FRAME];
    buf[depth % FRAME] = depth as u8;
    let buf = black_box(buf);
    let below = if depth == 0 { 0 } else { deep(depth - 1) };
    black_box(below + u64::from(buf[depth % FRAME]))
}

#[test]
fn thread_stack_size_lets_callback_recurse_deeply() {
    let (server, _seen) = echo_server();
    let options = Options::new(&server.ws_url("/")).unwrap().thread_stack_size(32 << 20);
    let (tx, results) = crossbeam_channel::unbounded();
    let client = WebSocketClient::new(
        move |msg: Option<Message>| {
            if msg.is_some() {
                tx.send(deep(DEPTH)).unwrap();
            }
        },
        options,
    )
    .unwrap();
    client.connect(&[]).unwrap();
    client.send("recurse").unwrap();
    let expected: u64 = (0..=DEPTH).map(|d| u64::from(d as u8)).sum();
    assert_eq!(results.recv_timeout(WAIT).expect("the deep callback finished"), expected);
    client.disconnect().unwrap();
}
