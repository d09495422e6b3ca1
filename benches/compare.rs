//! wsthread against raw tungstenite and tokio-tungstenite, on one local echo server, over
//! `ws://` and `wss://` (issues 10 and 19).
//!
//! ```text
//! cargo bench --bench compare                     # full run: 7 rounds per workload, ~5 minutes
//! cargo bench --bench compare -- --quick          # 2 rounds, fewer messages, about a minute
//! cargo bench --bench compare -- --only bulk,idle # some workload groups only
//! cargo bench --bench compare -- --json out.jsonl # also write the JSON figures to a file
//! cargo bench --bench compare -- --clients wsthread,raw   # some clients only (raw, tokio,
//!                                                         # wsthread, channel, tcp)
//! cargo bench --bench compare -- --allocs         # allocations per message instead of times
//! ```
//!
//! Groups (for `--only`): `idle`, `many`, `round_trip`, `round_trip_event`, `wss_round_trip`,
//! `pipelined_16B`, `pipelined_1KiB`, `wss_pipelined_1KiB`, `bulk`, `bulk_window`, `wss_bulk`.
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
//! ping → pong, close → close echo, then FIN. It listens on three ports: that WebSocket echo;
//! the same echo over TLS (rustls `StreamOwned`, ring, TLS 1.3 with one cipher suite,
//! TLS13_AES_128_GCM_SHA256, so that every client negotiates the same one: each checks it
//! did, and the header prints it; an ECDSA P-256 certificate for IP 127.0.0.1 from a CA made
//! with rcgen at start-up, handed to the child in an environment variable); and a plain TCP
//! byte echo, for the loopback ceiling. The server exits when its stdin closes (the bench died)
//! or is killed. Its CPU time (utime + stime of `/proc/<pid>/stat`) is printed per workload and
//! client, as a share of one core over the timed parts: near 100 % would mean the server is
//! the limit.
//!
//! Clients, each through its ordinary API, each on a new connection per round (the connect,
//! TLS handshake included, is not timed), taking turns within a round (the order rotates
//! each round):
//! - raw tungstenite 0.30, blocking `std::net::TcpStream` with TCP_NODELAY; over TLS, a
//!   blocking `rustls::StreamOwned<ClientConnection, TcpStream>` (ring, the CA as its only
//!   root). Pipelined small messages: `write` ×100, one `flush`, then `read` the 100 echoes,
//!   and again. Bulk (1 MiB messages; 100 of them would fill both directions' socket buffers
//!   and deadlock that loop): over TCP, the same socket split over two threads, a second
//!   `WebSocket` on a `try_clone` for writing on the caller's thread and the reading one on
//!   another thread. Over TLS both directions share one rustls state, so the socket cannot
//!   be split; a writer and a reader sharing the `WebSocket` under a lock need socket
//!   timeouts to hand it over, and those are rounded up to kernel ticks (1 ms asked, 8 ms
//!   taken here: rounds ran at 12 to 470 MiB/s). So `wss_bulk`'s raw client is one thread
//!   with the socket non-blocking, resuming tungstenite's `write`/`flush`/`read` after
//!   `WouldBlock` as tungstenite documents, sleeping in a mio poller when neither direction
//!   can move, one message at a time in the libraries' buffers (rustls's outgoing-buffer
//!   limit lifted: at its default `StreamOwned::write` can return Ok(0), which tungstenite
//!   takes for a reset). See `clients/raw_tls.rs`.
//! - tokio-tungstenite 0.30 on a current-thread runtime, over tokio's `TcpStream` or
//!   tokio-rustls 0.26 (ring, the same client config as raw): split sink and stream, a spawned
//!   sender task that `feed`s every message then flushes, the receiver counting echoes.
//! - wsthread: `WebSocketClient::new(callback, options)`, `connect(&[])`, `send` from the
//!   caller's thread; the callback counts echoes and signals through a crossbeam channel.
//!   `options` is `Options::new(url)?`, and for `wss://` also `.root_certs(RootCerts::None)
//!   .add_root_certificate_pem(ca)`: the trust anchors the other clients have, and no OS store
//!   loaded at each connect.
//! - wsthread's channel form: `WebSocketClient::channel(options)` (64 events), `connect(&[])`,
//!   `send` from the caller's thread. For the round trips the caller blocks on the event
//!   receiver for each echo; pipelined and bulk, a second thread blocks on it and counts. It
//!   runs in those groups only (elsewhere it would repeat the callback form), so its ratio to
//!   `wsthread` is what the channel costs.
//!
//! Every client is handed a fresh `Vec<u8>` per message (what an application producing data
//! has): wsthread takes it as `Message::Binary`, tungstenite as `Bytes` without a copy.
//!
//! ## Workloads (full / --quick; 7 / 2 rounds unless said)
//! - `pipelined_16B`, `pipelined_1KiB`, `wss_pipelined_1KiB`: 200,000 / 50,000 binary messages
//!   sent as fast as the client takes them while echoes are counted; msg/s from the first send
//!   to the last echo.
//! - `round_trip`, `wss_round_trip`: 20,000 / 5,000 × (send 16 B, wait for the echo); median
//!   and p99 in µs. wsthread's caller thread waits for a message its callback passes on.
//! - `round_trip_event`: the same, written event-driven: wsthread's callback sends the next
//!   message when the echo arrives (no thread hop); raw and tokio run the same loop as above,
//!   which already reads and sends on one thread.
//! - `bulk`, `wss_bulk`: 200 / 50 messages of 1 MiB, pipelined; MiB/s. Beside `bulk`, plain
//!   TCP: 1 MiB writes to the byte-echo port on one thread, reads on another: the loopback
//!   ceiling.
//! - `bulk_window`: the same bulk transfer, wsthread keeping at most 8 messages unechoed
//!   (application flow control on top of the bounded send queue, see `ws_windowed`).
//! - `idle`: a connected client doing nothing for 5 s (2 / 1 rounds): process CPU time
//!   (getrusage, µs), voluntary + involuntary context switches of every thread
//!   (`/proc/self/task/*/status`), those of the threads the client created (task list
//!   diffed around the connect; tokio's runs on the caller's thread and creates none), the
//!   process's thread count. Raw tungstenite idles as a blocking reader thread.
//! - `many`: 10,000 connections at once (3 / 1 rounds; the smoke run 20): time to connect them
//!   one after the other, VmRSS growth per connection (thread stacks included; after
//!   `malloc_trim` where glibc has it), threads added, then the connections sit idle for 10 s
//!   / 5 s while the whole process's CPU time (µs) and context switches are read, then the
//!   time to close them all. Those are read per thread outside the period (the other threads'
//!   from `/proc/self/task/*/schedstat` and `status`, the caller's from
//!   CLOCK_THREAD_CPUTIME_ID and getrusage's RUSAGE_THREAD just around it; its sleep is one
//!   switch, and tokio's runtime runs there): a getrusage of the whole process walks every
//!   thread, 0.4 ms of CPU a call with 6,600 threads here, and would count itself as idle CPU. wsthread: 10,000
//!   `WebSocketClient`s; raw: 10,000 blocking sockets, no threads, nobody reading; tokio:
//!   10,000 connections, each with a reader task, on the current-thread runtime, which sits in
//!   its poller while idle. Before the server starts, RLIMIT_NOFILE is raised to what 3 files
//!   per connection need (the hard limit too where the process may: root with
//!   CAP_SYS_RESOURCE; the header says what happened). Each client's files per connection are
//!   counted (between its first and second connection) and every client gets the same count,
//!   the most that fit the limit and the threads the machine can still start (pid_max,
//!   threads-max: one per wsthread connection, one per server connection); fewer than 10,000
//!   is said on stderr and under the summary.
//!
//! Every wait is bounded (socket timeouts, `recv_timeout`, `tokio::time::timeout`, the
//! poller's timeout): a broken client ends the bench with an error naming the workload and
//! client, never a hang.
//!
//! ## Allocations (`--allocs`)
//! The binary's global allocator is `std::alloc::System` behind a switch (`allocs.rs`). The
//! `--allocs` pass runs the chosen groups once per client (the plan's message counts) with
//! counting on inside the timed parts only, and reports, instead of the figures, allocations
//! and bytes requested per operation (message, round trip, MiB, connection; per period for
//! `idle`) as tables `allocs_<group>` and `allocs_bytes_<group>` (the JSON `workload`). A
//! reallocation counts as an allocation of its new size. The count covers every thread of the
//! client process (wsthread's connection thread, tokio's runtime) and the fresh `Vec` the
//! harness makes per message (one allocation of the message's size, the same for every
//! client). Counting costs two shared atomic additions per allocation, so that pass's times are
//! not comparable; outside it, each allocation pays one relaxed load and an untaken branch in
//! front of the system allocator's own work. The echo server child never turns counting on.
//!
//! ## Output
//! Per workload a table: client, median over rounds, min..max, unit, ratio to raw tungstenite
//! (client / raw; for times and counts lower is better, and the header says which way),
//! then, summed over the rounds' timed parts, per client: wall time, CPU time of the client
//! process and of the echo server (and each as a share of one core), the client's context
//! switches and minor page faults (getrusage), each also per message, round trip, MiB or
//! connection.
//! Per figure a machine-readable line on stdout beginning `JSON ` (`grep '^JSON '`), e.g.
//! `JSON {"workload":"pipelined_16B","client":"wsthread","median":…,"min":…,"max":…,
//! "unit":"msg/s",…,"client_page_faults":…,"ops":…,"client_page_faults_per_op":…,
//! "client_allocs":…,"client_alloc_bytes":…}` (the last two null outside `--allocs`); with
//! `--json PATH` the same objects, without the prefix, one per line, also go to PATH. At the
//! end a Markdown table headed by the machine and the date, ready for the README. `/proc`
//! figures are Linux-only and print `n/a` elsewhere; progress goes to stderr.

// A bench target's root is read like a `main.rs`: a bare `mod server;` would mean
// `benches/server.rs`, which Cargo would also take for a bench target of its own. Hence the
// paths into `benches/compare/`, which Cargo leaves alone (it has no `main.rs`).

/// The command line: `--quick`, `--only`, `--clients`, `--json`, and the plan they pick.
#[path = "compare/config.rs"]
mod config;
/// The run: the workload groups in order, each round of each client.
#[path = "compare/workloads.rs"]
mod workloads;
/// The clients compared, one module each: raw tungstenite, tokio-tungstenite, wsthread, TCP.
#[path = "compare/clients/mod.rs"]
mod clients;
/// The timed parts: what a round measures, and the figures made of it.
#[path = "compare/measure.rs"]
mod measure;
/// Statistics over rounds, the tables, the JSON lines and the Markdown summary.
#[path = "compare/report.rs"]
mod report;
/// The echo server, a child process of this binary.
#[path = "compare/server.rs"]
mod server;
/// The machine and the OS: /proc, getrusage, RLIMIT_NOFILE, malloc_trim.
#[path = "compare/sys.rs"]
mod sys;
/// The certificates and rustls configs of the wss groups.
#[path = "compare/tls.rs"]
mod tls;
/// The global allocator: `System`, counting in the `--allocs` pass.
#[path = "compare/allocs.rs"]
mod allocs;

use config::{Config, GROUPS};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Res<T> = Result<T, BoxError>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        if let Err(e) = server::serve() {
            eprintln!("compare --serve: {e}");
            std::process::exit(1);
        }
        return;
    }
    let config = match Config::parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("compare: {e}\nusage: compare [--quick] [--allocs] [--only GROUP,...] [--clients CLIENT,...] [--json PATH]");
            eprintln!("groups: {}", GROUPS.join(", "));
            std::process::exit(2);
        }
    };
    if let Err(e) = workloads::run(config) {
        eprintln!("compare: error: {e}");
        std::process::exit(1);
    }
}
