//! Through real proxy servers from Debian's packages, which `.ci/proxies` unpacks into
//! target/proxies (no root needed; the test runs it on first use): tinyproxy for HTTP CONNECT
//! (with and without Basic authentication, and its refusal) and microsocks for SOCKS5 (with and
//! without a user name and password, local and remote name resolution). When they cannot be
//! installed, the test fails and says how to fix it; it never skips.

mod support;

use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::Instant;

use support::*;
use wsthread::{Error, Options, Proxy, WebSocketClient};

/// Where `.ci/proxies` put the binaries; runs it once per test binary.
fn proxies_dir() -> &'static Path {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target dir").to_path_buf();
        let dest = target.join("proxies");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci").join("proxies");
        let out = Command::new("bash").arg(&script).arg(&dest).stdin(Stdio::null()).output();
        match out {
            Ok(out) if out.status.success() => Ok(dest),
            Ok(out) => Err(format!(
                "{} failed ({}), so tinyproxy and microsocks are missing. Fix what it says below, \
                 then run `.ci/proxies` (or put both programs in {}/bin).\n{}",
                script.display(),
                out.status,
                dest.display(),
                String::from_utf8_lossy(&out.stderr)
            )),
            Err(e) => Err(format!("cannot run {}: {e}", script.display())),
        }
    });
    match dir {
        Ok(dir) => dir,
        Err(why) => panic!("{why}"),
    }
}

/// A proxy server process, killed by its PID and reaped when dropped.
struct RealProxy {
    child: Child,
    addr: SocketAddr,
    _dir: Option<PathBuf>,
}

impl Drop for RealProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self._dir {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

/// Starts a server on a free port of 127.0.0.1 and waits until it accepts connections. The
/// port is found by binding port 0 and letting it go; should another process take it first,
/// the server exits and another port is tried.
fn start(spawn: impl Fn(u16) -> (Child, Option<PathBuf>)) -> RealProxy {
    for _ in 0..5 {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (mut child, dir) = spawn(port);
        let proxy_addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + WAIT;
        // No readiness signal comes from these programs: connect until one is accepted,
        // while the process lives, within WAIT.
        loop {
            if TcpStream::connect(proxy_addr).is_ok() {
                return RealProxy { child, addr: proxy_addr, _dir: dir };
            }
            if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            thread::sleep(ms(10));
        }
    }
    panic!("the proxy server did not start listening");
}

fn tinyproxy(credentials: Option<(&str, &str)>) -> RealProxy {
    let bin = proxies_dir().join("bin").join("tinyproxy");
    let credentials = credentials.map(|(u, p)| (u.to_owned(), p.to_owned()));
    start(move |port| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tinyproxy-{}-{port}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        // No ConnectPort line: CONNECT to any port. No Allow line: any client.
        let mut conf = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 16\nLogLevel Info\nLogFile \"{}\"\n",
            dir.join("log").display()
        );
        if let Some((user, pass)) = &credentials {
            conf.push_str(&format!("BasicAuth {user} {pass}\n"));
        }
        let conf_path = dir.join("tinyproxy.conf");
        fs::write(&conf_path, conf).unwrap();
        let child = Command::new(&bin)
            .args(["-d", "-c"])
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        (child, Some(dir))
    })
}

fn microsocks(credentials: Option<(&str, &str)>) -> RealProxy {
    let bin = proxies_dir().join("bin").join("microsocks");
    let credentials = credentials.map(|(u, p)| (u.to_owned(), p.to_owned()));
    start(move |port| {
        let mut cmd = Command::new(&bin);
        cmd.args(["-i", "127.0.0.1", "-p", &port.to_string()]);
        if let Some((user, pass)) = &credentials {
            cmd.args(["-u", user, "-P", pass]);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        (child, None)
    })
}

fn through(url: &str, proxy: String) -> Options {
    Options::new(url).unwrap().proxy(Proxy::new(&proxy).unwrap())
}

#[test]
fn tinyproxy_tunnels_and_checks_basic_auth() {
    let (echo, _) = echo_server();
    let open = tinyproxy(None);
    let handshake = echo_round_trip(through(&echo.ws_url("/"), format!("http://{}", open.addr)));
    assert_eq!(handshake.peer_addr, open.addr);

    let guarded = tinyproxy(Some(("wsuser", "wspass")));
    echo_round_trip(through(&echo.ws_url("/"), format!("http://wsuser:wspass@{}", guarded.addr)));
    for user_info in ["", "wsuser:wrong@"] {
        let options = through(&echo.ws_url("/"), format!("http://{user_info}{}", guarded.addr));
        let (callback, _events) = collector();
        let client = WebSocketClient::new(callback, options).unwrap();
        match client.connect(&[]) {
            // tinyproxy 1.11.1 answers missing credentials with 407 and Proxy-Authenticate,
            // wrong ones with 401 and WWW-Authenticate; either way the caller gets it as it came.
            Err(Error::ProxyRejected(r)) => {
                assert!(matches!(r.status, 401 | 407), "{r:?}");
                assert!(r.header("proxy-authenticate").or(r.header("www-authenticate")).is_some(), "{r:?}");
                assert!(r.body_text().contains("Generated by tinyproxy"), "{}", r.body_text());
            }
            other => panic!("{user_info:?}: expected a 407, got {other:?}"),
        }
    }
}

#[test]
fn microsocks_tunnels_with_and_without_credentials() {
    let (echo, _) = echo_server();
    let port = echo.addr().port();
    let open = microsocks(None);
    echo_round_trip(through(&echo.ws_url("/"), format!("socks5://{}", open.addr)));
    // socks5h: microsocks resolves `localhost` itself.
    echo_round_trip(through(&format!("ws://localhost:{port}/"), format!("socks5h://{}", open.addr)));

    let guarded = microsocks(Some(("wsuser", "wspass")));
    echo_round_trip(through(&echo.ws_url("/"), format!("socks5://wsuser:wspass@{}", guarded.addr)));
    for user_info in ["", "wsuser:wrong@"] {
        let options = through(&echo.ws_url("/"), format!("socks5://{user_info}{}", guarded.addr));
        let (callback, _events) = collector();
        let client = WebSocketClient::new(callback, options).unwrap();
        match client.connect(&[]) {
            Err(Error::ProxyAuth(why)) => eprintln!("{user_info:?}: {why}"),
            other => panic!("{user_info:?}: expected Error::ProxyAuth, got {other:?}"),
        }
    }
    // A port where nobody listens: the proxy's refusal is a SOCKS reply code.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let options = through(&ws_url(closed, "/"), format!("socks5://{}", open.addr));
    let (callback, _events) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    match client.connect(&[]) {
        Err(Error::SocksRejected(code)) => eprintln!("refused with reply {code}"),
        other => panic!("expected Error::SocksRejected, got {other:?}"),
    }
}
