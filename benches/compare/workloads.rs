//! The run: the echo server and the runtime set up, then the workload groups in order, each
//! round of each client, and the summary. The `--allocs` pass runs the same groups, one
//! round each, and reports allocations per operation instead of the figures.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::clients::raw::{raw_idle, raw_many, raw_many_fds, raw_pipelined, raw_round_trip, RawMode};
use crate::clients::tcp::tcp_ceiling;
use crate::clients::tokio_ws::{tokio_idle, tokio_many, tokio_many_fds, tokio_pipelined, tokio_round_trip};
use crate::clients::ws::{ws_idle, ws_many, ws_many_fds, ws_pipelined, ws_round_trip, ws_round_trip_event, ws_windowed};
use crate::clients::ws_channel::{ch_pipelined, ch_round_trip};
use crate::clients::{Client, Endpoint, TlsClient};
use crate::config::Config;
use crate::measure::{Ctx, Sample, Usage};
use crate::report::{alloc_tables, json_line, markdown, print_table, print_usage, Better, Figure, Ops, Output, Table};
use crate::server::Server;
use crate::sys::{open_fds, raise_nofile_limit, task_headroom, Hard, Machine};
use crate::tls::{suite_name, Pki};
use crate::Res;

const MIB: f64 = 1024.0 * 1024.0;

/// Messages wsthread may have unechoed in the `bulk_window` group.
const BULK_WINDOW: u64 = 8;

/// Open files per `many` connection assumed when asking for the limit: wsthread's socket,
/// poller and waker (the count used is measured, `fds_per_conn`).
const FDS_PER_CONN: usize = 3;
/// Files and threads kept free besides the connections: the ones a round opens besides
/// them, and the threads of the other processes on the machine.
const SPARE: usize = 64;

pub fn run(mut config: Config) -> Res<()> {
    let plan = config.plan;
    let started = Instant::now();
    // Before the server starts, so that it inherits the limit too.
    let nofile = raise_nofile_limit((plan.many_conns * FDS_PER_CONN + SPARE + open_fds().unwrap_or(0) as usize) as u64);
    let pki = Pki::new()?;
    let server = Server::spawn(&pki.server_pem)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let ctx = Ctx {
        plan,
        ws: Endpoint { url: format!("ws://{}/", server.ws_addr), addr: server.ws_addr, tls: None },
        wss: Endpoint {
            url: format!("wss://{}/", server.wss_addr),
            addr: server.wss_addr,
            tls: Some(TlsClient { ca_pem: pki.ca_pem.clone(), config: pki.client_config()? }),
        },
        tcp_addr: server.tcp_addr,
        server_pid: server.pid(),
        rt,
        count_allocs: config.allocs,
    };
    let machine = Machine::probe();
    let pass = if config.allocs { "allocation pass (--allocs)" } else { "timing" };
    println!(
        "# wsthread {} vs tungstenite 0.30 / tokio-tungstenite 0.30 — {} run, {pass}",
        env!("CARGO_PKG_VERSION"),
        plan.name
    );
    println!("# {}; {}", machine.line(), machine.date);
    println!(
        "# echo server: pid {} (ws {}, tcp {}, wss {}); RLIMIT_NOFILE {}",
        ctx.server_pid,
        ctx.ws.addr,
        ctx.tcp_addr,
        ctx.wss.addr,
        match &nofile {
            None => "n/a".to_owned(),
            Some(n) => match &n.hard {
                Hard::Enough => n.limit.to_string(),
                Hard::RaisedFrom(old) => format!("{} (hard limit raised from {old})", n.limit),
                Hard::Kept(why) => format!("{} (the hard limit; raising it failed: {why})", n.limit),
            },
        }
    );
    println!(
        "# wss: TLS 1.3, {} only (the server's one suite; every client checks it negotiated it), ring, ECDSA P-256 certificate for IP 127.0.0.1 from a CA made at run time",
        suite_name()
    );
    if config.allocs {
        println!("# allocations counted in the timed parts, every thread of this process; one round per client; times and CPU in this pass are not comparable (the counting itself costs)");
    }
    println!();

    let rounds = |timing_rounds: usize| if config.allocs { 1 } else { timing_rounds };
    let mut run = Run { ctx: &ctx, out: Output { json: config.json.take() }, tables: Vec::new(), allocs: config.allocs };
    let mut notes: Vec<String> = Vec::new();
    let clients: Vec<Client> = config.clients.iter().copied().filter(|c| *c != Client::Tcp).collect();
    // The channel form runs where it differs from the callback form: the round trip (the
    // caller blocks on the receiver), pipelined and bulk (a thread blocks on it); idle, many,
    // the event-driven round trip and the windowed bulk would repeat the callback form's.
    let no_channel: Vec<Client> = clients.iter().copied().filter(|c| *c != Client::WsChannel).collect();

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
        run.group("idle", &figs, &detail, rounds(plan.idle_rounds), &no_channel, Ops { name: "period", per_round: 0 }, |ctx, c| match c {
            Client::Raw => raw_idle(ctx),
            Client::Tokio => tokio_idle(ctx),
            _ => ws_idle(ctx),
        })?;
    }

    if config.wants("many") {
        let mut fds = Vec::new();
        for &c in &no_channel {
            let per_conn = match c {
                Client::Raw => raw_many_fds(&ctx),
                Client::Tokio => tokio_many_fds(&ctx),
                _ => ws_many_fds(&ctx),
            }
            .map_err(|e| format!("many / {}: counting its files: {e}", c.name()))?;
            fds.push((c, per_conn));
        }
        let n = many_count(plan.many_conns, nofile.as_ref().map(|n| n.limit), &fds, task_headroom(), &mut notes);
        let figs = [
            Figure { id: "many_connect", title: "many: time to connect all", unit: "ms", better: Better::Lower },
            Figure { id: "many_rss_per_conn", title: "many: resident memory per connection", unit: "KiB", better: Better::Lower },
            Figure { id: "many_threads", title: "many: threads added", unit: "threads", better: Better::Lower },
            Figure { id: "many_close", title: "many: time to close all", unit: "ms", better: Better::Lower },
            Figure { id: "many_idle_cpu", title: "many: process CPU time while idle", unit: "µs", better: Better::Lower },
            Figure { id: "many_idle_ctx_switches", title: "many: context switches while idle", unit: "switches", better: Better::Lower },
        ];
        let files: Vec<String> = fds
            .iter()
            .map(|(c, f)| format!("{} {}", c.name(), f.map_or("n/a".to_owned(), |f| f.to_string())))
            .collect();
        let detail = format!(
            "{n} connections open at once, connected one after the other, then idle for {:?}; open files per connection: {}",
            plan.many_idle,
            files.join(", ")
        );
        run.group("many", &figs, &detail, rounds(plan.many_rounds), &no_channel, Ops { name: "conn", per_round: n as u64 }, |ctx, c| match c {
            Client::Raw => raw_many(ctx, n),
            Client::Tokio => tokio_many(ctx, n),
            _ => ws_many(ctx, n),
        })?;
    }

    // The round trips: raw and tokio run the same loop in both plain groups; only wsthread's
    // side differs. The wss group is the waiting caller's round trip over TLS.
    let n = plan.rt_count;
    let waiting = format!("{n} × (send 16 B, wait for its echo)");
    /// A round-trip group: its name, figures, description, endpoint, whether wsthread's side
    /// sends from its callback, the clients.
    type Group<'a> = (&'static str, [Figure; 2], String, &'a Endpoint, bool, &'a [Client]);
    let round_trips: [Group; 3] = [
        (
            "round_trip",
            [
                Figure { id: "round_trip_median", title: "round trip 16 B: median", unit: "µs", better: Better::Lower },
                Figure { id: "round_trip_p99", title: "round trip 16 B: p99", unit: "µs", better: Better::Lower },
            ],
            waiting.clone(),
            &ctx.ws,
            false,
            &clients,
        ),
        (
            "round_trip_event",
            [
                Figure { id: "round_trip_event_median", title: "round trip 16 B, event-driven: median", unit: "µs", better: Better::Lower },
                Figure { id: "round_trip_event_p99", title: "round trip 16 B, event-driven: p99", unit: "µs", better: Better::Lower },
            ],
            format!(
                "{n} × (send 16 B, the echo's arrival sends the next): raw and tokio as above, wsthread sends the next from its callback"
            ),
            &ctx.ws,
            true,
            &no_channel,
        ),
        (
            "wss_round_trip",
            [
                Figure { id: "wss_round_trip_median", title: "wss round trip 16 B: median", unit: "µs", better: Better::Lower },
                Figure { id: "wss_round_trip_p99", title: "wss round trip 16 B: p99", unit: "µs", better: Better::Lower },
            ],
            format!("{waiting}, over TLS"),
            &ctx.wss,
            false,
            &clients,
        ),
    ];
    for (grp, figs, detail, ep, event, clients) in round_trips {
        if !config.wants(grp) {
            continue;
        }
        run.group(grp, &figs, &detail, rounds(plan.rounds), clients, Ops { name: "round trip", per_round: n as u64 }, |ctx, c| match c {
            Client::Raw => raw_round_trip(ctx, ep, n),
            Client::Tokio => tokio_round_trip(ctx, ep, n),
            Client::WsChannel => ch_round_trip(ctx, ep, n),
            _ if event => ws_round_trip_event(ctx, n),
            _ => ws_round_trip(ctx, ep, n),
        })?;
    }

    for (grp, title, size, ep) in [
        ("pipelined_16B", "pipelined 16 B", 16usize, &ctx.ws),
        ("pipelined_1KiB", "pipelined 1 KiB", 1024, &ctx.ws),
        ("wss_pipelined_1KiB", "wss pipelined 1 KiB", 1024, &ctx.wss),
    ] {
        if !config.wants(grp) {
            continue;
        }
        let figs = [Figure { id: grp, title, unit: "msg/s", better: Better::Higher }];
        let n = plan.small_msgs;
        let over = if ep.tls.is_some() { ", over TLS" } else { "" };
        let detail = format!("{n} binary messages of {size} B sent as fast as the client takes them, echoes counted{over}");
        run.group(grp, &figs, &detail, rounds(plan.rounds), &clients, Ops { name: "msg", per_round: n as u64 }, |ctx, c| {
            let s = match c {
                Client::Raw => raw_pipelined(ctx, ep, size, n, RawMode::Batch),
                Client::Tokio => tokio_pipelined(ctx, ep, size, n),
                Client::WsChannel => ch_pipelined(ctx, ep, size, n),
                _ => ws_pipelined(ctx, ep, size, n),
            }?;
            Ok(rate(s, n as f64))
        })?;
    }

    if config.wants("bulk") {
        let figs = [Figure { id: "bulk_1MiB", title: "bulk 1 MiB messages", unit: "MiB/s", better: Better::Higher }];
        let n = plan.bulk_msgs;
        let detail = format!("{n} binary messages of 1 MiB, pipelined; plain TCP: {n} × 1 MiB through a byte echo");
        run.group("bulk", &figs, &detail, rounds(plan.rounds), &config.clients, Ops { name: "MiB", per_round: n as u64 }, |ctx, c| {
            bulk(ctx, &ctx.ws, c, n, |ctx, size| ws_pipelined(ctx, &ctx.ws, size, n))
        })?;
    }

    if config.wants("bulk_window") {
        let figs = [Figure { id: "bulk_1MiB_window", title: "bulk 1 MiB, 8 MiB window", unit: "MiB/s", better: Better::Higher }];
        let n = plan.bulk_msgs;
        let detail = format!(
            "{n} binary messages of 1 MiB; wsthread keeps at most {BULK_WINDOW} unechoed (application flow control), raw and tokio as above"
        );
        run.group("bulk_window", &figs, &detail, rounds(plan.rounds), &no_channel, Ops { name: "MiB", per_round: n as u64 }, |ctx, c| {
            bulk(ctx, &ctx.ws, c, n, |ctx, size| ws_windowed(ctx, size, n, BULK_WINDOW))
        })?;
    }

    if config.wants("wss_bulk") {
        let figs = [Figure { id: "wss_bulk_1MiB", title: "wss bulk 1 MiB messages", unit: "MiB/s", better: Better::Higher }];
        let n = plan.bulk_msgs;
        let detail = format!(
            "{n} binary messages of 1 MiB, pipelined, over TLS; raw tungstenite on one thread, its socket non-blocking, sleeping in a poller"
        );
        run.group("wss_bulk", &figs, &detail, rounds(plan.rounds), &clients, Ops { name: "MiB", per_round: n as u64 }, |ctx, c| {
            bulk(ctx, &ctx.wss, c, n, |ctx, size| ws_pipelined(ctx, &ctx.wss, size, n))
        })?;
    }

    drop(server);
    println!("{}", markdown(&machine, &plan, config.allocs, &run.tables, &notes));
    eprintln!("compare: done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// How many connections `many` opens: the plan's, unless the open-files limit (`nofile`,
/// against the files each client holds per connection, `fds`) or the threads the machine can
/// still start (`headroom`: one per wsthread connection and one per server connection) say
/// fewer, which goes into the notes and on stderr. Every client gets the same count, so that
/// their times to connect and close all compare.
fn many_count(
    wanted: usize,
    nofile: Option<u64>,
    fds: &[(Client, Option<u64>)],
    headroom: Option<u64>,
    notes: &mut Vec<String>,
) -> usize {
    let mut n = wanted;
    if let (Some(limit), Some(open)) = (nofile, open_fds()) {
        let free = (limit as usize).saturating_sub(open as usize + SPARE);
        for (c, per_conn) in fds {
            let per_conn = per_conn.unwrap_or(FDS_PER_CONN as u64).max(1) as usize;
            let fit = free / per_conn;
            if fit < n {
                notes.push(format!(
                    "many: {fit} connections, not {wanted}: {} holds {per_conn} files per connection, RLIMIT_NOFILE is {limit}",
                    c.name()
                ));
                n = fit;
            }
        }
    }
    if let Some(headroom) = headroom {
        let fit = (headroom as usize).saturating_sub(SPARE) / 2;
        if fit < n {
            notes.push(format!("many: {fit} connections, not {wanted}: room for {headroom} more threads on the machine"));
            n = fit;
        }
    }
    if let Some(last) = notes.last().filter(|_| n < wanted) {
        eprintln!("compare: {last}");
    }
    n
}

/// One round of a bulk group: `n` messages of 1 MiB to `ep`, in MiB/s. `ws` is how
/// wsthread sends them, the part in which the two plain bulk groups differ.
fn bulk(ctx: &Ctx, ep: &Endpoint, c: Client, n: usize, ws: impl FnOnce(&Ctx, usize) -> Res<Sample>) -> Res<Sample> {
    let size = 1 << 20;
    let s = match c {
        Client::Raw => raw_pipelined(ctx, ep, size, n, RawMode::Split),
        Client::Tokio => tokio_pipelined(ctx, ep, size, n),
        Client::Wsthread => ws(ctx, size),
        Client::WsChannel => ch_pipelined(ctx, ep, size, n),
        Client::Tcp => tcp_ceiling(ctx, size, n),
    }?;
    Ok(rate(s, n as f64 * size as f64 / MIB))
}

/// Turns a Sample whose first value is a count into a rate over its wall time.
fn rate(mut s: Sample, count: f64) -> Sample {
    let secs = s.usage.wall.as_secs_f64();
    s.values = vec![Some(count / secs)];
    s
}

/// What the groups share: the context, where the figures go, and the tables kept for the
/// summary.
struct Run<'a> {
    ctx: &'a Ctx,
    out: Output,
    tables: Vec<Table>,
    /// The `--allocs` pass: allocation tables instead of the figures.
    allocs: bool,
}

impl Run<'_> {
    /// Runs a workload group: `rounds` rounds, every client once per round in a rotating
    /// order; prints one table per figure (in the `--allocs` pass, the allocations per
    /// operation instead) and the JSON lines; keeps the tables for the summary.
    #[allow(clippy::too_many_arguments)]
    fn group(
        &mut self,
        name: &'static str,
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
                eprintln!("compare: {name} round {}/{} {}", round + 1, rounds, c.name());
                let s = measure(self.ctx, c).map_err(|e| format!("{name} / {}: {e}", c.name()))?;
                let entry = samples.get_mut(&c).expect("every client has a slot");
                for (fig, v) in s.values.iter().enumerate() {
                    if let Some(v) = v {
                        entry.0[fig].push(*v);
                    }
                }
                entry.1.add(s.usage);
            }
        }
        let total_ops = ops.per_round * rounds as u64;
        let tables: Vec<Table> = if self.allocs {
            alloc_tables(name, detail, clients, &samples, ops, total_ops)
        } else {
            figures
                .iter()
                .enumerate()
                .map(|(fig_index, &figure)| {
                    let rows = clients
                        .iter()
                        .map(|c| {
                            let (vals, usage) = &samples[c];
                            (*c, vals[fig_index].clone(), *usage)
                        })
                        .collect();
                    Table { figure, detail: detail.to_owned(), rounds, rows }
                })
                .collect()
        };
        for table in tables {
            print_table(&table);
            for (c, _, usage) in &table.rows {
                self.out.json(&json_line(&table, *c, usage, total_ops))?;
            }
            self.tables.push(table);
        }
        print_usage(clients.iter().map(|&c| (c, samples[&c].1)), ops, rounds);
        println!();
        Ok(())
    }
}
