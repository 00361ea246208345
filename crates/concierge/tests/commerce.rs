//! Store platforms and shipment tracking, end to end on both engines: Shopify and WooCommerce
//! webhooks signed exactly as the platforms sign them (from the published example payloads in
//! `fixtures/` at the repository root), AfterShip tracking updates, shipment notices received by a real
//! SMTP server on loopback, late parcels found on an injected clock, and the shopper's
//! tracking page.

use concierge::Settings;
use concierge_commerce::signature::sign;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[macro_use]
mod support;

use support::mail::{peers_available, Sink};
use support::shopify::{deliver, webhook as shopify, WEBHOOK_SECRET as SHOPIFY_SECRET};
use support::*;

const WOO_SECRET: &str = "woo secret";
const AFTERSHIP_SECRET: &str = "aftership-secret";

fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/../../fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn secrets(s: &mut Settings) {
    s.shopify_webhook_secret = Some(SHOPIFY_SECRET.into());
    s.woocommerce_webhook_secret = Some(WOO_SECRET.into());
    s.aftership_webhook_secret = Some(AFTERSHIP_SECRET.into());
}

async fn aftership(app: &App, body: &[u8]) -> (StatusCode, Value) {
    let headers = [(
        "aftership-hmac-sha256",
        sign(AFTERSHIP_SECRET.as_bytes(), body),
    )];
    deliver(app, "/webhooks/aftership", &headers, body).await
}

async fn deliveries(app: &App) -> Vec<Value> {
    let (s, list) = app.get("/api/v1/webhook-deliveries?limit=200").await;
    assert_eq!(s, StatusCode::OK, "{list}");
    list["items"].as_array().unwrap().clone()
}

async fn delivery_status(app: &App, platform: &str, id: &str) -> Option<String> {
    deliveries(app)
        .await
        .into_iter()
        .find(|d| d["platform"] == platform && d["delivery_id"] == id)
        .map(|d| d["status"].as_str().unwrap().to_owned())
}

async fn order_by_number(app: &App, number: &str) -> Option<Value> {
    let (s, list) = app
        .get(&format!(
            "/api/v1/orders?number={}",
            number.replace('#', "%23")
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    list["items"].as_array().unwrap().first().cloned()
}

/// Replaces the top-level `key` of a JSON document (a fixture) with `value`.
fn with(body: &[u8], changes: &[(&str, Value)]) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(body).unwrap();
    for (k, value) in changes {
        v[*k] = value.clone();
    }
    serde_json::to_vec(&v).unwrap()
}

on_both_engines!(
    a_signed_shopify_order_appears_beside_the_customers_conversations,
    secrets,
    |app| {
        // The shopper wrote before the order came in.
        let c = app
            .open_conversation(
                "bob.norman@hostmail.com",
                "Where is my iPod?",
                "Ordered last week",
            )
            .await;

        let order = fixture("shopify/order.json");
        let (s, r) = shopify(&app, "orders/create", "d-order-1", &order).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(r["status"], "accepted");
        eventually("the order is applied", || async {
            delivery_status(&app, "shopify", "d-order-1")
                .await
                .as_deref()
                == Some("applied")
        })
        .await;

        let customer = c["customer"]["id"].as_str().unwrap();
        let (s, who) = app.get(&format!("/api/v1/customers/{customer}")).await;
        assert_eq!(s, StatusCode::OK, "{who}");
        let orders = who["orders"].as_array().unwrap();
        assert_eq!(orders.len(), 1, "{who}");
        assert_eq!(orders[0]["number"], "#1001");
        assert_eq!(orders[0]["total"], "409.94");
        assert_eq!(orders[0]["currency"], "USD");
        assert_eq!(orders[0]["line_items"].as_array().unwrap().len(), 3);
        let shipment = &orders[0]["shipments"][0];
        assert_eq!(shipment["tracking_number"], "1Z2345");
        assert_eq!(
            who["conversations"][0]["id"], c["id"],
            "the order sits beside the conversation"
        );

        // The same delivery again: acknowledged, no second effect.
        let (s, _) = shopify(&app, "orders/create", "d-order-1", &order).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(deliveries(&app).await.len(), 1);

        // A forged or missing signature: 401, nothing stored, nothing applied.
        let forged = with(&order, &[("total_price", json!("0.01"))]);
        let headers = [
            ("x-shopify-topic", "orders/updated".to_owned()),
            ("x-shopify-hmac-sha256", sign(b"not the secret", &forged)),
            ("x-shopify-webhook-id", "d-forged".to_owned()),
        ];
        let (s, e) = deliver(&app, "/webhooks/shopify", &headers, &forged).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(e["error"]["code"], "invalid_signature");
        let (s, _) = deliver(&app, "/webhooks/shopify", &headers[..1], &forged).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        // The right signature over other bytes is forged too.
        let stolen = [
            headers[0].clone(),
            (
                "x-shopify-hmac-sha256",
                sign(SHOPIFY_SECRET.as_bytes(), &order),
            ),
        ];
        let (s, _) = deliver(&app, "/webhooks/shopify", &stolen, &forged).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(
            deliveries(&app).await.len(),
            1,
            "nothing of the forgeries was stored"
        );
        assert_eq!(
            order_by_number(&app, "#1001").await.unwrap()["total"],
            "409.94"
        );

        // Not JSON: 400, kept for inspection.
        let (s, e) = shopify(&app, "orders/updated", "d-junk", b"{\"id\": 450789469, ").await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
        assert_eq!(
            delivery_status(&app, "shopify", "d-junk").await.as_deref(),
            Some("malformed")
        );
        let junk = deliveries(&app)
            .await
            .into_iter()
            .find(|d| d["delivery_id"] == "d-junk")
            .unwrap();
        let (s, one) = app
            .get(&format!(
                "/api/v1/webhook-deliveries/{}",
                junk["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(one["body"], "{\"id\": 450789469, ");

        // A topic we do not act on: 200, ignored.
        let (s, r) = shopify(&app, "products/create", "d-product", b"{\"id\": 1}").await;
        assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("ignored")));

        // Out of order: the newer update lands first; the older one, after, changes nothing.
        let newer = with(
            &order,
            &[
                ("updated_at", json!("2030-01-02T00:00:00Z")),
                ("financial_status", json!("paid")),
            ],
        );
        let older = with(
            &order,
            &[
                ("updated_at", json!("2030-01-01T00:00:00Z")),
                ("financial_status", json!("voided")),
            ],
        );
        shopify(&app, "orders/paid", "d-newer", &newer).await;
        eventually("the newer update is applied", || async {
            delivery_status(&app, "shopify", "d-newer").await.as_deref() == Some("applied")
        })
        .await;
        shopify(&app, "orders/updated", "d-older", &older).await;
        eventually("the older update is handled", || async {
            delivery_status(&app, "shopify", "d-older").await.as_deref() == Some("applied")
        })
        .await;
        let o = order_by_number(&app, "#1001").await.unwrap();
        assert_eq!(
            o["financial_status"], "paid",
            "an older update never overwrites a newer one"
        );

        // A refund: exact decimals, once.
        shopify(
            &app,
            "refunds/create",
            "d-refund",
            &fixture("shopify/refund.json"),
        )
        .await;
        shopify(
            &app,
            "refunds/create",
            "d-refund-again",
            &fixture("shopify/refund.json"),
        )
        .await;
        eventually("the refunds are applied", || async {
            delivery_status(&app, "shopify", "d-refund-again")
                .await
                .as_deref()
                == Some("applied")
                && delivery_status(&app, "shopify", "d-refund")
                    .await
                    .as_deref()
                    == Some("applied")
        })
        .await;
        assert_eq!(
            order_by_number(&app, "#1001").await.unwrap()["refunded_total"],
            "209.00"
        );

        // A fulfillment for an order not known yet waits, visibly, and applies on retry once
        // the order is there.
        let early = with(
            &fixture("shopify/fulfillment.json"),
            &[("order_id", json!(99001)), ("id", json!(77001))],
        );
        shopify(&app, "fulfillments/create", "d-early", &early).await;
        eventually("the early fulfillment's failure is visible", || async {
            deliveries(&app).await.iter().any(|d| {
                d["delivery_id"] == "d-early"
                    && d["error"]
                        .as_str()
                        .is_some_and(|e| e.contains("not known yet"))
            })
        })
        .await;
        let second = with(
            &order,
            &[
                ("id", json!(99001)),
                ("name", json!("#1002")),
                ("fulfillments", json!([])),
            ],
        );
        shopify(&app, "orders/create", "d-second", &second).await;
        eventually("the second order is applied", || async {
            delivery_status(&app, "shopify", "d-second")
                .await
                .as_deref()
                == Some("applied")
        })
        .await;
        let early_id = deliveries(&app)
            .await
            .into_iter()
            .find(|d| d["delivery_id"] == "d-early")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (s, r) = app
            .post(
                &format!("/api/v1/webhook-deliveries/{early_id}/retry"),
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        eventually("the early fulfillment is applied", || async {
            delivery_status(&app, "shopify", "d-early").await.as_deref() == Some("applied")
        })
        .await;
        assert_eq!(
            order_by_number(&app, "#1002").await.unwrap()["shipments"][0]["external_id"],
            "77001"
        );
    }
);

on_both_engines!(
    woocommerce_and_unset_secrets,
    engine | engine | {
        let Some(app) = App::start(engine, |s| {
            s.woocommerce_webhook_secret = Some(WOO_SECRET.into())
        })
        .await
        else {
            return;
        };
        // Without its secret, an endpoint does not exist.
        let (s, _) = shopify(&app, "orders/create", "x", b"{}").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        // WooCommerce's ping when a webhook is saved.
        let res = app
            .client
            .post(format!("{}/webhooks/woocommerce", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("webhook_id=12")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let body = fixture("woocommerce/wc_v3_order_create.json");
        let headers = [
            ("x-wc-webhook-topic", "order.created".to_owned()),
            ("x-wc-webhook-signature", sign(WOO_SECRET.as_bytes(), &body)),
            ("x-wc-webhook-delivery-id", "378".to_owned()),
            ("x-wc-webhook-source", "https://shop.example/".to_owned()),
        ];
        let (s, r) = deliver(&app, "/webhooks/woocommerce", &headers, &body).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        let (s, _) = deliver(
            &app,
            "/webhooks/woocommerce",
            &[
                headers[0].clone(),
                ("x-wc-webhook-signature", sign(b"nope", &body)),
            ],
            &body,
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        eventually("the WooCommerce order is applied", || async {
            delivery_status(&app, "woocommerce", "378").await.as_deref() == Some("applied")
        })
        .await;
        let o = order_by_number(&app, "#727")
            .await
            .expect("the order is there");
        assert_eq!(o["source"], "woocommerce");
        assert_eq!(o["total"], "29.35");
        assert_eq!(o["line_items"][0]["price"], "3.00");
        let (_, who) = app
            .get("/api/v1/customers?email=john.doe@example.com")
            .await;
        assert_eq!(who["items"][0]["id"], o["customer_id"]);
        app.stop().await;
    }
);

/// A sink and the service relaying to it, with the webhook secrets.
async fn with_sink(engine: &str) -> Option<(App, Sink)> {
    let dir = std::env::temp_dir().join(format!("concierge-sink-{}", unique()));
    let sink = Sink::start(&dir, &[]).await;
    let relay = sink.relay_url();
    let app = App::start_with(engine, move |s| {
        secrets(s);
        s.smtp_relay = Some(relay.as_str().into());
        s.support_address =
            concierge_domain::contact::EmailAddress::parse("support@shop.example").unwrap();
        s.support_name = "Acme Support".into();
    })
    .await?;
    Some((app, sink))
}

fn tracking_body(event_id: &str, tag: &str, at: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "event": "tracking_update",
        "event_id": event_id,
        "is_tracking_first_tag": false,
        "msg": {
            "tracking_number": "1Z2345", "slug": "ups", "tag": tag,
            "checkpoints": [
                {"checkpoint_time": "2030-01-05T08:00:00+01:00", "tag": "InTransit", "subtag": "InTransit_001", "message": "Departed facility", "city": "Leipzig"},
                {"checkpoint_time": at, "tag": tag, "subtag": format!("{tag}_001"), "message": tag, "location": "Berlin"}
            ]
        },
        "ts": 1893830400
    }))
    .unwrap()
}

on_both_engines!(
    a_fulfillment_and_carrier_scans_send_shipped_and_out_for_delivery,
    engine
        | engine
        | {
            if !peers_available() {
                return;
            }
            let Some((app, mut sink)) = with_sink(engine).await else {
                return;
            };
            // The shop's own wording for "out for delivery"; a bad variable is refused by name.
            let (s, e) = app
                .send(
                    reqwest::Method::PUT,
                    "/api/v1/notice-templates/out_for_delivery",
                    Some(json!({"subject": "Today!", "body": "Hi {{customer.shoe_size}}"})),
                )
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
            assert_eq!(e["error"]["field"], "body");
            let (s, _) = app
        .send(reqwest::Method::PUT, "/api/v1/notice-templates/out_for_delivery", Some(json!({
            "subject": "{{order.number}} arrives today",
            "body": "Hi {{customer.first_name}}, {{shipment.carrier}} brings order {{order.number}} today. {{shipment.tracking_page}}"})))
        .await;
            assert_eq!(s, StatusCode::NO_CONTENT);

            // The order without its fulfillment, then the fulfillment with tracking.
            let order = with(
                &fixture("shopify/order.json"),
                &[("fulfillments", json!([]))],
            );
            shopify(&app, "orders/create", "n-order", &order).await;
            eventually("the order is applied", || async {
                delivery_status(&app, "shopify", "n-order").await.as_deref() == Some("applied")
            })
            .await;
            let fulfillment = with(
                &fixture("shopify/fulfillment.json"),
                &[("tracking_company", json!("UPS"))],
            );
            let (s, _) = shopify(&app, "fulfillments/create", "n-fulfillment", &fulfillment).await;
            assert_eq!(s, StatusCode::OK);

            let shipped = sink.next().await;
            assert_eq!(shipped.rcpt_tos, vec!["bob.norman@hostmail.com".to_owned()]);
            let m = shipped.message();
            assert_eq!(m.subject(), Some("Your order #1001 is on its way"));
            let text = m.body_text(0).unwrap().into_owned();
            assert!(text.contains("1Z2345") && text.contains("UPS"), "{text}");
            assert!(shipped.header("List-Unsubscribe").is_some());
            assert_eq!(
                shipped.header("Auto-Submitted").as_deref(),
                Some("auto-replied")
            );
            let page_link = text
                .split_whitespace()
                .find(|w| w.contains("/track/"))
                .expect("a tracking link")
                .to_owned();

            // The carrier says it is out for delivery; the aggregator repeats itself.
            let scan = tracking_body("evt-1", "OutForDelivery", "2030-01-06T07:30:00+01:00");
            let (s, r) = aftership(&app, &scan).await;
            assert_eq!(s, StatusCode::OK, "{r}");
            let (s, _) = aftership(
                &app,
                &tracking_body("evt-1b", "OutForDelivery", "2030-01-06T07:30:00+01:00"),
            )
            .await;
            assert_eq!(s, StatusCode::OK);
            let (s, _) = aftership(
                &app,
                &tracking_body("evt-x", "OutForDelivery", "2030-01-06T07:30:00+01:00")[..40],
            )
            .await;
            assert_eq!(
                s,
                StatusCode::BAD_REQUEST,
                "signed junk is refused (and kept)"
            );
            let out = sink.next().await;
            let m = out.message();
            assert_eq!(
                m.subject(),
                Some("#1001 arrives today"),
                "the shop's wording"
            );
            assert!(m
                .body_text(0)
                .unwrap()
                .contains("Hi Bob, UPS brings order #1001 today."));
            eventually("both tracking deliveries are applied", || async {
                delivery_status(&app, "aftership", "evt-1b")
                    .await
                    .as_deref()
                    == Some("applied")
            })
            .await;

            let o = order_by_number(&app, "#1001").await.unwrap();
            let shipment = &o["shipments"][0];
            assert_eq!(shipment["status"], "out_for_delivery");
            assert_eq!(
                shipment["events"].as_array().unwrap().len(),
                2,
                "a repeated scan is recorded once: {shipment}"
            );
            let (_, notices) = app
                .get(&format!(
                    "/api/v1/shipments/{}/notices",
                    shipment["id"].as_str().unwrap()
                ))
                .await;
            let kinds: Vec<&str> = notices
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["kind"].as_str().unwrap())
                .collect();
            assert_eq!(kinds, ["shipped", "out_for_delivery"]);

            // The shopper's tracking page.
            let path = page_link.trim_start_matches(&app.base);
            let res = app
                .client
                .get(format!("{}{path}", app.base))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            let html = res.text().await.unwrap();
            assert!(
                html.contains("Out for delivery")
                    && html.contains("Leipzig")
                    && html.contains("#1001"),
                "{html}"
            );
            assert!(html.contains("Get help with this order"));
            let res = app
                .client
                .get(format!("{}/track/{}", app.base, "0".repeat(32)))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::NOT_FOUND);

            // "Get help" opens a conversation already attached to the order.
            let res = app
                .client
                .post(format!("{}{path}/help", app.base))
                .form(&[
                    ("message", "The box looks <b>crushed</b> in the photo"),
                    ("website", ""),
                ])
                .send()
                .await
                .unwrap();
            assert!(res.status().is_success(), "{}", res.status());
            let (_, list) = app.get("/api/v1/conversations?limit=50").await;
            let asked = list["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["subject"] == "Help with order #1001")
                .expect("the conversation")
                .clone();
            let id = concierge_domain::ids::ConversationId::parse(asked["id"].as_str().unwrap())
                .unwrap();
            let linked = app.store().conversation_orders(&id).await.unwrap();
            assert_eq!(linked.len(), 1);
            assert_eq!(linked[0].as_str(), o["id"].as_str().unwrap());

            // Unsubscribed, the shopper hears no more: "delivered" is skipped.
            let unsubscribe = text
                .split_whitespace()
                .find(|w| w.contains("/notices/unsubscribe/"))
                .expect("an unsubscribe link")
                .to_owned();
            // Opening the link (as a mail scanner does) only asks; the button unsubscribes.
            let res = app.client.get(&unsubscribe).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            let page = res.text().await.unwrap();
            assert!(page.contains("method=\"post\""), "{page}");
            let unsubscribed = || async {
                let (_, audit) = app.get("/api/v1/audit-log").await;
                audit["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["action"] == "customer.notices_off")
            };
            assert!(!unsubscribed().await, "a GET unsubscribed the shopper");
            // One click, as RFC 8058 mail clients send it.
            let res = app
                .client
                .post(&unsubscribe)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("List-Unsubscribe=One-Click")
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            assert!(unsubscribed().await);
            aftership(
                &app,
                &tracking_body("evt-2", "Delivered", "2030-01-06T12:00:00+01:00"),
            )
            .await;
            let sid =
                concierge_domain::ids::ShipmentId::parse(shipment["id"].as_str().unwrap()).unwrap();
            eventually("the delivered notice is skipped", || async {
                app.store()
                    .notice(&sid, concierge_domain::commerce::NoticeKind::Delivered)
                    .await
                    .is_ok_and(|n| n.status == concierge_store::notices::NoticeStatus::Skipped)
            })
            .await;
            assert_eq!(sink.all().len(), 2, "no mail after unsubscribing");
            app.stop().await;
            sink.stop().await;
        }
);

on_both_engines!(
    a_parcel_past_its_date_gets_a_late_notice_and_a_delivery_issue,
    engine
        | engine
        | {
            if !peers_available() {
                return;
            }
            let Some((app, mut sink)) = with_sink(engine).await else {
                return;
            };
            let (s, o) = app
        .post("/api/v1/orders", json!({
            "external_id": "A-77", "number": "#A77", "customer": {"email": "ann@shop.example", "name": "Ann Lee"},
            "status": "open", "financial_status": "paid", "fulfillment_status": "fulfilled",
            "currency": "EUR", "total": "49.90", "placed_at": "2030-03-01T10:00:00Z",
            "line_items": [{"sku": "SHOE-1", "title": "Trail shoe", "quantity": 1, "price": "49.90"}]
        }))
        .await;
            assert_eq!(s, StatusCode::CREATED, "{o}");
            let eta = chrono::Utc::now() + chrono::Duration::days(3);
            let (s, shipment) = app
        .post(&format!("/api/v1/orders/{}/shipments", o["id"].as_str().unwrap()), json!({"carrier": "DHL", "tracking_number": "JD0001", "estimated_delivery": eta}))
        .await;
            assert_eq!(s, StatusCode::CREATED, "{shipment}");
            let shipped = sink.next().await;
            assert_eq!(
                shipped.message().subject(),
                Some("Your order #A77 is on its way")
            );
            let sid = shipment["id"].as_str().unwrap();
            let scanned = chrono::Utc::now();
            let scan =
                json!({"status": "in_transit", "occurred_at": scanned, "location": "Leipzig"});
            let (s, _) = app
                .post(&format!("/api/v1/shipments/{sid}/events"), scan.clone())
                .await;
            assert_eq!(s, StatusCode::CREATED);
            // The same scan again (a client's retry) is recorded once.
            let (s, again) = app
                .post(&format!("/api/v1/shipments/{sid}/events"), scan)
                .await;
            assert_eq!(s, StatusCode::CREATED, "{again}");

            let stall = chrono::Duration::days(4);
            // Not late now, nor tomorrow.
            assert_eq!(
                concierge_commerce::notices::check_late(app.store(), chrono::Utc::now(), stall)
                    .await,
                0
            );
            assert_eq!(
                concierge_commerce::notices::check_late(
                    app.store(),
                    chrono::Utc::now() + chrono::Duration::days(1),
                    stall
                )
                .await,
                0
            );
            // Past its date without delivery: late, once.
            let later = chrono::Utc::now() + chrono::Duration::days(3) + chrono::Duration::hours(1);
            assert_eq!(
                concierge_commerce::notices::check_late(app.store(), later, stall).await,
                1
            );
            assert_eq!(
                concierge_commerce::notices::check_late(
                    app.store(),
                    later + chrono::Duration::days(2),
                    stall
                )
                .await,
                0
            );
            app.running.as_ref().unwrap().poke_worker();
            let late = sink.next().await;
            assert_eq!(
                late.message().subject(),
                Some("Your order #A77 is taking longer than expected")
            );
            assert!(late
                .message()
                .body_text(0)
                .unwrap()
                .contains("looking into it"));

            let issue = || async {
                let (_, list) = app.get("/api/v1/conversations?tag=delivery-issue").await;
                list["items"].as_array().unwrap().clone()
            };
            eventually("the team sees a delivery-issue conversation", || async {
                issue().await.len() == 1
            })
            .await;
            let c = issue().await.remove(0);
            assert_eq!(c["subject"], "Delivery delayed: order #A77");
            assert_eq!(c["customer"]["email"], "ann@shop.example");

            // The carrier then reports a problem: the same conversation hears of it.
            let (s, _) = app.post(&format!("/api/v1/shipments/{sid}/events"), json!({"status": "exception", "occurred_at": chrono::Utc::now(), "message": "Address not found"})).await;
            assert_eq!(s, StatusCode::CREATED);
            let problem = sink.next().await;
            assert_eq!(
                problem.message().subject(),
                Some("A problem with the delivery of order #A77")
            );
            let cid = c["id"].as_str().unwrap().to_owned();
            eventually("the problem is noted in the same conversation", || async {
                let (_, m) = app
                    .get(&format!("/api/v1/conversations/{cid}/messages"))
                    .await;
                m["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|m| m["body"].as_str().unwrap().contains("reported a problem"))
            })
            .await;
            assert_eq!(
                issue().await.len(),
                1,
                "one conversation per order's trouble"
            );
            let (_, now) = app.get(&format!("/api/v1/shipments/{sid}")).await;
            assert_eq!(now["events"].as_array().unwrap().len(), 2, "{now}");
            assert_eq!(now["status"], "exception");
            app.stop().await;
            sink.stop().await;
        }
);

on_both_engines!(
    canned_replies_use_the_order_the_conversation_is_about,
    |app| {
        let order = |n: &str, placed: &str| {
            json!({
                "external_id": n, "number": n, "customer": {"email": "dee@shop.example", "name": "Dee Park"},
                "status": "open", "financial_status": "paid", "fulfillment_status": "fulfilled",
                "currency": "EUR", "total": "20.00", "placed_at": placed, "line_items": []
            })
        };
        let (_, older) = app
            .post("/api/v1/orders", order("#2001", "2030-01-01T00:00:00Z"))
            .await;
        let (_, newer) = app
            .post("/api/v1/orders", order("#2002", "2030-02-01T00:00:00Z"))
            .await;
        let (s, sh) = app
            .post(
                &format!("/api/v1/orders/{}/shipments", older["id"].as_str().unwrap()),
                json!({"carrier": "DPD", "tracking_number": "DPD-9"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{sh}");
        let (s, reply) = app
        .post("/api/v1/canned-replies", json!({"shortcut": "wismo", "title": "Where is my order",
            "body": "Hi {{customer.first_name}}, order {{order.number}} is with {{shipment.carrier}}: {{shipment.tracking_page}}"}))
        .await;
        assert_eq!(s, StatusCode::CREATED, "{reply}");
        let app = &app;
        let reply = &reply;
        let fill = |c: Value| async move {
            let path = format!(
                "/api/v1/conversations/{}/canned-replies/{}",
                c["id"].as_str().unwrap(),
                reply["id"].as_str().unwrap()
            );
            app.get(&path).await.1["body"].as_str().unwrap().to_owned()
        };
        // The shopper names the older order: that one, with its shipment and our tracking page.
        let (_, named) = app
            .post(
                "/api/v1/conversations",
                conversation(
                    "dee@shop.example",
                    "email",
                    "Parcel",
                    "Where is order 2001?",
                ),
            )
            .await;
        let body = fill(named).await;
        assert!(
            body.starts_with("Hi Dee, order #2001 is with DPD: http"),
            "{body}"
        );
        assert!(
            body.ends_with(&format!(
                "/track/{}",
                sh["tracking_token"].as_str().unwrap()
            )),
            "{body}"
        );
        // Nothing named: the latest.
        let (_, vague) = app
            .post(
                "/api/v1/conversations",
                conversation("dee@shop.example", "email", "Parcel", "Any news?"),
            )
            .await;
        assert!(fill(vague.clone()).await.contains("order #2002"));
        // Attached beats both.
        let (s, _) = app
            .post(
                &format!(
                    "/api/v1/conversations/{}/orders",
                    vague["id"].as_str().unwrap()
                ),
                json!({"order_id": older["id"]}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert!(fill(vague).await.contains("order #2001"));
        let _ = newer;
    }
);

on_both_engines!(
    the_tracking_page_tells_the_shops_time_in_the_shoppers_language_and_when_it_was_delivered,
    |app| {
        // A shop in Berlin, with help articles in English and German.
        app.set_hours(json!({"timezone": "Europe/Berlin", "week": {"monday": ["09:00-17:00"]}}))
            .await;
        for (title, locale) in [("Delivery times", "en"), ("Lieferzeiten", "de")] {
            let (s, a) = app
                .post(
                    "/api/v1/articles",
                    json!({"title": title, "body_markdown": "2–3 days.", "locale": locale}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{a}");
        }
        let (s, order) = app
            .post(
                "/api/v1/orders",
                json!({"external_id": "7001", "number": "#7001", "customer": {"email": "ida@example.com", "name": "Ida Berg"},
                       "status": "open", "financial_status": "paid", "fulfillment_status": "fulfilled",
                       "currency": "EUR", "total": "30.00", "placed_at": "2026-12-01T10:00:00Z", "line_items": []}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{order}");
        let (s, shipment) = app
            .post(
                &format!("/api/v1/orders/{}/shipments", order["id"].as_str().unwrap()),
                json!({"carrier": "DHL", "tracking_number": "JD7001", "status": "in_transit",
                       "estimated_delivery": "2026-12-09T12:00:00Z"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{shipment}");
        let app = &app;
        let events = format!(
            "/api/v1/shipments/{}/events",
            shipment["id"].as_str().unwrap()
        );
        let scan = |status: &str, at: &str| {
            let (path, body) = (
                events.clone(),
                json!({"status": status, "occurred_at": at, "location": "Leipzig"}),
            );
            async move { app.post(&path, body).await }
        };
        // 14:05 UTC is 15:05 in Berlin.
        let (s, e) = scan("in_transit", "2026-12-07T14:05:00Z").await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
        let page = |language: &'static str| {
            let request = app
                .client
                .get(format!(
                    "{}/track/{}",
                    app.base,
                    shipment["tracking_token"].as_str().unwrap()
                ))
                .header("accept-language", language);
            async move {
                let res = request.send().await.unwrap();
                assert_eq!(res.status(), StatusCode::OK);
                words_of(&res.text().await.unwrap())
            }
        };
        let english = page("en-GB,en;q=0.8").await;
        assert!(
            english.contains("Expected by Wednesday, 9 December 2026"),
            "{english}"
        );
        assert!(english.contains("7 December 2026, 15:05 CET"), "{english}");
        assert!(!english.contains("UTC"), "{english}");
        let german = page("de-DE,de;q=0.9").await;
        assert!(
            german.contains("Voraussichtlich am Mittwoch, 9. Dezember 2026"),
            "{german}"
        );
        assert!(
            german.contains("7. Dezember 2026, 15:05 Uhr CET"),
            "{german}"
        );

        // A canned reply says when it is expected, as the shopper reads dates.
        let (_, c) = app
            .post(
                "/api/v1/conversations",
                conversation("ida@example.com", "email", "Parcel", "Where is 7001?"),
            )
            .await;
        let (s, reply) = app
            .post(
                "/api/v1/canned-replies",
                json!({"shortcut": "eta", "title": "When", "body": "It arrives: {{shipment.estimated_delivery}}"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{reply}");
        let fill = format!(
            "/api/v1/conversations/{}/canned-replies/{}",
            c["id"].as_str().unwrap(),
            reply["id"].as_str().unwrap()
        );
        let (_, filled) = app.get(&fill).await;
        assert_eq!(filled["body"], "It arrives: Wednesday, 9 December 2026");

        // Delivered a day early, at 23:30 UTC — already the 9th in Berlin: no expected date
        // any more, only when it came.
        let (s, e) = scan("delivered", "2026-12-08T23:30:00Z").await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
        let english = page("en").await;
        assert!(
            english.contains("Delivered on Wednesday, 9 December 2026"),
            "{english}"
        );
        assert!(!english.contains("Expected"), "{english}");
        let german = page("de").await;
        assert!(
            german.contains("Zugestellt am Mittwoch, 9. Dezember 2026"),
            "{german}"
        );
        assert!(!german.contains("Voraussichtlich"), "{german}");
        let (_, filled) = app.get(&fill).await;
        assert_eq!(
            filled["body"],
            "It arrives: delivered on Wednesday, 9 December 2026"
        );
    }
);

/// A page's words without its markup, as a reader sees them.
fn words_of(html: &str) -> String {
    let mut words = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => words.push(c),
            _ => {}
        }
    }
    words
}
