//! Errors fit their audience. A program calling the API reads the contract's JSON error body;
//! a person whose browser opened a page reads a page: the right status, a few plain words, a
//! way back, in the look of the pages around it (their stylesheet, no inline script or style,
//! every value escaped by `maud`).
//!
//! Every error answer is made once, the way programs read it, wherever it arises: an
//! [`ApiError`] from a handler, the rate limit, the panic guard or the unknown-route fallback
//! (its JSON, with the error itself kept in the answer's extensions), or an extractor's own
//! rejection (plain text: a form over the body limit, a malformed query). One layer, [`fit`],
//! around all of them, is the one place that asks who reads the answer ([`Audience::of`]) and,
//! for a person, has the pages' [`ErrorPages`] write it again as a page. Status and headers
//! stay, `Retry-After` with a 429 among them.

use crate::error::ApiError;
use crate::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::Response;
use maud::Markup;
use std::sync::Arc;

/// Who reads the answers to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// A program: errors are the contract's JSON body.
    Program,
    /// A person in a browser: errors are pages.
    Person,
}

/// Paths under which every answer is read by programs: the API (`/api/v1`, its OpenAPI
/// document, and the chat widget's calls under `/api/widget/`), the webhooks of mail and store
/// platforms, and the probes.
const PROGRAM_PATHS: [&str; 4] = ["/api", "/webhooks", "/healthz", "/metrics"];

impl Audience {
    /// Who reads the answers to a request for `path`: the one rule, which every layer uses
    /// through [`fit`]. A path in `PROGRAM_PATHS` (or under one) is a program's; every other
    /// path is a page, or something a page links to, opened by a person.
    ///
    /// By the path alone, not by `Accept`: a URL then answers its errors the same way whoever
    /// asks (no cache has to vary on a header), a program that fetches a page gets what a
    /// browser would, and a browser that opens an API URL sees the JSON its scripts read.
    pub fn of(path: &str) -> Audience {
        let under = |prefix: &str| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        if PROGRAM_PATHS.iter().any(|p| under(p)) {
            Audience::Program
        } else {
            Audience::Person
        }
    }
}

/// An error answer as an error page sees it.
pub struct Refusal<'a> {
    pub status: StatusCode,
    /// The error, when it left as an [`ApiError`] (an extractor's rejection does not).
    pub error: Option<&'a ApiError>,
    /// Seconds to wait before asking again: the answer's `Retry-After`.
    pub retry_after: Option<u64>,
}

/// How a family of pages tells a person about an error, in its own look and words. The
/// families are asked in the order of [`ApiConfig::error_pages`](crate::ApiConfig), and the
/// first that takes the path writes the page.
pub trait ErrorPages: Send + Sync {
    /// The page telling of `refusal`, which answers a request for `uri` (with `headers`, for
    /// the reader's language); `None` when `uri` is not this family's to answer.
    fn page(&self, uri: &Uri, headers: &HeaderMap, refusal: &Refusal<'_>) -> Option<Markup>;
}

/// The [`ApiError`] an answer was made from, kept in its extensions for [`fit`].
#[derive(Clone)]
pub(crate) struct Refused(pub(crate) Arc<ApiError>);

/// The layer: answers to people that are errors and not yet pages become pages. Errors are not
/// kept by any cache (`no-store`): the page may well work a moment later.
pub(crate) async fn fit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if Audience::of(request.uri().path()) == Audience::Program {
        return next.run(request).await;
    }
    let uri = request.uri().clone();
    let headers = request.headers().clone();
    let response = next.run(request).await;
    let status = response.status();
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|kind| kind.starts_with("text/html"));
    if is_page || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let error = response.extensions().get::<Refused>().map(|r| &r.0);
    let refusal = Refusal {
        status,
        error: error.map(|e| &**e),
        retry_after: response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.parse().ok()),
    };
    let Some(page) = state
        .config
        .error_pages
        .iter()
        .find_map(|pages| pages.page(&uri, &headers, &refusal))
    else {
        return response;
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    parts
        .headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Response::from_parts(parts, Body::from(page.into_string()))
}

#[cfg(test)]
mod tests {
    use super::Audience::{self, Person, Program};

    #[test]
    fn programs_read_the_api_the_webhooks_and_the_probes() {
        for path in [
            "/api",
            "/api/v1/conversations/nope",
            "/api/openapi.json",
            "/api/widget/v1/session",
            "/webhooks/shopify",
            "/healthz",
            "/metrics",
        ] {
            assert_eq!(Audience::of(path), Program, "{path}");
        }
    }

    #[test]
    fn people_read_every_other_path() {
        for path in [
            "/",
            "/help",
            "/help/nope",
            "/track/0123",
            "/inbox",
            "/conversations/cnv_nope",
            "/admin/agents",
            "/login",
            "/no/such/page",
            "/apiary",
            "/metricsx",
            "/widget.js",
        ] {
            assert_eq!(Audience::of(path), Person, "{path}");
        }
    }
}
