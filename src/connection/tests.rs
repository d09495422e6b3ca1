use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use mio::{Interest, Waker};

use super::*;
use crate::dial::WAKER;
use crate::events::Discard;
use crate::frame::tests::decode;
use crate::protocol::{FrameObserver, Limits};

/// A connection thread over a loopback socket whose message layer panics on the first
/// frame (its observer does): a bug of ours must still end in a Close frame, not a 1006.
#[test]
fn an_internal_panic_still_sends_close_1011() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    client.set_nonblocking(true).unwrap();
    let mut socket = mio::net::TcpStream::from_std(client);
    let poll = Poll::new().unwrap();
    poll.registry().register(&mut socket, SOCKET, Interest::READABLE | Interest::WRITABLE).unwrap();
    let waker = Arc::new(Waker::new(poll.registry(), WAKER).unwrap());
    let transport = Transport::Plain(Arc::new(socket));
    let outbox = Arc::new(Outbox::new(waker, Some(transport.clone()), None, None, (usize::MAX, usize::MAX)));
    let observer: FrameObserver = Arc::new(|_, _, _| panic!("observer bug"));
    let protocol = Protocol::new(Limits::default(), None, Some(observer));
    let status = Arc::new(Status::new());
    let handshake = crate::report::Handshake {
        status: 101,
        headers: Vec::new(),
        subprotocol: None,
        extensions: Vec::new(),
        deflate: None,
        peer_addr: server.local_addr().unwrap(),
        tls: None,
        proxy: crate::proxy::ProxyChoice { proxy: None, reason: String::new() },
        timings: Default::default(),
    };
    let parts = Parts { transport, tail: Vec::new(), poll, outbox, protocol, status, close_timeout: Duration::from_secs(10),
        ping_interval: None,
        pong_timeout: Duration::from_secs(10),
        write_timeout: None,
        busy_poll: Duration::ZERO,
        handshake,
    };
    server.write_all(&[0x81, 0x02, b'h', b'i']).unwrap();
    let thread = std::thread::spawn(move || Connection::new(parts).run(&mut Discard));

    // The server reads on a thread of its own and reports; the client's close timeout
    // (10 s) ends its side at the latest, which ends that read.
    let (frame_tx, frame_rx) = crossbeam_channel::bounded(1);
    let mut reader = server.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        while got.len() < 2 || got.len() < 6 + (got[1] & 0x7F) as usize {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        let _ = frame_tx.send(got);
    });
    let got = frame_rx.recv_timeout(Duration::from_secs(20)).expect("the server's read never ended");
    assert!(got.len() >= 6, "the client closed TCP without a Close frame: {got:?}");
    let (head, payload, _) = decode(&got);
    assert_eq!(head.opcode, OP_CLOSE);
    assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), 1011);
    drop(server); // the client's linger ends at our FIN
    let (info, _) = thread.join().unwrap();
    assert_eq!((info.code, info.closed_by), (CloseCode::INTERNAL_ERROR, ClosedBy::Local), "{info}");
    assert!(info.error.as_deref().is_some_and(|e| e.contains("internal error: observer bug")), "{info}");
}
