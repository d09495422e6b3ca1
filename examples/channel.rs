//! The channel form, with no callback at all: one plain loop `select!`s the connection's
//! events against a ticker and the lines of stdin.
//!
//! ```text
//! cargo run --example channel              # starts its own local echo server
//! cargo run --example channel -- URL       # or talks to URL
//! ```
//!
//! Each line of stdin is sent as a text message; every second a ping goes out; every event
//! (opened, message, ping, pong, closed) is printed. At the end of stdin, or after ten
//! ticks, the client disconnects and the loop ends with the `Closed` event.

use std::io::{self, BufRead};
use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use wsthread::crossbeam_channel::{self, select, tick};
use wsthread::{Event, Options, WebSocketClient};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => echo_server()?,
    };

    // Events wait in a bounded channel (Options::channel_capacity): if this loop falls
    // behind, the client stops reading and the server slows down; nothing is dropped.
    let (client, events) = WebSocketClient::channel(Options::new(&url)?)?;
    client.connect(&[])?;

    let mut lines = stdin_lines();
    let ticker = tick(Duration::from_secs(1));
    let mut ticks = 0;
    loop {
        select! {
            recv(events) -> event => match event? {
                Event::Opened(handshake) => println!("opened: {} {url}", handshake.status),
                Event::Message(message) => println!("message: {message:?}"),
                Event::Ping(payload) => println!("ping: {payload:?}"),
                Event::Pong(payload) => println!("pong: {:?}", String::from_utf8_lossy(&payload)),
                Event::Closed(info) => {
                    println!("closed: {info}");
                    break;
                }
                other => println!("{other:?}"),
            },
            recv(ticker) -> _ => {
                ticks += 1;
                if ticks == 10 {
                    // From the reading thread itself: disconnect never waits for this loop.
                    client.disconnect()?;
                } else if client.is_open() {
                    client.ping(format!("tick {ticks}"))?;
                }
            }
            recv(lines) -> line => match line {
                Ok(line) => client.send(line)?,
                // The end of stdin: no more lines to wait for.
                Err(_) => {
                    lines = crossbeam_channel::never();
                    client.disconnect()?;
                }
            },
        }
    }
    Ok(())
}

/// Lines of stdin, read on a thread of their own; the channel ends with stdin.
fn stdin_lines() -> crossbeam_channel::Receiver<String> {
    let (tx, rx) = crossbeam_channel::bounded(16);
    thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// A local echo server (tungstenite's server side) for one connection; returns its URL.
fn echo_server() -> Result<String, BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("ws://{}/", listener.local_addr()?);
    thread::spawn(move || -> Result<(), BoxError> {
        let (stream, _) = listener.accept()?;
        let mut ws = tungstenite::accept(stream)?;
        loop {
            match ws.read() {
                Ok(msg) if msg.is_text() || msg.is_binary() => ws.send(msg)?,
                Ok(_) => {}
                Err(_) => return Ok(()),
            }
        }
    });
    Ok(url)
}
