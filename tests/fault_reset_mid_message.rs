//! A connection reset (RST) in the middle of a large message, injected by the fault proxy
//! once part of the message has reached the client: the half message is never delivered,
//! the callback gets exactly one `None`, and `close_info` says 1006, closed by the server's
//! side, not clean, with the read failure (the reset) as the error.

mod support;

use support::*;
use wsthread::{CloseCode, ClosedBy};

const MESSAGE: usize = 1 << 20;
/// How much of the echoed message reaches the client before the reset.
const BEFORE_RESET: u64 = 300_000;

#[test]
fn reset_mid_message_ends_with_one_none_and_1006() {
    let (server, _seen) = echo_server();
    let proxy = FaultProxy::new(server.addr());
    let (client, rx) = connected_through(&proxy, ms(500));

    // The echo starts only once the whole message has reached the server, so nothing of it
    // has come back yet: count from here.
    let at = proxy.forwarded_to_client() + BEFORE_RESET;
    proxy.set_after(at, Fault::Reset);
    client.send(vec![0x5A; MESSAGE]).unwrap();
    assert!(proxy.wait_forwarded_to_client(at, WAIT), "the echo never got under way");

    expect_end(&rx);
    let info = client.close_info().expect("close_info after the None");
    eprintln!("after the reset: {info}");
    assert_eq!(info.code, CloseCode::ABNORMAL, "{info}");
    assert_eq!(info.closed_by, ClosedBy::Remote, "{info}");
    assert!(!info.clean, "{info}");
    let error = info.error.clone().unwrap_or_default();
    assert!(error.contains("read failed"), "{info}");
    if cfg!(unix) {
        assert!(error.to_lowercase().contains("reset"), "the error names the reset: {info}");
    }
    assert_eq!(proxy.forwarded_to_client(), at, "no byte passed the reset");
    drop(client);
    expect_no_more(&rx);
}
