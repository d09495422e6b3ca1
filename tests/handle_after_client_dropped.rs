//! A Handle may outlive its client, but can do nothing with it: sends fail, disconnect is a
//! no-op, and connect is refused (a connection made then would have no owner to close it).

mod support;

use support::*;
use wsthread::{Error, State};

#[test]
fn handle_after_client_dropped() {
    let (_server, seen, client, rx) = connected_echo();
    let handle = client.handle();
    drop(client);
    expect_end(&rx);
    assert_eq!(wait_close(&seen).1, Some(1001));

    assert_eq!(handle.state(), State::Closed);
    assert!(matches!(handle.send("late"), Err(Error::NotConnected)));
    assert!(handle.disconnect().is_ok());
    assert!(matches!(handle.connect(&[]), Err(Error::NotConnected)));
    expect_no_more(&rx);
}
