//! The proxy environment variables, end to end: this test runs its own binary again as a
//! child process with the variables set (the test process's own environment is never
//! changed: tests run on parallel threads), and the child connects with default options.
//! Proves that the real environment is read, per scheme, with NO_PROXY and the loopback rule.

mod support;

use std::process::{Command, Stdio};

use support::*;
use wsthread::{Options, WebSocketClient};

/// Set in the child: the URL to connect to.
const CHILD_URL: &str = "WSTHREAD_TEST_CHILD_URL";
/// Every variable that could steer the child, cleared before each run.
const PROXY_VARS: [&str; 9] = [
    "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY", "REQUEST_METHOD",
];

/// The child's side: connect, echo once, print what was chosen or the error.
fn child(url: &str) {
    let (callback, events) = collector();
    let client = WebSocketClient::new(callback, Options::new(url).unwrap()).unwrap();
    match client.connect(&[]) {
        Ok(handshake) => {
            client.send("env").unwrap();
            assert_eq!(next_message(&events), wsthread::Message::Text("env".into()));
            println!("CHOICE: {}", handshake.proxy);
        }
        Err(e) => println!("ERROR: {e:?}"),
    }
}

/// Runs this test in a child with `vars` set; returns the child's CHOICE or ERROR line.
fn run_child(url: &str, vars: &[(&str, String)]) -> String {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "environment_steers_a_child_process", "--nocapture", "--test-threads=1"]);
    for v in PROXY_VARS {
        cmd.env_remove(v);
    }
    cmd.env(CHILD_URL, url).envs(vars.iter().map(|(k, v)| (k, v)));
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed: {}\n{stdout}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    // The harness prints `test name ... ` before the child's line, on the same line.
    stdout
        .lines()
        .find_map(|l| l.find("CHOICE: ").or_else(|| l.find("ERROR: ")).map(|at| l[at..].to_owned()))
        .unwrap_or_else(|| panic!("the child said nothing: {stdout}"))
}

#[test]
fn environment_steers_a_child_process() {
    if let Ok(url) = std::env::var(CHILD_URL) {
        return child(&url);
    }
    let (echo, _) = echo_server();
    let (http, http_asked) = connect_proxy(ProxyRules::open());
    let (socks, socks_asked) = socks5_proxy(ProxyRules::open());
    let http_url = format!("http://{}", http.addr());
    let socks_url = format!("socks5h://{}", socks.addr());
    // echo.test resolves only inside the test proxies.
    let named = format!("ws://echo.test:{}/", echo.addr().port());

    // ws:// takes HTTP_PROXY; HTTPS_PROXY is for wss:// only.
    let said = run_child(&named, &[("HTTP_PROXY", http_url.clone()), ("HTTPS_PROXY", socks_url.clone())]);
    assert_eq!(said, format!("CHOICE: proxy {http_url} (from HTTP_PROXY)"));
    assert!(matches!(next_asked(&http_asked), Asked::Connect { target, .. } if target == format!("echo.test:{}", echo.addr().port())));

    // The lower-case name wins; ALL_PROXY when the scheme has none.
    let said = run_child(&named, &[("all_proxy", socks_url.clone()), ("ALL_PROXY", http_url.clone())]);
    assert_eq!(said, format!("CHOICE: proxy {socks_url} (from all_proxy)"));
    assert!(matches!(next_asked(&socks_asked), Asked::Socks { by_name: true, .. }));

    // NO_PROXY sends it direct: echo.test cannot be resolved here, and no proxy is asked.
    let said = run_child(&named, &[("http_proxy", http_url.clone()), ("NO_PROXY", "localhost, .test".into())]);
    assert!(said.starts_with("ERROR: Dns("), "{said}");

    // Loopback is never proxied by the environment.
    let said = run_child(&echo.ws_url("/"), &[("ALL_PROXY", http_url.clone())]);
    assert_eq!(said, "CHOICE: no proxy (loopback host (else ALL_PROXY would apply))");

    assert!(http_asked.try_recv().is_err() && socks_asked.try_recv().is_err(), "a proxy was asked once too often");
}
