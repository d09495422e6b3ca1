//! A plain sending loop that runs ahead of the network: `send` waits at `send_high_water`,
//! and while it waits the connection thread hands it the socket to write on its own thread
//! (while the connection thread reads the echoes). Every message arrives whole and in
//! order, and the echoes come back whole and in order.

mod support;

use support::*;
use wsthread::Message;

const MESSAGES: usize = 96;
const SIZE: usize = 256 << 10; // 24 MiB in all: many times the high water (1 MiB)

fn payload(i: usize) -> Vec<u8> {
    let mut p = vec![(i * 37 % 251) as u8; SIZE];
    p[..8].copy_from_slice(&(i as u64).to_be_bytes());
    p
}

#[test]
fn sending_loop_ahead_of_the_network_echoes_in_order() {
    let (_server, _seen, client, rx) = connected_echo();
    for i in 0..MESSAGES {
        client.send(payload(i)).unwrap();
        assert!(client.buffered_amount() <= (1 << 20) + SIZE, "send ran past the high water");
    }
    for i in 0..MESSAGES {
        match next_message(&rx) {
            Message::Binary(got) => assert!(got == payload(i), "echo {i} differs (len {})", got.len()),
            other => panic!("echo {i}: {other:?}"),
        }
    }
    client.disconnect().unwrap();
    expect_end(&rx);
    assert!(client.close_info().unwrap().clean);
}
