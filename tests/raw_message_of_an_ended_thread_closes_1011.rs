//! A thread that starts a raw fragmented message and ends without its final frame would
//! hold back every other sender for ever; the connection is closed with 1011 instead, and
//! the server never receives the part as a whole message.

mod support;

use support::*;
use wsthread::{CloseCode, Options, OpCode, WebSocketClient};

#[test]
fn raw_message_of_an_ended_thread_closes_1011() {
    let (server, record) = recording_server();
    let client = WebSocketClient::new(|_| {}, Options::new(&server.ws_url("/")).unwrap()).unwrap();
    client.connect(&[]).unwrap();
    let handle = client.handle();
    std::thread::spawn(move || handle.send_frame(OpCode::Text, b"never ", false).unwrap()).join().unwrap();

    let (code, frames) = record.recv_timeout(WAIT).expect("the server saw the Close");
    assert_eq!(code, Some(1011));
    assert_eq!(frames.len(), 1, "only the first fragment left");
    assert!(!frames[0].fin && frames[0].opcode == OP_TEXT && frames[0].payload == b"never ");
    // The close was ours; a send now is refused rather than waiting for the dead thread.
    assert!(client.send("after").is_err());
    client.disconnect().unwrap();
    assert_eq!(client.close_info().unwrap().code, CloseCode::INTERNAL_ERROR);
}
