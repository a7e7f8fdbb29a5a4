//! Waiting out a platform's `429 Too Many Requests` for a moment. Webex sends `Retry-After` in
//! seconds; Zoom sends none for its per-second limits and, for a daily limit, the time the
//! limit resets. A short wait is waited here; a long one (a daily limit) is left to the
//! caller's own retries (the outbox's backoff, or running a command again), so that nothing
//! blocks for hours.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::RETRY_AFTER;
use reqwest::{Client, Method, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

/// How often a request answered 429 is sent again, and the longest wait waited for.
const MAX_RETRIES: u32 = 3;
const MAX_WAIT: Duration = Duration::from_secs(60);
/// When a 429 names no wait: a per-second limit is over after a second.
const DEFAULT_WAIT: Duration = Duration::from_secs(1);
/// How long both clients wait for one answer.
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest one [`send`] can take: every try timing out, with the longest wait between
/// tries (5 min). The outbox leases a platform effect for this long per request it makes.
pub const LONGEST_REQUEST: Duration = Duration::from_secs(
    REQUEST_TIMEOUT.as_secs() * (MAX_RETRIES as u64 + 1) + MAX_WAIT.as_secs() * MAX_RETRIES as u64,
);

/// Sends `method url` with the bearer `token` and the JSON `body`, and sends it again after
/// the wait the platform asks for while it answers 429 and the wait is short, at most
/// [`MAX_RETRIES`] times. The last answer is returned, whatever its status.
pub(super) async fn send(
    platform: &'static str,
    http: &Client,
    token: &SecretString,
    (method, url): (&Method, &Url),
    body: Option<&Value>,
) -> Result<Response, reqwest::Error> {
    let mut retries = 0;
    loop {
        let request = http.request(method.clone(), url.clone()).bearer_auth(token.expose_secret());
        let request = match body {
            Some(body) => request.json(body),
            None => request,
        };
        let response = request.send().await?;
        if response.status() != StatusCode::TOO_MANY_REQUESTS || retries == MAX_RETRIES {
            return Ok(response);
        }
        let wait = wait_asked(&response, Utc::now());
        if wait > MAX_WAIT {
            return Ok(response);
        }
        tracing::warn!(platform, path = url.path(), ?wait, "rate limited; retrying");
        metrics::counter!("platform_rate_limited_total", "platform" => platform).increment(1);
        tokio::time::sleep(wait).await;
        retries += 1;
    }
}

/// `Retry-After` as seconds or as the time to wait until (RFC 3339, or an HTTP date);
/// [`DEFAULT_WAIT`] when there is none, and "too long" when it cannot be read.
fn wait_asked(response: &Response, now: DateTime<Utc>) -> Duration {
    let Some(value) = response.headers().get(RETRY_AFTER) else { return DEFAULT_WAIT };
    value.to_str().ok().and_then(|v| parse_wait(v, now)).unwrap_or(Duration::MAX)
}

fn parse_wait(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let until = DateTime::parse_from_rfc3339(value)
        .or_else(|_| DateTime::parse_from_rfc2822(value))
        .ok()?
        .with_timezone(&Utc);
    Some((until - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_read_as_seconds_or_as_a_time_to_wait_until() {
        let now: DateTime<Utc> = "2026-11-25T23:59:00Z".parse().unwrap();
        assert_eq!(parse_wait("2", now), Some(Duration::from_secs(2)));
        assert_eq!(parse_wait("2026-11-26T00:00:00Z", now), Some(Duration::from_secs(60)));
        assert_eq!(parse_wait("Thu, 26 Nov 2026 00:00:30 GMT", now), Some(Duration::from_secs(90)));
        assert_eq!(parse_wait("2026-11-25T00:00:00Z", now), Some(Duration::ZERO), "passed");
        assert_eq!(parse_wait("soon", now), None);
    }

    #[test]
    fn the_longest_request_times_out_four_times_and_waits_three_minutes() {
        assert_eq!(LONGEST_REQUEST, Duration::from_secs(4 * 30 + 3 * 60));
    }
}
