//! The Shopify Admin API as a local fake (a small HTTP server on loopback answering with the
//! published example payloads): the backfill pages through it within its rate limits, and
//! order actions from the inbox go through it, their outcome noted on the conversation and
//! in the audit log; a failing Shopify changes nothing. CSV import runs the real binary.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode as Http};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Json;
use concierge_commerce::admin::ShopifyAdmin;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[macro_use]
mod support;

use support::*;

const TOKEN: &str = "shpat_fake_token";

fn fixture(path: &str) -> Value {
    let full = format!(
        "{}/../../../shared/fixtures/shopify/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_slice(&std::fs::read(&full).unwrap()).unwrap()
}

/// What the fake saw, and how it should behave.
#[derive(Default)]
struct Fake {
    calls: Vec<String>,
    throttled_once: bool,
    base: String,
}

type Shared = Arc<Mutex<Fake>>;

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

async fn start_fake() -> (String, Shared) {
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
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    state.lock().unwrap().base = base.clone();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, state)
}

on_both_engines!(
    the_backfill_pages_through_customers_and_orders,
    engine | engine | {
        let Some(app) = App::start(engine, |_| {}).await else {
            return;
        };
        let (base, fake) = start_fake().await;
        let admin = ShopifyAdmin::new("acme.myshopify.com", TOKEN, Some(&base)).unwrap();
        let mut pages = Vec::new();
        let synced = concierge_commerce::sync::shopify(app.store(), &admin, |what, n| {
            pages.push(format!("{what} {n}"))
        })
        .await
        .unwrap();
        assert_eq!((synced.customers, synced.orders), (3, 1), "{synced:?}");
        assert_eq!(pages, ["customers 2", "customers 3", "orders 1"]);
        let calls = fake.lock().unwrap().calls.clone();
        assert_eq!(
            calls[..3],
            [
                "GET customers ".to_owned(),
                "GET customers ".to_owned(),
                "GET customers p2".to_owned()
            ],
            "a 429 is waited out and retried"
        );
        let (_, list) = app.get("/api/v1/customers?email=third@hostmail.com").await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        let (_, orders) = app.get("/api/v1/orders?number=1001").await;
        assert_eq!(orders["items"][0]["source"], "shopify");
        // History is not announced: no notice was queued for the backfilled shipment.
        let sid = concierge_domain::ids::ShipmentId::parse(
            orders["items"][0]["shipments"][0]["id"].as_str().unwrap(),
        )
        .unwrap();
        assert!(app.store().notices(&sid).await.unwrap().is_empty());
        // Again: nothing doubles.
        concierge_commerce::sync::shopify(app.store(), &admin, |_, _| {})
            .await
            .unwrap();
        let (_, orders) = app.get("/api/v1/orders?number=1001").await;
        assert_eq!(orders["items"].as_array().unwrap().len(), 1);
        // A wrong token is a clear failure.
        let wrong = ShopifyAdmin::new("acme.myshopify.com", "nope", Some(&base)).unwrap();
        let e = concierge_commerce::sync::shopify(app.store(), &wrong, |_, _| {})
            .await
            .unwrap_err();
        assert!(e.contains("401") && e.contains("Invalid API key"), "{e}");
        app.stop().await;
    }
);

on_both_engines!(
    order_actions_go_through_shopify_and_are_noted,
    engine
        | engine
        | {
            let (base, fake) = start_fake().await;
            let Some(app) = App::start_with(engine, |s| {
                s.shopify_shop = Some("acme.myshopify.com".into());
                s.shopify_access_token = Some(TOKEN.into());
                s.shopify_api_url = Some(base.clone());
            })
            .await
            else {
                return;
            };
            let admin = ShopifyAdmin::new("acme.myshopify.com", TOKEN, Some(&base)).unwrap();
            concierge_commerce::sync::shopify(app.store(), &admin, |_, _| {})
                .await
                .unwrap();
            let (_, orders) = app.get("/api/v1/orders?number=1001").await;
            let order = orders["items"][0].clone();
            let oid = order["id"].as_str().unwrap();
            let (s, c) = app
                .post(
                    "/api/v1/conversations",
                    conversation(
                        "bob.norman@hostmail.com",
                        "email",
                        "Cancel please",
                        "I ordered twice",
                    ),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{c}");
            let cid = c["id"].as_str().unwrap();

            // Refund one item: Shopify calculates, we send its calculation.
            let item = order["line_items"][1]["id"].as_str().unwrap();
            let (s, r) = app.post(&format!("/api/v1/orders/{oid}/actions"), json!({"action": "refund", "conversation_id": cid, "line_items": [{"id": item, "quantity": 1}]})).await;
            assert_eq!(s, StatusCode::OK, "{r}");
            assert_eq!(r["status"], "done");
            assert!(r["note"].as_str().unwrap().contains("199.00"), "{r}");
            assert_eq!(r["order"]["refunded_total"], "199.00");
            let (s, e) = app
                .post(
                    &format!("/api/v1/orders/{oid}/actions"),
                    json!({"action": "refund", "line_items": [{"id": item, "quantity": 5}]}),
                )
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");

            // Cancel.
            let (s, r) = app
                .post(
                    &format!("/api/v1/orders/{oid}/actions"),
                    json!({"action": "cancel", "conversation_id": cid, "reason": "customer"}),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{r}");
            assert_eq!(r["order"]["status"], "cancelled");

            // Shopify refuses to change the address: a clear failure, nothing changed here.
            let (s, e) = app
        .post(&format!("/api/v1/orders/{oid}/actions"), json!({"action": "change_address", "conversation_id": cid,
            "shipping_address": {"address1": "1 New Road", "city": "Leeds", "country": "United Kingdom"}}))
        .await;
            assert_eq!(s, StatusCode::BAD_GATEWAY, "{e}");
            assert_eq!(e["error"]["code"], "platform_failed");
            assert!(
                e["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("cannot be changed after fulfillment"),
                "{e}"
            );
            let (_, now) = app.get(&format!("/api/v1/orders/{oid}")).await;
            assert_eq!(now["shipping_address"]["city"], "Louisville");

            let calls = fake.lock().unwrap().calls.clone();
            assert!(
                calls.iter().any(|c| c == "POST refund \"199.00\""),
                "{calls:?}"
            );
            assert!(
                calls.iter().any(|c| c.starts_with("POST cancel 450789469")),
                "{calls:?}"
            );

            // Each outcome is a private note on the conversation, and in the audit log.
            let (_, m) = app
                .get(&format!("/api/v1/conversations/{cid}/messages"))
                .await;
            let notes: Vec<String> = m["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["private"] == true)
                .map(|m| m["body"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(notes.len(), 3, "{notes:?}");
            assert!(
                notes[0].starts_with("Done on Shopify: refund 1 × IPod Nano"),
                "{notes:?}"
            );
            assert!(
                notes[1].starts_with("Done on Shopify: cancel order #1001"),
                "{notes:?}"
            );
            assert!(notes[2].contains("Nothing was changed"), "{notes:?}");
            let (_, audit) = app.get("/api/v1/audit-log?limit=50").await;
            let actions: Vec<&str> = audit["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|a| a["action"].as_str())
                .filter(|a| {
                    a.starts_with("order.") && *a != "order.created" && *a != "order.updated"
                })
                .collect();
            assert_eq!(actions.len(), 3, "{audit}");

            // An order from elsewhere: recorded as a request.
            let (_, o) = app
        .post("/api/v1/orders", json!({"external_id": "X1", "number": "X1", "customer": {"email": "bob.norman@hostmail.com"}, "status": "open",
            "financial_status": "paid", "fulfillment_status": "unfulfilled", "currency": "EUR", "total": "5.00", "placed_at": "2030-01-01T00:00:00Z", "line_items": []}))
        .await;
            let (s, r) = app
                .post(
                    &format!("/api/v1/orders/{}/actions", o["id"].as_str().unwrap()),
                    json!({"action": "cancel", "conversation_id": cid}),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{r}");
            assert_eq!(r["status"], "requested");
            assert_eq!(r["order"]["status"], "open");
            app.stop().await;
        }
);

#[test]
fn orders_import_from_csv_with_a_summary_and_the_rejected_rows() {
    let dir = std::env::temp_dir().join(format!("concierge-import-{}", unique()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("orders.csv");
    std::fs::write(
        &csv,
        "external_id,number,email,name,currency,total,placed_at,sku,title,quantity,price,carrier,tracking_number\n\
         A1,#A1,ann@shop.example,Ann Lee,EUR,59.80,2030-01-02T10:00:00Z,SHOE-1,Trail shoe,1,49.90,DHL,JD01\n\
         A1,#A1,ann@shop.example,Ann Lee,EUR,59.80,2030-01-02T10:00:00Z,SOCK-2,Socks,2,4.95,,\n\
         A2,#A2,not-an-email,,EUR,10.00,2030-01-03T10:00:00Z,,Cap,1,10.00,,\n\
         A3,#A3,bo@shop.example,,EUR,10.5.0,2030-01-03T10:00:00Z,,Cap,1,10.00,,\n\
         A4,#A4,cy@shop.example,,EUR,12.00,2030-01-04T10:00:00Z,,Belt,1,12.00,,\n",
    )
    .unwrap();
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_concierge"))
            .args(["import", "orders"])
            .arg(&csv)
            .env("CONCIERGE_DATA_DIR", &dir)
            .env_remove("CONCIERGE_DATABASE_URL")
            .output()
            .unwrap()
    };
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.lines().last().unwrap()
            == "imported 2 orders, updated 0, unchanged 0, rejected 2 rows",
        "{stdout}"
    );
    let rejects = std::fs::read_to_string(dir.join("orders.csv.rejected.csv")).unwrap();
    assert!(
        rejects.contains("email:") && rejects.contains("total:"),
        "{rejects}"
    );
    assert!(rejects.starts_with("line,external_id,"), "{rejects}");
    // Again: the same orders are updated, not doubled.
    let out = run();
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 0 orders, updated 2"));
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "id,number\n1,2\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_concierge"))
        .args(["import", "orders"])
        .arg(&bad)
        .env("CONCIERGE_DATA_DIR", &dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown column \"id\""));
    let _ = std::fs::remove_dir_all(&dir);
}
