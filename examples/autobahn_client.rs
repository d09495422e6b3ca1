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
//! Every case is run with permessage-deflate offered, compressing every message we echo
//! (`min_size` 0). The permessage-deflate cases (12.*, 13.*) each expect a particular offer
//! (Autobahn's own client driver asks the server for it; kosoku cannot say): the optional
//! PLAN file lists them, one line per case, `CASE-ID PARAMETERS`, for the last cases the
//! server runs (12 and 13 sort last), where PARAMETERS are comma-separated offer parameters
//! (`client_no_context_takeover`, `server_no_context_takeover`, `server_max_window_bits=N`)
//! or `-`. Other cases get the default offer.
//!
//! `.ci/autobahn` runs it against `kosoku` (a Python port of the fuzzing server), writes the
//! plan from kosoku's case modules, and summarises the report.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, RecvTimeoutError};
use wsthread::{DeflateOptions, Handle, Message, Options, WebSocketClient};

/// Longer than any case needs (the 16 MiB cases take a few seconds), short enough that a hung
/// case cannot stall CI.
const CASE_TIMEOUT: Duration = Duration::from_secs(60);

/// A case that takes this long is named at the end (the longest, 9.x's 16 MiB messages,
/// take a few seconds).
const SLOW_CASE: Duration = Duration::from_secs(20);

/// Connects to `url`, echoes every message if `echo`, and returns the first text message
/// received once the server has closed.
fn session(url: &str, echo: bool, deflate: DeflateOptions) -> Result<Option<String>, String> {
    let (tx, rx) = unbounded();
    let options = Options::new(url)
        .map_err(|e| format!("{url}: {e}"))?
        // Category 9 sends messages up to 16 MiB; 10 and the 9.x frame cases need no more.
        .max_message_size(Some(64 << 20))
        .close_timeout(Duration::from_secs(3))
        .deflate(Some(deflate));
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

/// The offer a plan line's parameters describe.
fn offer(params: &str) -> Result<DeflateOptions, String> {
    let mut offer = DeflateOptions::default().min_size(0);
    for param in params.split(',').filter(|p| !p.is_empty() && *p != "-") {
        offer = match param.split_once('=') {
            None if param == "client_no_context_takeover" => offer.client_no_context_takeover(true),
            None if param == "server_no_context_takeover" => offer.server_no_context_takeover(true),
            Some(("server_max_window_bits", n)) => offer.server_max_window_bits(n.parse().ok()),
            Some(("client_max_window_bits", n)) => offer.client_max_window_bits(n.parse().ok()),
            _ => return Err(format!("unknown offer parameter {param:?}")),
        };
    }
    Ok(offer)
}

/// The plan file's offers, in case order.
fn read_plan(path: &str) -> Result<Vec<(String, DeflateOptions)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (id, params) = line.split_once(' ').ok_or_else(|| format!("{path}: bad line {line:?}"))?;
            Ok((id.to_owned(), offer(params.trim())?))
        })
        .collect()
}

fn run(base: &str, agent: &str, plan: &[(String, DeflateOptions)]) -> Result<(), String> {
    let base = base.trim_end_matches('/');
    let default = offer("")?;
    let count = session(&format!("{base}/getCaseCount"), false, default.clone())?
        .ok_or("getCaseCount: the server sent no count")?;
    let count: usize = count
        .trim()
        .parse()
        .map_err(|e| format!("getCaseCount: {count:?} is not a number: {e}"))?;
    println!("autobahn_client: {count} cases, the last {} with their own offers", plan.len());
    let planned = count.checked_sub(plan.len()).ok_or("the plan has more cases than the server")?;
    // Cases that hung or took long, told again at the end where a log's tail shows them.
    let mut remarks = Vec::new();
    for case in 1..=count {
        let (id, deflate) = match case.checked_sub(planned + 1) {
            Some(i) => (plan[i].0.as_str(), plan[i].1.clone()),
            None => ("", default.clone()),
        };
        let started = Instant::now();
        // A case that ends badly is the server's to judge; only a hang is ours to report.
        let result = session(&format!("{base}/runCase?case={case}&agent={agent}"), true, deflate);
        let took = started.elapsed();
        let name = if id.is_empty() { format!("case {case}") } else { format!("case {case} ({id})") };
        if let Err(e) = result {
            eprintln!("autobahn_client: {name}: {e}");
            remarks.push(format!("{name}: {e}"));
        } else if took >= SLOW_CASE {
            remarks.push(format!("{name}: took {took:.1?}"));
        }
    }
    for remark in &remarks {
        println!("autobahn_client: {remark}");
    }
    session(&format!("{base}/updateReports?agent={agent}"), false, default)?;
    Ok(())
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(agent)) = (args.next(), args.next()) else {
        eprintln!("usage: autobahn_client <ws://host:port> <agent name> [plan]");
        return ExitCode::from(2);
    };
    let plan = match args.next().map(|path| read_plan(&path)).transpose() {
        Ok(plan) => plan.unwrap_or_default(),
        Err(e) => {
            eprintln!("autobahn_client: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&url, &agent, &plan) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("autobahn_client: {e}");
            ExitCode::FAILURE
        }
    }
}
