//! A host name that cannot be resolved fails the connect with `Error::Dns`, leaving the client
//! closed and the callback silent. The name is under `.invalid`, which RFC 2606 reserves so
//! that it never resolves; no network is needed for the resolver to say so.

mod support;

use std::time::Instant;

use support::*;
use wsthread::{Error, Options, State, WebSocketClient};

#[test]
fn unresolvable_host_is_dns_error() {
    let (callback, rx) = collector();
    // A generous deadline: the failure must be the lookup's, not the timeout's.
    let options = Options::new("ws://wsthread-test.invalid:9/").unwrap().connect_timeout(secs(60));
    let client = WebSocketClient::new(callback, options).unwrap();
    let start = Instant::now();
    match client.connect(&[]) {
        Err(Error::Dns(e)) => eprintln!("failed as expected after {:?}: {e}", start.elapsed()),
        other => panic!("expected Error::Dns, got {other:?}"),
    }
    assert_eq!(client.state(), State::Closed);
    assert!(client.close_info().is_none(), "no connection, so nothing ended");
    drop(client);
    expect_no_more(&rx);
}
