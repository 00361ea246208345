//! The one error type of the HTTP layer and its mapping to the API's error body:
//! `{"error": {"code": "snake_case_code", "message": "…", "field"?: "…"}}`. Internal
//! details (SQL, paths) are logged, never sent. Storage errors become `ApiError`s here and
//! nowhere else (`From<StoreError>`), for the pages too; a person is shown the error as a page
//! (`audience`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use concierge_domain::Invalid;
use concierge_store::StoreError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or invalid credentials")]
    Unauthenticated,
    /// A webhook whose signature is missing or does not match its body.
    #[error("the webhook signature is missing or does not match the body")]
    BadSignature,
    /// The password was right; the agent also needs their authenticator's code (`code`).
    #[error("this agent signs in with a code from their authenticator app: send it as `code`")]
    TotpRequired,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict {
        field: &'static str,
        message: String,
    },
    /// Input that parsed as JSON but is not acceptable; `field` names the offender.
    #[error("{message}")]
    Validation { field: String, message: String },
    /// Several fields are not acceptable (a form's worth): each with why, in the form's
    /// order. Never empty.
    #[error("{}", FieldProblem::sentence(.0))]
    Fields(Vec<FieldProblem>),
    /// The body is not JSON at all (or not UTF-8).
    #[error("{0}")]
    BadRequest(String),
    #[error("request body is larger than the limit of {0} bytes")]
    TooLarge(usize),
    #[error("request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("no route for this method and path")]
    RouteNotFound,
    #[error("method not allowed on this path")]
    MethodNotAllowed,
    #[error("too many requests; try again in {0} s")]
    RateLimited(u64),
    #[error("the database is unavailable; try again shortly")]
    Unavailable,
    /// Every live-update socket this process allows is taken.
    #[error("too many live connections; try again shortly")]
    Busy,
    /// A WebSocket endpoint was asked for without the upgrade handshake.
    #[error("this endpoint speaks WebSocket: send an upgrade request")]
    UpgradeRequired,
    /// Mail was asked for, and no outbound relay is set up to send it.
    #[error("this shop does not send email yet (no outbound mail relay is set up)")]
    NoOutboundMail,
    /// An address, or a client, had its share of mail from chats today.
    #[error("this address has had its share of email from chats today; try again tomorrow")]
    MailLimit,
    /// A store platform refused or failed an action; the message is for the agent.
    #[error("{0}")]
    Platform(String),
    #[error("internal error")]
    Internal,
}

/// Shorthand for a validation error on `field`.
pub fn invalid(field: impl Into<String>, e: Invalid) -> ApiError {
    ApiError::Validation {
        field: field.into(),
        message: e.0,
    }
}

/// Parses one input field with a domain parser, naming the field on failure.
pub fn parse<T>(
    field: &str,
    value: &str,
    parser: impl FnOnce(&str) -> Result<T, Invalid>,
) -> Result<T, ApiError> {
    parser(value).map_err(|e| invalid(field, e))
}

/// One field at fault and why, in a 422 that names several.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

impl FieldProblem {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldProblem {
            field: field.into(),
            message: message.into(),
        }
    }

    /// All of them in one message: one alone as it is, several each after its field.
    fn sentence(problems: &[FieldProblem]) -> String {
        match problems {
            [one] => one.message.clone(),
            _ => problems
                .iter()
                .map(|p| format!("{}: {}", p.field, p.message))
                .collect::<Vec<_>>()
                .join("; "),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `validation_failed`.
    pub code: &'static str,
    pub message: String,
    /// The request field at fault, for validation errors and conflicts (the first, when
    /// several are).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every field at fault with its own message, when a request can have several (business
    /// hours); `message` then says all of them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldProblem>,
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::BadSignature => (StatusCode::UNAUTHORIZED, "invalid_signature"),
            ApiError::TotpRequired => (StatusCode::UNAUTHORIZED, "totp_required"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) | ApiError::RouteNotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict { .. } => (StatusCode::CONFLICT, "conflict"),
            ApiError::Validation { .. } | ApiError::Fields(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
            }
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "invalid_json"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable"),
            ApiError::Busy => (StatusCode::SERVICE_UNAVAILABLE, "too_many_connections"),
            ApiError::NoOutboundMail => (StatusCode::SERVICE_UNAVAILABLE, "mail_unavailable"),
            ApiError::MailLimit => (StatusCode::TOO_MANY_REQUESTS, "mail_limit"),
            ApiError::UpgradeRequired => (StatusCode::UPGRADE_REQUIRED, "upgrade_required"),
            ApiError::Platform(_) => (StatusCode::BAD_GATEWAY, "platform_failed"),
            ApiError::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }
}

impl ApiError {
    /// The error as the body of the error format carries it.
    pub fn detail(&self) -> ErrorDetail {
        let field = match self {
            ApiError::Validation { field, .. } => Some(field.clone()),
            ApiError::Conflict { field, .. } => Some((*field).to_owned()),
            ApiError::Fields(all) => all.first().map(|p| p.field.clone()),
            _ => None,
        };
        ErrorDetail {
            code: self.status_and_code().1,
            message: self.to_string(),
            field,
            fields: match self {
                ApiError::Fields(all) => all.clone(),
                _ => vec![],
            },
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status_and_code().0
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.detail(),
        };
        let mut response = (self.status(), axum::Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::Unauthenticated => {
                headers.insert(
                    axum::http::header::WWW_AUTHENTICATE,
                    axum::http::HeaderValue::from_static("Bearer"),
                );
            }
            ApiError::RateLimited(secs) => {
                headers.insert(axum::http::header::RETRY_AFTER, (*secs).into());
            }
            ApiError::MailLimit => {
                headers.insert(axum::http::header::RETRY_AFTER, 3600.into());
            }
            _ => {}
        }
        // Kept for the layer that shows errors to people as pages.
        response
            .extensions_mut()
            .insert(crate::audience::Refused(std::sync::Arc::new(self)));
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::NotFound(what),
            StoreError::Conflict { field, message } => ApiError::Conflict { field, message },
            StoreError::Reference { field, message } | StoreError::Taken { field, message } => {
                ApiError::Validation {
                    field: field.to_owned(),
                    message,
                }
            }
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "database unavailable");
                ApiError::Unavailable
            }
            other => {
                tracing::error!(error = %other, "storage failure");
                ApiError::Internal
            }
        }
    }
}

impl From<concierge_email::IntakeError> for ApiError {
    fn from(e: concierge_email::IntakeError) -> Self {
        use concierge_email::IntakeError;
        match e {
            IntakeError::Refused(message) => ApiError::Validation {
                field: "body".into(),
                message,
            },
            IntakeError::TooLarge(limit) => ApiError::TooLarge(limit),
            IntakeError::Unavailable(_) => ApiError::Unavailable,
        }
    }
}
