//! The command line and the plan it picks: full (`--bench`, as `cargo bench` passes it),
//! `--quick`, or a smoke run without `--bench`; and the pass: timing, or `--allocs`.

use std::fs::File;
use std::time::Duration;

use crate::clients::Client;
use crate::Res;

pub const GROUPS: [&str; 11] = [
    "idle",
    "many",
    "round_trip",
    "round_trip_event",
    "wss_round_trip",
    "pipelined_16B",
    "pipelined_1KiB",
    "wss_pipelined_1KiB",
    "bulk",
    "bulk_window",
    "wss_bulk",
];

pub struct Config {
    pub plan: Plan,
    only: Option<Vec<String>>,
    /// The clients to run (default: all, plain TCP in the bulk group only).
    pub clients: Vec<Client>,
    pub json: Option<File>,
    /// The allocation-counting pass (`--allocs`) instead of the timing one.
    pub allocs: bool,
}

#[derive(Clone, Copy)]
pub struct Plan {
    pub name: &'static str,
    pub rounds: usize,
    pub small_msgs: usize,
    pub rt_count: usize,
    pub bulk_msgs: usize,
    pub idle: Duration,
    pub idle_rounds: usize,
    pub many_conns: usize,
    pub many_rounds: usize,
    /// How long the `many` connections sit idle while the process's CPU time and context
    /// switches are read.
    pub many_idle: Duration,
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
        many_conns: 10_000,
        many_rounds: 3,
        many_idle: Duration::from_secs(10),
    };
    const QUICK: Plan = Plan {
        name: "quick",
        rounds: 2,
        small_msgs: 50_000,
        rt_count: 5_000,
        bulk_msgs: 50,
        idle: Duration::from_secs(5),
        idle_rounds: 1,
        many_conns: 10_000,
        many_rounds: 1,
        many_idle: Duration::from_secs(5),
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
        many_idle: Duration::from_millis(100),
    };
}

impl Config {
    pub fn parse(args: &[String]) -> Res<Config> {
        let mut quick = false;
        let mut bench = false;
        let mut only = None;
        let mut json = None;
        let mut allocs = false;
        let mut clients = vec![Client::Raw, Client::Tokio, Client::Wsthread, Client::WsChannel, Client::Tcp];
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--quick" => quick = true,
                "--bench" => bench = true,
                "--allocs" => allocs = true,
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
                            "channel" => Ok(Client::WsChannel),
                            "tcp" => Ok(Client::Tcp),
                            other => Err(format!("unknown client {other:?} (raw, tokio, wsthread, channel, tcp)")),
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
        Ok(Config { plan, only, clients, json, allocs })
    }

    pub fn wants(&self, group: &str) -> bool {
        self.only.as_ref().is_none_or(|o| o.iter().any(|g| g == group))
    }
}
