//! A small command-line client to try any WebSocket server.
//!
//! ```text
//! cargo run --example wscat -- URL [-H 'Name: value']... [--protocol P]... [--ca FILE]
//!                                  [--insecure] [--show-handshake] [--connect-timeout SECS]
//!                                  [--show-frames] [--show-ping-pong]
//!                                  [--proxy URL | --no-proxy] [--origin ORIGIN]
//!                                  [--deflate] [--ping-interval SECS] [--pong-timeout SECS]
//!                                  [--reconnect]
//! ```
//!
//! Each line of stdin is sent as one text message; each text message received is printed as
//! one line on stdout, a binary one as `<binary N bytes>`; `--show-frames` prints every frame
//! in and out on stderr (`< text fin len=5`), `--show-ping-pong` the pings and pongs
//! received (`< ping "…"`). With `--reconnect` a lost connection is reconnected with the
//! default policy, `reconnected` printed on stderr each time. At the end of stdin the client
//! closes with 1000 and waits for the server's Close. Exit status: 0 after a clean close,
//! 1 when the connect fails or the connection ends abnormally, 2 for a usage error.

use std::io::{self, BufRead, Write};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use crossbeam_channel::Sender;
use wsthread::{
    DeflateOptions, Error, Event as WsEvent, Frame, Message, Options, Proxy, ProxySetting, Reconnect, ReconnectPolicy, WebSocketClient,
};

const USAGE: &str = "\
usage: wscat URL [options]

  URL                     ws://host[:port]/path or wss://...
  -H, --header 'N: V'     add a header to the upgrade request (repeatable)
  --protocol P            offer subprotocol P (repeatable, in order of preference)
  --ca FILE               also trust the CA certificate(s) in PEM file FILE
  --insecure              accept any server certificate (tests only)
  --show-handshake        print the response status and headers to stderr
  --connect-timeout SECS  give up connecting after SECS seconds (default 30)
  --show-frames           print each frame in and out on stderr ('< text fin len=5')
  --show-ping-pong        print the pings and pongs received on stderr
  --proxy URL             connect through this proxy (http://, socks5://, socks5h://,
                          user:password@ allowed) instead of the one the environment names
  --no-proxy              connect directly, whatever HTTPS_PROXY, HTTP_PROXY, ALL_PROXY say
  --origin ORIGIN         send this Origin header
  --deflate               offer permessage-deflate compression (RFC 7692)
  --ping-interval SECS    ping the server every SECS seconds (default 20; 0: never)
  --pong-timeout SECS     declare the server dead SECS seconds after a ping with
                          nothing received (default 20)
  --reconnect             reconnect when the connection is lost (backoff with jitter),
                          printing 'reconnected' on stderr each time
  -h, --help              show this help

Each stdin line is sent as a text message; received messages are printed on stdout.
At the end of stdin the client closes with 1000 and exits once the server has closed.";

struct Args {
    url: String,
    headers: Vec<(String, String)>,
    protocols: Vec<String>,
    ca: Option<String>,
    insecure: bool,
    show_handshake: bool,
    connect_timeout: Option<Duration>,
    show_frames: bool,
    show_ping_pong: bool,
    /// `None`: from the environment.
    proxy: Option<ProxySetting>,
    origin: Option<String>,
    deflate: bool,
    ping_interval: Option<Duration>,
    pong_timeout: Option<Duration>,
    reconnect: bool,
}

/// What the main thread waits for: stdin's lines and end, or the connection's end.
enum Event {
    Line(String),
    StdinEnd(Option<io::Error>),
    ConnectionEnded,
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(why) => {
            eprintln!("wscat: {why}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let options = match Options::new(&args.url) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("wscat: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args, options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("error: {why}");
            ExitCode::from(1)
        }
    }
}

fn run(args: Args, mut options: Options) -> Result<(), String> {
    for p in &args.protocols {
        options = options.subprotocol(p);
    }
    if let Some(file) = &args.ca {
        let pem = std::fs::read(file).map_err(|e| format!("cannot read {file}: {e}"))?;
        options = options.add_root_certificate_pem(pem);
    }
    if let Some(timeout) = args.connect_timeout {
        options = options.connect_timeout(timeout);
    }
    options = options.danger_accept_invalid_certs(args.insecure);
    if args.show_frames {
        options = options.frame_hook(|frame: &Frame| eprintln!("{frame}"));
    }
    if let Some(proxy) = args.proxy {
        options = options.proxy(proxy);
    }
    if let Some(origin) = args.origin {
        options = options.origin(origin);
    }
    if args.deflate {
        options = options.deflate(Some(DeflateOptions::default()));
    }
    if let Some(interval) = args.ping_interval {
        options = options.ping_interval((!interval.is_zero()).then_some(interval));
    }
    if let Some(timeout) = args.pong_timeout {
        options = options.pong_timeout(timeout);
    }
    if args.reconnect {
        options = options.reconnect(ReconnectPolicy::default());
    }

    let (events, wait) = crossbeam_channel::unbounded();
    let on_end = events.clone();
    let show_ping_pong = args.show_ping_pong;
    let mut opened = 0u64;
    let client = WebSocketClient::with_events(
        move |_, event: WsEvent| {
            // A closed stdout or stderr is not the connection's problem: ignore write errors.
            let _ = match event {
                WsEvent::Message(Message::Text(text)) => writeln!(io::stdout().lock(), "{text}"),
                WsEvent::Message(Message::Binary(bytes)) => {
                    writeln!(io::stdout().lock(), "<binary {} bytes>", bytes.len())
                }
                WsEvent::Ping(payload) if show_ping_pong => {
                    writeln!(io::stderr().lock(), "< ping {:?}", String::from_utf8_lossy(&payload))
                }
                WsEvent::Pong(payload) if show_ping_pong => {
                    writeln!(io::stderr().lock(), "< pong {:?}", String::from_utf8_lossy(&payload))
                }
                WsEvent::Opened(_) => {
                    opened += 1;
                    if opened > 1 {
                        writeln!(io::stderr().lock(), "reconnected")
                    } else {
                        Ok(())
                    }
                }
                WsEvent::Unsent(messages) => {
                    writeln!(io::stderr().lock(), "{} message(s) never sent", messages.len())
                }
                WsEvent::Reconnecting(next) => writeln!(
                    io::stderr().lock(),
                    "reconnecting in {:.1} s (attempt {}): {}",
                    next.delay.as_secs_f64(),
                    next.attempt,
                    next.why
                ),
                WsEvent::Closed(info) => {
                    // Under a reconnect policy that goes on, this is not the end.
                    if !matches!(info.reconnect, Reconnect::Next(_)) {
                        let _ = on_end.send(Event::ConnectionEnded);
                    }
                    Ok(())
                }
                _ => Ok(()),
            };
        },
        options,
    )
    .map_err(|e| e.to_string())?;

    let headers: Vec<(&str, &str)> = args
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let handshake = client.connect(&headers).map_err(|e| match &e {
        Error::Rejected(r) | Error::ProxyRejected(r) if !r.body.is_empty() => {
            format!("{e}\n{}", r.body_text().trim_end())
        }
        _ => e.to_string(),
    })?;
    if args.show_handshake {
        eprintln!("status: {}", handshake.status);
        for (name, value) in &handshake.headers {
            eprintln!("{name}: {value}");
        }
        if let Some(tls) = &handshake.tls {
            eprintln!("tls: {} {}", tls.protocol_version, tls.cipher_suite);
        }
        eprintln!("via: {}", handshake.proxy);
        if let Some(d) = &handshake.deflate {
            eprintln!(
                "permessage-deflate: client_max_window_bits={} server_max_window_bits={} \
                 client_no_context_takeover={} server_no_context_takeover={}",
                d.client_max_window_bits, d.server_max_window_bits, d.client_no_context_takeover, d.server_no_context_takeover
            );
        } else if args.deflate {
            eprintln!("permessage-deflate: declined by the server");
        }
    }

    // stdin is read on its own thread so that the main thread also hears when the server
    // ends the connection while stdin is still open.
    thread::spawn(move || read_stdin(events));
    for event in wait {
        match event {
            // A send fails only once the connection has ended; ConnectionEnded follows
            // (or, reconnecting, a new connection: this line is not sent).
            Event::Line(line) => {
                if let Err(e) = client.send(line) {
                    eprintln!("not sent: {e}");
                }
            }
            Event::StdinEnd(err) => {
                // Sends the Close after every queued message, waits for the server's Close.
                client
                    .disconnect_with(1000, "")
                    .map_err(|e| e.to_string())?;
                if let Some(e) = err {
                    return Err(format!("reading stdin: {e}"));
                }
                break;
            }
            Event::ConnectionEnded => break,
        }
    }

    let info = client
        .close_info()
        .ok_or("the connection did not report its end")?;
    if info.error.is_some() || !info.clean {
        return Err(format!("connection ended abnormally: {info}"));
    }
    eprintln!(
        "{}",
        format!("closed: {} {}", info.code, info.reason).trim_end()
    );
    Ok(())
}

fn read_stdin(events: Sender<Event>) {
    let mut stdin = io::stdin().lock();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match stdin.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {
                let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if events
                    .send(Event::Line(String::from_utf8_lossy(line).into_owned()))
                    .is_err()
                {
                    return;
                }
            }
            Err(e) => {
                let _ = events.send(Event::StdinEnd(Some(e)));
                return;
            }
        }
    }
    let _ = events.send(Event::StdinEnd(None));
}

/// `Ok(None)` for `--help`.
fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut url = None;
    let mut args = Args {
        url: String::new(),
        headers: Vec::new(),
        protocols: Vec::new(),
        ca: None,
        insecure: false,
        show_handshake: false,
        connect_timeout: None,
        show_frames: false,
        show_ping_pong: false,
        proxy: None,
        origin: None,
        deflate: false,
        ping_interval: None,
        pong_timeout: None,
        reconnect: false,
    };
    while let Some(arg) = argv.next() {
        let mut value = |name: &str| argv.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "-H" | "--header" => {
                let header = value(&arg)?;
                let (name, val) = header
                    .split_once(':')
                    .ok_or_else(|| format!("header {header:?} is not 'Name: value'"))?;
                args.headers
                    .push((name.trim().to_owned(), val.trim().to_owned()));
            }
            "--protocol" => args.protocols.push(value(&arg)?),
            "--ca" => args.ca = Some(value(&arg)?),
            "--insecure" => args.insecure = true,
            "--show-handshake" => args.show_handshake = true,
            "--show-frames" => args.show_frames = true,
            "--show-ping-pong" => args.show_ping_pong = true,
            "--proxy" => {
                let proxy = Proxy::new(&value(&arg)?).map_err(|e| e.to_string())?;
                args.proxy = Some(ProxySetting::Use(proxy));
            }
            "--no-proxy" => args.proxy = Some(ProxySetting::Direct),
            "--origin" => args.origin = Some(value(&arg)?),
            "--deflate" => args.deflate = true,
            "--reconnect" => args.reconnect = true,
            "--connect-timeout" => args.connect_timeout = Some(seconds(&arg, &value(&arg)?)?),
            "--ping-interval" => args.ping_interval = Some(seconds(&arg, &value(&arg)?)?),
            "--pong-timeout" => args.pong_timeout = Some(seconds(&arg, &value(&arg)?)?),
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            _ if url.is_some() => return Err(format!("unexpected argument {arg:?}")),
            _ => url = Some(arg),
        }
    }
    args.url = url.ok_or("missing URL")?;
    Ok(Some(args))
}

/// A duration given in (possibly fractional) seconds.
fn seconds(option: &str, text: &str) -> Result<Duration, String> {
    let secs: f64 = text.parse().map_err(|_| format!("{option} {text:?} is not a number"))?;
    Duration::try_from_secs_f64(secs).map_err(|_| format!("{option} {text:?} is out of range"))
}
