//! Helpers for tests against hostile servers: frame headers announcing any length, a flood
//! writer that stops when told, a disconnect watched from another thread, and two
//! measurements (resident memory, a thread's CPU time) that tests print for before/after
//! notes but never assert on.
//!
//! Every wait here is bounded: a client that misbehaves fails the test, it never hangs it.

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use wsthread::WebSocketClient;

/// [`frame_head`](crate::support::frame_head) without RSV1.
pub fn frame_header(fin: bool, opcode: u8, len: u64) -> Vec<u8> {
    crate::support::frame_head(fin, false, opcode, len)
}

/// How a flood ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FloodEnd {
    /// The test said stop.
    Stopped,
    /// A write failed: the client went away (or the guard shut the socket).
    WriteFailed(String),
    /// The flood ran for its whole time limit.
    TimeLimit,
}

/// A writer thread that sends the same bytes again and again on a server's socket.
pub struct Flood {
    thread: Option<JoinHandle<(FloodEnd, u64)>>,
    stop: Arc<AtomicBool>,
}

impl Flood {
    /// Writes `first` once, then `burst` over and over on `stream`, until `stop` is set, a
    /// write fails, or `limit` has passed. `started` hears once when at least
    /// `announce_after` bytes are out: the flood is under way.
    pub fn start(
        mut stream: TcpStream,
        first: Vec<u8>,
        burst: Vec<u8>,
        limit: Duration,
        stop: Arc<AtomicBool>,
        started: Sender<()>,
        announce_after: u64,
    ) -> Flood {
        let flag = stop.clone();
        let thread = thread::Builder::new()
            .name("test-flood".into())
            .spawn(move || {
                let begin = Instant::now();
                let mut written = 0u64;
                let mut announced = false;
                if let Err(e) = stream.write_all(&first) {
                    return (FloodEnd::WriteFailed(e.to_string()), written);
                }
                written += first.len() as u64;
                loop {
                    if flag.load(Ordering::Acquire) {
                        return (FloodEnd::Stopped, written);
                    }
                    if begin.elapsed() >= limit {
                        return (FloodEnd::TimeLimit, written);
                    }
                    if let Err(e) = stream.write_all(&burst) {
                        return (FloodEnd::WriteFailed(e.to_string()), written);
                    }
                    written += burst.len() as u64;
                    if !announced && written >= announce_after {
                        announced = true;
                        let _ = started.send(());
                    }
                }
            })
            .expect("spawn flood thread");
        Flood { thread: Some(thread), stop }
    }

    /// Asks the writer to stop after its current burst.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    /// Stops the writer and waits for it: how it ended and how many bytes it wrote.
    /// A write blocked on a client that reads nothing ends with the socket's write timeout
    /// or when the server guard shuts the socket.
    pub fn join(mut self) -> (FloodEnd, u64) {
        self.stop();
        let thread = self.thread.take().expect("joined once");
        thread.join().unwrap_or_else(|_| (FloodEnd::WriteFailed("flood thread panicked".into()), 0))
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `disconnect()` running on a thread of its own, so that a test can bound how long it
/// takes and still carry on (and measure) when it does not return in time.
pub struct Disconnecting {
    started: Instant,
    done: Receiver<Result<(), wsthread::Error>>,
    took: Option<Duration>,
}

impl Disconnecting {
    /// Calls `client.disconnect()` on a new thread, now.
    pub fn start(client: &Arc<WebSocketClient>) -> Disconnecting {
        let (tx, done) = crossbeam_channel::bounded(1);
        let client = client.clone();
        let started = Instant::now();
        thread::Builder::new()
            .name("test-disconnect".into())
            .spawn(move || drop(tx.send(client.disconnect())))
            .expect("spawn disconnect thread");
        Disconnecting { started, done, took: None }
    }

    /// How long `disconnect` took, if it has returned within `bound` of its start. Panics
    /// if it returned an error.
    pub fn wait(&mut self, bound: Duration) -> Option<Duration> {
        if self.took.is_none() {
            let left = bound.saturating_sub(self.started.elapsed());
            if let Ok(result) = self.done.recv_timeout(left) {
                result.expect("disconnect returned an error");
                self.took = Some(self.started.elapsed());
            }
        }
        self.took
    }

    /// When `disconnect` was called.
    pub fn started(&self) -> Instant {
        self.started
    }
}

// ---------------------------------------------------------------------------------------------
// Measurements, for the record only
// ---------------------------------------------------------------------------------------------

/// Resident memory of this process in bytes (Linux: /proc/self/statm), or `None`.
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_size())
}

#[cfg(target_os = "linux")]
fn page_size() -> u64 {
    // SAFETY: sysconf only reads a system constant.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 {
        size as u64
    } else {
        4096
    }
}

#[cfg(not(target_os = "linux"))]
fn page_size() -> u64 {
    4096
}

/// `bytes` in MiB, for printing.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

/// CPU time (user + system) used so far by this process's threads named `name` (Linux:
/// /proc/self/task/*/stat; the kernel keeps the first 15 bytes of a name), or `None`.
pub fn thread_cpu(name: &str) -> Option<Duration> {
    let short = &name.as_bytes()[..name.len().min(15)];
    #[cfg(target_os = "linux")]
    // SAFETY: sysconf only reads a system constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    #[cfg(not(target_os = "linux"))]
    let ticks: i64 = 100;
    if ticks <= 0 {
        return None;
    }
    let mut total = 0u64;
    let mut found = false;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read(task.path().join("comm")).unwrap_or_default();
        if comm.strip_suffix(b"\n").unwrap_or(&comm) != short {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        // Fields after the ")" that ends the name: state is the 3rd field, utime the 14th.
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let utime: u64 = fields.get(11)?.parse().ok()?;
        let stime: u64 = fields.get(12)?.parse().ok()?;
        total += utime + stime;
        found = true;
    }
    found.then(|| Duration::from_secs_f64(total as f64 / ticks as f64))
}
