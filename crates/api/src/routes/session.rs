//! Signing agents in and out of the browser: `POST /api/v1/session` checks the password and
//! sets the session cookie (a new secret every time, so a cookie planted before sign-in is
//! worth nothing), `GET` tells the page who is signed in and its CSRF token, `DELETE` signs
//! out. Guesses at an address's password or codes are counted before they are checked and
//! slowed down past a few (per address and source, and per address from sources that never
//! signed in to it).
//!
//! Two-factor sign-in (TOTP, RFC 6238: 6 digits, 30-second steps, SHA-1, which every
//! authenticator app speaks): `POST /api/v1/session/totp` starts enrolling, `…/totp/confirm`
//! turns it on with a first code and returns ten single-use recovery codes. From then on
//! sign-in needs `code` as well; each code is accepted once.

use crate::auth::{random_secret, Session, SESSION_COOKIE};
use crate::error::{parse, ApiError};
use crate::extract::Json;
use crate::guesses::{Allowance, Guesses};
use crate::rate::ClientAddress;
use crate::wire::{CreateSession, RecoveryCodes, SessionOut, TotpCode, TotpEnrollment};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use concierge_domain::contact::EmailAddress;
use concierge_domain::ids::AgentId;
use concierge_store::access::token_digest;
use concierge_store::Store;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use totp_rs::{Builder, Secret, Totp};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// How long a session lasts.
const SESSION_HOURS: i64 = 12;

/// Sign-in guesses at one address from one source (a wrong password or a wrong code each
/// count): five at once, then a wait that doubles from a second up to a quarter of an hour.
const PER_SOURCE: Allowance = Allowance {
    free: 5,
    first_wait: Duration::from_secs(1),
    longest_wait: Duration::from_secs(15 * 60),
};
/// Guesses at one address from every source that has not signed in to it before: enough
/// that a stranger's five cannot keep the agent out, few enough that many sources together
/// cannot try many passwords.
const PER_ADDRESS: Allowance = Allowance {
    free: 20,
    first_wait: Duration::from_secs(1),
    longest_wait: Duration::from_secs(5 * 60),
};
/// How long a source that signed in to an address is spared the address's own allowance.
const KNOWN_SOURCE: Duration = Duration::from_secs(30 * 24 * 60 * 60);
/// Known sources remembered at most; past it, the oldest half is forgotten.
const MAX_KNOWN_SOURCES: usize = 10_000;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_in, current_session, sign_out))
        .routes(routes!(start_totp))
        .routes(routes!(confirm_totp))
}

/// What sign-in guesses are counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Guessed {
    /// One address (lower case) from one source.
    FromSource(String, IpAddr),
    /// One address from the sources that have not signed in to it.
    Address(String),
}

/// Sign-in guesses, counted before each is checked (see [`Guesses`]) per address and source,
/// and per address; a source that signed in to an address is spared the address's count, so
/// strangers guessing cannot keep its agent out.
#[derive(Default)]
pub(crate) struct LoginThrottle {
    guesses: Guesses<Guessed>,
    known: Mutex<HashMap<(String, IpAddr), Instant>>,
}

impl LoginThrottle {
    /// Counts a sign-in attempt, or refuses it (429, with the seconds to wait).
    fn attempt(&self, address: &str, source: IpAddr) -> Result<(), ApiError> {
        let from_source = (Guessed::FromSource(address.to_owned(), source), PER_SOURCE);
        let counted = if self.is_known(address, source) {
            self.guesses.guess(&[from_source])
        } else {
            self.guesses.guess(&[
                from_source,
                (Guessed::Address(address.to_owned()), PER_ADDRESS),
            ])
        };
        counted.map_err(ApiError::RateLimited)
    }

    fn is_known(&self, address: &str, source: IpAddr) -> bool {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known
            .get(&(address.to_owned(), source))
            .is_some_and(|at| at.elapsed() < KNOWN_SOURCE)
    }

    /// The agent proved its password (and second factor) from `source`.
    fn signed_in(&self, address: &str, source: IpAddr) {
        self.guesses
            .forget(&Guessed::FromSource(address.to_owned(), source));
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if known.len() >= MAX_KNOWN_SOURCES {
            let mut ages: Vec<Instant> = known.values().copied().collect();
            ages.sort_unstable();
            let cut = ages[ages.len() / 2];
            known.retain(|_, at| *at > cut);
        }
        known.insert((address.to_owned(), source), Instant::now());
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
    ClientAddress(source): ClientAddress,
    Json(req): Json<CreateSession>,
) -> Result<Response, ApiError> {
    let email = parse("email", &req.email, EmailAddress::parse)?;
    let key = email.as_str().to_lowercase();
    // Counted before the slow check, so guesses sent together are refused together.
    state.login_throttle.attempt(&key, source)?;
    let found = state
        .store
        .agent_credentials(&email)
        .await?
        .filter(|c| c.agent.active);
    let hash = found.as_ref().map(|c| c.password_hash.clone());
    let matches = password_matches(req.password, hash).await;
    let Some(credentials) = found.filter(|_| matches) else {
        return Err(ApiError::Unauthenticated);
    };
    let agent = credentials.agent;
    if let Some(secret) = &credentials.totp_secret {
        let Some(code) = req.code.as_deref().map(str::trim).filter(|c| !c.is_empty()) else {
            return Err(ApiError::TotpRequired);
        };
        if !second_factor(&state.store, &agent.id, &agent.email, secret, code).await? {
            return Err(ApiError::Unauthenticated);
        }
    }
    state.login_throttle.signed_in(&key, source);
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

/// The TOTP of a secret (base32) for an agent.
fn totp(secret_base32: &str, email: &str) -> Result<Totp, ApiError> {
    let secret = Secret::try_from_base32(secret_base32).map_err(|_| ApiError::Internal)?;
    Builder::new()
        .with_secret(secret)
        .with_issuer(Some("Concierge"))
        .with_account_name(email)
        .build()
        .map_err(|_| ApiError::Internal)
}

fn unix_now() -> u64 {
    chrono::Utc::now().timestamp().max(0) as u64
}

/// Whether `code` is the agent's current TOTP code (not used before) or an unused recovery
/// code, using it up either way.
async fn second_factor(
    store: &Store,
    agent: &AgentId,
    email: &str,
    secret: &str,
    code: &str,
) -> Result<bool, ApiError> {
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        let Some(step) = totp(secret, email)?.check(code, unix_now()) else {
            return Ok(false);
        };
        return Ok(store.accept_totp_step(agent, step as i64).await?);
    }
    Ok(store
        .use_recovery_code(agent, &token_digest(&normalise_recovery(code)))
        .await?)
}

/// Recovery codes are typed by people: case and dashes do not matter.
fn normalise_recovery(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Start turning on two-factor sign-in: a new secret for an authenticator app.
#[utoipa::path(post, path = "/api/v1/session/totp", tag = "access",
    responses((status = 201, body = TotpEnrollment), (status = 401, body = crate::error::ErrorBody)),
    security(("session" = [], "csrf" = [])))]
async fn start_totp(
    State(state): State<AppState>,
    Session(session): Session,
) -> Result<(StatusCode, axum::Json<TotpEnrollment>), ApiError> {
    let mut bytes = [0u8; 20];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let secret = Secret::new_stack(bytes).to_base32();
    let totp = totp(&secret, &session.agent.email)?;
    state
        .store
        .start_totp_enrollment(&session.agent.id, &secret)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(TotpEnrollment {
            otpauth_url: totp.to_url().map_err(|_| ApiError::Internal)?,
            secret,
        }),
    ))
}

/// Turn on two-factor sign-in with a code from the authenticator app; returns the recovery
/// codes, shown this once.
#[utoipa::path(post, path = "/api/v1/session/totp/confirm", tag = "access", request_body = TotpCode,
    responses((status = 200, body = RecoveryCodes), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)),
    security(("session" = [], "csrf" = [])))]
async fn confirm_totp(
    State(state): State<AppState>,
    Session(session): Session,
    Json(req): Json<TotpCode>,
) -> Result<axum::Json<RecoveryCodes>, ApiError> {
    let pending = state
        .store
        .pending_totp(&session.agent.id)
        .await?
        .ok_or(ApiError::Conflict {
            field: "code",
            message: "start enrolling first (POST /api/v1/session/totp)".into(),
        })?;
    let step = totp(&pending, &session.agent.email)?
        .check(req.code.trim(), unix_now())
        .ok_or_else(|| ApiError::Validation {
            field: "code".into(),
            message: "this is not the authenticator's current code".into(),
        })?;
    let codes: Vec<String> = (0..10)
        .map(|_| {
            let mut bytes = [0u8; 5];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
            let hex = hex::encode(bytes);
            format!("{}-{}", &hex[..5], &hex[5..])
        })
        .collect();
    let digests: Vec<String> = codes
        .iter()
        .map(|c| token_digest(&normalise_recovery(c)))
        .collect();
    state
        .store
        .confirm_totp(&session.agent.id, step as i64, &digests)
        .await?;
    Ok(axum::Json(RecoveryCodes {
        recovery_codes: codes,
    }))
}
