//! A sender waiting for room in a full queue while the connection thread is stuck in the
//! callback (so nobody waits for the socket to drain) still gets its data out: it writes
//! the queue itself, and every message reaches the server, in order, long before the
//! callback returns.

mod support;

use std::sync::Arc;
use std::thread;

use support::*;
use wsthread::{Message, Options, WebSocketClient};

const MESSAGES: u32 = 64;
const SIZE: usize = 128 << 10;

#[test]
fn send_waits_for_room_while_callback_blocks() {
    let (got_tx, got) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        c.write_frame(true, false, OP_TEXT, b"block").unwrap();
        c.stream.set_read_timeout(Some(WAIT)).unwrap();
        while let Ok(f) = c.read_frame() {
            if f.opcode == OP_CLOSE || got_tx.send(f.payload).is_err() {
                break;
            }
        }
    });
    let (entered_tx, entered) = crossbeam_channel::bounded(1);
    let (release_tx, release) = crossbeam_channel::bounded::<()>(1);
    let options = Options::new(&server.ws_url("/")).unwrap().send_queue_limit(256 << 10);
    let client = Arc::new(
        WebSocketClient::new(
            move |m: Option<Message>| {
                if m.is_some() {
                    let _ = entered_tx.send(());
                    let _ = release.recv_timeout(WAIT * 3);
                }
            },
            options,
        )
        .unwrap(),
    );
    client.connect(&[]).unwrap();
    entered.recv_timeout(WAIT).expect("the callback never ran");
    let sender = {
        let client = client.clone();
        thread::spawn(move || {
            for i in 0..MESSAGES {
                let mut m = vec![0u8; SIZE];
                m[..4].copy_from_slice(&i.to_be_bytes());
                client.send(m).unwrap();
            }
        })
    };
    for i in 0..MESSAGES {
        let payload = got.recv_timeout(WAIT).unwrap_or_else(|_| panic!("message {i} never left while the callback blocked ({} bytes buffered)", client.buffered_amount()));
        assert_eq!(&payload[..4], &i.to_be_bytes());
    }
    sender.join().unwrap();
    release_tx.send(()).unwrap();
    client.disconnect().unwrap();
}
