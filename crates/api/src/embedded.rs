//! Stylesheets and scripts embedded in the binary, served with the content's digest as their
//! `ETag` and revalidated on every use (`no-cache`): modules import each other by plain URL,
//! so a long-lived copy of one could outlive a release. Revalidation costs a 304.
//!
//! The agent workspace and the help center each keep a table of their own files.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

struct Asset {
    kind: &'static str,
    body: &'static str,
    etag: String,
}

/// A set of embedded files served under one URL prefix.
pub struct Embedded {
    prefix: &'static str,
    files: HashMap<&'static str, Asset>,
}

impl Embedded {
    /// `files` are (name, content type, content); they are served at `{prefix}{name}`.
    pub fn new(prefix: &'static str, files: &[(&'static str, &'static str, &'static str)]) -> Self {
        let files = files
            .iter()
            .map(|&(name, kind, body)| {
                let etag = hex::encode(&Sha256::digest(body.as_bytes())[..8]);
                (name, Asset { kind, body, etag })
            })
            .collect();
        Embedded { prefix, files }
    }

    /// The URL of a file, with its digest, so a new release is fetched at once.
    pub fn url(&self, name: &str) -> String {
        let v = self.files.get(name).map_or("", |a| a.etag.as_str());
        format!("{}{name}?v={v}", self.prefix)
    }

    /// The answer to a request for `name`: the file, a 304, or a 404.
    pub fn serve(&self, name: &str, headers: &HeaderMap) -> Response {
        let Some(asset) = self.files.get(name) else {
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
}

/// The table of embedded files, from paths relative to the calling crate's `assets/` folder:
/// `embedded!("app.css": "text/css; charset=utf-8", …)`.
#[macro_export]
macro_rules! embedded_files {
    ($($name:literal: $kind:literal,)+) => {
        &[$(($name, $kind, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/", $name)))),+]
    };
}
