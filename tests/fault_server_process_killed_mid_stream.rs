//! A real server process killed while it streams messages to the client: this test runs
//! its own binary again as a child acting as the server, and kills it (`Child::kill`,
//! SIGKILL on Unix) once messages are flowing. The operating system closes the dead
//! process's socket without a Close frame. Proves: every message that reached the client is
//! delivered in order with no gap, then exactly one `None`, and `close_info` says 1006,
//! closed by the server's side, not clean, with the broken connection as the error.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Instant;

use support::*;
use wsthread::{CloseCode, ClosedBy, Message, Options, WebSocketClient};

/// Set in the child: act as the server.
const CHILD: &str = "WSTHREAD_TEST_KILLED_SERVER";
/// Messages the client sees before the kill.
const BEFORE_KILL: usize = 200;

/// The child's side: one WebSocket connection, "tick N" messages as fast as it can, until
/// it is killed (or, as a safety net, its parent goes away or a minute passes).
fn child() {
    // The parent holds our stdin: when it ends, the parent is gone.
    std::thread::spawn(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(0);
    });
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    println!("LISTENING {}", listener.local_addr().unwrap());
    let (stream, _) = listener.accept().unwrap();
    let mut ws = tungstenite::accept(stream).unwrap();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < secs(60) && ws.send(WsMessage::text(format!("tick {n}"))).is_ok() {
        n += 1;
    }
}

/// The child process, killed and reaped when dropped whatever happened.
struct ServerProcess {
    child: Child,
    _stdin: ChildStdin,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the child server; returns it and the address it listens on.
fn start_child() -> (ServerProcess, String) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "server_process_killed_mid_stream", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let process = ServerProcess { child, _stdin: stdin };
    let (tx, rx) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        // The harness prints `test name ... ` before the child's line, on the same line.
        let found = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|l| l.find("LISTENING ").map(|at| l[at + "LISTENING ".len()..].trim().to_owned()));
        let _ = tx.send(found);
    });
    let addr = rx.recv_timeout(WAIT).expect("the child said where it listens").expect("the child's address line");
    (process, addr)
}

#[test]
fn server_process_killed_mid_stream() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let (mut process, addr) = start_child();
    let (callback, rx) = collector();
    let options = Options::new(&format!("ws://{addr}/")).unwrap().close_timeout(ms(500)).connect_timeout(secs(5));
    let client = WebSocketClient::new(callback, options).unwrap();
    client.connect(&[]).unwrap();

    let mut expected = 0u64;
    let mut next = |m: Message| {
        assert_eq!(m, Message::Text(format!("tick {expected}")), "in order, none missing");
        expected += 1;
    };
    for _ in 0..BEFORE_KILL {
        next(next_message(&rx));
    }
    process.child.kill().unwrap();
    let status = process.child.wait().unwrap();
    assert!(!status.success(), "the child was killed, it did not finish: {status}");

    // What had reached the client still comes, in order, then one None.
    let start = Instant::now();
    loop {
        match rx.recv_timeout(WAIT) {
            Ok(Some(m)) => next(m),
            Ok(None) => break,
            Err(e) => panic!("no end {:?} after the kill: {e:?}", start.elapsed()),
        }
    }
    let info = client.close_info().expect("close_info after the None");
    eprintln!("{expected} messages, then: {info}");
    assert_eq!(info.code, CloseCode::ABNORMAL, "{info}");
    assert_eq!(info.closed_by, ClosedBy::Remote, "{info}");
    assert!(!info.clean, "{info}");
    let error = info.error.clone().unwrap_or_default();
    assert!(error.contains("without a Close frame") || error.contains("read failed"), "{info}");
    drop(client);
    expect_no_more(&rx);
}
