//! The machine and the OS: /proc on Linux, n/a elsewhere; getrusage, RLIMIT_NOFILE and
//! malloc_trim through libc.

use std::collections::{BTreeMap, BTreeSet};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub struct Machine {
    cpu: String,
    cores: String,
    os: String,
    pub date: String,
}

impl Machine {
    pub fn probe() -> Machine {
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

    pub fn line(&self) -> String {
        format!("{}, {} cores, {}", self.cpu, self.cores, self.os)
    }
}

/// Today's date (UTC) as YYYY-MM-DD, from the system clock.
fn utc_date() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut days = secs / 86_400;
    let leap = |y: u64| (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
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
pub fn stat_ticks(path: &str) -> Option<u64> {
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

pub fn rss_kib() -> Option<u64> {
    status_field("/proc/self/status", "VmRSS:")
}

pub fn threads() -> Option<u64> {
    status_field("/proc/self/status", "Threads:")
}

/// The process's thread ids.
pub fn tasks() -> Option<BTreeSet<u32>> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let dir = std::fs::read_dir("/proc/self/task").ok()?;
    Some(dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
}

/// Voluntary + involuntary context switches of each thread.
pub fn ctx_switches() -> Option<BTreeMap<u32, u64>> {
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

/// Per thread of this process: its CPU time in ns (`schedstat`'s first field: exact, where
/// `stat` counts clock ticks) and its voluntary + involuntary context switches.
pub fn thread_usage() -> Option<BTreeMap<u32, (u64, u64)>> {
    let mut map = BTreeMap::new();
    for tid in tasks()? {
        let run_ns = read_proc(&format!("/proc/self/task/{tid}/schedstat"))
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok());
        let path = format!("/proc/self/task/{tid}/status");
        let v = status_field(&path, "voluntary_ctxt_switches:");
        let nv = status_field(&path, "nonvoluntary_ctxt_switches:");
        if let (Some(ns), Some(v), Some(nv)) = (run_ns, v, nv) {
            map.insert(tid, (ns, v + nv));
        }
    }
    Some(map)
}

/// The calling thread's id, CPU time and context switches. The time comes from
/// CLOCK_THREAD_CPUTIME_ID, which brings the running thread's count up to date first;
/// getrusage (RUSAGE_THREAD or RUSAGE_SELF) reads it as of the last scheduler tick, up to a
/// tick (4 ms here) behind. The switches come from getrusage's RUSAGE_THREAD.
#[cfg(target_os = "linux")]
pub fn caller_usage() -> Option<(u32, Duration, u64)> {
    // SAFETY: gettid has no preconditions; clock_gettime and getrusage fill the zeroed
    // structs they are given.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) } as u32;
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return None;
    }
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) } != 0 {
        return None;
    }
    let cpu = Duration::from_secs(ts.tv_sec as u64) + Duration::from_nanos(ts.tv_nsec as u64);
    Some((tid, cpu, (ru.ru_nvcsw + ru.ru_nivcsw) as u64))
}

#[cfg(not(target_os = "linux"))]
pub fn caller_usage() -> Option<(u32, Duration, u64)> {
    None
}

#[cfg(unix)]
pub fn ticks_to_duration(ticks: u64) -> Duration {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = if hz > 0 { hz as u64 } else { 100 };
    Duration::from_micros(ticks * 1_000_000 / hz)
}

#[cfg(not(unix))]
pub fn ticks_to_duration(ticks: u64) -> Duration {
    Duration::from_millis(ticks * 10)
}

/// This process's CPU time (user + system, every thread, to the microsecond), its context
/// switches (voluntary + involuntary, every thread) and its minor page faults.
#[cfg(unix)]
pub fn rusage() -> Option<(Duration, u64, u64)> {
    // SAFETY: getrusage fills the struct it is given; zeroed is a valid rusage.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return None;
    }
    let tv = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    Some((tv(ru.ru_utime) + tv(ru.ru_stime), (ru.ru_nvcsw + ru.ru_nivcsw) as u64, ru.ru_minflt as u64))
}

#[cfg(not(unix))]
pub fn rusage() -> Option<(Duration, u64, u64)> {
    None
}

/// RLIMIT_NOFILE after `raise_nofile_limit`: the soft limit in force, and what became of the
/// hard limit when it was below what was wanted.
pub struct NoFile {
    pub limit: u64,
    pub hard: Hard,
}

pub enum Hard {
    /// High enough already.
    Enough,
    /// Raised from this.
    RaisedFrom(u64),
    /// Too low and not raisable (setrlimit's error: without CAP_SYS_RESOURCE, EPERM).
    Kept(String),
}

/// Raises the soft open-files limit to `wanted` (at least 65,536, as far as the hard limit
/// goes), and the hard limit to `needed` where it is lower and we may (root with
/// CAP_SYS_RESOURCE; the kernel caps it at /proc/sys/fs/nr_open). The server child inherits it.
#[cfg(unix)]
pub fn raise_nofile_limit(needed: u64) -> Option<NoFile> {
    // SAFETY: getrlimit/setrlimit read and write the struct given; zeroed is valid.
    let mut lim: libc::rlimit = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    let needed = needed as libc::rlim_t;
    let mut hard = Hard::Enough;
    if lim.rlim_max < needed {
        let nr_open = read_proc("/proc/sys/fs/nr_open").and_then(|s| s.trim().parse::<libc::rlim_t>().ok());
        let ceiling = nr_open.map_or(needed, |n| n.min(needed)).max(lim.rlim_max);
        let raised = libc::rlimit { rlim_cur: lim.rlim_cur.max(ceiling), rlim_max: ceiling };
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            hard = Hard::RaisedFrom(lim.rlim_max as u64);
            lim = raised;
        } else {
            hard = Hard::Kept(std::io::Error::last_os_error().to_string());
        }
    }
    let wanted = lim.rlim_max.min(needed.max(65_536));
    if lim.rlim_cur < wanted {
        let raised = libc::rlimit { rlim_cur: wanted, rlim_max: lim.rlim_max };
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim = raised;
        }
    }
    Some(NoFile { limit: lim.rlim_cur as u64, hard })
}

#[cfg(not(unix))]
pub fn raise_nofile_limit(_needed: u64) -> Option<NoFile> {
    None
}

/// The files this process has open now. Linux only.
pub fn open_fds() -> Option<u64> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count() as u64)
}

/// How many more threads the machine can start: the lower of pid_max and threads-max, less
/// the tasks that exist now (every process's threads, from /proc/loadavg). Linux only.
pub fn task_headroom() -> Option<u64> {
    let pid_max: u64 = read_proc("/proc/sys/kernel/pid_max")?.trim().parse().ok()?;
    let threads_max: u64 = read_proc("/proc/sys/kernel/threads-max")?.trim().parse().ok()?;
    // The fourth field is running/total scheduling entities.
    let loadavg = read_proc("/proc/loadavg")?;
    let total: u64 = loadavg.split_whitespace().nth(3)?.split_once('/')?.1.parse().ok()?;
    Some(pid_max.min(threads_max).saturating_sub(total))
}

/// Hands freed heap memory back to the OS, so RSS deltas start from a clean baseline.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn trim_allocator() {
    // SAFETY: malloc_trim only releases free memory.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn trim_allocator() {}
