//! The timed parts of a round: the clock, the client's and the server's CPU time (and in the
//! `--allocs` pass its allocations), and the figures a round makes of them (latencies, idle
//! costs, the many-connections readings).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;

use crate::allocs;
use crate::clients::Endpoint;
use crate::config::Plan;
use crate::sys::{
    caller_usage, ctx_switches, open_fds, rss_kib, rusage, stat_ticks, tasks, thread_usage, threads, ticks_to_duration,
    trim_allocator,
};
use crate::Res;

/// What one client did in one round: one value per figure (None: not measurable here) and
/// the resources its timed part used.
pub struct Sample {
    pub values: Vec<Option<f64>>,
    pub usage: Usage,
}

/// What a timed part used (summed over the rounds for the report).
#[derive(Default, Clone, Copy)]
pub struct Usage {
    pub wall: Duration,
    pub client_cpu: Option<Duration>,
    pub server_cpu: Option<Duration>,
    /// Voluntary + involuntary context switches of the client process (getrusage).
    pub switches: Option<u64>,
    /// Minor page faults of the client process (getrusage): fresh memory touched.
    pub faults: Option<u64>,
    /// Allocations and bytes requested by the client process: the `--allocs` pass only.
    pub allocs: Option<(u64, u64)>,
}

impl Usage {
    pub fn add(&mut self, other: Usage) {
        self.wall += other.wall;
        self.client_cpu = add_opt(self.client_cpu, other.client_cpu);
        self.server_cpu = add_opt(self.server_cpu, other.server_cpu);
        self.switches = Some(self.switches.unwrap_or(0) + other.switches.unwrap_or(0))
            .filter(|_| other.switches.is_some());
        self.faults = Some(self.faults.unwrap_or(0) + other.faults.unwrap_or(0)).filter(|_| other.faults.is_some());
        self.allocs = match (self.allocs, other.allocs) {
            (Some((c0, b0)), Some((c1, b1))) => Some((c0 + c1, b0 + b1)),
            (_, other) => other,
        };
    }
}

fn add_opt(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    Some(a.unwrap_or_default() + b?)
}

/// What every round is handed: the plan, the echo server's endpoints, and the runtime the
/// tokio-tungstenite client runs on.
pub struct Ctx {
    pub plan: Plan,
    /// The WebSocket echo, `ws://`.
    pub ws: Endpoint,
    /// The same echo over TLS, `wss://`.
    pub wss: Endpoint,
    /// The byte echo.
    pub tcp_addr: SocketAddr,
    pub server_pid: u32,
    pub rt: Runtime,
    /// The `--allocs` pass: count allocations in the timed parts.
    pub count_allocs: bool,
}

impl Ctx {
    /// Starts a timed part. The server's /proc read comes first and the clock last, so that
    /// neither the read nor getrusage counts in the client's figures (nor allocates inside
    /// the counting).
    pub fn start(&self) -> Probe {
        let server = self.server_cpu();
        let usage = rusage();
        let allocs = self.count_allocs.then(|| {
            allocs::count(true);
            allocs::totals()
        });
        Probe { server, usage, allocs, wall: Instant::now() }
    }

    pub fn stop(&self, p: Probe) -> Usage {
        let wall = p.wall.elapsed();
        let allocs = p.allocs.map(|(c0, b0)| {
            let (c1, b1) = allocs::totals();
            allocs::count(false);
            (c1 - c0, b1 - b0)
        });
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
            allocs,
        }
    }

    fn server_cpu(&self) -> Option<Duration> {
        let ticks = stat_ticks(&format!("/proc/{}/stat", self.server_pid))?;
        Some(ticks_to_duration(ticks))
    }
}

/// A timed part under way, from `Ctx::start` to `Ctx::stop`.
pub struct Probe {
    server: Option<Duration>,
    usage: Option<(Duration, u64, u64)>,
    allocs: Option<(u64, u64)>,
    pub wall: Instant,
}

/// The round-trip figures: median and p99 in µs.
pub fn latency_sample(mut lat: Vec<Duration>, usage: Usage) -> Sample {
    lat.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let median = lat.get(lat.len() / 2).map(|d| us(*d));
    // Nearest rank: the smallest value with at least 99 % of the samples at or below it.
    let p99 = lat.get((lat.len() * 99).div_ceil(100).saturating_sub(1)).map(|d| us(*d));
    Sample { values: vec![median, p99], usage }
}

/// Frees what the allocator holds, then the resident set and thread count to compare against.
pub fn baseline() -> (Option<u64>, Option<u64>) {
    trim_allocator();
    resident()
}

/// The resident set (KiB) and the thread count of this process now.
pub fn resident() -> (Option<u64>, Option<u64>) {
    (rss_kib(), threads())
}

/// The open files one more connection of a client holds: counted between its first and
/// second connection (so that anything a client opens once, at its first, is left out); both
/// are then dropped. None where /proc is not.
pub fn fds_per_conn<C>(mut connect: impl FnMut() -> Res<C>) -> Res<Option<u64>> {
    let first = connect()?;
    let before = open_fds();
    let second = connect()?;
    let after = open_fds();
    drop((first, second));
    Ok(before.zip(after).map(|(b, a)| a.saturating_sub(b)))
}

/// A `many` round of a blocking client: `connect` ×n one after the other, the readings with
/// all of them open, the idle period (this thread sleeps), then `close` on each and all of
/// them dropped.
pub fn many_blocking<C>(
    ctx: &Ctx,
    n: usize,
    mut connect: impl FnMut() -> Res<C>,
    mut close: impl FnMut(&mut C) -> Res<()>,
) -> Res<Sample> {
    let before = baseline();
    let p = ctx.start();
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        conns.push(connect()?);
    }
    let connected = p.wall.elapsed();
    let after = resident();
    let quiet = QuietProbe::start();
    // The period measured, not a wait for anything.
    thread::sleep(ctx.plan.many_idle);
    let quiet = quiet.end();
    let t = Instant::now();
    for c in &mut conns {
        close(c)?;
    }
    drop(conns);
    let closed = t.elapsed();
    Ok(many_sample(n, connected, closed, before, after, quiet, ctx.stop(p)))
}

/// The `many` connections sitting idle: the whole process's CPU time and context switches.
/// Read per thread, outside the period: the caller's own, taken just around the period (its
/// sleep is one switch; tokio's runtime runs there), and every other thread's
/// (/proc/self/task/*/schedstat and status, read before and after).
/// getrusage for the whole process would walk every thread each call (0.4 ms of CPU with
/// 6,600 threads, measured here), which would show as idle CPU of the clients with threads.
/// Where /proc is not, the process's getrusage, and its cost, are what is read.
pub struct QuietProbe {
    others: Option<BTreeMap<u32, (u64, u64)>>,
    caller: Option<(u32, Duration, u64)>,
    process: Option<(Duration, u64, u64)>,
}

/// What the idle period of `many` cost.
pub struct Quiet {
    pub cpu: Option<Duration>,
    pub switches: Option<u64>,
}

impl QuietProbe {
    pub fn start() -> QuietProbe {
        let others = thread_usage();
        let process = if others.is_none() { rusage() } else { None };
        QuietProbe { others, process, caller: caller_usage() }
    }

    pub fn end(self) -> Quiet {
        let caller = caller_usage();
        let others = thread_usage();
        if let (Some(o0), Some(o1), Some((tid, c0, s0)), Some((_, c1, s1))) = (&self.others, &others, self.caller, caller) {
            let (mut ns, mut switches) = (0u64, s1.saturating_sub(s0));
            for (t, (ns1, sw1)) in o1 {
                if let Some((ns0, sw0)) = o0.get(t).filter(|_| *t != tid) {
                    ns += ns1.saturating_sub(*ns0);
                    switches += sw1.saturating_sub(*sw0);
                }
            }
            return Quiet { cpu: Some(Duration::from_nanos(ns) + c1.saturating_sub(c0)), switches: Some(switches) };
        }
        match (self.process, rusage()) {
            (Some((c0, s0, _)), Some((c1, s1, _))) => {
                Quiet { cpu: Some(c1.saturating_sub(c0)), switches: Some(s1.saturating_sub(s0)) }
            }
            _ => Quiet { cpu: None, switches: None },
        }
    }
}

/// The `many` figures: connect and close times, RSS growth per connection and threads added,
/// from the (RSS, threads) readings `before` the connects and `after` them, and what the
/// `quiet` period cost.
pub fn many_sample(
    n: usize,
    connect: Duration,
    close: Duration,
    (rss0, th0): (Option<u64>, Option<u64>),
    (rss1, th1): (Option<u64>, Option<u64>),
    quiet: Quiet,
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
        values: vec![
            Some(connect.as_secs_f64() * 1e3),
            per_conn,
            added,
            Some(close.as_secs_f64() * 1e3),
            quiet.cpu.map(|d| d.as_secs_f64() * 1e6),
            quiet.switches.map(|s| s as f64),
        ],
        usage,
    }
}

/// An idle period under way, from `idle_start` to `idle_end`.
pub struct IdleProbe {
    new_threads: Option<BTreeSet<u32>>,
    before: Option<BTreeMap<u32, u64>>,
    probe: Probe,
}

/// Starts the idle period: `before` is the task list from before the connect.
pub fn idle_start(ctx: &Ctx, before: Option<BTreeSet<u32>>) -> IdleProbe {
    let new_threads = match (before, tasks()) {
        (Some(b), Some(now)) => Some(now.difference(&b).copied().collect()),
        _ => None,
    };
    IdleProbe { new_threads, before: ctx_switches(), probe: ctx.start() }
}

/// Ends the idle period: the `idle` figures.
pub fn idle_end(ctx: &Ctx, p: IdleProbe) -> Res<Sample> {
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

/// A whole idle period on this thread: `before` is the task list from before the connect.
pub fn idle_period(ctx: &Ctx, before: Option<BTreeSet<u32>>) -> Res<Sample> {
    let p = idle_start(ctx, before);
    thread::sleep(ctx.plan.idle);
    idle_end(ctx, p)
}

fn unzip3<A, B, C>(t: Option<(A, B, C)>) -> (Option<A>, Option<B>, Option<C>) {
    match t {
        Some((a, b, c)) => (Some(a), Some(b), Some(c)),
        None => (None, None, None),
    }
}
