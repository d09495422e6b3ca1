//! wsthread against raw tungstenite and tokio-tungstenite, on one local echo server (issue 10).
//!
//! ```text
//! cargo bench --bench compare                     # full run: 7 rounds per workload, ~2 minutes
//! cargo bench --bench compare -- --quick          # 2 rounds, fewer messages, under a minute
//! cargo bench --bench compare -- --only bulk,idle # some workload groups only
//! cargo bench --bench compare -- --json out.jsonl # also write the JSON figures to a file
//! cargo bench --bench compare -- --clients wsthread,raw   # some clients only (raw, tokio,
//!                                                         # wsthread, tcp), e.g. to profile
//! ```
//!
//! A measuring program, not a test (`harness = false`). Run without the `--bench` flag that
//! `cargo bench` adds (say by `cargo test --benches`), it does a tiny smoke run instead.
//!
//! ## Set-up
//!
//! The echo server runs in a child process (this binary re-executed with `--serve`), so the
//! client process's RSS, threads and CPU are the client's alone. It answers the HTTP upgrade
//! itself and echoes frames with a thread per connection (64 KiB stacks): one `read` into a
//! 256 KiB buffer, every complete frame in it unmasked and appended to an output buffer (data
//! frames are streamed, so a 1 MiB frame needs no 1 MiB buffer), one `write_all` per read;
//! ping → pong, close → close echo, then FIN. A second port echoes plain TCP bytes, for the
//! loopback ceiling. The server exits when its stdin closes (the bench died) or is killed.
//! Its CPU time (utime + stime of `/proc/<pid>/stat`) is printed per workload and client, as
//! a share of one core over the timed parts: near 100 % would mean the server is the limit.
//!
//! Clients, each through its ordinary API, each on a new connection per round (the connect is
//! not timed), taking turns within a round (the order rotates each round):
//! - raw tungstenite 0.30, blocking `std::net::TcpStream` with TCP_NODELAY. Pipelined small
//!   messages: `write` ×100, one `flush`, then `read` the 100 echoes, and again. Bulk (1 MiB
//!   messages; 100 of them would fill both directions' socket buffers and deadlock that
//!   loop): the same socket split over two threads, a second `WebSocket` on a `try_clone` for
//!   writing on the caller's thread and the reading one on another thread.
//! - tokio-tungstenite 0.30 on a current-thread runtime: split sink and stream, a spawned
//!   sender task that `feed`s every message then flushes, the receiver counting echoes.
//! - wsthread: `WebSocketClient::new(callback, Options::new(url)?)`, `connect(&[])`, `send`
//!   from the caller's thread; the callback counts echoes and signals through a crossbeam
//!   channel.
//!
//! Every client is handed a fresh `Vec<u8>` per message (what an application producing data
//! has): wsthread takes it as `Message::Binary`, tungstenite as `Bytes` without a copy.
//!
//! ## Workloads (full / --quick; 7 / 2 rounds unless said)
//! - `pipelined_16B`, `pipelined_1KiB`: 200,000 / 50,000 binary messages sent as fast as the
//!   client takes them while echoes are counted; msg/s from the first send to the last echo.
//! - `round_trip`: 20,000 / 5,000 × (send 16 B, wait for the echo); median and p99 in µs.
//!   wsthread's caller thread waits for a message its callback passes on.
//! - `round_trip_event`: the same, written event-driven: wsthread's callback sends the next
//!   message when the echo arrives (no thread hop); raw and tokio run the same loop as above,
//!   which already reads and sends on one thread.
//! - `bulk_window`: the same bulk transfer, wsthread keeping at most 8 messages unechoed
//!   (application flow control; its queue is unbounded, see `ws_windowed`).
//! - `bulk`: 200 / 50 messages of 1 MiB, pipelined; MiB/s. Beside it, plain TCP: 1 MiB writes
//!   to the byte-echo port on one thread, reads on another: the loopback ceiling.
//! - `idle`: a connected client doing nothing for 5 s (2 / 1 rounds): process CPU time
//!   (getrusage, µs), voluntary + involuntary context switches of every thread
//!   (`/proc/self/task/*/status`), those of the threads the client created (task list
//!   diffed around the connect; tokio's runs on the caller's thread and creates none), the
//!   process's thread count. Raw tungstenite idles as a blocking reader thread.
//! - `many`: 1,000 connections at once (3 / 1 rounds): time to connect them one after the
//!   other, VmRSS growth per connection (after `malloc_trim` where glibc has it), threads
//!   added, time to close them all. wsthread: 1,000 `WebSocketClient`s; raw: 1,000 blocking
//!   sockets, no threads; tokio: 1,000 connections, each with a reader task, on the
//!   current-thread runtime. RLIMIT_NOFILE is raised to the hard limit where needed; if that
//!   is too low the count is reduced and said so.
//!
//! Every wait is bounded (socket timeouts, `recv_timeout`, `tokio::time::timeout`): a broken
//! client ends the bench with an error naming the workload and client, never a hang.
//!
//! ## Output
//! Per workload a table: client, median over rounds, min..max, unit, ratio to raw tungstenite
//! (client / raw; for times and counts lower is better, and the header says which way),
//! then, summed over the rounds' timed parts, per client: wall time, CPU time of the client
//! process and of the echo server (and each as a share of one core), and the client's context
//! switches (getrusage), also per message, round trip or connection.
//! Per figure a machine-readable line on stdout beginning `JSON ` (`grep '^JSON '`), e.g.
//! `JSON {"workload":"pipelined_16B","client":"wsthread","median":…,"min":…,"max":…,
//! "unit":"msg/s",…}`; with `--json PATH` the same objects, without the prefix, one per line,
//! also go to PATH. At the end a Markdown table headed by the machine and the date, ready for
//! the README. `/proc` figures are Linux-only and print `n/a` elsewhere; progress goes to
//! stderr.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{bounded, unbounded, Receiver};
use futures_util::{SinkExt, StreamExt};
use tokio::runtime::Runtime;
use tungstenite::protocol::Role;
use tungstenite::{Message as TMessage, WebSocket};
use wsthread::{Message, Options, WebSocketClient};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Res<T> = Result<T, BoxError>;
type TokioWs = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Bounds any single blocking socket read or write, connect or close.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// Bounds one round of one workload for one client.
const ROUND_TIMEOUT: Duration = Duration::from_secs(120);
/// Server threads: one per connection, cheap enough for a thousand.
const SERVER_STACK: usize = 64 * 1024;
/// The server's read buffer per connection (zeroed lazily by the OS: untouched pages cost nothing).
const SERVER_BUF: usize = 256 * 1024;
/// Raw tungstenite's pipelining batch: `write` ×BATCH, `flush`, read the echoes.
const RAW_BATCH: usize = 100;
const MIB: f64 = 1024.0 * 1024.0;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        if let Err(e) = serve() {
            eprintln!("compare --serve: {e}");
            std::process::exit(1);
        }
        return;
    }
    let config = match Config::parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("compare: {e}\nusage: compare [--quick] [--only GROUP,...] [--clients CLIENT,...] [--json PATH]");
            eprintln!("groups: {}", GROUPS.join(", "));
            std::process::exit(2);
        }
    };
    if let Err(e) = run(config) {
        eprintln!("compare: error: {e}");
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration

const GROUPS: [&str; 8] =
    ["idle", "many", "round_trip", "round_trip_event", "pipelined_16B", "pipelined_1KiB", "bulk", "bulk_window"];

struct Config {
    plan: Plan,
    only: Option<Vec<String>>,
    /// The clients to run (default: all, plain TCP in the bulk group only).
    clients: Vec<Client>,
    json: Option<File>,
}

#[derive(Clone, Copy)]
struct Plan {
    name: &'static str,
    rounds: usize,
    small_msgs: usize,
    rt_count: usize,
    bulk_msgs: usize,
    idle: Duration,
    idle_rounds: usize,
    many_conns: usize,
    many_rounds: usize,
}

impl Plan {
    const FULL: Plan = Plan {
        name: "full",
        // The machine this was written on is a noisy shared VM: 7 rounds keep medians steady.
        rounds: 7,
        small_msgs: 200_000,
        rt_count: 20_000,
        bulk_msgs: 200,
        idle: Duration::from_secs(5),
        idle_rounds: 2,
        many_conns: 1000,
        many_rounds: 3,
    };
    const QUICK: Plan = Plan {
        name: "quick",
        rounds: 2,
        small_msgs: 50_000,
        rt_count: 5_000,
        bulk_msgs: 50,
        idle: Duration::from_secs(5),
        idle_rounds: 1,
        many_conns: 1000,
        many_rounds: 1,
    };
    /// Without `--bench` (e.g. `cargo test --benches`): every path once, in a second or two.
    const SMOKE: Plan = Plan {
        name: "smoke (no --bench flag; figures meaningless)",
        rounds: 1,
        small_msgs: 500,
        rt_count: 50,
        bulk_msgs: 4,
        idle: Duration::from_millis(200),
        idle_rounds: 1,
        many_conns: 20,
        many_rounds: 1,
    };
}

impl Config {
    fn parse(args: &[String]) -> Res<Config> {
        let mut quick = false;
        let mut bench = false;
        let mut only = None;
        let mut json = None;
        let mut clients = vec![Client::Raw, Client::Tokio, Client::Wsthread, Client::Tcp];
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--quick" => quick = true,
                "--bench" => bench = true,
                "--only" => {
                    let list = it.next().ok_or("--only needs a list of groups")?;
                    let names: Vec<String> = list.split(',').map(str::to_owned).collect();
                    for n in &names {
                        if !GROUPS.contains(&n.as_str()) {
                            return Err(format!("unknown group {n:?}").into());
                        }
                    }
                    only = Some(names);
                }
                "--clients" => {
                    let list = it.next().ok_or("--clients needs a list of clients")?;
                    clients = list
                        .split(',')
                        .map(|name| match name {
                            "raw" => Ok(Client::Raw),
                            "tokio" => Ok(Client::Tokio),
                            "wsthread" => Ok(Client::Wsthread),
                            "tcp" => Ok(Client::Tcp),
                            other => Err(format!("unknown client {other:?} (raw, tokio, wsthread, tcp)")),
                        })
                        .collect::<Result<_, _>>()?;
                }
                "--json" => {
                    let path = it.next().ok_or("--json needs a path")?;
                    json = Some(File::create(path).map_err(|e| format!("--json {path}: {e}"))?);
                }
                other => return Err(format!("unknown argument {other:?}").into()),
            }
        }
        let plan = match (bench, quick) {
            (_, true) => Plan::QUICK,
            (true, false) => Plan::FULL,
            (false, false) => Plan::SMOKE,
        };
        clients.sort();
        clients.dedup();
        Ok(Config { plan, only, clients, json })
    }

    fn wants(&self, group: &str) -> bool {
        self.only.as_ref().is_none_or(|o| o.iter().any(|g| g == group))
    }
}

// ---------------------------------------------------------------------------------------------
// Clients and results

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Client {
    Raw,
    Tokio,
    Wsthread,
    /// Plain TCP: the loopback ceiling, in the bulk table only.
    Tcp,
}

const CLIENTS: [Client; 3] = [Client::Raw, Client::Tokio, Client::Wsthread];

impl Client {
    fn name(self) -> &'static str {
        match self {
            Client::Raw => "raw tungstenite",
            Client::Tokio => "tokio-tungstenite",
            Client::Wsthread => "wsthread",
            Client::Tcp => "plain TCP (ceiling)",
        }
    }
    fn id(self) -> &'static str {
        match self {
            Client::Raw => "raw_tungstenite",
            Client::Tokio => "tokio_tungstenite",
            Client::Wsthread => "wsthread",
            Client::Tcp => "plain_tcp",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Better {
    Higher,
    Lower,
}

/// One figure of a workload group (a group may report several, e.g. median and p99).
#[derive(Clone, Copy)]
struct Figure {
    id: &'static str,
    title: &'static str,
    unit: &'static str,
    better: Better,
}

/// What one client did in one round: one value per figure (None: not measurable here) and
/// the resources its timed part used.
struct Sample {
    values: Vec<Option<f64>>,
    usage: Usage,
}

#[derive(Default, Clone, Copy)]
struct Usage {
    wall: Duration,
    client_cpu: Option<Duration>,
    server_cpu: Option<Duration>,
    /// Voluntary + involuntary context switches of the client process (getrusage).
    switches: Option<u64>,
    /// Minor page faults of the client process (getrusage): fresh memory touched.
    faults: Option<u64>,
}

impl Usage {
    fn add(&mut self, other: Usage) {
        self.wall += other.wall;
        self.client_cpu = add_opt(self.client_cpu, other.client_cpu);
        self.server_cpu = add_opt(self.server_cpu, other.server_cpu);
        self.switches = Some(self.switches.unwrap_or(0) + other.switches.unwrap_or(0))
            .filter(|_| other.switches.is_some());
        self.faults = Some(self.faults.unwrap_or(0) + other.faults.unwrap_or(0)).filter(|_| other.faults.is_some());
    }
}

fn add_opt(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    Some(a.unwrap_or_default() + b?)
}

struct Table {
    figure: Figure,
    detail: String,
    rounds: usize,
    rows: Vec<(Client, Vec<f64>, Usage)>,
}

#[derive(Clone, Copy)]
struct Summary {
    median: f64,
    min: f64,
    max: f64,
}

fn summarize(samples: &[f64]) -> Option<Summary> {
    if samples.is_empty() {
        return None;
    }
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    let median = if v.len() % 2 == 1 { v[mid] } else { (v[mid - 1] + v[mid]) / 2.0 };
    Some(Summary { median, min: v[0], max: v[v.len() - 1] })
}

impl Table {
    fn summary(&self, client: Client) -> Option<Summary> {
        self.rows.iter().find(|r| r.0 == client).and_then(|r| summarize(&r.1))
    }

    fn ratio(&self, client: Client) -> Option<f64> {
        let raw = self.summary(Client::Raw)?.median;
        let me = self.summary(client)?.median;
        (raw > 0.0).then_some(me / raw)
    }
}

// ---------------------------------------------------------------------------------------------
// The run

struct Ctx {
    plan: Plan,
    url: String,
    ws_addr: SocketAddr,
    tcp_addr: SocketAddr,
    server_pid: u32,
    rt: Runtime,
}

impl Ctx {
    /// Starts a timed part. The server's /proc read comes first and the clock last, so that
    /// neither the read nor getrusage counts in the client's figures.
    fn start(&self) -> Probe {
        let server = self.server_cpu();
        let usage = rusage();
        Probe { server, usage, wall: Instant::now() }
    }

    fn stop(&self, p: Probe) -> Usage {
        let wall = p.wall.elapsed();
        let usage = rusage();
        let server = self.server_cpu();
        let (cpu0, sw0, pf0) = unzip3(p.usage);
        let (cpu1, sw1, pf1) = unzip3(usage);
        Usage {
            wall,
            client_cpu: cpu1.and_then(|c| Some(c.saturating_sub(cpu0?))),
            server_cpu: server.and_then(|c| Some(c.saturating_sub(p.server?))),
            switches: sw1.and_then(|c| Some(c.saturating_sub(sw0?))),
            faults: pf1.and_then(|c| Some(c.saturating_sub(pf0?))),
        }
    }

    fn server_cpu(&self) -> Option<Duration> {
        let ticks = stat_ticks(&format!("/proc/{}/stat", self.server_pid))?;
        Some(ticks_to_duration(ticks))
    }
}

struct Probe {
    server: Option<Duration>,
    usage: Option<(Duration, u64, u64)>,
    wall: Instant,
}

fn run(mut config: Config) -> Res<()> {
    let plan = config.plan;
    let started = Instant::now();
    let nofile = raise_nofile_limit();
    let server = Server::spawn()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let ctx = Ctx {
        plan,
        url: format!("ws://{}/", server.ws_addr),
        ws_addr: server.ws_addr,
        tcp_addr: server.tcp_addr,
        server_pid: server.pid(),
        rt,
    };
    let machine = Machine::probe();
    println!("# wsthread {} vs tungstenite 0.30 / tokio-tungstenite 0.30 — {} run", env!("CARGO_PKG_VERSION"), plan.name);
    println!("# {}; {}", machine.line(), machine.date);
    println!(
        "# echo server: pid {} (ws {}, tcp {}); RLIMIT_NOFILE {}",
        ctx.server_pid,
        ctx.ws_addr,
        ctx.tcp_addr,
        nofile.map_or("n/a".to_owned(), |n| n.to_string())
    );
    println!();

    let mut tables: Vec<Table> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut out = Output { json: config.json.take() };
    let clients: Vec<Client> = config.clients.iter().copied().filter(|c| *c != Client::Tcp).collect();

    // Idle and many first, while the process is fresh (RSS, thread stacks, allocator).
    if config.wants("idle") {
        let figs = [
            Figure { id: "idle_cpu", title: "idle: process CPU time", unit: "µs", better: Better::Lower },
            Figure { id: "idle_ctx_switches", title: "idle: context switches, all threads", unit: "switches", better: Better::Lower },
            Figure { id: "idle_conn_thread_ctx_switches", title: "idle: context switches of threads the connect created", unit: "switches", better: Better::Lower },
            Figure { id: "idle_threads", title: "idle: threads in the process", unit: "threads", better: Better::Lower },
            Figure { id: "idle_new_threads", title: "idle: threads the connect created", unit: "threads", better: Better::Lower },
        ];
        let detail = format!("one connected client doing nothing for {:?}", plan.idle);
        group(&ctx, &mut out, &mut tables, &figs, &detail, plan.idle_rounds, &clients, Ops { name: "", per_round: 0 }, |ctx, c| match c {
            Client::Raw => raw_idle(ctx),
            Client::Tokio => tokio_idle(ctx),
            _ => ws_idle(ctx),
        })?;
    }

    if config.wants("many") {
        let n = match nofile {
            Some(limit) if (limit as usize) < plan.many_conns * 4 + 64 => {
                let n = (limit as usize).saturating_sub(64) / 4;
                notes.push(format!("many: only {n} connections (RLIMIT_NOFILE {limit})"));
                n
            }
            _ => plan.many_conns,
        };
        let figs = [
            Figure { id: "many_connect", title: "many: time to connect all", unit: "ms", better: Better::Lower },
            Figure { id: "many_rss_per_conn", title: "many: resident memory per connection", unit: "KiB", better: Better::Lower },
            Figure { id: "many_threads", title: "many: threads added", unit: "threads", better: Better::Lower },
            Figure { id: "many_close", title: "many: time to close all", unit: "ms", better: Better::Lower },
        ];
        let detail = format!("{n} connections open at once, connected one after the other");
        group(&ctx, &mut out, &mut tables, &figs, &detail, plan.many_rounds, &clients, Ops { name: "conn", per_round: n as u64 }, |ctx, c| match c {
            Client::Raw => raw_many(ctx, n),
            Client::Tokio => tokio_many(ctx, n),
            _ => ws_many(ctx, n),
        })?;
    }

    if config.wants("round_trip") {
        let figs = [
            Figure { id: "round_trip_median", title: "round trip 16 B: median", unit: "µs", better: Better::Lower },
            Figure { id: "round_trip_p99", title: "round trip 16 B: p99", unit: "µs", better: Better::Lower },
        ];
        let n = plan.rt_count;
        let detail = format!("{n} × (send 16 B, wait for its echo)");
        group(&ctx, &mut out, &mut tables, &figs, &detail, plan.rounds, &clients, Ops { name: "round trip", per_round: n as u64 }, |ctx, c| match c {
            Client::Raw => raw_round_trip(ctx, n),
            Client::Tokio => tokio_round_trip(ctx, n),
            _ => ws_round_trip(ctx, n),
        })?;
    }

    if config.wants("round_trip_event") {
        let figs = [
            Figure { id: "round_trip_event_median", title: "round trip 16 B, event-driven: median", unit: "µs", better: Better::Lower },
            Figure { id: "round_trip_event_p99", title: "round trip 16 B, event-driven: p99", unit: "µs", better: Better::Lower },
        ];
        let n = plan.rt_count;
        let detail = format!(
            "{n} × (send 16 B, the echo's arrival sends the next): raw and tokio as above, wsthread sends the next from its callback"
        );
        group(&ctx, &mut out, &mut tables, &figs, &detail, plan.rounds, &clients, Ops { name: "round trip", per_round: n as u64 }, |ctx, c| match c {
            Client::Raw => raw_round_trip(ctx, n),
            Client::Tokio => tokio_round_trip(ctx, n),
            _ => ws_round_trip_event(ctx, n),
        })?;
    }

    for (grp, id, title, size) in [
        ("pipelined_16B", "pipelined_16B", "pipelined 16 B", 16usize),
        ("pipelined_1KiB", "pipelined_1KiB", "pipelined 1 KiB", 1024),
    ] {
        if !config.wants(grp) {
            continue;
        }
        let figs = [Figure { id, title, unit: "msg/s", better: Better::Higher }];
        let n = plan.small_msgs;
        let detail = format!("{n} binary messages of {size} B sent as fast as the client takes them, echoes counted");
        group(&ctx, &mut out, &mut tables, &figs, &detail, plan.rounds, &clients, Ops { name: "msg", per_round: n as u64 }, |ctx, c| {
            let s = match c {
                Client::Raw => raw_pipelined(ctx, size, n, RawMode::Batch),
                Client::Tokio => tokio_pipelined(ctx, size, n),
                _ => ws_pipelined(ctx, size, n),
            }?;
            Ok(rate(s, n as f64))
        })?;
    }

    if config.wants("bulk") {
        let figs = [Figure { id: "bulk_1MiB", title: "bulk 1 MiB messages", unit: "MiB/s", better: Better::Higher }];
        let n = plan.bulk_msgs;
        let detail = format!("{n} binary messages of 1 MiB, pipelined; plain TCP: {n} × 1 MiB through a byte echo");
        group(&ctx, &mut out, &mut tables, &figs, &detail, plan.rounds, &config.clients, Ops { name: "MiB", per_round: n as u64 }, |ctx, c| {
            let size = 1 << 20;
            let s = match c {
                Client::Raw => raw_pipelined(ctx, size, n, RawMode::Split),
                Client::Tokio => tokio_pipelined(ctx, size, n),
                Client::Wsthread => ws_pipelined(ctx, size, n),
                Client::Tcp => tcp_ceiling(ctx, size, n),
            }?;
            Ok(rate(s, n as f64 * size as f64 / MIB))
        })?;
    }

    if config.wants("bulk_window") {
        let figs = [Figure { id: "bulk_1MiB_window", title: "bulk 1 MiB, 8 MiB window", unit: "MiB/s", better: Better::Higher }];
        let n = plan.bulk_msgs;
        let detail = format!(
            "{n} binary messages of 1 MiB; wsthread keeps at most {BULK_WINDOW} unechoed (application flow control), raw and tokio as above"
        );
        let clients: Vec<Client> = config.clients.iter().copied().filter(|c| *c != Client::Tcp).collect();
        group(&ctx, &mut out, &mut tables, &figs, &detail, plan.rounds, &clients, Ops { name: "MiB", per_round: n as u64 }, |ctx, c| {
            let size = 1 << 20;
            let s = match c {
                Client::Raw => raw_pipelined(ctx, size, n, RawMode::Split),
                Client::Tokio => tokio_pipelined(ctx, size, n),
                _ => ws_windowed(ctx, size, n, BULK_WINDOW),
            }?;
            Ok(rate(s, n as f64 * size as f64 / MIB))
        })?;
    }

    drop(server);
    println!("{}", markdown(&machine, &plan, &tables, &notes));
    eprintln!("compare: done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Turns a Sample whose first value is a count into a rate over its wall time.
fn rate(mut s: Sample, count: f64) -> Sample {
    let secs = s.usage.wall.as_secs_f64();
    s.values = vec![Some(count / secs)];
    s
}

struct Output {
    json: Option<File>,
}

impl Output {
    fn json(&mut self, line: &str) -> Res<()> {
        println!("JSON {line}");
        if let Some(f) = &mut self.json {
            writeln!(f, "{line}").map_err(|e| format!("--json file: {e}"))?;
        }
        Ok(())
    }
}

/// Runs a workload group: `rounds` rounds, every client once per round in a rotating order;
/// prints one table per figure and the JSON lines; keeps the tables for the summary.
#[allow(clippy::too_many_arguments)]
fn group(
    ctx: &Ctx,
    out: &mut Output,
    tables: &mut Vec<Table>,
    figures: &[Figure],
    detail: &str,
    rounds: usize,
    clients: &[Client],
    ops: Ops,
    mut measure: impl FnMut(&Ctx, Client) -> Res<Sample>,
) -> Res<()> {
    let mut samples: BTreeMap<Client, (Vec<Vec<f64>>, Usage)> = BTreeMap::new();
    for &c in clients {
        samples.insert(c, (vec![Vec::new(); figures.len()], Usage::default()));
    }
    for round in 0..rounds {
        for i in 0..clients.len() {
            let c = clients[(i + round) % clients.len()];
            eprintln!("compare: {} round {}/{} {}", figures[0].id, round + 1, rounds, c.name());
            let s = measure(ctx, c).map_err(|e| format!("{} / {}: {e}", figures[0].id, c.name()))?;
            let entry = samples.get_mut(&c).expect("every client has a slot");
            for (fig, v) in s.values.iter().enumerate() {
                if let Some(v) = v {
                    entry.0[fig].push(*v);
                }
            }
            entry.1.add(s.usage);
        }
    }
    for (fig_index, &figure) in figures.iter().enumerate() {
        let rows = clients
            .iter()
            .map(|c| {
                let (vals, usage) = &samples[c];
                (*c, vals[fig_index].clone(), *usage)
            })
            .collect();
        let table = Table { figure, detail: detail.to_owned(), rounds, rows };
        print_table(&table);
        for (c, _, usage) in &table.rows {
            out.json(&json_line(&table, *c, usage))?;
        }
        tables.push(table);
    }
    // Who was busy during the timed parts: a server near 100 % of a core would be the limit.
    println!("   timed parts, all rounds: wall; CPU time and share of one core of the client process and of the echo server; client context switches; client minor page faults");
    for &c in clients {
        let u = samples[&c].1;
        let cpu = |d: Option<Duration>| match d {
            Some(d) if !u.wall.is_zero() => format!(
                "{:>7.0} ms ({:>3.0}%)",
                d.as_secs_f64() * 1e3,
                100.0 * d.as_secs_f64() / u.wall.as_secs_f64()
            ),
            _ => format!("{:>15}", "n/a"),
        };
        let total_ops = ops.per_round as f64 * rounds as f64;
        let switches = match u.switches {
            Some(n) if total_ops > 0.0 => format!("{n} ({:.3}/{})", n as f64 / total_ops, ops.name),
            Some(n) => n.to_string(),
            None => "n/a".to_owned(),
        };
        let faults = u.faults.map_or("n/a".to_owned(), |n| n.to_string());
        println!(
            "   {:<20} wall {:>7.0} ms  client {}  server {}  switches {}  page faults {}",
            c.name(),
            u.wall.as_secs_f64() * 1e3,
            cpu(u.client_cpu),
            cpu(u.server_cpu),
            switches,
            faults
        );
    }
    println!();
    Ok(())
}

/// What a round does, for per-operation figures: so many of `name` per round.
#[derive(Clone, Copy)]
struct Ops {
    name: &'static str,
    per_round: u64,
}

fn print_table(t: &Table) {
    let f = t.figure;
    let way = match f.better {
        Better::Higher => "higher is better; ratio = client / raw",
        Better::Lower => "lower is better; ratio = client / raw (×raw)",
    };
    println!("== {} [{}] — {}, {} round(s)", f.title, f.id, t.detail, t.rounds);
    println!("   median over rounds in {}, {}", f.unit, way);
    println!("   {:<20} {:>14} {:>29} {:>9} {:>8}", "client", "median", "min .. max", "unit", "vs raw");
    for (c, _, _) in &t.rows {
        match t.summary(*c) {
            Some(s) => println!(
                "   {:<20} {:>14} {:>29} {:>9} {:>8}",
                c.name(),
                fmt_num(s.median),
                format!("{} .. {}", fmt_num(s.min), fmt_num(s.max)),
                f.unit,
                t.ratio(*c).map_or("—".to_owned(), |r| format!("{r:.2}×"))
            ),
            None => println!("   {:<20} {:>14} {:>29} {:>9} {:>8}", c.name(), "n/a", "", f.unit, "—"),
        }
    }
}

fn json_line(t: &Table, c: Client, usage: &Usage) -> String {
    let num = |v: Option<f64>| match v {
        Some(v) if v.is_finite() => format!("{v:.3}"),
        _ => "null".to_owned(),
    };
    let s = t.summary(c);
    let ms = |d: Option<Duration>| num(d.map(|d| d.as_secs_f64() * 1e3));
    format!(
        "{{\"workload\":\"{}\",\"client\":\"{}\",\"median\":{},\"min\":{},\"max\":{},\"unit\":\"{}\",\"better\":\"{}\",\"ratio_to_raw\":{},\"rounds\":{},\"samples\":{},\"wall_ms\":{},\"client_cpu_ms\":{},\"server_cpu_ms\":{},\"client_switches\":{},\"client_page_faults\":{}}}",
        t.figure.id,
        c.id(),
        num(s.map(|s| s.median)),
        num(s.map(|s| s.min)),
        num(s.map(|s| s.max)),
        t.figure.unit,
        if t.figure.better == Better::Higher { "higher" } else { "lower" },
        num(t.ratio(c)),
        t.rounds,
        t.rows.iter().find(|r| r.0 == c).map_or(0, |r| r.1.len()),
        ms(Some(usage.wall)),
        ms(usage.client_cpu),
        ms(usage.server_cpu),
        usage.switches.map_or("null".to_owned(), |n| n.to_string()),
        usage.faults.map_or("null".to_owned(), |n| n.to_string()),
    )
}

/// Thousands separators for big numbers, a few significant digits for small ones.
fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".to_owned();
    }
    if v.abs() >= 10_000.0 {
        let s = format!("{:.0}", v.abs());
        let mut out = String::new();
        for (i, ch) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(ch);
        }
        if v < 0.0 {
            out.insert(0, '-');
        }
        out
    } else if v.abs() >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn markdown(machine: &Machine, plan: &Plan, tables: &[Table], notes: &[String]) -> String {
    let order = [
        "pipelined_16B",
        "pipelined_1KiB",
        "round_trip_median",
        "round_trip_p99",
        "round_trip_event_median",
        "round_trip_event_p99",
        "bulk_1MiB",
        "bulk_1MiB_window",
        "idle_cpu",
        "idle_ctx_switches",
        "idle_conn_thread_ctx_switches",
        "idle_threads",
        "idle_new_threads",
        "many_connect",
        "many_rss_per_conn",
        "many_threads",
        "many_close",
    ];
    let mut md = String::new();
    md.push_str("---- Markdown summary ----\n\n");
    md.push_str(&format!(
        "Benchmark `cargo bench --bench compare{}` ({} run, median of {} rounds; idle {}, many {}), {}; {}. Local echo server in its own process. Ratios are client / raw tungstenite.\n\n",
        if plan.name == "quick" { " -- --quick" } else { "" },
        plan.name,
        plan.rounds,
        plan.idle_rounds,
        plan.many_rounds,
        machine.line(),
        machine.date
    ));
    md.push_str("| workload | unit | raw tungstenite | tokio-tungstenite | wsthread |\n");
    md.push_str("|---|---|--:|--:|--:|\n");
    for id in order {
        let Some(t) = tables.iter().find(|t| t.figure.id == id) else { continue };
        let way = if t.figure.better == Better::Higher { "↑" } else { "↓" };
        md.push_str(&format!("| {} | {} {} |", t.figure.title, t.figure.unit, way));
        for c in CLIENTS {
            let cell = match (t.summary(c), t.ratio(c)) {
                (None, _) => "n/a".to_owned(),
                (Some(s), _) if c == Client::Raw => fmt_num(s.median),
                (Some(s), Some(r)) => format!("{} ({r:.2}×)", fmt_num(s.median)),
                (Some(s), None) => fmt_num(s.median),
            };
            md.push_str(&format!(" {cell} |"));
        }
        md.push('\n');
    }
    if let Some(t) = tables.iter().find(|t| t.figure.id == "bulk_1MiB") {
        if let Some(s) = t.summary(Client::Tcp) {
            md.push_str(&format!(
                "\nLoopback ceiling, plain TCP echo with 1 MiB writes: {} MiB/s.\n",
                fmt_num(s.median)
            ));
        }
    }
    md.push_str("\n↑ higher is better, ↓ lower is better.\n");
    for n in notes {
        md.push_str(&format!("Note: {n}\n"));
    }
    md
}

// ---------------------------------------------------------------------------------------------
// raw tungstenite: blocking std sockets

fn raw_connect(ctx: &Ctx) -> Res<WebSocket<TcpStream>> {
    let stream = TcpStream::connect_timeout(&ctx.ws_addr, IO_TIMEOUT)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let (ws, _response) = tungstenite::client::client(ctx.url.as_str(), stream)
        .map_err(|e| format!("raw tungstenite handshake: {e}"))?;
    Ok(ws)
}

/// Reads until `count` binary echoes of `len` bytes arrived.
fn raw_expect(ws: &mut WebSocket<TcpStream>, count: usize, len: usize) -> Res<()> {
    let mut got = 0;
    while got < count {
        match ws.read()? {
            TMessage::Binary(b) if b.len() == len => got += 1,
            TMessage::Ping(_) | TMessage::Pong(_) => {}
            other => return Err(format!("unexpected echo: {other:?}").into()),
        }
    }
    Ok(())
}

/// Sends a Close and reads until the server's Close and the end of the stream.
fn raw_close(ws: &mut WebSocket<TcpStream>) -> Res<()> {
    ws.close(None)?;
    loop {
        match ws.read() {
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed) | Err(tungstenite::Error::AlreadyClosed) => return Ok(()),
            Err(e) => return Err(format!("raw tungstenite close: {e}").into()),
        }
    }
}

#[derive(Clone, Copy)]
enum RawMode {
    /// `write` ×RAW_BATCH, `flush`, read the batch's echoes: the blocking baseline.
    Batch,
    /// Writer on this thread, reader on another (for messages too big to batch).
    Split,
}

fn raw_pipelined(ctx: &Ctx, size: usize, n: usize, mode: RawMode) -> Res<Sample> {
    let mut ws = raw_connect(ctx)?;
    let payload = vec![0xa5u8; size];
    let usage = match mode {
        RawMode::Batch => {
            let p = ctx.start();
            let mut left = n;
            while left > 0 {
                let batch = left.min(RAW_BATCH);
                for _ in 0..batch {
                    ws.write(TMessage::binary(payload.clone()))?;
                }
                ws.flush()?;
                raw_expect(&mut ws, batch, size)?;
                left -= batch;
            }
            ctx.stop(p)
        }
        RawMode::Split => {
            let mut writer = WebSocket::from_raw_socket(ws.get_ref().try_clone()?, Role::Client, None);
            let p = ctx.start();
            let reader = thread::spawn(move || raw_expect(&mut ws, n, size).map(|()| ws));
            let written: Res<()> = (|| {
                for _ in 0..n {
                    writer.write(TMessage::binary(payload.clone()))?;
                }
                writer.flush()?;
                Ok(())
            })();
            // The reader's socket reads time out, so this join is bounded.
            let read = reader.join().map_err(|_| "raw reader thread panicked")?;
            let usage = ctx.stop(p);
            written?;
            ws = read?;
            usage
        }
    };
    raw_close(&mut ws)?;
    Ok(Sample { values: vec![], usage })
}

fn raw_round_trip(ctx: &Ctx, n: usize) -> Res<Sample> {
    let mut ws = raw_connect(ctx)?;
    let payload = vec![0xa5u8; 16];
    let mut lat = Vec::with_capacity(n);
    let p = ctx.start();
    for _ in 0..n {
        let t = Instant::now();
        ws.send(TMessage::binary(payload.clone()))?;
        raw_expect(&mut ws, 1, 16)?;
        lat.push(t.elapsed());
    }
    let usage = ctx.stop(p);
    raw_close(&mut ws)?;
    Ok(latency_sample(lat, usage))
}

fn raw_idle(ctx: &Ctx) -> Res<Sample> {
    let before = tasks();
    let ws = raw_connect(ctx)?;
    let stopper = ws.get_ref().try_clone()?;
    let (done_tx, done_rx) = bounded(1);
    let reader = thread::Builder::new().name("raw-reader".into()).spawn(move || {
        let mut ws = ws;
        let r = ws.read();
        let _ = done_tx.send(());
        r
    })?;
    thread::sleep(Duration::from_millis(50)); // the reader reaches its blocking read
    let sample = idle_period(ctx, before)?;
    stopper.shutdown(Shutdown::Both)?;
    done_rx
        .recv_timeout(IO_TIMEOUT)
        .map_err(|_| "raw reader thread did not end after shutdown")?;
    // An error is our shutdown ending the read, as intended; a message is not.
    if let Ok(m) = reader.join().map_err(|_| "raw reader thread panicked")? {
        return Err(format!("idle raw reader got a message: {m:?}").into());
    }
    Ok(sample)
}

fn raw_many(ctx: &Ctx, n: usize) -> Res<Sample> {
    let (rss0, th0) = baseline();
    let p = ctx.start();
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        conns.push(raw_connect(ctx)?);
    }
    let connect = p.wall.elapsed();
    let (rss1, th1) = (rss_kib(), threads());
    let t = Instant::now();
    for ws in &mut conns {
        raw_close(ws)?;
    }
    drop(conns);
    let close = t.elapsed();
    Ok(many_sample(n, connect, close, rss0, rss1, th0, th1, ctx.stop(p)))
}

// ---------------------------------------------------------------------------------------------
// tokio-tungstenite on a current-thread runtime

async fn tokio_connect(ctx_addr: SocketAddr, url: &str) -> Res<TokioWs> {
    let tcp = tokio::time::timeout(IO_TIMEOUT, tokio::net::TcpStream::connect(ctx_addr))
        .await
        .map_err(|_| "tokio TCP connect timed out")??;
    tcp.set_nodelay(true)?;
    let (ws, _response) = tokio::time::timeout(IO_TIMEOUT, tokio_tungstenite::client_async(url, tcp))
        .await
        .map_err(|_| "tokio-tungstenite handshake timed out")??;
    Ok(ws)
}

/// Checks one item of the stream: a binary echo of `len` bytes (true), a control frame (false).
fn tokio_check(item: Option<Result<TMessage, tungstenite::Error>>, len: usize) -> Res<bool> {
    match item {
        Some(Ok(TMessage::Binary(b))) if b.len() == len => Ok(true),
        Some(Ok(TMessage::Ping(_) | TMessage::Pong(_))) => Ok(false),
        Some(Ok(other)) => Err(format!("unexpected echo: {other:?}").into()),
        Some(Err(e)) => Err(format!("tokio-tungstenite read: {e}").into()),
        None => Err("tokio-tungstenite stream ended early".into()),
    }
}

/// Sends a Close and reads until the stream ends, within IO_TIMEOUT.
async fn tokio_close<S>(mut ws: S) -> Res<()>
where
    S: futures_util::Sink<TMessage, Error = tungstenite::Error>
        + futures_util::Stream<Item = Result<TMessage, tungstenite::Error>>
        + Unpin,
{
    tokio::time::timeout(IO_TIMEOUT, async {
        ws.close().await?;
        while let Some(item) = ws.next().await {
            match item {
                Ok(_) => {}
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => break,
                Err(e) => return Err(BoxError::from(format!("tokio-tungstenite close: {e}"))),
            }
        }
        Ok(())
    })
    .await
    .map_err(|_| "tokio-tungstenite close timed out")?
}

fn tokio_pipelined(ctx: &Ctx, size: usize, n: usize) -> Res<Sample> {
    ctx.rt.block_on(async {
        let ws = tokio_connect(ctx.ws_addr, &ctx.url).await?;
        let (mut sink, mut stream) = ws.split();
        let payload = vec![0xa5u8; size];
        let p = ctx.start();
        let sender = tokio::spawn(async move {
            for _ in 0..n {
                sink.feed(TMessage::binary(payload.clone())).await?;
            }
            sink.flush().await?;
            Ok::<_, tungstenite::Error>(sink)
        });
        tokio::time::timeout(ROUND_TIMEOUT, async {
            let mut got = 0;
            while got < n {
                if tokio_check(stream.next().await, size)? {
                    got += 1;
                }
            }
            Ok::<_, BoxError>(())
        })
        .await
        .map_err(|_| "timed out waiting for echoes")??;
        let sink = tokio::time::timeout(IO_TIMEOUT, sender)
            .await
            .map_err(|_| "sender task did not finish")?
            .map_err(|e| format!("sender task: {e}"))??;
        let usage = ctx.stop(p);
        let ws = sink.reunite(stream).map_err(|_| "reunite: halves of different streams")?;
        tokio_close(ws).await?;
        Ok(Sample { values: vec![], usage })
    })
}

fn tokio_round_trip(ctx: &Ctx, n: usize) -> Res<Sample> {
    ctx.rt.block_on(async {
        let mut ws = tokio_connect(ctx.ws_addr, &ctx.url).await?;
        let payload = vec![0xa5u8; 16];
        let mut lat = Vec::with_capacity(n);
        let p = ctx.start();
        tokio::time::timeout(ROUND_TIMEOUT, async {
            for _ in 0..n {
                let t = Instant::now();
                ws.send(TMessage::binary(payload.clone())).await?;
                while !tokio_check(ws.next().await, 16)? {}
                lat.push(t.elapsed());
            }
            Ok::<_, BoxError>(())
        })
        .await
        .map_err(|_| "round trips timed out")??;
        let usage = ctx.stop(p);
        tokio_close(ws).await?;
        Ok(latency_sample(lat, usage))
    })
}

fn tokio_idle(ctx: &Ctx) -> Res<Sample> {
    let before = tasks();
    ctx.rt.block_on(async {
        let ws = tokio_connect(ctx.ws_addr, &ctx.url).await?;
        let (mut sink, mut stream) = ws.split();
        // The connection's reader, as an application would have it: a task waiting on next().
        let reader = tokio::spawn(async move {
            let first = stream.next().await;
            (first, stream)
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let p = idle_start(ctx, before);
        tokio::time::sleep(ctx.plan.idle).await;
        let sample = idle_end(ctx, p)?;
        tokio::time::timeout(IO_TIMEOUT, sink.send(TMessage::Close(None)))
            .await
            .map_err(|_| "sending the Close timed out")??;
        let (first, stream) = tokio::time::timeout(IO_TIMEOUT, reader)
            .await
            .map_err(|_| "reader task did not see the Close")?
            .map_err(|e| format!("reader task: {e}"))?;
        match first {
            Some(Ok(TMessage::Close(_))) => {}
            other => return Err(format!("idle tokio reader got {other:?} instead of the Close").into()),
        }
        // Let the stream see the end of TCP after the Close exchange.
        let ws = sink.reunite(stream).map_err(|_| "reunite: halves of different streams")?;
        let mut ws = ws;
        tokio::time::timeout(IO_TIMEOUT, async { while ws.next().await.is_some() {} })
            .await
            .map_err(|_| "tokio-tungstenite close timed out")?;
        Ok(sample)
    })
}

fn tokio_many(ctx: &Ctx, n: usize) -> Res<Sample> {
    ctx.rt.block_on(async {
        let (rss0, th0) = baseline();
        let p = ctx.start();
        let mut sinks = Vec::with_capacity(n);
        let mut readers = Vec::with_capacity(n);
        for _ in 0..n {
            let ws = tokio_connect(ctx.ws_addr, &ctx.url).await?;
            let (sink, mut stream) = ws.split();
            sinks.push(sink);
            readers.push(tokio::spawn(async move {
                while let Some(item) = stream.next().await {
                    if item.is_err() {
                        break;
                    }
                }
            }));
        }
        let connect = p.wall.elapsed();
        tokio::task::yield_now().await; // every reader task has polled its stream once
        let (rss1, th1) = (rss_kib(), threads());
        let t = Instant::now();
        tokio::time::timeout(IO_TIMEOUT, async {
            for sink in &mut sinks {
                sink.close().await?;
            }
            for r in readers {
                r.await.map_err(|e| format!("reader task: {e}"))?;
            }
            Ok::<_, BoxError>(())
        })
        .await
        .map_err(|_| "closing the connections timed out")??;
        drop(sinks);
        let close = t.elapsed();
        Ok(many_sample(n, connect, close, rss0, rss1, th0, th1, ctx.stop(p)))
    })
}

// ---------------------------------------------------------------------------------------------
// wsthread, through its public API

enum Event {
    /// So many echoes of the expected size so far.
    Count(u64),
    Bad(String),
    Ended,
}

/// A connected client whose callback counts binary echoes of `len` bytes and reports the
/// count every `every` messages.
fn ws_connect(ctx: &Ctx, len: usize, every: u64) -> Res<(WebSocketClient, Receiver<Event>)> {
    let (tx, rx) = unbounded();
    let mut count = 0u64;
    let client = WebSocketClient::new(
        move |msg: Option<Message>| match msg {
            Some(Message::Binary(b)) if b.len() == len => {
                count += 1;
                if count % every == 0 {
                    let _ = tx.send(Event::Count(count));
                }
            }
            Some(other) => {
                let _ = tx.send(Event::Bad(format!("unexpected echo: {other:?}")));
            }
            None => {
                let _ = tx.send(Event::Ended);
            }
        },
        Options::new(&ctx.url)?,
    )?;
    client.connect(&[])?;
    Ok((client, rx))
}

/// Waits until the callback has counted `target` echoes.
fn ws_wait(rx: &Receiver<Event>, target: u64, deadline: Instant) -> Res<()> {
    loop {
        match rx.recv_deadline(deadline) {
            Ok(Event::Count(c)) if c >= target => return Ok(()),
            Ok(Event::Count(_)) => {}
            Ok(Event::Bad(why)) => return Err(why.into()),
            Ok(Event::Ended) => return Err("connection ended early".into()),
            Err(_) => return Err(format!("timed out waiting for echo {target}").into()),
        }
    }
}

fn ws_pipelined(ctx: &Ctx, size: usize, n: usize) -> Res<Sample> {
    let (client, rx) = ws_connect(ctx, size, n as u64)?;
    let payload = vec![0xa5u8; size];
    let p = ctx.start();
    for _ in 0..n {
        client.send(payload.clone())?;
    }
    ws_wait(&rx, n as u64, Instant::now() + ROUND_TIMEOUT)?;
    let usage = ctx.stop(p);
    client.disconnect()?;
    Ok(Sample { values: vec![], usage })
}

/// Messages wsthread may have unechoed in the `bulk_window` group.
const BULK_WINDOW: u64 = 8;

/// Pipelined with application flow control: at most `window` messages sent and not yet
/// echoed. wsthread's `send` never blocks and its queue is unbounded, so a sender that
/// outruns the socket queues the whole burst; raw tungstenite's blocking write and tokio's
/// `feed` hold the sender back by themselves.
fn ws_windowed(ctx: &Ctx, size: usize, n: usize, window: u64) -> Res<Sample> {
    let (client, rx) = ws_connect(ctx, size, 1)?;
    let payload = vec![0xa5u8; size];
    let p = ctx.start();
    let deadline = Instant::now() + ROUND_TIMEOUT;
    let mut echoed = 0u64;
    for sent in 0..n as u64 {
        while sent >= echoed + window {
            echoed += 1;
            ws_wait(&rx, echoed, deadline)?;
        }
        client.send(payload.clone())?;
    }
    ws_wait(&rx, n as u64, deadline)?;
    let usage = ctx.stop(p);
    client.disconnect()?;
    Ok(Sample { values: vec![], usage })
}

fn ws_round_trip(ctx: &Ctx, n: usize) -> Res<Sample> {
    let (client, rx) = ws_connect(ctx, 16, 1)?;
    let payload = vec![0xa5u8; 16];
    let mut lat = Vec::with_capacity(n);
    let deadline = Instant::now() + ROUND_TIMEOUT;
    let p = ctx.start();
    for i in 1..=n as u64 {
        let t = Instant::now();
        client.send(payload.clone())?;
        ws_wait(&rx, i, deadline)?;
        lat.push(t.elapsed());
    }
    let usage = ctx.stop(p);
    client.disconnect()?;
    Ok(latency_sample(lat, usage))
}

/// The round trip as an event-driven program writes it: the callback that receives an echo
/// sends the next message (from the connection thread, through its `Handle`).
fn ws_round_trip_event(ctx: &Ctx, n: usize) -> Res<Sample> {
    let (tx, rx) = unbounded::<Result<Vec<Duration>, String>>();
    let payload = vec![0xa5u8; 16];
    let mut lat = Vec::with_capacity(n);
    let mut last: Option<Instant> = None;
    let reply = payload.clone();
    let client = WebSocketClient::with_handle(
        move |h: &wsthread::Handle, msg: Option<Message>| match msg {
            Some(Message::Binary(b)) if b.len() == 16 => {
                // The first echo only starts the clock: its send was timed by nobody.
                if let Some(t) = last {
                    lat.push(t.elapsed());
                }
                if lat.len() == n {
                    let _ = tx.send(Ok(std::mem::take(&mut lat)));
                    return;
                }
                last = Some(Instant::now());
                if let Err(e) = h.send(reply.as_slice()) {
                    let _ = tx.send(Err(format!("send from the callback failed: {e}")));
                }
            }
            Some(other) => drop(tx.send(Err(format!("unexpected echo: {other:?}")))),
            None => drop(tx.send(Err("connection ended early".to_owned()))),
        },
        Options::new(&ctx.url)?,
    )?;
    client.connect(&[])?;
    let p = ctx.start();
    client.send(payload)?;
    let lat = match rx.recv_deadline(Instant::now() + ROUND_TIMEOUT) {
        Ok(Ok(lat)) => lat,
        Ok(Err(why)) => return Err(why.into()),
        Err(_) => return Err("timed out waiting for the event-driven round trips".into()),
    };
    let usage = ctx.stop(p);
    client.disconnect()?;
    Ok(latency_sample(lat, usage))
}

fn ws_idle(ctx: &Ctx) -> Res<Sample> {
    let before = tasks();
    let (client, rx) = ws_connect(ctx, 0, 1)?;
    thread::sleep(Duration::from_millis(50));
    let sample = idle_period(ctx, before)?;
    if let Ok(ev) = rx.try_recv() {
        let why = match ev {
            Event::Ended => "idle wsthread connection ended".to_owned(),
            Event::Bad(why) => why,
            Event::Count(_) => "idle wsthread client received a message".to_owned(),
        };
        return Err(why.into());
    }
    client.disconnect()?;
    Ok(sample)
}

fn ws_many(ctx: &Ctx, n: usize) -> Res<Sample> {
    let (rss0, th0) = baseline();
    let p = ctx.start();
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        let client = WebSocketClient::new(|_: Option<Message>| {}, Options::new(&ctx.url)?)?;
        client.connect(&[])?;
        clients.push(client);
    }
    let connect = p.wall.elapsed();
    let (rss1, th1) = (rss_kib(), threads());
    let t = Instant::now();
    for c in &clients {
        c.disconnect()?;
    }
    drop(clients);
    let close = t.elapsed();
    Ok(many_sample(n, connect, close, rss0, rss1, th0, th1, ctx.stop(p)))
}

// ---------------------------------------------------------------------------------------------
// Plain TCP: the loopback ceiling

fn tcp_ceiling(ctx: &Ctx, size: usize, n: usize) -> Res<Sample> {
    let mut stream = TcpStream::connect_timeout(&ctx.tcp_addr, IO_TIMEOUT)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut rd = stream.try_clone()?;
    let chunk = vec![0xa5u8; size];
    let total = size * n;
    let p = ctx.start();
    let reader = thread::spawn(move || -> io::Result<()> {
        let mut buf = vec![0u8; 256 * 1024];
        let mut got = 0;
        while got < total {
            match rd.read(&mut buf)? {
                0 => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "echo ended early")),
                k => got += k,
            }
        }
        Ok(())
    });
    let written: io::Result<()> = (0..n).try_for_each(|_| stream.write_all(&chunk));
    let read = reader.join().map_err(|_| "TCP reader thread panicked")?;
    let usage = ctx.stop(p);
    written?;
    read?;
    stream.shutdown(Shutdown::Both)?;
    Ok(Sample { values: vec![], usage })
}

// ---------------------------------------------------------------------------------------------
// Shared measurement helpers

fn latency_sample(mut lat: Vec<Duration>, usage: Usage) -> Sample {
    lat.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let median = lat.get(lat.len() / 2).map(|d| us(*d));
    // Nearest rank: the smallest value with at least 99 % of the samples at or below it.
    let p99 = lat.get((lat.len() * 99).div_ceil(100).saturating_sub(1)).map(|d| us(*d));
    Sample { values: vec![median, p99], usage }
}

/// Frees what the allocator holds, then the resident set and thread count to compare against.
fn baseline() -> (Option<u64>, Option<u64>) {
    trim_allocator();
    (rss_kib(), threads())
}

#[allow(clippy::too_many_arguments)]
fn many_sample(
    n: usize,
    connect: Duration,
    close: Duration,
    rss0: Option<u64>,
    rss1: Option<u64>,
    th0: Option<u64>,
    th1: Option<u64>,
    usage: Usage,
) -> Sample {
    let per_conn = match (rss0, rss1) {
        (Some(a), Some(b)) => Some((b as f64 - a as f64) / n as f64),
        _ => None,
    };
    let added = match (th0, th1) {
        (Some(a), Some(b)) => Some(b as f64 - a as f64),
        _ => None,
    };
    Sample {
        values: vec![Some(connect.as_secs_f64() * 1e3), per_conn, added, Some(close.as_secs_f64() * 1e3)],
        usage,
    }
}

struct IdleProbe {
    new_threads: Option<BTreeSet<u32>>,
    before: Option<BTreeMap<u32, u64>>,
    probe: Probe,
}

/// Starts the idle period: `before` is the task list from before the connect.
fn idle_start(ctx: &Ctx, before: Option<BTreeSet<u32>>) -> IdleProbe {
    let new_threads = match (before, tasks()) {
        (Some(b), Some(now)) => Some(now.difference(&b).copied().collect()),
        _ => None,
    };
    IdleProbe { new_threads, before: ctx_switches(), probe: ctx.start() }
}

fn idle_end(ctx: &Ctx, p: IdleProbe) -> Res<Sample> {
    let usage = ctx.stop(p.probe);
    let after = ctx_switches();
    let (all, own) = match (&p.before, &after, &p.new_threads) {
        (Some(b), Some(a), new) => {
            let mut all = 0u64;
            let mut own = 0u64;
            for (tid, n1) in a {
                if let Some(n0) = b.get(tid) {
                    let d = n1.saturating_sub(*n0);
                    all += d;
                    if new.as_ref().is_some_and(|s| s.contains(tid)) {
                        own += d;
                    }
                }
            }
            let own_known = new.as_ref().is_some_and(|s| !s.is_empty());
            (Some(all as f64), own_known.then_some(own as f64))
        }
        _ => (None, None),
    };
    let cpu_us = usage.client_cpu.map(|d| d.as_secs_f64() * 1e6);
    let threads_now = threads().map(|t| t as f64);
    let new = p.new_threads.as_ref().map(|s| s.len() as f64);
    Ok(Sample { values: vec![cpu_us, all, own, threads_now, new], usage })
}

fn idle_period(ctx: &Ctx, before: Option<BTreeSet<u32>>) -> Res<Sample> {
    let p = idle_start(ctx, before);
    thread::sleep(ctx.plan.idle);
    idle_end(ctx, p)
}

// ---------------------------------------------------------------------------------------------
// The echo server (child process)

struct Server {
    child: Child,
    /// Closing it tells the server to exit, should the kill below never come.
    _stdin: ChildStdin,
    ws_addr: SocketAddr,
    tcp_addr: SocketAddr,
}

impl Server {
    fn spawn() -> Res<Server> {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let mut child = Command::new(exe)
            .arg("--serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting the echo server process: {e}"))?;
        let stdin = child.stdin.take().expect("stdin was piped");
        let stdout = child.stdout.take().expect("stdout was piped");
        let (tx, rx) = bounded(1);
        thread::spawn(move || {
            let mut line = String::new();
            let r = BufReader::new(stdout).read_line(&mut line).map(|_| line);
            let _ = tx.send(r);
        });
        let line = match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => {
                let _ = child.kill();
                return Err(format!("reading the server's ports: {e}").into());
            }
            Err(_) => {
                let _ = child.kill();
                return Err("the echo server did not print its ports within 10 s".into());
            }
        };
        let mut server = Server {
            child,
            _stdin: stdin,
            ws_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            tcp_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let ports: Vec<u16> = line.split_whitespace().skip(1).filter_map(|p| p.parse().ok()).collect();
        match (line.starts_with("PORTS "), ports.as_slice()) {
            (true, [ws, tcp]) => {
                server.ws_addr.set_port(*ws);
                server.tcp_addr.set_port(*tcp);
                Ok(server)
            }
            _ => Err(format!("unexpected line from the echo server: {line:?}").into()),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve() -> io::Result<()> {
    let ws = TcpListener::bind("127.0.0.1:0")?;
    let tcp = TcpListener::bind("127.0.0.1:0")?;
    {
        let mut out = io::stdout().lock();
        writeln!(out, "PORTS {} {}", ws.local_addr()?.port(), tcp.local_addr()?.port())?;
        out.flush()?;
    }
    // The bench holds our stdin: when it closes (the bench ended or died), so do we.
    thread::spawn(|| {
        let mut buf = [0u8; 64];
        let mut stdin = io::stdin();
        while let Ok(1..) = stdin.read(&mut buf) {}
        std::process::exit(0);
    });
    thread::spawn(move || accept_loop(tcp, serve_tcp));
    accept_loop(ws, serve_ws);
    Ok(())
}

fn accept_loop(listener: TcpListener, handler: fn(TcpStream) -> io::Result<()>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let spawned = thread::Builder::new().stack_size(SERVER_STACK).spawn(move || {
            // Clients that drop without a close (reset) are no news; anything else is.
            if let Err(e) = handler(stream) {
                if !matches!(e.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe) {
                    eprintln!("compare --serve: connection: {e}");
                }
            }
        });
        if let Err(e) = spawned {
            eprintln!("compare --serve: cannot spawn a connection thread: {e}");
        }
    }
}

fn serve_tcp(mut s: TcpStream) -> io::Result<()> {
    s.set_nodelay(true)?;
    let mut buf = vec![0u8; SERVER_BUF];
    loop {
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        s.write_all(&buf[..n])?;
    }
}

fn bad(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.to_owned())
}

fn serve_ws(mut s: TcpStream) -> io::Result<()> {
    s.set_nodelay(true)?;
    let mut buf = vec![0u8; SERVER_BUF];
    let mut filled = 0;
    // The upgrade request: read up to the blank line.
    let head_end = loop {
        if filled == buf.len() {
            return Err(bad("request head too long"));
        }
        let n = s.read(&mut buf[filled..])?;
        if n == 0 {
            return Ok(());
        }
        filled += n;
        if let Some(p) = buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| bad("request head not UTF-8"))?;
    let key = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("sec-websocket-key"))
        .map(|(_, v)| v.trim())
        .ok_or_else(|| bad("no Sec-WebSocket-Key"))?;
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    s.write_all(answer.as_bytes())?;
    buf.copy_within(head_end..filled, 0);
    filled -= head_end;

    let mut echo = Echo::default();
    let mut out = Vec::with_capacity(SERVER_BUF + 1024);
    loop {
        let (used, closing) = echo.process(&buf[..filled], &mut out)?;
        buf.copy_within(used..filled, 0);
        filled -= used;
        // One write per read: everything this read completed goes out together.
        if !out.is_empty() {
            s.write_all(&out)?;
            out.clear();
        }
        if closing {
            s.shutdown(Shutdown::Write)?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            while s.read(&mut buf)? > 0 {}
            return Ok(());
        }
        let n = s.read(&mut buf[filled..])?;
        if n == 0 {
            return Ok(());
        }
        filled += n;
    }
}

/// The server's frame echo: data frames are streamed (header first, then the payload
/// unmasked as it arrives), control frames are handled whole.
#[derive(Default)]
struct Echo {
    /// Payload bytes of the current data frame still to pass through.
    left: u64,
    mask: [u8; 4],
    /// Offset into the current payload, modulo 4.
    phase: usize,
}

impl Echo {
    /// Echoes what `data` completes into `out`; returns the bytes consumed (the rest is a
    /// partial header or control frame, to be offered again with more) and whether a Close
    /// was echoed.
    fn process(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> io::Result<(usize, bool)> {
        let total = data.len();
        loop {
            if self.left > 0 {
                let n = self.left.min(data.len() as u64) as usize;
                if n == 0 {
                    break;
                }
                let start = out.len();
                out.extend_from_slice(&data[..n]);
                unmask(&mut out[start..], self.mask, self.phase);
                self.phase = (self.phase + n) % 4;
                self.left -= n as u64;
                data = &data[n..];
                continue;
            }
            if data.len() < 2 {
                break;
            }
            let (b0, b1) = (data[0], data[1]);
            if b1 & 0x80 == 0 {
                return Err(bad("unmasked client frame"));
            }
            let (len, mut at) = match b1 & 0x7f {
                126 if data.len() >= 4 => (u16::from_be_bytes([data[2], data[3]]) as u64, 4),
                127 if data.len() >= 10 => {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&data[2..10]);
                    (u64::from_be_bytes(b), 10)
                }
                126 | 127 => break,
                l => (l as u64, 2),
            };
            if data.len() < at + 4 {
                break;
            }
            let mask = [data[at], data[at + 1], data[at + 2], data[at + 3]];
            at += 4;
            let opcode = b0 & 0x0f;
            if opcode >= 8 {
                if len > 125 {
                    return Err(bad("control frame over 125 bytes"));
                }
                let len = len as usize;
                if data.len() < at + len {
                    break;
                }
                let mut payload = data[at..at + len].to_vec();
                unmask(&mut payload, mask, 0);
                data = &data[at + len..];
                match opcode {
                    0x9 => push_frame(out, 0x8a, &payload),
                    0x8 => {
                        push_frame(out, 0x88, &payload);
                        return Ok((total - data.len(), true));
                    }
                    _ => {} // pong
                }
                continue;
            }
            out.push(b0);
            push_len(out, len);
            self.left = len;
            self.mask = mask;
            self.phase = 0;
            data = &data[at..];
        }
        Ok((total - data.len(), false))
    }
}

fn push_len(out: &mut Vec<u8>, len: u64) {
    if len < 126 {
        out.push(len as u8);
    } else if len <= 0xffff {
        out.push(126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

fn push_frame(out: &mut Vec<u8>, b0: u8, payload: &[u8]) {
    out.push(b0);
    push_len(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

/// XORs `data` with the mask, `data[0]` being payload byte `phase` (mod 4). Eight bytes at a
/// time so the server keeps up with bulk transfers.
fn unmask(data: &mut [u8], mask: [u8; 4], phase: usize) {
    let key: [u8; 4] = std::array::from_fn(|i| mask[(phase + i) % 4]);
    let wide = u64::from_ne_bytes([key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]]);
    let mut chunks = data.chunks_exact_mut(8);
    for c in &mut chunks {
        let v = u64::from_ne_bytes(c.try_into().expect("chunks of 8")) ^ wide;
        c.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
}

// ---------------------------------------------------------------------------------------------
// The machine and the OS: /proc on Linux, n/a elsewhere

struct Machine {
    cpu: String,
    cores: String,
    os: String,
    date: String,
}

impl Machine {
    fn probe() -> Machine {
        let cpu = read_proc("/proc/cpuinfo")
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_else(|| "CPU n/a".to_owned());
        let cores = thread::available_parallelism().map_or("n/a".to_owned(), |n| n.to_string());
        let os = match read_proc("/proc/sys/kernel/osrelease") {
            Some(r) => format!("Linux {}", r.trim()),
            None => std::env::consts::OS.to_owned(),
        };
        Machine { cpu, cores, os, date: utc_date() }
    }

    fn line(&self) -> String {
        format!("{}, {} cores, {}", self.cpu, self.cores, self.os)
    }
}

/// Today's date (UTC) as YYYY-MM-DD, from the system clock.
fn utc_date() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut days = secs / 86_400;
    let leap = |y: u64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mut year = 1970;
    loop {
        let len = if leap(year) { 366 } else { 365 };
        if days < len {
            break;
        }
        days -= len;
        year += 1;
    }
    let months = [31, if leap(year) { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut month = 0;
    while days >= months[month] {
        days -= months[month];
        month += 1;
    }
    format!("{year:04}-{:02}-{:02}", month + 1, days + 1)
}

fn read_proc(path: &str) -> Option<String> {
    if cfg!(target_os = "linux") {
        std::fs::read_to_string(path).ok()
    } else {
        None
    }
}

/// utime + stime, in clock ticks, from a `/proc/…/stat` file.
fn stat_ticks(path: &str) -> Option<u64> {
    let s = read_proc(path)?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let fields: Vec<&str> = s[s.rfind(')')? + 1..].split_whitespace().collect();
    // Fields 14 and 15 of stat(5); the slice starts at field 3.
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn status_field(path: &str, name: &str) -> Option<u64> {
    read_proc(path)?
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

fn rss_kib() -> Option<u64> {
    status_field("/proc/self/status", "VmRSS:")
}

fn threads() -> Option<u64> {
    status_field("/proc/self/status", "Threads:")
}

/// The process's thread ids.
fn tasks() -> Option<BTreeSet<u32>> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let dir = std::fs::read_dir("/proc/self/task").ok()?;
    Some(dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
}

/// Voluntary + involuntary context switches of each thread.
fn ctx_switches() -> Option<BTreeMap<u32, u64>> {
    let mut map = BTreeMap::new();
    for tid in tasks()? {
        let path = format!("/proc/self/task/{tid}/status");
        let v = status_field(&path, "voluntary_ctxt_switches:");
        let nv = status_field(&path, "nonvoluntary_ctxt_switches:");
        if let (Some(v), Some(nv)) = (v, nv) {
            map.insert(tid, v + nv);
        }
    }
    Some(map)
}

#[cfg(unix)]
fn ticks_to_duration(ticks: u64) -> Duration {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = if hz > 0 { hz as u64 } else { 100 };
    Duration::from_micros(ticks * 1_000_000 / hz)
}

#[cfg(not(unix))]
fn ticks_to_duration(ticks: u64) -> Duration {
    Duration::from_millis(ticks * 10)
}

fn unzip3<A, B, C>(t: Option<(A, B, C)>) -> (Option<A>, Option<B>, Option<C>) {
    match t {
        Some((a, b, c)) => (Some(a), Some(b), Some(c)),
        None => (None, None, None),
    }
}

/// This process's CPU time (user + system, every thread, to the microsecond), its context
/// switches (voluntary + involuntary, every thread) and its minor page faults.
#[cfg(unix)]
fn rusage() -> Option<(Duration, u64, u64)> {
    // SAFETY: getrusage fills the struct it is given; zeroed is a valid rusage.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return None;
    }
    let tv = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    Some((tv(ru.ru_utime) + tv(ru.ru_stime), (ru.ru_nvcsw + ru.ru_nivcsw) as u64, ru.ru_minflt as u64))
}

#[cfg(not(unix))]
fn rusage() -> Option<(Duration, u64, u64)> {
    None
}

/// Raises the soft open-files limit to the hard one (the server child inherits it).
/// Returns the limit now in force.
#[cfg(unix)]
fn raise_nofile_limit() -> Option<u64> {
    // SAFETY: getrlimit/setrlimit read and write the struct given; zeroed is valid.
    let mut lim: libc::rlimit = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    let wanted: libc::rlim_t = 65_536;
    if lim.rlim_cur < wanted && lim.rlim_cur < lim.rlim_max {
        let old = lim.rlim_cur;
        lim.rlim_cur = lim.rlim_max.min(wanted);
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
            lim.rlim_cur = old;
        }
    }
    Some(lim.rlim_cur as u64)
}

#[cfg(not(unix))]
fn raise_nofile_limit() -> Option<u64> {
    None
}

/// Hands freed heap memory back to the OS, so RSS deltas start from a clean baseline.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim_allocator() {
    // SAFETY: malloc_trim only releases free memory.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim_allocator() {}
