//! A complete round trip without the internet: start a local echo server, connect to it,
//! send a text and a binary message, print what comes back, disconnect.
//!
//! ```text
//! cargo run --example echo
//! ```

use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use wsthread::{Message, Options, WebSocketClient};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    // 1. A one-connection echo server on a free local port (tungstenite's server side).
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("ws://{}/", listener.local_addr()?);
    let server = thread::spawn(move || -> Result<(), BoxError> {
        let (stream, _) = listener.accept()?;
        let mut ws = tungstenite::accept(stream)?;
        loop {
            match ws.read() {
                Ok(msg) if msg.is_text() || msg.is_binary() => ws.send(msg)?,
                Ok(_) => {} // ping, pong, close: tungstenite answers them itself
                Err(tungstenite::Error::ConnectionClosed) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
    });

    // 2. The client. The callback runs on the connection thread; it passes every event to
    //    this thread through a channel: Some(message) per message, None once at the end.
    let (tx, rx) = crossbeam_channel::unbounded();
    let client = WebSocketClient::new(
        move |msg: Option<Message>| {
            let _ = tx.send(msg);
        },
        Options::new(&url)?,
    )?;

    let handshake = client.connect(&[("User-Agent", "wsthread-echo-example")])?;
    println!("connected to {url} ({})", handshake.peer_addr);
    println!("  status: {}", handshake.status);
    for (name, value) in &handshake.headers {
        println!("  {name}: {value}");
    }
    let t = handshake.timings;
    println!(
        "  timings: dns {:?}, tcp {:?}, upgrade {:?}, total {:?}",
        t.dns,
        t.tcp_connect,
        t.upgrade,
        t.total()
    );

    // 3. Send two messages and wait for their echoes.
    client.send("hello, wsthread")?;
    client.send(vec![0xde, 0xad, 0xbe, 0xef])?;
    for _ in 0..2 {
        match rx.recv_timeout(Duration::from_secs(5))? {
            Some(Message::Text(text)) => println!("received text: {text:?}"),
            Some(Message::Binary(bytes)) => println!("received binary: {bytes:02x?}"),
            None => return Err("the connection ended before the echo came back".into()),
        }
    }

    // 4. Close (1001 Going Away). From this thread, disconnect waits for the server's Close
    //    and for the callback's final None.
    client.disconnect()?;
    assert_eq!(rx.try_recv()?, None);
    if let Some(info) = client.close_info() {
        println!(
            "closed: code {}, reason {:?}, closed_by {:?}, clean {}, error {:?}",
            info.code, info.reason, info.closed_by, info.clean, info.error
        );
    }

    // 5. The server thread ends with its one connection.
    server.join().expect("server thread panicked")?;
    println!("server stopped");
    Ok(())
}
