//! Text and binary messages come back from an echo server exactly as sent, including empty
//! messages and 1 MiB ones.

mod support;

use support::*;
use wsthread::Message;

#[test]
fn echo_text_and_binary() {
    let (server, _seen, client, rx) = echo_client();
    let handshake = client.connect(&[]).unwrap();
    assert_eq!(handshake.status, 101);
    assert_eq!(handshake.peer_addr, server.addr());
    assert!(handshake.tls.is_none());
    assert!(client.is_open());

    let big_text: String = (0..(1 << 20)).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    let big_binary: Vec<u8> = (0..(1u32 << 20)).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let sent = vec![
        Message::Text("hello".into()),
        Message::Binary(vec![0, 1, 2, 255]),
        Message::Text(String::new()),
        Message::Binary(Vec::new()),
        Message::Text("héllo wörld ✓ 🚀".into()),
        Message::Text(big_text),
        Message::Binary(big_binary),
        Message::Text("last".into()),
    ];
    for m in &sent {
        client.send(m.clone()).unwrap();
    }
    for expected in &sent {
        let got = next_message(&rx);
        assert_eq!(&got, expected);
    }

    // The From conversions pick the kind.
    client.send("str").unwrap();
    client.send(String::from("string")).unwrap();
    client.send(vec![7u8, 8]).unwrap();
    client.send(&b"slice"[..]).unwrap();
    assert_eq!(next_message(&rx), Message::Text("str".into()));
    assert_eq!(next_message(&rx), Message::Text("string".into()));
    assert_eq!(next_message(&rx), Message::Binary(vec![7, 8]));
    assert_eq!(next_message(&rx), Message::Binary(b"slice".to_vec()));

    client.disconnect().unwrap();
    expect_end(&rx);
    drop(client);
    expect_no_more(&rx);
}
