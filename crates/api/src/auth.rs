//! Who is calling. API clients send `Authorization: Bearer TOKEN`; the token's SHA-256 digest
//! is looked up and compared in constant time. Agents in the browser send the session cookie
//! instead, and every write made with it must carry the session's CSRF token in
//! `X-CSRF-Token`. Extractors carry the result, so a handler's signature says what it needs:
//! [`Caller`] for any valid credential, [`Admin`] for admin ones, [`Editor`] for those who may
//! change the help center, [`Session`] for a signed-in browser.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use concierge_domain::access::{Actor, Role};
use concierge_domain::text::Label;
use concierge_store::access::{token_digest, ApiToken};
use concierge_store::sessions::AgentSession;
use concierge_store::{Store, StoreError};
use rand::RngCore;
use subtle::ConstantTimeEq;

/// An argon2id hash of a password in PHC form, with the crate's default parameters and a
/// random salt.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// The prefix every Concierge API token starts with, so leaked tokens are recognisable.
pub const TOKEN_PREFIX: &str = "cnc_";

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub role: Role,
}

/// An authenticated caller with the admin role.
#[derive(Debug, Clone)]
pub struct Admin(pub Caller);

/// An authenticated caller who may change the help center (see
/// [`Role::edits_help_center`]): every write to articles, their files, categories and
/// synonyms takes one, so the policy is decided here alone.
#[derive(Debug, Clone)]
pub struct Editor(pub Caller);

/// A signed-in agent's browser session (cookie authentication, CSRF-checked on writes).
#[derive(Debug, Clone)]
pub struct Session(pub AgentSession);

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "concierge_session";
/// The header that carries the session's CSRF token on writes.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A fresh random secret: 32 bytes, URL-safe base64, after `prefix`.
pub fn random_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The session cookie's value in a request, if it sent one.
fn session_cookie(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

impl FromRequestParts<AppState> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(session) = parts.extensions.get::<Session>() {
            return Ok(session.clone());
        }
        let secret = session_cookie(parts)
            .filter(|s| !s.is_empty() && s.len() <= 256)
            .ok_or(ApiError::Unauthenticated)?;
        let session = state
            .store
            .session_by_digest(&token_digest(secret))
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        // A cookie rides along with any request the browser makes, including ones another
        // site triggers; only our own pages know the CSRF token to send with it.
        if !parts.method.is_safe() {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .map(|v| v.as_bytes())
                .unwrap_or_default();
            if !bool::from(sent.ct_eq(session.csrf_token.as_bytes())) {
                return Err(ApiError::Forbidden(
                    "a write with the session cookie needs the session's X-CSRF-Token header",
                ));
            }
        }
        let session = Session(session);
        parts.extensions.insert(session.clone());
        Ok(session)
    }
}

/// Creates a token with a fresh random secret; returns the record and the secret, which is
/// shown once and never stored.
pub async fn issue_token(
    store: &Store,
    name: &Label,
    role: Role,
    actor: &Actor,
) -> Result<(ApiToken, String), StoreError> {
    let secret = random_secret(TOKEN_PREFIX);
    let token = store.create_token(name, role, &secret, actor).await?;
    Ok((token, secret))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
            let Session(session) = Session::from_request_parts(parts, state).await?;
            return Ok(Caller {
                actor: Actor::Agent(session.agent.id),
                role: session.agent.role,
            });
        };
        let header = header.to_str().map_err(|_| ApiError::Unauthenticated)?;
        let (scheme, secret) = header.split_once(' ').ok_or(ApiError::Unauthenticated)?;
        let secret = secret.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || secret.is_empty() || secret.len() > 256 {
            return Err(ApiError::Unauthenticated);
        }
        let digest = token_digest(secret);
        let (token, stored) = state
            .store
            .token_by_digest(&digest)
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        // The lookup was by digest already; comparing again in constant time keeps the check
        // itself free of timing differences whatever the index does.
        if !bool::from(stored.as_bytes().ct_eq(digest.as_bytes())) {
            return Err(ApiError::Unauthenticated);
        }
        let caller = Caller {
            actor: Actor::Token(token.id),
            role: token.role,
        };
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        caller_who(
            parts,
            state,
            Role::is_admin,
            "this action needs an admin token",
        )
        .await
        .map(Admin)
    }
}

impl FromRequestParts<AppState> for Editor {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        caller_who(
            parts,
            state,
            Role::edits_help_center,
            "only admins change the help center (articles, files, categories, synonyms)",
        )
        .await
        .map(Editor)
    }
}

/// The caller, if their role may do what is asked; otherwise 403 with `refusal`.
async fn caller_who(
    parts: &mut Parts,
    state: &AppState,
    may: fn(Role) -> bool,
    refusal: &'static str,
) -> Result<Caller, ApiError> {
    let caller = Caller::from_request_parts(parts, state).await?;
    if may(caller.role) {
        Ok(caller)
    } else {
        Err(ApiError::Forbidden(refusal))
    }
}
