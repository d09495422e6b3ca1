//! What the run prints: per figure a table over the rounds and a JSON line (in the
//! `--allocs` pass, allocation tables instead), per group the resources of its timed parts,
//! and at the end the Markdown summary.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::time::Duration;

use crate::clients::{Client, CLIENTS};
use crate::config::Plan;
use crate::measure::Usage;
use crate::sys::Machine;
use crate::Res;

/// Which way a figure improves.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
}

/// One figure of a workload group (a group may report several, e.g. median and p99).
#[derive(Clone, Copy)]
pub struct Figure {
    pub id: &'static str,
    pub title: &'static str,
    pub unit: &'static str,
    pub better: Better,
}

/// One figure's results: per client, its values over the rounds and the resources of its
/// timed parts.
pub struct Table {
    pub figure: Figure,
    pub detail: String,
    pub rounds: usize,
    pub rows: Vec<(Client, Vec<f64>, Usage)>,
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

/// Where the JSON lines go: stdout, and the `--json` file if one was given.
pub struct Output {
    pub json: Option<File>,
}

impl Output {
    pub fn json(&mut self, line: &str) -> Res<()> {
        println!("JSON {line}");
        if let Some(f) = &mut self.json {
            writeln!(f, "{line}").map_err(|e| format!("--json file: {e}"))?;
        }
        Ok(())
    }
}

/// What a round does, for per-operation figures: so many of `name` per round.
#[derive(Clone, Copy)]
pub struct Ops {
    pub name: &'static str,
    pub per_round: u64,
}

pub fn print_table(t: &Table) {
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

/// Per client, what its timed parts used over all rounds: wall time, CPU time of the client
/// and of the server (and each as a share of one core), context switches and minor page
/// faults (both also per operation).
pub fn print_usage(usages: impl Iterator<Item = (Client, Usage)>, ops: Ops, rounds: usize) {
    // Who was busy during the timed parts: a server near 100 % of a core would be the limit.
    println!("   timed parts, all rounds: wall; CPU time and share of one core of the client process and of the echo server; client context switches; client minor page faults");
    for (c, u) in usages {
        let cpu = |d: Option<Duration>| match d {
            Some(d) if !u.wall.is_zero() => format!(
                "{:>7.0} ms ({:>3.0}%)",
                d.as_secs_f64() * 1e3,
                100.0 * d.as_secs_f64() / u.wall.as_secs_f64()
            ),
            _ => format!("{:>15}", "n/a"),
        };
        let total_ops = ops.per_round as f64 * rounds as f64;
        let per_op = |count: Option<u64>| match count {
            Some(n) if total_ops > 0.0 => format!("{n} ({:.3}/{})", n as f64 / total_ops, ops.name),
            Some(n) => n.to_string(),
            None => "n/a".to_owned(),
        };
        let (switches, faults) = (per_op(u.switches), per_op(u.faults));
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
}

/// A figure's JSON line for one client; `ops` is the operations its timed parts did over all
/// rounds (for the per-operation page faults; 0 where a group has none).
pub fn json_line(t: &Table, c: Client, usage: &Usage, ops: u64) -> String {
    let num = |v: Option<f64>| match v {
        Some(v) if v.is_finite() => format!("{v:.3}"),
        _ => "null".to_owned(),
    };
    let s = t.summary(c);
    let ms = |d: Option<Duration>| num(d.map(|d| d.as_secs_f64() * 1e3));
    format!(
        "{{\"workload\":\"{}\",\"client\":\"{}\",\"median\":{},\"min\":{},\"max\":{},\"unit\":\"{}\",\"better\":\"{}\",\"ratio_to_raw\":{},\"rounds\":{},\"samples\":{},\"wall_ms\":{},\"client_cpu_ms\":{},\"server_cpu_ms\":{},\"client_switches\":{},\"client_page_faults\":{},\"ops\":{},\"client_page_faults_per_op\":{},\"client_allocs\":{},\"client_alloc_bytes\":{}}}",
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
        ops,
        num(usage.faults.filter(|_| ops > 0).map(|n| n as f64 / ops as f64)),
        usage.allocs.map_or("null".to_owned(), |(n, _)| n.to_string()),
        usage.allocs.map_or("null".to_owned(), |(_, b)| b.to_string()),
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

/// The summary: the figures in a fixed order, then any others (the `--allocs` tables) in the
/// order they were made.
pub fn markdown(machine: &Machine, plan: &Plan, allocs: bool, tables: &[Table], notes: &[String]) -> String {
    let fixed = [
        "pipelined_16B",
        "pipelined_1KiB",
        "wss_pipelined_1KiB",
        "round_trip_median",
        "round_trip_p99",
        "round_trip_event_median",
        "round_trip_event_p99",
        "wss_round_trip_median",
        "wss_round_trip_p99",
        "bulk_1MiB",
        "bulk_1MiB_window",
        "wss_bulk_1MiB",
        "idle_cpu",
        "idle_ctx_switches",
        "idle_conn_thread_ctx_switches",
        "idle_threads",
        "idle_new_threads",
        "many_connect",
        "many_rss_per_conn",
        "many_threads",
        "many_close",
        "many_idle_cpu",
        "many_idle_ctx_switches",
    ];
    let others = tables.iter().map(|t| t.figure.id).filter(|id| !fixed.contains(id));
    let order: Vec<&str> = fixed.iter().copied().chain(others).collect();
    let mut md = String::new();
    md.push_str("---- Markdown summary ----\n\n");
    md.push_str(&format!(
        "Benchmark `cargo bench --bench compare{}{}` ({} run, {}), {}; {}. Local echo server in its own process. Ratios are client / raw tungstenite.\n\n",
        if plan.name == "quick" { " -- --quick" } else { "" },
        if allocs { if plan.name == "quick" { " --allocs" } else { " -- --allocs" } } else { "" },
        plan.name,
        if allocs {
            "allocations counted in one round per client".to_owned()
        } else {
            format!("median of {} rounds; idle {}, many {}", plan.rounds, plan.idle_rounds, plan.many_rounds)
        },
        machine.line(),
        machine.date
    ));
    md.push_str("| workload | unit |");
    for c in CLIENTS {
        md.push_str(&format!(" {} |", c.name()));
    }
    md.push_str("\n|---|---|");
    md.push_str(&"--:|".repeat(CLIENTS.len()));
    md.push('\n');
    for id in order {
        let id: &str = id;
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

/// The `--allocs` tables of a group: allocations and bytes requested per operation (per
/// idle period where the group has no operations), from the one round each client ran.
pub fn alloc_tables(
    name: &'static str,
    detail: &str,
    clients: &[Client],
    samples: &BTreeMap<Client, (Vec<Vec<f64>>, Usage)>,
    ops: Ops,
    total_ops: u64,
) -> Vec<Table> {
    let per = if total_ops > 0 { ops.name } else { "period" };
    // Built once per group and run: leaking them gives the &'static names Figure holds.
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let figures = [
        Figure {
            id: leak(format!("allocs_{name}")),
            title: leak(format!("{name}: allocations per {per}")),
            unit: leak(format!("allocs/{per}")),
            better: Better::Lower,
        },
        Figure {
            id: leak(format!("allocs_bytes_{name}")),
            title: leak(format!("{name}: bytes allocated per {per}")),
            unit: leak(format!("B/{per}")),
            better: Better::Lower,
        },
    ];
    let divisor = total_ops.max(1) as f64;
    figures
        .iter()
        .enumerate()
        .map(|(i, &figure)| {
            let rows = clients
                .iter()
                .map(|c| {
                    let usage = samples[c].1;
                    let value = usage.allocs.map(|(count, bytes)| [count, bytes][i] as f64 / divisor);
                    (*c, value.into_iter().collect(), usage)
                })
                .collect();
            Table { figure, detail: format!("{detail}; allocations counted"), rounds: 1, rows }
        })
        .collect()
}
