//! When to reconnect and how soon: the policy (a plain struct, like `Options`) and its
//! verdicts on an ended connection or a failed attempt. The waiting and the dialing are the
//! lifecycle's (`lifecycle.rs`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::close::{CloseCode, CloseInfo, ClosedBy};
use crate::error::Error;
use crate::report::HttpResponse;

/// How a client reconnects once a connection is lost: exponential backoff with full jitter
/// between `min_delay` and `max_delay`, reset once a connection has stayed up for
/// `reset_after`. Reconnects reuse the URL, the headers given to `connect` and every option.
///
/// Which ends are retried is part of the policy. By default:
/// - a connection that broke without a Close handshake (reset, lost, no pong in time, a
///   stalled write): yes;
/// - a Close with 1001, 1011, 1012 or 1013 (going away, server error, restarting, try again
///   later): yes; any other code (1000 among them, and the codes we close with when the
///   server breaks the protocol): no;
/// - a refused upgrade: only 408, 429 and 5xx, never sooner than its `Retry-After`;
/// - 401, 403 and 404, a refused certificate, a TLS failure, refused proxy credentials: no;
/// - a connection you closed (`disconnect`, dropping the client): never.
///
/// Only connections that were open are retried: a failed [`connect`](crate::WebSocketClient::connect)
/// returns its error to you instead.
///
/// ```
/// # fn main() -> Result<(), wsthread::Error> {
/// use std::time::Duration;
/// use wsthread::{Options, ReconnectPolicy};
/// let policy = ReconnectPolicy::default()
///     .delays(Duration::from_millis(250), Duration::from_secs(10))
///     .max_attempts(Some(20));
/// let options = Options::new("ws://example.org/feed")?.reconnect(policy);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ReconnectPolicy {
    /// The shortest wait before an attempt. Defaults to 500 ms.
    pub min_delay: Duration,
    /// The longest wait before an attempt (the backoff stops growing there).
    /// Defaults to 30 seconds.
    pub max_delay: Duration,
    /// Attempts before giving up; `None` tries for ever. Counted since the last connection
    /// that stayed up `reset_after`: a server that accepts and drops every connection at
    /// once uses attempts up (and grows the backoff) as one that refuses them does.
    /// Defaults to `None`.
    pub max_attempts: Option<u32>,
    /// A connection that stayed up this long starts the backoff (and the attempt count)
    /// afresh when it is lost. Defaults to 30 seconds.
    pub reset_after: Duration,
    /// The longest `Retry-After` honoured: a server asking for more waits this long.
    /// Defaults to 5 minutes.
    pub max_retry_after: Duration,
    /// Whether a connection closed with this code is retried (either side's Close).
    /// Defaults to [`ReconnectPolicy::default_retry_close`].
    pub retry_close: fn(CloseCode) -> bool,
    /// Whether an upgrade refused with this HTTP status is retried. 401, 403, 404 and 407
    /// are never retried, whatever it returns: the same request would be refused again.
    /// Defaults to [`ReconnectPolicy::default_retry_status`].
    pub retry_status: fn(u16) -> bool,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_attempts: None,
            reset_after: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
            retry_close: ReconnectPolicy::default_retry_close,
            retry_status: ReconnectPolicy::default_retry_status,
        }
    }
}

impl ReconnectPolicy {
    /// Sets [`min_delay`](Self::min_delay) and [`max_delay`](Self::max_delay).
    ///
    /// ```
    /// use std::time::Duration;
    /// use wsthread::ReconnectPolicy;
    /// let policy = ReconnectPolicy::default().delays(Duration::from_millis(100), Duration::from_secs(5));
    /// assert_eq!((policy.min_delay, policy.max_delay), (Duration::from_millis(100), Duration::from_secs(5)));
    /// ```
    pub fn delays(mut self, min: Duration, max: Duration) -> Self {
        self.min_delay = min;
        self.max_delay = max;
        self
    }

    /// Sets [`max_attempts`](Self::max_attempts).
    ///
    /// ```
    /// use wsthread::ReconnectPolicy;
    /// let policy = ReconnectPolicy::default().max_attempts(Some(5));
    /// assert_eq!(policy.max_attempts, Some(5));
    /// ```
    pub fn max_attempts(mut self, attempts: Option<u32>) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Sets [`reset_after`](Self::reset_after).
    ///
    /// ```
    /// use std::time::Duration;
    /// use wsthread::ReconnectPolicy;
    /// // Only a connection that stayed up five minutes starts the backoff afresh.
    /// let policy = ReconnectPolicy::default().reset_after(Duration::from_secs(300));
    /// assert_eq!(policy.reset_after, Duration::from_secs(300));
    /// ```
    pub fn reset_after(mut self, up_for: Duration) -> Self {
        self.reset_after = up_for;
        self
    }

    /// Sets [`max_retry_after`](Self::max_retry_after).
    ///
    /// ```
    /// use std::time::Duration;
    /// use wsthread::ReconnectPolicy;
    /// // Never wait more than a minute, whatever a server's Retry-After asks.
    /// let policy = ReconnectPolicy::default().max_retry_after(Duration::from_secs(60));
    /// assert_eq!(policy.max_retry_after, Duration::from_secs(60));
    /// ```
    pub fn max_retry_after(mut self, longest: Duration) -> Self {
        self.max_retry_after = longest;
        self
    }

    /// Sets [`retry_close`](Self::retry_close).
    ///
    /// ```
    /// use wsthread::{CloseCode, ReconnectPolicy};
    /// // Also come back after a normal close (a server that closes idle clients).
    /// let policy = ReconnectPolicy::default()
    ///     .retry_close(|code| code == CloseCode::NORMAL || ReconnectPolicy::default_retry_close(code));
    /// ```
    pub fn retry_close(mut self, retry: fn(CloseCode) -> bool) -> Self {
        self.retry_close = retry;
        self
    }

    /// Sets [`retry_status`](Self::retry_status).
    ///
    /// ```
    /// use wsthread::ReconnectPolicy;
    /// // Also retry 409 Conflict: a server that refuses a second session until the first times out.
    /// let policy = ReconnectPolicy::default()
    ///     .retry_status(|status| status == 409 || ReconnectPolicy::default_retry_status(status));
    /// ```
    pub fn retry_status(mut self, retry: fn(u16) -> bool) -> Self {
        self.retry_status = retry;
        self
    }

    /// 1001 Going Away, 1011 Internal Error, 1012 Service Restart and 1013 Try Again Later:
    /// the codes that say "not now" rather than "no".
    ///
    /// ```
    /// use wsthread::{CloseCode, ReconnectPolicy};
    /// assert!(ReconnectPolicy::default_retry_close(CloseCode::SERVICE_RESTART));
    /// assert!(!ReconnectPolicy::default_retry_close(CloseCode::NORMAL));
    /// ```
    pub fn default_retry_close(code: CloseCode) -> bool {
        matches!(code.0, 1001 | 1011 | 1012 | 1013)
    }

    /// 408 Request Timeout, 429 Too Many Requests and every 5xx; never 401, 403 or 404.
    ///
    /// ```
    /// use wsthread::ReconnectPolicy;
    /// assert!(ReconnectPolicy::default_retry_status(503));
    /// assert!(!ReconnectPolicy::default_retry_status(401));
    /// ```
    pub fn default_retry_status(status: u16) -> bool {
        matches!(status, 408 | 429 | 500..=599)
    }

    /// Whether a connection that ended so is retried: `Err` says why not. (A close the
    /// user asked for is never retried; the lifecycle knows of those, not the end's record.)
    pub(crate) fn after_close(&self, info: &CloseInfo) -> Result<(), String> {
        let by = match info.closed_by {
            ClosedBy::Local => "we",
            ClosedBy::Remote => "the server",
        };
        if info.code == CloseCode::ABNORMAL || (self.retry_close)(info.code) {
            Ok(())
        } else {
            Err(format!("{by} closed with {}", info.code))
        }
    }

    /// Whether to try again after an attempt failed with `error`: `Ok` with the server's
    /// `Retry-After`, if any; `Err` says why not.
    pub(crate) fn after_failure(&self, error: &Error) -> Result<Option<Duration>, String> {
        let refused = |r: &HttpResponse, what: &str| {
            if matches!(r.status, 401 | 403 | 404 | 407) || !(self.retry_status)(r.status) {
                Err(format!("{what} answered {} {}", r.status, r.reason))
            } else {
                Ok(retry_after(r, SystemTime::now()).map(|d| d.min(self.max_retry_after)))
            }
        };
        match error {
            Error::Rejected(r) => refused(r, "the server"),
            Error::ProxyRejected(r) => refused(r, "the proxy"),
            Error::Certificate(_) | Error::Tls(_) | Error::ProxyAuth(_) | Error::Aborted => Err(error.to_string()),
            // 2: "connection not allowed by ruleset" will not change by itself.
            Error::SocksRejected(2) => Err(error.to_string()),
            Error::InvalidUrl(_)
            | Error::UnsupportedScheme(_)
            | Error::FeatureNotEnabled { .. }
            | Error::InvalidHeader(_)
            | Error::InvalidOption(_) => {
                Err(error.to_string())
            }
            _ => Ok(None),
        }
    }
}

/// Attempts so far and the waits between them.
pub(crate) struct Backoff {
    attempt: u32,
}

impl Backoff {
    pub(crate) fn new() -> Backoff {
        Backoff { attempt: 0 }
    }

    /// Starts afresh (the last connection stayed up for `reset_after`).
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }

    /// The next attempt's number and the wait before it, at least `at_least` (a
    /// `Retry-After`); `None` once `max_attempts` are used up.
    pub(crate) fn next(&mut self, policy: &ReconnectPolicy, at_least: Option<Duration>) -> Option<(u32, Duration)> {
        if policy.max_attempts.is_some_and(|max| self.attempt >= max) {
            return None;
        }
        self.attempt += 1;
        // Full jitter ("Exponential Backoff And Jitter", AWS Architecture Blog, 2015):
        // uniform between the floor and a ceiling that doubles per attempt, so that clients
        // dropped together by one server restart do not come back together.
        let min = policy.min_delay.min(policy.max_delay);
        let ceiling = min.saturating_mul(1 << self.attempt.min(30)).clamp(min, policy.max_delay);
        let span = (ceiling - min).as_nanos() as u64;
        let jitter = if span == 0 { 0 } else { rand::random::<u64>() % (span + 1) };
        let delay = min + Duration::from_nanos(jitter);
        Some((self.attempt, at_least.map_or(delay, |least| delay.max(least))))
    }
}

/// The `Retry-After` of a refusal (RFC 9110 §10.2.3): seconds, or an HTTP date.
fn retry_after(response: &HttpResponse, now: SystemTime) -> Option<Duration> {
    let value = response.headers.iter().find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))?.1.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = UNIX_EPOCH + Duration::from_secs(http_date(value)?);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Seconds since the epoch of an IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110
/// §5.6.7, the form senders must use).
fn http_date(text: &str) -> Option<u64> {
    let (_, rest) = text.split_once(", ")?;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts[..] else { return None };
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = MONTHS.iter().position(|m| *m == month)? as u64 + 1;
    let (day, year): (u64, u64) = (day.parse().ok()?, year.parse().ok()?);
    let hms: Vec<u64> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [h, m, s] = hms[..] else { return None };
    if !(1..=31).contains(&day) || year < 1970 || h > 23 || m > 59 || s > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm, "chrono-Compatible Low-Level
    // Date Algorithms"), for years from 1970 on.
    let (y, mp) = if month > 2 { (year, month - 3) } else { (year - 1, month + 9) };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    Some(days * 86_400 + h * 3600 + m * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(status: u16, retry_after: Option<&str>) -> Error {
        let headers = retry_after.map(|v| vec![("Retry-After".to_owned(), v.to_owned())]).unwrap_or_default();
        Error::Rejected(Box::new(HttpResponse { status, reason: "x".into(), headers, body: Vec::new() }))
    }

    #[test]
    fn refusals_retried_only_when_they_say_not_now() {
        let p = ReconnectPolicy::default();
        assert_eq!(p.after_failure(&refusal(503, Some("7"))), Ok(Some(Duration::from_secs(7))));
        assert_eq!(p.after_failure(&refusal(429, None)), Ok(None));
        assert_eq!(p.after_failure(&refusal(503, Some("999999"))), Ok(Some(p.max_retry_after)));
        for status in [400, 401, 403, 404] {
            assert!(p.after_failure(&refusal(status, None)).is_err(), "{status}");
        }
        assert!(p.after_failure(&Error::Timeout("TCP connect")).is_ok());
        assert!(p.after_failure(&Error::Aborted).is_err());
    }

    #[test]
    fn http_dates_are_read() {
        assert_eq!(http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        let r = HttpResponse {
            status: 503,
            reason: String::new(),
            headers: vec![("retry-after".into(), "Sun, 06 Nov 1994 08:49:47 GMT".into())],
            body: Vec::new(),
        };
        assert_eq!(retry_after(&r, UNIX_EPOCH + Duration::from_secs(784_111_777)), Some(Duration::from_secs(10)));
    }

    #[test]
    fn backoff_grows_within_its_bounds_and_stops_at_the_limit() {
        let p = ReconnectPolicy::default().delays(Duration::from_millis(100), Duration::from_secs(1)).max_attempts(Some(6));
        let mut b = Backoff::new();
        for n in 1..=6 {
            let (attempt, delay) = b.next(&p, None).unwrap();
            assert_eq!(attempt, n);
            let ceiling = Duration::from_millis(100 << n).min(Duration::from_secs(1));
            assert!(delay >= Duration::from_millis(100) && delay <= ceiling, "{n}: {delay:?}");
        }
        assert_eq!(b.next(&p, None), None);
        b.reset();
        assert_eq!(b.next(&p, Some(Duration::from_secs(3))).map(|(a, d)| (a, d >= Duration::from_secs(3))), Some((1, true)));
    }

    #[test]
    fn ends_retried_by_code() {
        let p = ReconnectPolicy::default();
        let info = |code: u16| CloseInfo {
            code: CloseCode(code),
            reason: String::new(),
            closed_by: ClosedBy::Remote,
            clean: code != 1006,
            error: None,
            unsent_messages: 0,
            unsent_bytes: 0,
            undelivered_events: 0,
            reconnect: crate::close::Reconnect::Off,
        };
        for code in [1006, 1001, 1011, 1012, 1013] {
            assert!(p.after_close(&info(code)).is_ok(), "{code}");
        }
        assert!(p.after_close(&info(1000)).is_err());
    }
}
