//! A peer that stops reading while we send (the fault proxy stops reading the client's
//! side, whose receive buffer is small): the client's writes back up, `disconnect()` still
//! returns once `close_timeout` has passed, with exactly one `None`, and `close_info`
//! counts what never left (messages and bytes), says our Close was never sent (1006, not
//! clean): nothing is lost silently.

mod support;

use support::*;
use wsthread::{CloseCode, ClosedBy, Message};

const MESSAGES: usize = 200;
const SIZE: usize = 64 * 1024;

#[test]
fn peer_stops_reading_while_we_send() {
    let (server, _seen) = echo_server();
    let proxy = FaultProxy::new(server.addr());
    let close_timeout = ms(300);
    let (client, rx) = connected_through(&proxy, close_timeout);
    client.send("before").unwrap();
    assert_eq!(next_message(&rx), Message::Text("before".into()));

    proxy.set(Fault::StopReadingClient);
    let to_server = proxy.forwarded_to_server();
    // Queued with `try_send`, which takes the whole `send_queue_limit` (16 MiB); `send`
    // would wait at `send_high_water` (1 MiB) for a drain that never comes.
    for i in 0..MESSAGES {
        client.try_send(vec![i as u8; SIZE]).unwrap();
    }
    disconnect_after_close_timeout(&client, &rx, close_timeout);

    let info = client.close_info().unwrap();
    eprintln!("{info}");
    assert_eq!((info.code, info.closed_by), (CloseCode::ABNORMAL, ClosedBy::Local), "{info}");
    assert!(!info.clean, "{info}");
    assert!(info.error.as_deref().is_some_and(|e| e.contains("never sent")), "{info}");
    assert!(info.unsent_messages > 0 && info.unsent_messages <= MESSAGES, "{info}");
    // Whatever was not counted as unsent was written whole into the socket; the socket
    // buffers (the client's send buffer, the proxy's small receive buffer) hold little.
    let left = (MESSAGES - info.unsent_messages) * SIZE;
    let whole = MESSAGES - info.unsent_messages;
    eprintln!("{whole} messages ({left} bytes) were written whole into the socket before it backed up");
    assert!(left < 8 << 20, "{left} bytes written to a peer that reads nothing: {info}");
    assert!(info.unsent_bytes >= (info.unsent_messages as u64 - 1) * SIZE as u64, "{info}");
    assert_eq!(proxy.forwarded_to_server(), to_server, "the proxy read nothing meanwhile");
    drop(client);
    expect_no_more(&rx);
}
