//! `connect()` on an open client first closes the old connection with 1001 (its `None` is
//! delivered), then the new connection works.

mod support;

use support::*;
use wsthread::Message;

#[test]
fn connect_while_open_closes_old_connection() {
    let (_server, seen, client, rx) = connected_echo();
    client.send("first").unwrap();
    assert_eq!(next_message(&rx), Message::Text("first".into()));

    client.connect(&[]).unwrap();
    // The old connection's end came before connect returned.
    assert_eq!(rx.try_recv(), Ok(None), "the first connection's None");
    assert_eq!(wait_close(&seen), (0, Some(1001), String::new()));
    assert!(client.is_open());
    assert!(client.close_info().is_none(), "close_info is reset by the new connect");

    client.send("second").unwrap();
    assert_eq!(next_message(&rx), Message::Text("second".into()));
    client.disconnect().unwrap();
    expect_end(&rx);
    assert_eq!(wait_close(&seen), (1, Some(1001), String::new()));
    drop(client);
    expect_no_more(&rx);
}
