//! `Event::Ping` promises that "the pong has already been queued": by the time the event
//! callback sees a ping, the frame hook has seen the pong go out, so a callback that blocks
//! (or a full channel) does not hold back the answer to a ping already read. The server
//! pings twice and waits for each pong; the callback checks the promise at each ping.

mod support;

use support::*;
use wsthread::{Direction, Event, OpCode, Options, WebSocketClient};

#[test]
fn ping_event_after_its_pong_is_queued() {
    let server = Server::threaded(|stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        for payload in [&b"first"[..], b"second"] {
            c.write_frame(true, false, OP_PING, payload).unwrap();
            let pong = c.read_frame().unwrap();
            assert_eq!((pong.opcode, pong.payload.as_slice()), (OP_PONG, payload));
        }
        c.write_close(1000, "").unwrap();
        let _ = c.read_close();
    });
    let (pongs_tx, pongs) = crossbeam_channel::unbounded();
    let options = Options::new(&server.ws_url("/")).unwrap().frame_hook(move |f| {
        if f.direction == Direction::Outgoing && f.opcode == OpCode::Pong {
            let _ = pongs_tx.send(f.payload.to_vec());
        }
    });
    // At each ping: the pongs the hook had seen go out by then.
    let (seen_tx, seen) = crossbeam_channel::unbounded();
    let client = WebSocketClient::with_events(
        move |_, event| match event {
            Event::Ping(payload) => seen_tx.send(Some((payload, pongs.try_iter().collect::<Vec<_>>()))).unwrap(),
            Event::Closed(_) => seen_tx.send(None).unwrap(),
            _ => {}
        },
        options,
    )
    .unwrap();
    client.connect(&[]).unwrap();
    for payload in [&b"first"[..], b"second"] {
        let (ping, queued) = seen.recv_timeout(WAIT).unwrap().expect("a ping event before Closed");
        assert_eq!(ping, payload);
        assert_eq!(queued, vec![payload.to_vec()], "pongs queued when the Ping event came (the doc: already queued)");
    }
    assert_eq!(seen.recv_timeout(WAIT).unwrap(), None);
}
