//! The Shopify Admin API as a local fake: a small HTTP server on loopback answering with the
//! published example payloads, for the backfill and order actions. As Shopify can, it refuses
//! the first customer page with a 429 and an address change with a 422; it never answers a
//! request to resend a shipping confirmation.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode as Http};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Json;
use reqwest::StatusCode as Status;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const TOKEN: &str = "shpat_fake_token";

/// The app secret the shop's webhooks are signed with in tests.
pub const WEBHOOK_SECRET: &str = "shpss_test_secret_0123456789";

pub fn fixture(path: &str) -> Value {
    let full = format!(
        "{}/../../fixtures/shopify/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_slice(&std::fs::read(&full).unwrap()).unwrap()
}

/// What the fake saw, and how it should behave.
#[derive(Default)]
pub struct Fake {
    pub calls: Vec<String>,
    throttled_once: bool,
    base: String,
}

pub type Shared = Arc<Mutex<Fake>>;

fn authorised(h: &HeaderMap) -> bool {
    h.get("x-shopify-access-token")
        .and_then(|v| v.to_str().ok())
        == Some(TOKEN)
}

async fn customers(
    State(f): State<Shared>,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> axum::response::Response {
    if !authorised(&h) {
        return (
            Http::UNAUTHORIZED,
            Json(json!({"errors": "[API] Invalid API key or access token"})),
        )
            .into_response();
    }
    let mut fake = f.lock().unwrap();
    fake.calls.push(format!(
        "GET customers {}",
        q.get("page_info").map_or("", String::as_str)
    ));
    if !fake.throttled_once {
        fake.throttled_once = true;
        return (
            Http::TOO_MANY_REQUESTS,
            [("retry-after", "0.05")],
            Json(json!({"errors": "Exceeded 2 calls per second"})),
        )
            .into_response();
    }
    let customer = fixture("customer.json");
    match q.get("page_info").map(String::as_str) {
        None => {
            let link = format!(
                "<{}/admin/api/2024-10/customers.json?limit=250&page_info=p2>; rel=\"next\"",
                fake.base
            );
            let mut second = customer.clone();
            second["id"] = json!(207119552);
            second["email"] = json!("second@hostmail.com");
            (
                [
                    ("link", link),
                    ("x-shopify-shop-api-call-limit", "2/40".to_owned()),
                ],
                Json(json!({"customers": [customer, second]})),
            )
                .into_response()
        }
        Some(_) => {
            let mut third = customer;
            third["id"] = json!(207119553);
            third["email"] = json!("third@hostmail.com");
            Json(json!({"customers": [third]})).into_response()
        }
    }
}

async fn orders(State(f): State<Shared>, h: HeaderMap) -> axum::response::Response {
    if !authorised(&h) {
        return Http::UNAUTHORIZED.into_response();
    }
    f.lock().unwrap().calls.push("GET orders".into());
    // The published order list's order holds no items; the published single order does.
    let listed = fixture("python_api__orders.json");
    assert_eq!(listed["orders"][0]["id"], 450789469);
    Json(json!({"orders": [fixture("order.json")]})).into_response()
}

async fn order(State(f): State<Shared>, Path(file): Path<String>) -> axum::response::Response {
    f.lock().unwrap().calls.push(format!("GET {file}"));
    Json(json!({"order": fixture("order.json")})).into_response()
}

async fn cancel(
    State(f): State<Shared>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> axum::response::Response {
    f.lock()
        .unwrap()
        .calls
        .push(format!("POST cancel {id} {}", body["reason"]));
    let mut o = fixture("order.json");
    o["cancelled_at"] = json!("2030-01-01T10:00:00-05:00");
    o["updated_at"] = json!("2030-01-01T10:00:00-05:00");
    Json(json!({"order": o, "notice": "Order has been cancelled"})).into_response()
}

async fn calculate(State(f): State<Shared>, Json(body): Json<Value>) -> axum::response::Response {
    f.lock().unwrap().calls.push(format!(
        "POST calculate {}",
        body["refund"]["refund_line_items"]
    ));
    let line = &body["refund"]["refund_line_items"][0];
    Json(json!({"refund": {
        "refund_line_items": [{"line_item_id": line["line_item_id"], "quantity": line["quantity"], "subtotal": "199.00"}],
        "transactions": [{"parent_id": 801038806, "amount": "199.00", "kind": "suggested_refund", "gateway": "bogus"}]
    }}))
    .into_response()
}

async fn refund(State(f): State<Shared>, Json(body): Json<Value>) -> axum::response::Response {
    f.lock().unwrap().calls.push(format!(
        "POST refund {}",
        body["refund"]["transactions"][0]["amount"]
    ));
    let mut r = fixture("refund.json");
    r["id"] = json!(509562970);
    r["transactions"] =
        json!([{"id": 1, "amount": "199.00", "kind": "refund", "status": "success"}]);
    Json(json!({"refund": r})).into_response()
}

async fn update(State(f): State<Shared>) -> axum::response::Response {
    f.lock().unwrap().calls.push("PUT order".into());
    (
        Http::UNPROCESSABLE_ENTITY,
        Json(json!({"errors": {"shipping_address": ["cannot be changed after fulfillment"]}})),
    )
        .into_response()
}

/// A Shopify that takes the call and never answers.
async fn hang() -> axum::response::Response {
    std::future::pending().await
}

pub async fn start_fake() -> (String, Shared) {
    let state: Shared = Arc::default();
    let app = axum::Router::new()
        .route("/admin/api/2024-10/customers.json", get(customers))
        .route("/admin/api/2024-10/orders.json", get(orders))
        .route("/admin/api/2024-10/orders/{id}/cancel.json", post(cancel))
        .route(
            "/admin/api/2024-10/orders/{id}/refunds/calculate.json",
            post(calculate),
        )
        .route("/admin/api/2024-10/orders/{id}/refunds.json", post(refund))
        .route("/admin/api/2024-10/orders/{file}", get(order).put(update))
        .route(
            "/admin/api/2024-10/fulfillments/{id}/update_tracking.json",
            post(hang),
        )
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    state.lock().unwrap().base = base.clone();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, state)
}

/// Posts a webhook with the given headers and raw body, as the platform would.
pub async fn deliver(
    app: &crate::support::App,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (Status, Value) {
    let mut req = app
        .client
        .post(format!("{}{path}", app.base))
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let text = res.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A Shopify delivery signed with the app secret over the raw bytes.
pub async fn webhook(
    app: &crate::support::App,
    topic: &str,
    id: &str,
    body: &[u8],
) -> (Status, Value) {
    let headers = [
        ("x-shopify-topic", topic.to_owned()),
        (
            "x-shopify-hmac-sha256",
            concierge_commerce::signature::sign(WEBHOOK_SECRET.as_bytes(), body),
        ),
        ("x-shopify-shop-domain", "acme.myshopify.com".to_owned()),
        ("x-shopify-webhook-id", id.to_owned()),
        ("x-shopify-api-version", "2026-07".to_owned()),
    ];
    deliver(app, "/webhooks/shopify", &headers, body).await
}
