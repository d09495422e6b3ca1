//! `send_high_water` bounds what a waiting sender queues; the rest of `send_queue_limit` is
//! for those that cannot wait: against a server that reads nothing, `send_timeout` waits
//! once the high water is queued (and takes the limit's room only when its time is up),
//! `try_send` fills the queue to the limit, and nothing is lost once the server reads.

mod support;

use std::time::Instant;

use support::*;
use wsthread::{Options, TrySendError, WebSocketClient};

const SIZE: usize = 64 << 10;
const HIGH_WATER: usize = 256 << 10;
const LIMIT: usize = 4 << 20;
const FRAME: usize = SIZE + 14;

#[test]
fn send_waits_at_high_water_try_send_uses_the_limit() {
    let (read_tx, read) = crossbeam_channel::bounded::<()>(1);
    let (got_tx, got) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        let _ = read.recv_timeout(secs(60)); // reads nothing until told
        c.stream.set_read_timeout(Some(secs(10))).unwrap();
        while let Ok(f) = c.read_frame() {
            if f.opcode == OP_CLOSE || got_tx.send(f.payload).is_err() {
                break;
            }
        }
    });
    let options = Options::new(&server.ws_url("/"))
        .unwrap()
        .send_queue_limit(LIMIT)
        .send_high_water(HIGH_WATER)
        .write_timeout(None);
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    client.connect(&[]).unwrap();
    let numbered = |i: u32| {
        let mut message = vec![0u8; SIZE];
        message[..4].copy_from_slice(&i.to_be_bytes());
        message
    };

    // Sent until one send has to wait: the socket's buffers fill first, then the queue.
    // (Bytes only leave the queue meanwhile: what it held when a send looked is at most
    // `before` and at least `after` less the frame.)
    let mut accepted = 0u32;
    loop {
        let before = client.buffered_amount();
        let start = Instant::now();
        client.send_timeout(numbered(accepted), ms(200)).expect("the limit has room after the wait");
        accepted += 1;
        if start.elapsed() >= ms(200) {
            assert!(before + FRAME > HIGH_WATER, "waited with room below the high water: {before} queued");
            break;
        }
        let after = client.buffered_amount();
        assert!(after <= HIGH_WATER, "went past the high water without waiting: {after} queued");
        assert!(accepted < 100_000, "6 GB accepted by a server that reads nothing");
    }

    // Those that cannot wait fill the queue to the limit.
    let refused = loop {
        match client.try_send(numbered(accepted)) {
            Ok(()) => accepted += 1,
            Err(e) => break e,
        }
        assert!(accepted < 100_000, "6 GB accepted by a server that reads nothing");
    };
    assert!(matches!(refused, TrySendError::Full(_)), "{refused:?}");
    let buffered = client.buffered_amount();
    eprintln!("{accepted} messages accepted; {buffered} bytes buffered");
    assert!(buffered > LIMIT - FRAME && buffered <= LIMIT, "try_send stopped at {buffered}, not the limit");

    // The server reads: all that was accepted arrives, in order.
    read_tx.send(()).unwrap();
    for i in 0..accepted {
        let payload = got.recv_timeout(WAIT).expect("a queued message never arrived");
        assert_eq!(&payload[..4], &i.to_be_bytes());
    }
    client.disconnect().unwrap();
    expect_end(&rx);
}
