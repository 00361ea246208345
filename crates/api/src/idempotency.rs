//! `Idempotency-Key` on the API's JSON `POST`s: a client that sends one and asks again with the
//! same key (its answer was lost on the way) gets the first answer again, marked
//! `Idempotent-Replayed: true`, instead of a second conversation or message.
//!
//! Keys belong to the credential that sent them, and to what was asked: the same key with
//! another request is refused (422), and asked again while its first request still runs it
//! is refused too (409) rather than run twice. A first request cut off before its answer was
//! kept leaves its key refusing retries until it expires (a day), so the work is never done
//! twice. Answers of 5xx are not kept: a retry runs afresh.

use crate::auth::SESSION_COOKIE;
use crate::error::ApiError;
use crate::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use concierge_store::access::token_digest;
use concierge_store::idempotency::{Claimed, KeptAnswer};
use sha2::{Digest, Sha256};

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// The response header on an answer given again.
const REPLAYED: &str = "idempotent-replayed";
/// The longest key.
const MAX_KEY_CHARS: usize = 255;
/// Answers larger than this are not kept (the API's answers are far smaller).
const MAX_KEPT_BYTES: usize = 1024 * 1024;

/// The middleware.
pub(crate) async fn answer_once(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    // JSON requests only: a file upload's bytes are the file's, and may be far larger than
    // what a request is buffered for here.
    let json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|c| {
            c.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if request.method() != Method::POST || !request.uri().path().starts_with("/api/v1/") || !json {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get(HEADER) else {
        return next.run(request).await;
    };
    let key = match key.to_str() {
        Ok(k) if valid_key(k) => k.to_owned(),
        _ => {
            return ApiError::Validation {
                field: "Idempotency-Key".into(),
                message: format!(
                    "an Idempotency-Key is 1 to {MAX_KEY_CHARS} visible ASCII characters"
                ),
            }
            .into_response()
        }
    };
    // Without a credential the request is refused anyway; nothing to remember.
    let Some(scope) = credential(&request).map(|c| token_digest(&c)) else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let limit = state.config.max_body_bytes;
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => return ApiError::TooLarge(limit).into_response(),
    };
    let fingerprint = {
        let mut h = Sha256::new();
        h.update(parts.uri.to_string().as_bytes());
        h.update([0]);
        h.update(&bytes);
        hex::encode(h.finalize())
    };
    match state
        .store
        .claim_idempotency_key(&scope, &key, &fingerprint)
        .await
    {
        Err(e) => ApiError::from(e).into_response(),
        Ok(Claimed::Answered(kept)) => replay(kept),
        Ok(Claimed::OtherRequest) => ApiError::Validation {
            field: "Idempotency-Key".into(),
            message: "this Idempotency-Key was used for a different request".into(),
        }
        .into_response(),
        Ok(Claimed::Running) => ApiError::Conflict {
            field: "Idempotency-Key",
            message: "a request with this Idempotency-Key has not finished (or was cut off); \
                      look for what it made before sending it again with a new key"
                .into(),
        }
        .into_response(),
        Ok(Claimed::New) => {
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            keep(&state, &scope, &key, response).await
        }
    }
}

/// Keeps the answer for the key (or gives the key back, for an answer worth retrying).
async fn keep(state: &AppState, scope: &str, key: &str, response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let retry_worth = parts.status.is_server_error();
    let bytes = match axum::body::to_bytes(body, MAX_KEPT_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            // Too large to keep: the request ran; its key stays claimed.
            return ApiError::Internal.into_response();
        }
    };
    let text = std::str::from_utf8(&bytes).ok();
    let kept = match (retry_worth, text) {
        (false, Some(text)) => {
            let answer = KeptAnswer {
                status: parts.status.as_u16(),
                content_type: parts
                    .headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                body: text.to_owned(),
            };
            state
                .store
                .keep_idempotent_answer(scope, key, &answer)
                .await
        }
        _ => state.store.release_idempotency_key(scope, key).await,
    };
    if let Err(e) = kept {
        tracing::warn!(error = %e, "an idempotent answer could not be kept");
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn replay(kept: KeptAnswer) -> Response {
    let status = axum::http::StatusCode::from_u16(kept.status)
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, kept.body).into_response();
    let headers = response.headers_mut();
    if let Some(v) = kept
        .content_type
        .as_deref()
        .and_then(|c| HeaderValue::from_str(c).ok())
    {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    response
}

fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_CHARS && key.bytes().all(|b| b.is_ascii_graphic())
}

/// The credential a request carries: its bearer token, or its session cookie.
fn credential(request: &Request) -> Option<String> {
    if let Some(auth) = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return Some(format!("authorization:{auth}"));
    }
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| format!("session:{value}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_short_visible_text() {
        assert!(super::valid_key("order-1042-reply-1"));
        assert!(!super::valid_key(""));
        assert!(!super::valid_key("with space"));
        assert!(!super::valid_key(&"k".repeat(256)));
    }
}
