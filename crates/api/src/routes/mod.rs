//! The router: every route, the fallbacks that answer unknown paths and methods in the error
//! format, and the layers (rate limit, body limit, panic guard, errors fit for their audience,
//! tracing, metrics).

mod access;
pub(crate) mod articles;
mod assist;
mod assistant;
mod commerce;
mod conversations;
mod customers;
mod hours;
mod knowledge;
pub(crate) mod mail;
pub(crate) mod platforms;
mod replies;
mod session;
mod suggestion;
pub(crate) mod system;

pub use articles::MAX_ARTICLE_FILE_BYTES;
pub(crate) use assist::MAX_CLASSIFY_CHARS;
pub use platforms::{PlatformSecrets, MAX_WEBHOOK_BYTES};
pub(crate) use session::LoginThrottle;

use crate::error::ApiError;
use crate::extract::BodyLimit;
use crate::wire::PageQuery;
use crate::AppState;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Router;
use concierge_store::{Cursor, PageRequest, MAX_LIMIT};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

pub(crate) fn router(
    state: AppState,
    pages: Router<AppState>,
    channels: OpenApiRouter<AppState>,
) -> Router {
    let limit = state.config.max_body_bytes;
    let (api, openapi) = OpenApiRouter::with_openapi(crate::openapi::base())
        .merge(conversations::routes())
        .merge(customers::routes())
        .merge(commerce::routes())
        .merge(articles::routes())
        .merge(knowledge::routes())
        .merge(access::routes())
        .merge(session::routes())
        .merge(replies::routes())
        .merge(suggestion::routes())
        .merge(assist::routes())
        .merge(assistant::routes())
        .merge(hours::routes())
        .merge(mail::routes())
        .merge(platforms::routes())
        .merge(crate::live::routes())
        .merge(channels)
        .split_for_parts();
    let mut app = api
        .merge(system::routes(crate::openapi::Document::new(openapi)))
        .merge(mail::webhook(&state))
        .merge(platforms::webhooks())
        .merge(articles::public_files())
        .merge(pages)
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::idempotency::answer_once,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::rate::limit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::track,
        ))
        .layer(axum::middleware::from_fn(private_not_stored))
        .layer(axum::Extension(BodyLimit(limit)))
        .layer(DefaultBodyLimit::max(limit))
        .layer(CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| -> Response {
                tracing::error!("a request handler panicked");
                ApiError::Internal.into_response()
            },
        ))
        // Around every answer made above, the panic guard's too.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::audience::fit,
        ))
        .layer(TraceLayer::new_for_http());
    for (name, value) in SECURITY_HEADERS {
        app = app.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ));
    }
    // Reached over https, browsers are told to come back only that way.
    if state.config.secure_cookies {
        app = app.layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ));
    }
    app.with_state(state)
}

/// What the API answers, and what anyone signed in is shown, is kept by no cache (the
/// browser's back button, a proxy, a shared computer): `Cache-Control: no-store` unless the
/// handler said otherwise (files, embedded assets). Public pages stay cacheable.
async fn private_not_stored(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let private = request.uri().path().starts_with("/api/")
        || request.headers().contains_key(header::AUTHORIZATION)
        || request
            .headers()
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains(crate::auth::SESSION_COOKIE));
    let mut response = next.run(request).await;
    if private && !response.headers().contains_key(header::CACHE_CONTROL) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Headers on every response, errors included: nothing of ours may be framed, sniffed into
/// another type, leak its URL to other sites, run script or styles that the binary did not
/// serve itself (no inline script, no other origin), or use the camera, microphone, location
/// or payment features of the browser.
const SECURITY_HEADERS: [(header::HeaderName, &str); 5] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    ),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    (
        header::HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), browsing-topics=()",
    ),
];

/// Parses `?limit=&cursor=`.
pub(crate) fn page(limit: Option<u32>, cursor: Option<&str>) -> Result<PageRequest, ApiError> {
    if let Some(l) = limit {
        if l == 0 || l > MAX_LIMIT {
            return Err(ApiError::Validation {
                field: "limit".into(),
                message: format!("limit must be between 1 and {MAX_LIMIT}"),
            });
        }
    }
    let cursor = match cursor.filter(|c| !c.is_empty()) {
        Some(c) => Some(Cursor::decode(c).map_err(|e| crate::error::invalid("cursor", e))?),
        None => None,
    };
    Ok(PageRequest { limit, cursor })
}

impl PageQuery {
    pub(crate) fn page(&self) -> Result<PageRequest, ApiError> {
        page(self.limit, self.cursor.as_deref())
    }
}

/// Turns an optional text field into `None` when blank.
pub(crate) fn non_blank(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Who a served file is for: agents' attachments stay private to the browser; the help
/// center's files are public and never change under their id.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Audience {
    Agents,
    Public,
}

/// Content types a browser may show in the page, when the file's bytes are of that type.
/// Everything else (HTML, SVG, PDF, a file whose bytes are not what it is recorded as, …)
/// is only ever downloaded, so a file from a stranger cannot run in our origin. The help
/// center's videos play in the page too.
const SHOWN_INLINE: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];
const PLAYED_INLINE: &[&str] = &["video/mp4", "video/webm"];

/// A file as a download (or, for plain images and the help center's videos whose bytes are
/// what they are recorded as, shown inline), sandboxed. The bytes are looked at here too,
/// not only when a file is taken in: files stored before that check are served by it.
pub(crate) fn file_response(
    bytes: Vec<u8>,
    content_type: &str,
    filename: &str,
    audience: Audience,
) -> Response {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let shown = SHOWN_INLINE.contains(&essence.as_str())
        || (audience == Audience::Public && PLAYED_INLINE.contains(&essence.as_str()));
    let inline = shown && infer::get(&bytes).is_some_and(|t| t.mime_type() == essence);
    let content_type = if inline {
        essence
    } else {
        "application/octet-stream".to_owned()
    };
    // RFC 6266 / 5987: an ASCII fallback and the UTF-8 name, percent-encoded.
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let disposition = format!(
        "{}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}",
        if inline { "inline" } else { "attachment" }
    );
    let mut response = axum::body::Body::from(bytes).into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(match audience {
            Audience::Agents => "private, max-age=3600",
            // Files are never replaced under their id.
            Audience::Public => "public, max-age=31536000, immutable",
        }),
    );
    response
}
