//! A server that answers 101 with an extension the client did not offer (here
//! permessage-deflate) is refused with `Error::Handshake`.

mod support;

use support::*;
use wsthread::Options;

#[test]
fn extension_not_offered_is_refused() {
    let server = raw_101_server(&["Sec-WebSocket-Extensions: permessage-deflate"]);
    let options = Options::new(&server.ws_url("/")).unwrap();
    expect_handshake_error(options, "extension");
}
