//! The run: the echo server and the runtime set up, then the workload groups in order, each
//! round of each client, and the summary.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::clients::raw::{raw_idle, raw_many, raw_pipelined, raw_round_trip, RawMode};
use crate::clients::tcp::tcp_ceiling;
use crate::clients::tokio_ws::{tokio_idle, tokio_many, tokio_pipelined, tokio_round_trip};
use crate::clients::ws::{ws_idle, ws_many, ws_pipelined, ws_round_trip, ws_round_trip_event, ws_windowed};
use crate::clients::ws_channel::{ch_pipelined, ch_round_trip};
use crate::clients::Client;
use crate::config::Config;
use crate::measure::{Ctx, Sample, Usage};
use crate::report::{json_line, markdown, print_table, print_usage, Better, Figure, Ops, Output, Table};
use crate::server::Server;
use crate::sys::{raise_nofile_limit, Machine};
use crate::Res;

const MIB: f64 = 1024.0 * 1024.0;

/// Messages wsthread may have unechoed in the `bulk_window` group.
const BULK_WINDOW: u64 = 8;

pub fn run(mut config: Config) -> Res<()> {
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
        group(&ctx, &mut out, &mut tables, &figs, &detail, plan.idle_rounds, &no_channel, Ops { name: "", per_round: 0 }, |ctx, c| match c {
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
        group(&ctx, &mut out, &mut tables, &figs, &detail, plan.many_rounds, &no_channel, Ops { name: "conn", per_round: n as u64 }, |ctx, c| match c {
            Client::Raw => raw_many(ctx, n),
            Client::Tokio => tokio_many(ctx, n),
            _ => ws_many(ctx, n),
        })?;
    }

    // Raw and tokio run the same round trips in both groups; only wsthread's side differs.
    let n = plan.rt_count;
    type RoundTrip = fn(&Ctx, usize) -> Res<Sample>;
    /// A round-trip group: its name, figures, description, wsthread's side, the clients.
    type Group<'a> = (&'a str, [Figure; 2], String, RoundTrip, &'a [Client]);
    let round_trips: [Group; 2] = [
        (
            "round_trip",
            [
                Figure { id: "round_trip_median", title: "round trip 16 B: median", unit: "µs", better: Better::Lower },
                Figure { id: "round_trip_p99", title: "round trip 16 B: p99", unit: "µs", better: Better::Lower },
            ],
            format!("{n} × (send 16 B, wait for its echo)"),
            ws_round_trip,
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
            ws_round_trip_event,
            &no_channel,
        ),
    ];
    for (grp, figs, detail, ws, clients) in round_trips {
        if !config.wants(grp) {
            continue;
        }
        group(&ctx, &mut out, &mut tables, &figs, &detail, plan.rounds, clients, Ops { name: "round trip", per_round: n as u64 }, |ctx, c| match c {
            Client::Raw => raw_round_trip(ctx, n),
            Client::Tokio => tokio_round_trip(ctx, n),
            Client::WsChannel => ch_round_trip(ctx, n),
            _ => ws(ctx, n),
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
                Client::WsChannel => ch_pipelined(ctx, size, n),
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
            bulk(ctx, c, n, |ctx, size| ws_pipelined(ctx, size, n))
        })?;
    }

    if config.wants("bulk_window") {
        let figs = [Figure { id: "bulk_1MiB_window", title: "bulk 1 MiB, 8 MiB window", unit: "MiB/s", better: Better::Higher }];
        let n = plan.bulk_msgs;
        let detail = format!(
            "{n} binary messages of 1 MiB; wsthread keeps at most {BULK_WINDOW} unechoed (application flow control), raw and tokio as above"
        );
        group(&ctx, &mut out, &mut tables, &figs, &detail, plan.rounds, &no_channel, Ops { name: "MiB", per_round: n as u64 }, |ctx, c| {
            bulk(ctx, c, n, |ctx, size| ws_windowed(ctx, size, n, BULK_WINDOW))
        })?;
    }

    drop(server);
    println!("{}", markdown(&machine, &plan, &tables, &notes));
    eprintln!("compare: done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// One round of a bulk group: `n` messages of 1 MiB, in MiB/s. `ws` is how wsthread sends
/// them, the part in which the two bulk groups differ.
fn bulk(ctx: &Ctx, c: Client, n: usize, ws: impl FnOnce(&Ctx, usize) -> Res<Sample>) -> Res<Sample> {
    let size = 1 << 20;
    let s = match c {
        Client::Raw => raw_pipelined(ctx, size, n, RawMode::Split),
        Client::Tokio => tokio_pipelined(ctx, size, n),
        Client::Wsthread => ws(ctx, size),
        Client::WsChannel => ch_pipelined(ctx, size, n),
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
    print_usage(clients.iter().map(|&c| (c, samples[&c].1)), ops, rounds);
    println!();
    Ok(())
}
