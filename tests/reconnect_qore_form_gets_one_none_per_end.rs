//! The Qore form under a reconnect policy: one `None` per connection, and one more when the
//! policy gives up after a failed attempt (here a 401), so that a program using only
//! `Some(msg)` / `None` learns that the client stays closed; `close_info` says why.

mod support;

use support::*;
use wsthread::{Message, Options, Reconnect, WebSocketClient};

#[test]
fn reconnect_qore_form_gets_one_none_per_end() {
    let (server, arrivals) = scripted_server(|stream, n| {
        let mut c = RawConn::new(stream);
        match n {
            0 | 1 => {
                if c.accept(&[]).is_ok() {
                    let _ = c.write_frame(true, false, OP_TEXT, format!("hello {n}").as_bytes());
                }
                // Returning drops TCP: a lost connection, retried.
            }
            _ => drop(refuse(&mut c, "401 Unauthorized", &[])),
        }
    });
    let options = Options::new(&server.ws_url("/")).unwrap().reconnect(fast_policy());
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    client.connect(&[]).unwrap();
    assert_eq!(next_message(&rx), Message::Text("hello 0".into()));
    expect_end(&rx);
    assert_eq!(next_message(&rx), Message::Text("hello 1".into()));
    expect_end(&rx);
    // The 401 of attempt 2: one more None, then nothing.
    expect_end(&rx);
    let info = client.close_info().unwrap();
    assert!(matches!(&info.reconnect, Reconnect::Stopped(why) if why.contains("401")), "{info}");
    for conn in 0..3 {
        assert_eq!(next_arrival(&arrivals).conn, conn);
    }
    expect_no_arrival(&arrivals, NO_ATTEMPT_WITHIN);
    drop(client);
    expect_no_more(&rx);
}
