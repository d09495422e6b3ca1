//! Drives the Autobahn TestSuite's fuzzing server with wsthread, through the public API only.
//!
//! ```text
//! cargo run --release --example autobahn_client -- ws://127.0.0.1:9001 wsthread
//! ```
//!
//! The protocol is the suite's own: `GET /getCaseCount` answers with one text message, then
//! each `GET /runCase?case=N&agent=NAME` sends whatever the case tests and expects every text
//! and binary message echoed back until the server closes, and `GET /updateReports` makes the
//! server write its reports. The verdicts are the server's; this program only echoes, and
//! exits non-zero if it could not talk to the server at all.
//!
//! `.ci/autobahn` runs it against `kosoku` (a Python port of the fuzzing server) and
//! summarises the report.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, RecvTimeoutError};
use wsthread::{Handle, Message, Options, WebSocketClient};

/// Longer than any case needs (the 16 MiB cases take a few seconds), short enough that a hung
/// case cannot stall CI.
const CASE_TIMEOUT: Duration = Duration::from_secs(60);

/// Connects to `url`, echoes every message if `echo`, and returns the first text message
/// received once the server has closed.
fn session(url: &str, echo: bool) -> Result<Option<String>, String> {
    let (tx, rx) = unbounded();
    let options = Options::new(url)
        .map_err(|e| format!("{url}: {e}"))?
        // Category 9 sends messages up to 16 MiB; 10 and the 9.x frame cases need no more.
        .max_message_size(Some(64 << 20))
        .close_timeout(Duration::from_secs(3));
    let client = WebSocketClient::with_handle(
        move |handle: &Handle, msg: Option<Message>| {
            let first = match (&msg, echo) {
                (Some(m), false) => m.as_text().map(str::to_owned),
                _ => None,
            };
            match msg {
                Some(m) => {
                    if echo {
                        // An error here means the connection is closing: the case is over.
                        let _ = handle.send(m);
                    } else if let Some(text) = first {
                        let _ = tx.send(Some(text));
                    }
                }
                None => {
                    let _ = tx.send(None);
                }
            }
        },
        options,
    )
    .map_err(|e| format!("{url}: {e}"))?;
    client.connect(&[]).map_err(|e| format!("{url}: {e}"))?;

    let deadline = Instant::now() + CASE_TIMEOUT;
    let mut first = None;
    loop {
        match rx.recv_deadline(deadline) {
            Ok(Some(text)) => {
                first.get_or_insert(text);
            }
            Ok(None) => return Ok(first),
            Err(RecvTimeoutError::Timeout) => return Err(format!("{url}: no end after {CASE_TIMEOUT:?}")),
            Err(RecvTimeoutError::Disconnected) => return Err(format!("{url}: callback dropped")),
        }
    }
}

fn run(base: &str, agent: &str) -> Result<(), String> {
    let base = base.trim_end_matches('/');
    let count = session(&format!("{base}/getCaseCount"), false)?
        .ok_or("getCaseCount: the server sent no count")?;
    let count: usize = count
        .trim()
        .parse()
        .map_err(|e| format!("getCaseCount: {count:?} is not a number: {e}"))?;
    println!("autobahn_client: {count} cases");
    for case in 1..=count {
        // A case that ends badly is the server's to judge; only a hang is ours to report.
        if let Err(e) = session(&format!("{base}/runCase?case={case}&agent={agent}"), true) {
            eprintln!("autobahn_client: case {case}: {e}");
        }
    }
    session(&format!("{base}/updateReports?agent={agent}"), false)?;
    Ok(())
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(agent)) = (args.next(), args.next()) else {
        eprintln!("usage: autobahn_client <ws://host:port> <agent name>");
        return ExitCode::from(2);
    };
    match run(&url, &agent) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("autobahn_client: {e}");
            ExitCode::FAILURE
        }
    }
}
