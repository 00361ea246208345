//! The stylesheet and scripts, embedded in the binary. Each answer carries the content's
//! digest as its `ETag` and must be revalidated (`no-cache`): modules import each other by
//! plain URL, so a long-lived copy of one could outlive a release. Revalidation costs a 304.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::OnceLock;

macro_rules! embedded {
    ($($name:literal: $kind:literal,)+) => {
        &[$(($name, $kind, include_str!(concat!("../assets/", $name)))),+]
    };
}

/// Every asset: name, content type, content.
const FILES: &[(&str, &str, &str)] = embedded! {
    "app.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "live.js": "text/javascript; charset=utf-8",
    "keys.js": "text/javascript; charset=utf-8",
    "inbox.js": "text/javascript; charset=utf-8",
    "conversation.js": "text/javascript; charset=utf-8",
    "signin.js": "text/javascript; charset=utf-8",
    "admin.js": "text/javascript; charset=utf-8",
};

struct Asset {
    kind: &'static str,
    body: &'static str,
    etag: String,
}

fn table() -> &'static HashMap<&'static str, Asset> {
    static TABLE: OnceLock<HashMap<&'static str, Asset>> = OnceLock::new();
    TABLE.get_or_init(|| {
        FILES
            .iter()
            .map(|(name, kind, body)| {
                let digest = hex::encode(&Sha256::digest(body.as_bytes())[..8]);
                (
                    *name,
                    Asset {
                        kind,
                        body,
                        etag: digest,
                    },
                )
            })
            .collect()
    })
}

/// The URL of an asset, with its digest.
pub(crate) fn url(name: &str) -> String {
    let v = table().get(name).map_or("", |a| a.etag.as_str());
    format!("/assets/{name}?v={v}")
}

pub(crate) async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some(asset) = table().get(name.as_str()) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let etag = format!("\"{}\"", asset.etag);
    let cache = (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let tag = (
        header::ETAG,
        HeaderValue::from_str(&etag).expect("hex is a valid header value"),
    );
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if matches {
        return (StatusCode::NOT_MODIFIED, [cache, tag]).into_response();
    }
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(asset.kind)),
            cache,
            tag,
        ],
        asset.body,
    )
        .into_response()
}
