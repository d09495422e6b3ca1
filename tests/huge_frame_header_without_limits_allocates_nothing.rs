//! With both size limits off (`None`), a frame header announcing 2^40 bytes allocates
//! nothing up front: the client takes what actually arrives, and when the server then drops
//! TCP in the middle of the frame, the connection ends abnormally (1006, closed by the
//! server) and the program goes on.
//!
//! In a file of its own: a failed allocation aborts the process instead of panicking, and
//! would take every other test of the same binary down with it.

mod support;

use support::hostile::frame_header;
use support::*;
use wsthread::{CloseCode, ClosedBy, Options, WebSocketClient};

#[test]
fn huge_frame_header_without_limits_allocates_nothing() {
    let server = Server::threaded(|stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        let mut bytes = frame_header(true, OP_BINARY, 1 << 40);
        bytes.extend_from_slice(&[0x5A; 4096]);
        c.write_all(&bytes).unwrap();
        // Returning ends the connection: FIN, a frame 2^40 - 4096 bytes short.
    });
    let options = Options::new(&server.ws_url("/")).unwrap().max_frame_size(None).max_message_size(None);
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    client.connect(&[]).unwrap();
    expect_end(&rx);
    let info = client.close_info().unwrap();
    assert_eq!(info.code, CloseCode::ABNORMAL, "{info:?}");
    assert_eq!(info.closed_by, ClosedBy::Remote, "{info:?}");
    assert!(!info.clean, "{info:?}");
    drop(client);
    expect_no_more(&rx);
}
