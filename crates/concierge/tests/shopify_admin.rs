//! The Shopify Admin API as a local fake (a small HTTP server on loopback answering with the
//! published example payloads): the backfill pages through it within its rate limits, and
//! order actions from the inbox go through it, their outcome noted on the conversation and
//! in the audit log; a failing Shopify changes nothing. CSV import runs the real binary.

use concierge_commerce::admin::ShopifyAdmin;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[macro_use]
mod support;

use support::shopify::{start_fake, TOKEN};
use support::*;

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
    an_action_shopify_does_not_answer_fails_clearly_and_changes_nothing,
    engine | engine | {
        let Some(app) = App::start(engine, |_| {}).await else {
            return;
        };
        let (base, _fake) = start_fake().await;
        let admin = ShopifyAdmin::new("acme.myshopify.com", TOKEN, Some(&base)).unwrap();
        concierge_commerce::sync::shopify(app.store(), &admin, |_, _| {})
            .await
            .unwrap();
        let (_, orders) = app.get("/api/v1/orders?number=1001").await;
        let oid = concierge_domain::ids::OrderId::parse(orders["items"][0]["id"].as_str().unwrap())
            .unwrap();
        let before = app.store().order(&oid).await.unwrap();
        let c = app
            .open_conversation(
                "bob.norman@hostmail.com",
                "No mail",
                "Where is the tracking mail?",
            )
            .await;
        let cid = concierge_domain::ids::ConversationId::parse(c["id"].as_str().unwrap()).unwrap();

        // The fake takes the resend and never answers.
        let impatient = admin.with_timeout(std::time::Duration::from_millis(300));
        let e = concierge_commerce::actions::perform(
            app.store(),
            Some(&impatient),
            &before,
            &concierge_commerce::actions::Action::Resend,
            Some(&cid),
            &concierge_domain::access::Actor::System,
        )
        .await
        .unwrap_err();
        let said = e.to_string();
        assert!(said.contains("did not answer"), "{said}");
        assert!(said.contains("check the order on Shopify"), "{said}");
        let after = app.store().order(&oid).await.unwrap();
        assert_eq!(
            (after.status, after.shipments.len(), after.updated_at),
            (before.status, before.shipments.len(), before.updated_at)
        );
        let (_, m) = app
            .get(&format!("/api/v1/conversations/{cid}/messages"))
            .await;
        let notes: Vec<&str> = m["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["private"] == true)
            .filter_map(|m| m["body"].as_str())
            .collect();
        assert_eq!(notes, [said.as_str()]);
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
            let c = app
                .open_conversation(
                    "bob.norman@hostmail.com",
                    "Cancel please",
                    "I ordered twice",
                )
                .await;
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

on_both_engines!(
    an_import_gives_one_new_shopper_one_customer_across_many_orders,
    engine | engine | {
        let Some(app) = App::start(engine, |_| {}).await else {
            return;
        };
        // Twenty orders of one new shopper, then of twenty others, with B3 again at the end:
        // orders are written several to a transaction, and none of these may share one.
        let mut csv = String::from(
            "external_id,number,email,name,currency,total,placed_at,title,quantity,price\n",
        );
        for n in 0..20 {
            csv += &format!(
                "B{n},#B{n},dee@shop.example,Dee,EUR,5.00,2030-01-02T10:00:00Z,Pin,1,5.00\n"
            );
        }
        for n in 20..40 {
            csv += &format!(
                "B{n},#B{n},p{n}@shop.example,,EUR,5.00,2030-01-02T10:00:00Z,Pin,1,5.00\n"
            );
        }
        csv += "B3,#B3,dee@shop.example,Dee,EUR,7.00,2030-01-02T10:00:00Z,Pin,1,7.00\n";
        let summary =
            concierge_commerce::import::orders(app.store(), csv.as_bytes(), "csv", |_| {})
                .await
                .unwrap();
        assert_eq!(
            (summary.imported, summary.updated, summary.rejected.len()),
            (40, 1, 0),
            "{summary:?}"
        );
        let (_, dee) = app.get("/api/v1/customers?email=dee@shop.example").await;
        assert_eq!(dee["items"].as_array().unwrap().len(), 1, "{dee}");
        let (_, orders) = app.get("/api/v1/orders?limit=100").await;
        let orders = orders["items"].as_array().unwrap();
        assert_eq!(orders.len(), 40);
        let dees: Vec<&Value> = orders
            .iter()
            .filter(|o| o["customer_id"] == dee["items"][0]["id"])
            .collect();
        assert_eq!(dees.len(), 20);
        let b3 = orders.iter().find(|o| o["number"] == "#B3").unwrap();
        assert_eq!(b3["total"], "7.00");
        assert_eq!(b3["line_items"].as_array().unwrap().len(), 1);
        app.stop().await;
    }
);
