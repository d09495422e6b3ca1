//! `send_frame` refuses every sequence that would break RFC 6455 with a typed
//! `Error::Frame(FrameError::…)`, and nothing of a refused frame reaches the wire: a
//! continuation with nothing to continue (also from a thread other than the one whose message
//! is in progress), a new data frame (or `send`, `send_fragments`, a writer's fragment) inside
//! this thread's own message, control frames over 125 bytes or without FIN, a raw Close,
//! reserved opcodes, text that cannot be UTF-8. A valid raw sequence with a ping between the
//! fragments arrives as one message; another thread's frame waits for its end. The server
//! records every frame the client sent, and the frame hook every frame the client queued:
//! both are exactly the valid frames, in order, and the connection stays open throughout.

mod support;

use std::io::Write;
use std::thread;

use support::*;
use wsthread::{Direction, Error, FrameError, MessageKind, OpCode, Options, State, WebSocketClient};

/// `result` is the refusal `want`.
#[track_caller]
fn refused(result: Result<(), Error>, want: FrameError) {
    match result {
        Err(Error::Frame(got)) => assert_eq!(got, want),
        other => panic!("expected Error::Frame({want:?}), got {other:?}"),
    }
}

#[test]
fn raw_frame_sequences_refused() {
    let (server, frames_rx) = recording_server();
    let (hooked_tx, hooked) = crossbeam_channel::unbounded();
    let options = Options::new(&server.ws_url("/")).unwrap().frame_hook(move |f| {
        if f.direction == Direction::Outgoing && f.opcode != OpCode::Close {
            let _ = hooked_tx.send((f.opcode.code(), f.fin, f.payload.to_vec()));
        }
    });
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    client.connect(&[]).unwrap();
    let ws = client.handle();

    // Nothing in progress.
    refused(ws.send_frame(OpCode::Continue, b"x", true), FrameError::NothingToContinue);
    refused(ws.send_frame(OpCode::Continue, b"x", false), FrameError::NothingToContinue);
    refused(ws.send_frame(OpCode::Ping, &[b'p'; 126], true), FrameError::ControlTooLong(126));
    refused(client.send_frame(OpCode::Pong, &[b'p'; 200], true), FrameError::ControlTooLong(200));
    refused(ws.send_frame(OpCode::Ping, b"p", false), FrameError::FragmentedControl);
    refused(ws.send_frame(OpCode::Pong, b"p", false), FrameError::FragmentedControl);
    refused(ws.send_frame(OpCode::Close, &close_payload(1000, "bye"), true), FrameError::Close);
    refused(ws.send_frame(OpCode::Reserved(0x3), b"r", true), FrameError::ReservedOpCode(0x3));
    refused(ws.send_frame(OpCode::Reserved(0xB), b"r", true), FrameError::ReservedOpCode(0xB));
    refused(ws.send_frame(OpCode::Text, b"\xff", true), FrameError::InvalidUtf8);
    refused(ws.send_frame(OpCode::Text, b"a\xc3", true), FrameError::InvalidUtf8); // ends inside "é"
    refused(ws.send_frame(OpCode::Text, b"\xc3(", false), FrameError::InvalidUtf8);

    // A message of this thread in progress.
    ws.send_frame(OpCode::Text, b"Hel", false).unwrap();
    // Another thread's whole message waits for its end (it is not refused).
    let (calling_tx, calling) = crossbeam_channel::bounded(1);
    let other = {
        let ws = client.handle();
        thread::spawn(move || {
            calling_tx.send(()).unwrap();
            ws.send_frame(OpCode::Text, b"other", true)
        })
    };
    calling.recv_timeout(WAIT).unwrap();
    refused(ws.send_frame(OpCode::Text, b"new", true), FrameError::MessageInProgress);
    refused(ws.send_frame(OpCode::Binary, b"new", false), FrameError::MessageInProgress);
    refused(ws.send("whole"), FrameError::MessageInProgress);
    refused(ws.send_fragments(MessageKind::Binary, [b"a", b"b"]), FrameError::MessageInProgress);
    let mut writer = ws.writer(MessageKind::Binary).unwrap();
    writer.write_all(b"buffered").unwrap();
    let e = writer.flush().expect_err("a writer's fragment inside this thread's message");
    assert!(
        matches!(e.get_ref().and_then(|e| e.downcast_ref::<Error>()), Some(Error::Frame(FrameError::MessageInProgress))),
        "{e:?}"
    );
    refused(writer.finish(), FrameError::MessageInProgress);
    // A continuation from another thread: it has nothing to continue.
    let ws2 = client.handle();
    let from_other = thread::spawn(move || ws2.send_frame(OpCode::Continue, b"lo", true)).join().unwrap();
    refused(from_other, FrameError::NothingToContinue);
    refused(ws.send_frame(OpCode::Ping, &[0; 126], true), FrameError::ControlTooLong(126));
    refused(ws.send_frame(OpCode::Ping, b"", false), FrameError::FragmentedControl);
    refused(ws.send_frame(OpCode::Close, b"", true), FrameError::Close);
    refused(ws.send_frame(OpCode::Reserved(0x7), b"", false), FrameError::ReservedOpCode(0x7));
    refused(ws.send_frame(OpCode::Continue, b"\xff", true), FrameError::InvalidUtf8);
    refused(ws.send_frame(OpCode::Continue, b"\xc3", true), FrameError::InvalidUtf8); // ends inside
    assert!(client.is_open());
    // The valid rest: a ping in between, then the end.
    ws.send_frame(OpCode::Ping, b"mid", true).unwrap();
    ws.send_frame(OpCode::Continue, b"lo", true).unwrap();
    other.join().unwrap().expect("the other thread's message, after the end of this one");

    // A code point split between fragments, after a refused bad continuation.
    ws.send_frame(OpCode::Text, b"a\xc3", false).unwrap();
    refused(ws.send_frame(OpCode::Continue, b"(", true), FrameError::InvalidUtf8);
    ws.send_frame(OpCode::Continue, b"\xa9", true).unwrap();
    // A final continuation that would end inside a code point, then the right one.
    ws.send_frame(OpCode::Text, b"x", false).unwrap();
    refused(ws.send_frame(OpCode::Continue, b"\xc3", true), FrameError::InvalidUtf8);
    ws.send_frame(OpCode::Continue, b"\xc3\xa9", true).unwrap();
    ws.send("end").unwrap();
    assert_eq!(client.state(), State::Open);

    client.disconnect().unwrap();
    expect_end(&rx);
    let info = client.close_info().unwrap();
    assert!(info.clean && info.error.is_none(), "{info:?}");
    let (code, frames) = frames_rx.recv_timeout(WAIT).expect("the server's record");
    assert_eq!(code, Some(1001));
    let wire: Vec<(u8, bool, Vec<u8>)> = frames.iter().map(|f| (f.opcode, f.fin, f.payload.clone())).collect();
    let want: Vec<(u8, bool, Vec<u8>)> = vec![
        (OP_TEXT, false, b"Hel".to_vec()),
        (OP_PING, true, b"mid".to_vec()),
        (OP_CONT, true, b"lo".to_vec()),
        (OP_TEXT, true, b"other".to_vec()),
        (OP_TEXT, false, b"a\xc3".to_vec()),
        (OP_CONT, true, b"\xa9".to_vec()),
        (OP_TEXT, false, b"x".to_vec()),
        (OP_CONT, true, b"\xc3\xa9".to_vec()),
        (OP_TEXT, true, b"end".to_vec()),
    ];
    assert_eq!(wire, want, "what reached the wire");
    let queued: Vec<(u8, bool, Vec<u8>)> = hooked.try_iter().collect();
    assert_eq!(queued, want, "what the frame hook saw queued");
    drop(client);
    expect_no_more(&rx);
}
