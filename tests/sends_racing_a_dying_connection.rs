//! Senders on several threads keep sending while the server drops the connection: every
//! send either succeeds or says `NotConnected`, no sender panics or blocks, and the callback
//! gets its one `None`. (Senders may be writing to the socket themselves at the moment the
//! connection thread ends.)

mod support;

use std::io::Read;
use std::sync::Arc;
use std::thread;

use support::*;
use wsthread::{Error, Options, WebSocketClient};

const SENDERS: usize = 4;
const CYCLES: usize = 20;

#[test]
fn sends_racing_a_dying_connection() {
    let server = Server::threaded(|stream, _| {
        let mut c = RawConn::new(stream);
        if c.accept(&[]).is_err() {
            return;
        }
        // Take a little of what the client sends, then vanish without a Close.
        let mut some = [0u8; 64 * 1024];
        let _ = c.stream.read(&mut some);
    });
    for cycle in 0..CYCLES {
        let (callback, rx) = collector();
        let client = Arc::new(WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap());
        client.connect(&[]).unwrap();
        thread::scope(|s| {
            for t in 0..SENDERS {
                let client = client.clone();
                s.spawn(move || {
                    let payload = vec![t as u8; 1024];
                    for _ in 0..1_000_000 {
                        match client.send(payload.as_slice()) {
                            Ok(()) => {}
                            Err(Error::NotConnected) => return,
                            Err(other) => panic!("cycle {cycle}: send failed with {other:?}"),
                        }
                    }
                    panic!("cycle {cycle}: the connection never ended");
                });
            }
        });
        expect_end(&rx);
        let info = client.close_info().expect("close info after the end");
        assert!(!info.clean, "cycle {cycle}: {info:?}");
        drop(client);
        expect_no_more(&rx);
    }
}
