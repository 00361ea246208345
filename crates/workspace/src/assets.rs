//! The workspace's stylesheet and scripts, embedded in the binary (see
//! [`concierge_api::embedded`] for how they are cached).

use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::Response;
use concierge_api::embedded::Embedded;
use std::sync::OnceLock;

fn table() -> &'static Embedded {
    static TABLE: OnceLock<Embedded> = OnceLock::new();
    TABLE.get_or_init(|| {
        Embedded::new(
            "/assets/",
            concierge_api::embedded_files! {
                "app.css": "text/css; charset=utf-8",
                "app.js": "text/javascript; charset=utf-8",
                "api.js": "text/javascript; charset=utf-8",
                "live.js": "text/javascript; charset=utf-8",
                "keys.js": "text/javascript; charset=utf-8",
                "inbox.js": "text/javascript; charset=utf-8",
                "conversation.js": "text/javascript; charset=utf-8",
                "signin.js": "text/javascript; charset=utf-8",
                "admin.js": "text/javascript; charset=utf-8",
                "knowledge.js": "text/javascript; charset=utf-8",
            },
        )
    })
}

/// The URL of an asset, with its digest.
pub(crate) fn url(name: &str) -> String {
    table().url(name)
}

pub(crate) async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    table().serve(&name, &headers)
}
