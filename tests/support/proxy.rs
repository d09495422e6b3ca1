//! Small proxies for the tests, on 127.0.0.1:0: an HTTP CONNECT proxy and a SOCKS5 proxy
//! (RFC 1928, with RFC 1929 user name and password), each optionally demanding credentials
//! or refusing every tunnel. They report what the client asked for on a channel, and resolve
//! any name ending in `.test` (RFC 6761) to 127.0.0.1 themselves, so that a test can prove the
//! name reached the proxy unresolved.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::thread;

use crossbeam_channel::{Receiver, Sender};
use wsthread::{Handshake, Message, Options, WebSocketClient};

use super::{collector, expect_end, next_message, Server, WAIT};

/// What a test proxy was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    /// An HTTP `CONNECT`: its target and `Proxy-Authorization` header, the whole head.
    Connect { target: String, authorization: Option<String>, head: String },
    /// A SOCKS5 CONNECT: the target as sent (`name:port` or `ip:port`), whether it was a
    /// name, and the user name and password if the client authenticated.
    Socks { target: String, by_name: bool, credentials: Option<(String, String)> },
}

/// How a test proxy behaves.
#[derive(Clone, Default)]
pub struct ProxyRules {
    /// Demand these credentials (Basic for HTTP, RFC 1929 for SOCKS5).
    pub credentials: Option<(String, String)>,
    /// HTTP: answer every CONNECT with this status and body. SOCKS5: with this reply code.
    pub refuse: Option<(u16, &'static str)>,
}

impl ProxyRules {
    pub fn open() -> ProxyRules {
        ProxyRules::default()
    }

    pub fn with_credentials(user: &str, pass: &str) -> ProxyRules {
        ProxyRules { credentials: Some((user.to_owned(), pass.to_owned())), refuse: None }
    }

    pub fn refusing(status: u16, body: &'static str) -> ProxyRules {
        ProxyRules { credentials: None, refuse: Some((status, body)) }
    }
}

/// Connects with `options` to an echo server, checks that a text and a binary message come
/// back, closes cleanly, and returns the handshake.
pub fn echo_round_trip(options: Options) -> Handshake {
    let (callback, events) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    let handshake = client.connect(&[]).unwrap();
    client.send("through the tunnel").unwrap();
    client.send(vec![0u8, 1, 2, 255]).unwrap();
    assert_eq!(next_message(&events), Message::Text("through the tunnel".into()));
    assert_eq!(next_message(&events), Message::Binary(vec![0, 1, 2, 255]));
    client.disconnect().unwrap();
    expect_end(&events);
    assert!(client.close_info().unwrap().clean);
    handshake
}

/// The next thing a test proxy was asked; fails after `WAIT`.
pub fn next_asked(asked: &Receiver<Asked>) -> Asked {
    asked.recv_timeout(WAIT).expect("the proxy was asked nothing")
}

/// An HTTP proxy that opens tunnels with CONNECT.
pub fn connect_proxy(rules: ProxyRules) -> (Server, Receiver<Asked>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, _| {
        let _ = serve_connect(stream, &rules, &tx);
    });
    (server, rx)
}

/// A SOCKS5 proxy.
pub fn socks5_proxy(rules: ProxyRules) -> (Server, Receiver<Asked>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, _| {
        let _ = serve_socks5(stream, &rules, &tx);
    });
    (server, rx)
}

fn serve_connect(mut client: TcpStream, rules: &ProxyRules, asked: &Sender<Asked>) -> io::Result<()> {
    // Byte by byte up to the blank line: whatever follows belongs to the tunnel.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8];
        if client.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let target = head.split(' ').nth(1).unwrap_or("").to_owned();
    let authorization = super::header_value(&head, "proxy-authorization");
    let _ = asked.send(Asked::Connect { target: target.clone(), authorization: authorization.clone(), head: head.clone() });

    if let Some((status, body)) = rules.refuse {
        return answer(&mut client, status, "Refused", &[], body);
    }
    if let Some((user, pass)) = &rules.credentials {
        let expected = format!("Basic {}", base64(format!("{user}:{pass}").as_bytes()));
        if authorization.as_deref() != Some(expected.as_str()) {
            let challenge = ["Proxy-Authenticate: Basic realm=\"test\""];
            return answer(&mut client, 407, "Proxy Authentication Required", &challenge, "who are you?");
        }
    }
    let Some(upstream) = dial(&target) else {
        return answer(&mut client, 502, "Bad Gateway", &[], "cannot reach the target");
    };
    client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    splice(client, upstream);
    Ok(())
}

fn answer(client: &mut TcpStream, status: u16, reason: &str, headers: &[&str], body: &str) -> io::Result<()> {
    let mut text = format!("HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nX-Test-Proxy: yes\r\n", body.len());
    for h in headers {
        text.push_str(h);
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    text.push_str(body);
    client.write_all(text.as_bytes())
}

fn serve_socks5(mut client: TcpStream, rules: &ProxyRules, asked: &Sender<Asked>) -> io::Result<()> {
    // RFC 1928 §3: version, method count, methods.
    let [version, count] = read_array(&mut client)?;
    let methods = read_vec(&mut client, count.into())?;
    if version != 5 {
        return Ok(());
    }
    let mut credentials = None;
    if let Some((user, pass)) = &rules.credentials {
        if !methods.contains(&2) {
            return client.write_all(&[5, 0xFF]);
        }
        client.write_all(&[5, 2])?;
        // RFC 1929 §2: version 1, user, password; the answer's status 0 means accepted.
        let [_, ulen] = read_array(&mut client)?;
        let got_user = String::from_utf8_lossy(&read_vec(&mut client, ulen.into())?).into_owned();
        let [plen] = read_array(&mut client)?;
        let got_pass = String::from_utf8_lossy(&read_vec(&mut client, plen.into())?).into_owned();
        if (&got_user, &got_pass) != (user, pass) {
            return client.write_all(&[1, 1]);
        }
        client.write_all(&[1, 0])?;
        credentials = Some((got_user, got_pass));
    } else {
        if !methods.contains(&0) {
            return client.write_all(&[5, 0xFF]);
        }
        client.write_all(&[5, 0])?;
    }
    // RFC 1928 §4: version, CONNECT, reserved, address type, address, port.
    let [_, _command, _, atyp] = read_array(&mut client)?;
    let (host, by_name) = match atyp {
        1 => (IpAddr::from(read_array::<4>(&mut client)?).to_string(), false),
        4 => (format!("[{}]", Ipv6Addr::from(read_array::<16>(&mut client)?)), false),
        3 => {
            let [len] = read_array(&mut client)?;
            (String::from_utf8_lossy(&read_vec(&mut client, len.into())?).into_owned(), true)
        }
        _ => return Ok(()),
    };
    let port = u16::from_be_bytes(read_array(&mut client)?);
    let target = format!("{host}:{port}");
    let _ = asked.send(Asked::Socks { target: target.clone(), by_name, credentials });
    let bound = [0, 1, 127, 0, 0, 1, 0, 0]; // reserved, IPv4, 127.0.0.1, port 0
    if let Some((code, _)) = rules.refuse {
        return client.write_all(&[&[5, code as u8], &bound[..]].concat());
    }
    let Some(upstream) = dial(&target) else {
        return client.write_all(&[&[5, 5], &bound[..]].concat());
    };
    client.write_all(&[&[5, 0], &bound[..]].concat())?;
    splice(client, upstream);
    Ok(())
}

/// Connects to `host:port`; names ending in `.test` are 127.0.0.1.
fn dial(target: &str) -> Option<TcpStream> {
    let (host, port) = target.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let addr = if host.ends_with(".test") {
        SocketAddr::from((Ipv4Addr::LOCALHOST, port))
    } else {
        (host.trim_start_matches('[').trim_end_matches(']'), port).to_socket_addrs().ok()?.next()?
    };
    TcpStream::connect(addr).ok()
}

/// Copies both ways until either side ends, then ends both.
fn splice(client: TcpStream, upstream: TcpStream) {
    let (Ok(client2), Ok(upstream2)) = (client.try_clone(), upstream.try_clone()) else { return };
    thread::scope(|s| {
        s.spawn(|| {
            let _ = io::copy(&mut &upstream2, &mut &client2);
            let _ = client2.shutdown(Shutdown::Both);
            let _ = upstream2.shutdown(Shutdown::Both);
        });
        let _ = io::copy(&mut &client, &mut &upstream);
        let _ = client.shutdown(Shutdown::Both);
        let _ = upstream.shutdown(Shutdown::Both);
    });
}

fn read_array<const N: usize>(stream: &mut TcpStream) -> io::Result<[u8; N]> {
    let mut buf = [0u8; N];
    stream.read_exact(&mut buf)?;
    Ok(buf)
}

fn read_vec(stream: &mut TcpStream, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    stream.read_exact(&mut buf)?;
    Ok(buf)
}

/// Standard base64 (RFC 4648 §4), to check Basic credentials.
pub fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() { ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}
