//! What the adapters that talk HTTP share: retrying communication failures with the same
//! idempotency key (so that the gateway answers a retry of something it already did with the
//! first answer), and reading an answer without mistaking an outage for a refusal.

use std::future::Future;
use std::time::Duration;

use super::GatewayError;

/// Attempts per call.
pub const ATTEMPTS: u32 = 3;

/// Runs `attempt` until it succeeds, fails for good, or [`ATTEMPTS`] communication failures
/// have happened. Every attempt must carry the same idempotency key.
pub async fn with_retries<T, F, Fut>(
    gateway: &str,
    what: &str,
    mut attempt: F,
) -> Result<T, GatewayError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, GatewayError>>,
{
    let mut last = GatewayError::Communication("no attempt made".into());
    for n in 0..ATTEMPTS {
        if n > 0 {
            tokio::time::sleep(Duration::from_millis(200 * u64::from(n))).await;
        }
        match attempt().await {
            Err(e) if e.is_retryable() => {
                tracing::warn!(gateway, what, attempt = n, error = %e, "gateway call failed; retrying");
                last = e;
            }
            other => return other,
        }
    }
    Err(last)
}

/// Sends a request and returns the status and body. A transport failure, a 5xx or a 429 is a
/// communication failure: the request may or may not have been carried out.
pub async fn send(request: reqwest::RequestBuilder) -> Result<(u16, String), GatewayError> {
    let response = request.send().await.map_err(|e| GatewayError::Communication(e.to_string()))?;
    let status = response.status();
    let text = response.text().await.map_err(|e| GatewayError::Communication(e.to_string()))?;
    if status.is_server_error() || status.as_u16() == 429 {
        return Err(GatewayError::Communication(format!("HTTP {status}: {}", excerpt(&text))));
    }
    Ok((status.as_u16(), text))
}

/// The start of an answer, for error messages (answers never hold our secrets).
pub fn excerpt(text: &str) -> String {
    text.chars().take(300).collect()
}
