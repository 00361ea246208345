//! Who is calling. API clients send `Authorization: Bearer TOKEN`; the token's SHA-256 digest
//! is looked up and compared in constant time. Extractors carry the result, so a handler's
//! signature says what it needs: [`Caller`] for any valid token, [`Admin`] for admin ones.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use concierge_domain::access::{Actor, Role};
use concierge_domain::text::Label;
use concierge_store::access::{token_digest, ApiToken};
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

/// Creates a token with a fresh random secret; returns the record and the secret, which is
/// shown once and never stored.
pub async fn issue_token(
    store: &Store,
    name: &Label,
    role: Role,
    actor: &Actor,
) -> Result<(ApiToken, String), StoreError> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
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
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthenticated)?;
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
        let caller = Caller::from_request_parts(parts, state).await?;
        if !caller.role.is_admin() {
            return Err(ApiError::Forbidden("this action needs an admin token"));
        }
        Ok(Admin(caller))
    }
}
