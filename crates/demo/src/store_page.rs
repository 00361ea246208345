//! The demo shop's storefront, `/demo/store`: a plain shop page with the chat widget on it,
//! as a shop would add it — one script tag — so `serve --demo` shows the chat end to end.
//! By default the page's shopper is signed in (the page signs their email, as a shop's
//! server would); `?as=guest` shows it to a guest, who proves an order with its number and
//! postcode instead.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;
use std::sync::Arc;

use crate::shop;

struct Page {
    identity_secret: String,
}

#[derive(Deserialize)]
struct Visit {
    #[serde(rename = "as")]
    visitor: Option<String>,
}

/// The storefront's routes. `identity_secret` is the service's widget identity secret: the
/// page signs its shopper's email with it, as a real shop's server would.
pub fn routes<S: Clone + Send + Sync + 'static>(identity_secret: String) -> Router<S> {
    Router::new()
        .route("/demo/store", get(storefront))
        // A file, not inline: the service's content security policy allows only its own.
        .route(
            "/demo/store.css",
            get(|| async { ([(axum::http::header::CONTENT_TYPE, "text/css")], CSS) }),
        )
        .with_state(Arc::new(Page { identity_secret }))
}

async fn storefront(State(page): State<Arc<Page>>, Query(visit): Query<Visit>) -> Markup {
    let guest = visit.visitor.as_deref() == Some("guest");
    let (name, email) = crate::store_shopper();
    let signature =
        concierge_commerce::signature::sign_hex(page.identity_secret.as_bytes(), email.as_bytes());
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (shop::SHOP_NAME) }
                link rel="stylesheet" href="/demo/store.css";
            }
            body {
                header {
                    strong { (shop::SHOP_NAME) }
                    span.account {
                        @if guest { "Guest · " a href="/demo/store" { "sign in as " (name) } }
                        @else { "Signed in as " (name) " · " a href="/demo/store?as=guest" { "browse as a guest" } }
                    }
                }
                main {
                    p.demo {
                        "This is the demo shop's storefront. Open the chat (bottom right) and ask "
                        em { "“where's my order?”" }
                        @if guest {
                            " — as a guest, the assistant asks for the order number and the email or postcode it was placed with."
                        } @else {
                            " — you are signed in, so the assistant knows your orders. Ask for a person and sign in to the "
                            a href="/" { "agent workspace" }
                            " to answer."
                        }
                    }
                    h1 { "Autumn essentials" }
                    ul.products {
                        @for p in shop::PRODUCTS.iter().take(6) {
                            li { span.title { (p.title) } span.price { "€" (p.price) } }
                        }
                    }
                }
                @if guest {
                    script src="/widget.js" data-title=(format!("{} support", shop::SHOP_NAME)) data-prechat="name,email" async {}
                } @else {
                    script src="/widget.js" data-title=(format!("{} support", shop::SHOP_NAME))
                        data-identity-email=(email) data-identity-signature=(signature) async {}
                }
            }
        }
    }
}

const CSS: &str = "body{margin:0;font-family:Georgia,serif;color:#222;background:#faf7f2}\
header{display:flex;justify-content:space-between;align-items:center;gap:1em;padding:1em 2em;background:#2b3a2f;color:#fff}\
header a{color:#cfe3d2}main{max-width:60em;margin:0 auto;padding:1em 2em}\
.demo{background:#fff6d6;border:1px solid #e8d58a;padding:.8em 1em;border-radius:6px}\
.products{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(14em,1fr));gap:1em}\
.products li{background:#fff;border:1px solid #ddd;border-radius:6px;padding:1em;display:flex;flex-direction:column;gap:.4em}\
.price{color:#2b3a2f;font-weight:bold}";
