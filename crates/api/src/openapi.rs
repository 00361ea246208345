//! The OpenAPI document, assembled from the `#[utoipa::path]` annotations on the handlers and
//! the wire types' schemas (never written by hand), and served at `/api/openapi.json`. The
//! channels mounted beside the API (the chat widget) bring their operations, schemas, tags
//! and security schemes in their router ([`crate::router_with`]).
//!
//! What every operation shares is added here, in one pass over the finished document
//! ([`complete`]), rather than repeated in a hundred annotations: the answers any route can
//! give (429 from the rate limit, 503 when the database is down), those that follow from the
//! operation's shape (401 and 403 where credentials are taken, 404 for ids in the path, 400,
//! 413, 415 and 422 for JSON bodies, 422 for query parameters), and the ways to
//! authenticate (a token, or the session cookie with its CSRF header on writes). A test runs
//! schemathesis against the served document, so what it says is checked against what the
//! service answers.

use serde_json::{json, Map, Value};
use std::sync::{Arc, OnceLock};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Concierge API", description = "Self-hosted customer service for online shops. Errors: `{\"error\": {\"code\", \"message\", \"field\"?}}`. Lists: `{\"items\", \"next_cursor\"}` with `?limit=` (1-200, default 50) and `?cursor=`. Every route is rate limited per client address (`CONCIERGE_RATE_LIMIT_PER_SECOND`); past the limit it answers 429 `rate_limited` with `Retry-After` in seconds. JSON bodies are at most `CONCIERGE_MAX_BODY_BYTES` (1 MiB by default); larger ones get 413. Text fields are trimmed; they must hold something besides spaces and no control characters but line breaks and tabs."),
    paths(
        crate::routes::mail::receive,
        crate::routes::platforms::receive_shopify,
        crate::routes::platforms::receive_woocommerce,
        crate::routes::platforms::receive_aftership,
        crate::routes::system::health,
        crate::routes::system::metrics,
        crate::routes::system::openapi,
    ),
    components(schemas(crate::error::ErrorBody)),
    tags((name = "conversations"), (name = "email"), (name = "customers"), (name = "orders"), (name = "articles"), (name = "access"), (name = "jobs"), (name = "assistant"), (name = "settings"), (name = "service"))
)]
struct Base;

pub(crate) fn base() -> utoipa::openapi::OpenApi {
    Base::openapi()
}

/// The document of one router, which describes the routes that router has (with the
/// channels mounted in it), written as JSON on the first request for it.
#[derive(Clone)]
pub(crate) struct Document(Arc<Written>);

struct Written {
    doc: utoipa::openapi::OpenApi,
    json: OnceLock<String>,
}

impl Document {
    pub(crate) fn new(doc: utoipa::openapi::OpenApi) -> Document {
        Document(Arc::new(Written {
            doc,
            json: OnceLock::new(),
        }))
    }

    /// The document as JSON, completed (see [`complete`]).
    pub(crate) fn json(&self) -> &str {
        self.0.json.get_or_init(|| finish(&self.0.doc))
    }
}

fn finish(doc: &utoipa::openapi::OpenApi) -> String {
    let mut value = serde_json::to_value(doc).unwrap_or_else(|_| json!({}));
    complete(&mut value);
    value.to_string()
}

/// The API's security schemes: a token, or the agent's browser session (whose writes also
/// carry the CSRF header). Channels declare their own (the chat widget's session token).
fn security_schemes() -> Value {
    json!({
        "bearer": {
            "type": "http", "scheme": "bearer",
            "description": "An API token (`concierge token create`, or `POST /api/v1/tokens`): `Authorization: Bearer cnc_…`."
        },
        "session": {
            "type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE,
            "description": "An agent's browser session, set by `POST /api/v1/session`. Writes made with it also need `X-CSRF-Token` (else 403)."
        },
        "csrf": {
            "type": "apiKey", "in": "header", "name": "X-CSRF-Token",
            "description": "The session's CSRF token (`csrf_token` of `POST /api/v1/session`), on every write made with the session cookie."
        }
    })
}

/// The answers shared by many operations, referred to as `#/components/responses/…`.
fn shared_responses() -> Value {
    let error = |description: &str| {
        json!({
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        })
    };
    let mut unauthenticated =
        error("`unauthenticated`: no credentials, or ones that are not (or no longer) valid");
    unauthenticated["headers"] = json!({
        "WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Bearer`"}
    });
    let mut rate_limited = error("`rate_limited`: this client address made more requests than `CONCIERGE_RATE_LIMIT_PER_SECOND` allows (bursts of twice that)");
    rate_limited["headers"] = json!({
        "Retry-After": {"schema": {"type": "integer", "minimum": 1}, "description": "seconds to wait"}
    });
    json!({
        "InvalidJson": error("`invalid_json`: the body is not JSON"),
        "Unauthenticated": unauthenticated,
        "Forbidden": error("`forbidden`: the caller's role may not do this, or a write with the session cookie lacks its `X-CSRF-Token`"),
        "NotFound": error("`not_found`: no record has this id"),
        "TooLarge": error("`payload_too_large`: the body is over the limit"),
        "UnsupportedMediaType": error("`unsupported_media_type`: a JSON body needs `Content-Type: application/json`"),
        "IdempotencyKeyBusy": error("`conflict`: the first request with this `Idempotency-Key` is still running"),
        "CursorElsewhere": error("`conflict`: the cursor is of another list"),
        "ValidationFailed": error("`validation_failed`: a value is not acceptable; `field` names it"),
        "RateLimited": rate_limited,
        "Unavailable": error("`service_unavailable`: the database does not answer; try again shortly"),
    })
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Adds to `doc` what every operation shares (see the module's comment).
pub(crate) fn complete(doc: &mut Value) {
    let Some(root) = doc.as_object_mut() else {
        return;
    };
    let components = root
        .entry("components")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    if let Some(components) = components {
        let schemes = components
            .entry("securitySchemes")
            .or_insert_with(|| json!({}));
        if let (Some(schemes), Value::Object(ours)) = (schemes.as_object_mut(), security_schemes())
        {
            schemes.extend(ours);
        }
        components.insert("responses".into(), shared_responses());
    }
    let Some(paths) = root.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for method in METHODS {
            if let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) {
                complete_operation(method, op);
                if method == "post" && path.starts_with("/api/v1/") {
                    take_idempotency_key(op);
                }
            }
        }
    }
}

/// `Idempotency-Key` (`crate::idempotency`) on the API's `POST`s.
fn take_idempotency_key(op: &mut Map<String, Value>) {
    let parameters = op.entry("parameters").or_insert_with(|| json!([]));
    if let Some(parameters) = parameters.as_array_mut() {
        parameters.push(json!({
            "name": "Idempotency-Key", "in": "header", "required": false,
            "description": "Sent again with the same request (its answer was lost), the first answer is given again, marked `Idempotent-Replayed: true`; with another request 422, while the first still runs 409. Keys belong to the credential and are kept a day.",
            "schema": {"type": "string", "pattern": "^[\\x21-\\x7E]{1,255}$"}
        }));
    }
    if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
        responses
            .entry("409")
            .or_insert_with(|| json!({"$ref": "#/components/responses/IdempotencyKeyBusy"}));
        responses
            .entry("422")
            .or_insert_with(|| json!({"$ref": "#/components/responses/ValidationFailed"}));
    }
}

fn complete_operation(method: &str, op: &mut Map<String, Value>) {
    let write = method != "get" && method != "head";
    let mut shared: Vec<(&str, &str)> = vec![("429", "RateLimited"), ("503", "Unavailable")];
    let takes_token = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
    let takes_session_only = !takes_token
        && op
            .get("security")
            .and_then(Value::as_array)
            .is_some_and(|s| s.iter().any(|r| r.get("session").is_some()));
    if takes_session_only {
        shared.push(("401", "Unauthenticated"));
        if write {
            shared.push(("403", "Forbidden"));
        }
    }
    // A channel's own credentials (the chat widget's session token).
    let takes_other_credentials = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter().any(|r| {
                r.as_object().is_some_and(|r| {
                    r.keys()
                        .any(|k| !matches!(k.as_str(), "bearer" | "session" | "csrf"))
                })
            })
        });
    if takes_token {
        // An agent in the browser may call anything a token may; writes so made are refused
        // without the CSRF header.
        op.insert(
            "security".into(),
            if write {
                json!([{"bearer": []}, {"session": [], "csrf": []}])
            } else {
                json!([{"bearer": []}, {"session": []}])
            },
        );
        shared.push(("401", "Unauthenticated"));
        if write {
            shared.push(("403", "Forbidden"));
        }
    }
    if takes_other_credentials {
        shared.push(("401", "Unauthenticated"));
    }
    let params = op
        .get("parameters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if params.iter().any(|p| p["in"] == "path") {
        shared.push(("404", "NotFound"));
    }
    if params.iter().any(|p| p["in"] == "query") {
        shared.push(("422", "ValidationFailed"));
    }
    if params
        .iter()
        .any(|p| p["in"] == "query" && p["name"] == "cursor")
    {
        shared.push(("409", "CursorElsewhere"));
    }
    if let Some(content) = op
        .get("requestBody")
        .and_then(|b| b.get("content"))
        .and_then(Value::as_object)
    {
        shared.push(("413", "TooLarge"));
        if content.contains_key("application/json") {
            shared.extend([
                ("400", "InvalidJson"),
                ("415", "UnsupportedMediaType"),
                ("422", "ValidationFailed"),
            ]);
        }
    }
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    for (status, name) in shared {
        // An operation's own description of a status says more than the shared one.
        responses
            .entry(status)
            .or_insert_with(|| json!({"$ref": format!("#/components/responses/{name}")}));
    }
}
