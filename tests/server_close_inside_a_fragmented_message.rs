//! A Close from the server between the fragments of a message is legal (control frames may
//! come between fragments, RFC 6455 §5.4): the client echoes the Close, never delivers the
//! unfinished message, and ends with `None` and a clean close by the server.

mod support;

use support::*;
use wsthread::{CloseCode, ClosedBy, Options, WebSocketClient};

#[test]
fn server_close_inside_a_fragmented_message() {
    let (tx, seen) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        let mut bytes = frame(false, false, OP_TEXT, b"the first half, ");
        bytes.extend(close_frame(4002, "mid-message"));
        if c.accept_then(&[], &bytes).is_err() {
            return;
        }
        let got = c.read_close().map(|(code, reason, frames)| (code, reason, frames.len()));
        let _ = tx.send(got.map_err(|e| e.to_string()));
        // Returning closes TCP: the close handshake is complete.
    });
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap();
    client.connect(&[]).unwrap();
    expect_end(&rx); // and no message before it

    let echoed = seen.recv_timeout(WAIT).expect("the server got no Close");
    // The echo carries the server's code (RFC 6455 §5.5.1); its reason is ours to choose.
    let (code, _reason, frames_before) = echoed.unwrap();
    assert_eq!((code, frames_before), (Some(4002), 0), "the Close echoed, nothing before it");
    let info = client.close_info().unwrap();
    assert_eq!(info.code, CloseCode(4002), "{info}");
    assert_eq!(info.reason, "mid-message", "{info}");
    assert_eq!(info.closed_by, ClosedBy::Remote, "{info}");
    assert!(info.clean, "{info}");
    assert_eq!(info.error, None, "{info}");
    drop(client);
    expect_no_more(&rx);
}
