//! Signing agents in and out of the browser: `POST /api/v1/session` checks the password and
//! sets the session cookie (a new secret every time, so a cookie planted before sign-in is
//! worth nothing), `GET` tells the page who is signed in and its CSRF token, `DELETE` signs
//! out. Repeated wrong passwords for one address are refused for a while.

use crate::auth::{random_secret, Session, SESSION_COOKIE};
use crate::error::{parse, ApiError};
use crate::extract::Json;
use crate::wire::{CreateSession, SessionOut};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use concierge_domain::contact::EmailAddress;
use concierge_store::access::token_digest;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// How long a session lasts.
const SESSION_HOURS: i64 = 12;
/// Wrong passwords for one address before it is refused for the rest of the window.
const MAX_FAILURES: u32 = 5;
const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Addresses tracked at most; past it, windows that have ended are forgotten.
const MAX_TRACKED: usize = 10_000;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sign_in, current_session, sign_out))
}

/// Failed sign-ins per address (lower case), with when their window started.
#[derive(Default)]
pub(crate) struct LoginThrottle(Mutex<HashMap<String, (u32, Instant)>>);

impl LoginThrottle {
    /// Refuses an address that used up its attempts, with the seconds left in its window.
    fn check(&self, email: &str) -> Result<(), ApiError> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(email) {
            Some((failures, since))
                if *failures >= MAX_FAILURES && since.elapsed() < FAILURE_WINDOW =>
            {
                let left = FAILURE_WINDOW.saturating_sub(since.elapsed());
                Err(ApiError::RateLimited(left.as_secs().max(1)))
            }
            _ => Ok(()),
        }
    }

    fn failed(&self, email: &str) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_TRACKED {
            map.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
        }
        let entry = map.entry(email.to_owned()).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= FAILURE_WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    fn succeeded(&self, email: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(email);
    }
}

/// Checks a password against an argon2 PHC hash, off the async threads (argon2 is slow on
/// purpose). An unknown address is checked against a stand-in hash, so the answer takes as
/// long whether or not the agent exists.
async fn password_matches(password: String, hash: Option<String>) -> bool {
    static STAND_IN: OnceLock<String> = OnceLock::new();
    let known = hash.is_some();
    let result = tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        let hash = hash.unwrap_or_else(|| {
            STAND_IN
                .get_or_init(|| {
                    crate::auth::hash_password("stand-in for unknown agents").unwrap_or_default()
                })
                .clone()
        });
        PasswordHash::new(&hash).is_ok_and(|parsed| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await;
    known && result.unwrap_or(false)
}

fn cookie(state: &AppState, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    ))
    .expect("cookie text is ASCII")
}

/// Sign in with email and password; sets the session cookie.
#[utoipa::path(post, path = "/api/v1/session", tag = "access", request_body = CreateSession,
    responses((status = 201, body = SessionOut), (status = 401, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody)))]
async fn sign_in(
    State(state): State<AppState>,
    Json(req): Json<CreateSession>,
) -> Result<Response, ApiError> {
    let email = parse("email", &req.email, EmailAddress::parse)?;
    let key = email.as_str().to_lowercase();
    state.login_throttle.check(&key)?;
    let found = state.store.agent_credentials(&email).await?;
    let (agent, hash) = match found {
        Some((agent, hash)) if agent.active => (Some(agent), Some(hash)),
        _ => (None, None),
    };
    let matches = password_matches(req.password, hash).await;
    let Some(agent) = agent.filter(|_| matches) else {
        state.login_throttle.failed(&key);
        return Err(ApiError::Unauthenticated);
    };
    state.login_throttle.succeeded(&key);
    let secret = random_secret("");
    let session = state
        .store
        .open_session(
            &agent,
            &token_digest(&secret),
            &random_secret(""),
            chrono::Duration::hours(SESSION_HOURS),
        )
        .await?;
    let mut response = (StatusCode::CREATED, axum::Json(SessionOut::from(session))).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        cookie(&state, &secret, SESSION_HOURS * 3600),
    );
    Ok(response)
}

/// The signed-in agent and the session's CSRF token.
#[utoipa::path(get, path = "/api/v1/session", tag = "access",
    responses((status = 200, body = SessionOut), (status = 401, body = crate::error::ErrorBody)))]
async fn current_session(Session(session): Session) -> axum::Json<SessionOut> {
    axum::Json(session.into())
}

/// Sign out: the session's cookie is refused from now on.
#[utoipa::path(delete, path = "/api/v1/session", tag = "access",
    responses((status = 204), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
async fn sign_out(
    State(state): State<AppState>,
    Session(session): Session,
) -> Result<Response, ApiError> {
    state.store.close_session(&session).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie(&state, "", 0));
    Ok(response)
}
