//! After `disconnect_with(4000, "bye")`, `close_info()` reports our Close (4000 "bye", closed by
//! us, clean) even when the server's reply carries another code and reason (1000 "other").

mod support;

use support::*;
use wsthread::{CloseCode, ClosedBy, Options, WebSocketClient};

#[test]
fn disconnect_reports_our_close_not_the_reply() {
    let (tx, seen) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        if c.accept(&[]).is_err() {
            return;
        }
        let got = c.read_close().map(|(code, reason, _)| (code, reason)).map_err(|e| e.to_string());
        let replied = c.write_close(1000, "other").is_ok();
        let _ = tx.send((got, replied));
        // Returning closes TCP, as the server should once the Close frames are exchanged.
    });
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap();
    client.connect(&[]).unwrap();
    client.disconnect_with(4000, "bye").unwrap();
    assert_eq!(rx.try_recv(), Ok(None), "disconnect_with() returned before the callback's None");

    let (got, replied) = seen.recv_timeout(WAIT).expect("the server got no Close");
    assert_eq!(got, Ok((Some(4000), "bye".to_owned())));
    assert!(replied, "the server could not send its reply");

    let info = client.close_info().unwrap();
    assert_eq!(info.code, CloseCode(4000), "{info}");
    assert_eq!(info.reason, "bye", "{info}");
    assert_eq!(info.closed_by, ClosedBy::Local, "{info}");
    assert!(info.clean, "{info}");
    assert_eq!(info.error, None, "{info}");
    drop(client);
    expect_no_more(&rx);
}
