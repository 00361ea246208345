//! The API as an outside client sees it, on both engines: the real server on 127.0.0.1:0,
//! spoken to over HTTP. PostgreSQL variants run when CONCIERGE_TEST_POSTGRES_URL is set.

use concierge_domain::access::{Actor, Role};
use concierge_domain::text::Label;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[macro_use]
mod support;

use support::*;

on_both_engines!(conversation_lifecycle_over_http, |app| {
    let (s, c) = app
        .post(
            "/api/v1/conversations",
            conversation(
                "Ann@Example.COM",
                "email",
                "Where is my order?",
                "Hi, order #1001 has not arrived",
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(c["status"], "open");
    assert!(c["waiting_since"].is_string());
    assert_eq!(c["messages"][0]["sender_type"], "customer");
    let id = c["id"].as_str().unwrap().to_owned();

    // The same shopper in another case and on another channel is the same customer.
    let (_, c2) = app
        .post(
            "/api/v1/conversations",
            conversation("ann@example.com", "chat", "x", "hello?"),
        )
        .await;
    assert_eq!(c2["customer"]["id"], c["customer"]["id"]);

    let (s, m) = app
        .post(
            &format!("/api/v1/conversations/{id}/messages"),
            json!({"body": "Looking into it now."}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    assert_eq!(
        m["delivery_status"], "pending",
        "email replies wait in the outbox"
    );
    let (_, note) = app
        .post(
            &format!("/api/v1/conversations/{id}/messages"),
            json!({"body": "warehouse says lost", "private": true}),
        )
        .await;
    assert_eq!(note["private"], true);
    assert_eq!(note["delivery_status"], Value::Null);

    let (_, got) = app.get(&format!("/api/v1/conversations/{id}")).await;
    assert!(got["first_response_at"].is_string());
    assert_eq!(got["waiting_since"], Value::Null);
    let bodies: Vec<&str> = got["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            "Hi, order #1001 has not arrived",
            "Looking into it now.",
            "warehouse says lost"
        ]
    );

    let (s, r) = app
        .patch(
            &format!("/api/v1/conversations/{id}"),
            json!({"status": "resolved", "tags": ["WISMO", "vip"], "priority": "high"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert!(r["resolved_at"].is_string());
    assert_eq!(r["tags"], json!(["vip", "wismo"]));
    let (_, list) = app.get("/api/v1/conversations?tag=wismo").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // The shopper writes again: it reopens.
    app.post(
        &format!("/api/v1/conversations/{id}/messages"),
        json!({"body": "Any news?", "sender_type": "customer"}),
    )
    .await;
    let (_, got) = app.get(&format!("/api/v1/conversations/{id}")).await;
    assert_eq!(got["status"], "open");
    assert_eq!(got["resolved_at"], Value::Null);

    // Closed takes notes only.
    app.patch(
        &format!("/api/v1/conversations/{id}"),
        json!({"status": "closed"}),
    )
    .await;
    let (s, e) = app
        .post(
            &format!("/api/v1/conversations/{id}/messages"),
            json!({"body": "hello"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["error"]["code"], "conflict");
    let (s, _) = app
        .post(
            &format!("/api/v1/conversations/{id}/messages"),
            json!({"body": "for the record", "private": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);

    // Newest activity first (the shopper's "Any news?" came last); the audit log recorded
    // the changes.
    let (_, list) = app.get("/api/v1/conversations").await;
    assert_eq!(list["items"][0]["id"], json!(id));
    assert_eq!(list["items"][1]["id"], c2["id"]);
    let (_, audit) = app
        .get(&format!(
            "/api/v1/audit-log?subject_type=conversation&subject_id={id}"
        ))
        .await;
    assert!(audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "conversation.updated"));
});

on_both_engines!(snooze_wakes_through_the_job_queue, |app| {
    let (_, c) = app
        .post(
            "/api/v1/conversations",
            conversation("b@example.com", "sms", "s", "ping"),
        )
        .await;
    let id = c["id"].as_str().unwrap().to_owned();
    let until = chrono::Utc::now() + chrono::Duration::hours(1);
    let (s, e) = app.patch(&format!("/api/v1/conversations/{id}"), json!({"status": "snoozed", "snooze_until": (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339()})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["error"]["field"], "snooze_until");
    let (s, r) = app
        .patch(
            &format!("/api/v1/conversations/{id}"),
            json!({"status": "snoozed", "snooze_until": until.to_rfc3339()}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "snoozed");
    let (_, jobs) = app.get("/api/v1/jobs?status=queued").await;
    assert!(
        jobs["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["kind"] == "conversation.wake"),
        "{jobs}"
    );

    let store = app.running.as_ref().unwrap().store.clone();
    let worker =
        concierge_jobs::Worker::new(store.clone()).with(concierge_jobs::WakeSnoozed::new(store));
    assert_eq!(
        worker.run_due(chrono::Utc::now()).await.unwrap(),
        0,
        "not due yet"
    );
    assert_eq!(
        worker
            .run_due(until + chrono::Duration::seconds(1))
            .await
            .unwrap(),
        1
    );
    let (_, got) = app.get(&format!("/api/v1/conversations/{id}")).await;
    assert_eq!(got["status"], "open");
});

/// The payload of [`Together`]'s jobs. Job kinds are a closed vocabulary with no words for
/// tests, so it borrows a mail kind: without a relay (these tests set none) the app's own
/// worker leaves those alone.
#[derive(serde::Serialize, serde::Deserialize)]
struct TogetherJob {
    n: u32,
    ok: bool,
}

impl concierge_store::jobs::payloads::Payload for TogetherJob {
    const KIND: concierge_domain::jobs::JobKind = concierge_domain::jobs::JobKind::ChatConfirmEmail;
}

/// Succeeds or fails as its job's payload says; its jobs may run together.
struct Together;

impl concierge_jobs::Handler for Together {
    type Payload = TogetherJob;

    fn run<'a>(
        &'a self,
        _job: &'a concierge_store::jobs::Job,
        payload: TogetherJob,
    ) -> futures::future::BoxFuture<'a, Result<(), concierge_jobs::JobError>> {
        let ok = payload.ok;
        Box::pin(async move {
            if ok {
                Ok(())
            } else {
                Err(concierge_jobs::JobError::Retry("not this time".into()))
            }
        })
    }

    fn concurrent(&self) -> bool {
        true
    }
}

on_both_engines!(a_batch_run_together_records_each_outcome, |app| {
    use concierge_store::jobs::{JobStatus, NewJob};
    let store = app.running.as_ref().unwrap().store.clone();
    for n in 0..40 {
        store
            .enqueue(NewJob::now(TogetherJob { n, ok: n % 3 != 0 }))
            .await
            .unwrap();
    }
    let worker = concierge_jobs::Worker::new(store.clone()).with(Together);
    assert_eq!(worker.run_due(chrono::Utc::now()).await.unwrap(), 40);
    let all = store
        .jobs(
            None,
            &concierge_store::PageRequest {
                limit: Some(200),
                cursor: None,
            },
        )
        .await
        .unwrap()
        .items;
    use concierge_store::jobs::payloads::Payload;
    let mine: Vec<_> = all
        .iter()
        .filter(|j| j.known_kind() == Some(TogetherJob::KIND))
        .collect();
    assert_eq!(mine.len(), 40);
    for j in mine {
        if j.payload["ok"] == true {
            assert_eq!(j.status, JobStatus::Done, "{j:?}");
            assert_eq!(j.last_error, None);
        } else {
            assert_eq!(j.status, JobStatus::Queued, "retried later: {j:?}");
            assert_eq!(j.last_error.as_deref(), Some("not this time"));
        }
    }
});

on_both_engines!(full_text_search_and_cursor_pages, |app| {
    let (_, a) = app
        .post(
            "/api/v1/conversations",
            conversation(
                "c@example.com",
                "email",
                "Damaged parcel",
                "The box arrived crushed",
            ),
        )
        .await;
    let id = a["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/conversations/{id}/messages"),
        json!({"body": "I would like my refunds processed", "sender_type": "customer"}),
    )
    .await;
    for i in 0..4 {
        app.post(
            "/api/v1/conversations",
            conversation(
                &format!("p{i}@example.com"),
                "api",
                "Sizing",
                "'; DROP TABLE messages; --",
            ),
        )
        .await;
    }
    let (_, hits) = app.get("/api/v1/conversations?q=refund").await;
    assert_eq!(
        hits["items"].as_array().unwrap().len(),
        1,
        "stemming finds refunds: {hits}"
    );
    let (_, hits) = app.get("/api/v1/conversations?q=damaged").await;
    assert_eq!(
        hits["items"][0]["id"], a["id"],
        "subject words are searched"
    );
    let (_, hits) = app
        .get("/api/v1/conversations?q=crushed%20refund%20parcel")
        .await;
    let found: Vec<&serde_json::Value> = hits["items"].as_array().unwrap().iter().collect();
    assert_eq!(
        found.iter().map(|c| &c["id"]).collect::<Vec<_>>(),
        vec![&a["id"]],
        "the words of a query may be spread over the subject and several messages: {hits}"
    );
    let (_, hits) = app.get("/api/v1/conversations?q=crushed%20sizing").await;
    assert_eq!(
        hits["items"].as_array().unwrap().len(),
        0,
        "every word must occur in the conversation: {hits}"
    );
    let (s, _) = app
        .get("/api/v1/conversations?q=%22%5C%22%20OR%20*%20(%20NEAR")
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, hits) = app.get("/api/v1/conversations?q=drop%20table").await;
    assert_eq!(
        hits["items"].as_array().unwrap().len(),
        4,
        "SQL-looking text is stored as text"
    );

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let path = match &cursor {
            Some(c) => format!("/api/v1/conversations?limit=2&cursor={c}"),
            None => "/api/v1/conversations?limit=2".to_owned(),
        };
        let (_, page) = app.get(&path).await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        (seen.len(), unique.len()),
        (5, 5),
        "pages cover every row once: {seen:?}"
    );
    for bad in ["limit=0", "limit=201", "cursor=zzzz"] {
        let (s, e) = app.get(&format!("/api/v1/conversations?{bad}")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {e}");
    }
});

on_both_engines!(orders_shipments_and_the_customer_timeline, |app| {
    let order = |total: Value, second_price: &str| {
        json!({"external_id": "1001", "number": "#1001", "customer": {"email": "d@example.com", "name": "Dee"},
            "status": "open", "financial_status": "paid", "fulfillment_status": "unfulfilled", "currency": "eur",
            "total": total, "placed_at": "2026-11-01T10:00:00Z",
            "line_items": [{"sku": "NW-1", "title": "Boots", "quantity": 1, "price": "0.10"}, {"title": "Socks", "quantity": 2, "price": second_price}]})
    };
    let (s, o) = app
        .post("/api/v1/orders", order(json!("4.10"), "2.00"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    assert_eq!(o["total"], "4.10");
    assert_eq!(o["line_items"][0]["price"], "0.10");
    assert_eq!(o["currency"], "EUR");
    let (s, o2) = app
        .post("/api/v1/orders", order(json!("5.10"), "2.50"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(o2["id"], o["id"]);
    let (s, e) = app.post("/api/v1/orders", order(json!(5.1), "2.50")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["error"]["field"], "total");
    let (_, found) = app.get("/api/v1/orders?number=1001").await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);

    let oid = o["id"].as_str().unwrap();
    let (s, sh) = app
        .post(
            &format!("/api/v1/orders/{oid}/shipments"),
            json!({"carrier": "DHL", "tracking_number": "JD0001"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{sh}");
    let sid = sh["id"].as_str().unwrap();
    for (status, at) in [
        ("in_transit", "2026-11-02T10:00:00Z"),
        ("delivered", "2026-11-04T10:00:00Z"),
        ("out_for_delivery", "2026-11-03T10:00:00Z"),
    ] {
        let (s, _) = app
            .post(
                &format!("/api/v1/shipments/{sid}/events"),
                json!({"status": status, "occurred_at": at}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (_, sh) = app.get(&format!("/api/v1/shipments/{sid}")).await;
    assert_eq!(
        sh["status"], "delivered",
        "a late older scan does not undo delivery"
    );
    assert_eq!(sh["events"].as_array().unwrap().len(), 3);

    app.post("/api/v1/conversations", json!({"channel": "sms", "customer": {"email": "d@example.com", "phone": "+44 20 7946 0958"}, "message": {"body": "where is it"}})).await;
    app.post(
        "/api/v1/conversations",
        conversation("d@example.com", "email", "Order", "hello"),
    )
    .await;
    let (_, cs) = app.get("/api/v1/customers?phone=%2B442079460958").await;
    let cid = cs["items"][0]["id"]
        .as_str()
        .expect("found by phone")
        .to_owned();
    let (_, customer) = app.get(&format!("/api/v1/customers/{cid}")).await;
    assert_eq!(customer["orders"][0]["shipments"][0]["status"], "delivered");
    assert_eq!(customer["conversations"].as_array().unwrap().len(), 2);
    assert_eq!(customer["identities"].as_array().unwrap().len(), 2);
});

on_both_engines!(articles_are_sanitised_and_searched_best_first, |app| {
    let (s, a) = app.post("/api/v1/articles", json!({"title": "Returns policy", "body_markdown": "# Returns\n\nSend it back within 30 days.<script>alert(1)</script>", "category": "returns"})).await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    assert_eq!(a["slug"], "returns-policy");
    assert!(!a["body_html"].as_str().unwrap().contains("<script"));
    app.post("/api/v1/articles", json!({"title": "Shipping times", "body_markdown": "Returns are handled by the warehouse."})).await;
    let (_, hits) = app.get("/api/v1/articles?q=returns").await;
    assert_eq!(
        hits["items"][0]["title"], "Returns policy",
        "title matches rank first: {hits}"
    );
    let id = a["id"].as_str().unwrap();
    let (_, p) = app
        .patch(
            &format!("/api/v1/articles/{id}"),
            json!({"title": "Our returns policy"}),
        )
        .await;
    assert_eq!(p["slug"], "returns-policy", "slugs survive title edits");
    let (s, _) = app
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/articles/{id}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.get(&format!("/api/v1/articles/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
});

on_both_engines!(
    bad_input_gets_the_documented_error,
    |s| s.max_body_bytes = 4096,
    |app| {
        let code = |v: &Value| v["error"]["code"].as_str().unwrap_or("").to_owned();
        let (s, e) = app
            .raw(
                "/api/v1/conversations",
                "application/json",
                b"{\"channel\": ".to_vec(),
            )
            .await;
        assert_eq!(
            (s, code(&e)),
            (StatusCode::BAD_REQUEST, "invalid_json".into())
        );
        let (s, e) = app
            .raw(
                "/api/v1/conversations",
                "application/json",
                vec![b'"', 0xff, 0xfe, b'"'],
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
        let (s, e) = app.post("/api/v1/conversations", json!({"channel": "pigeon", "customer": {"email": "x@example.com"}, "message": {"body": "hi"}})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e["error"]["field"], "channel");
        assert!(e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("email, chat, sms"));
        let (s, e) = app.post("/api/v1/conversations", json!({"channel": "api", "customer": {"email": "x@example.com"}, "message": {"body": 5}})).await;
        assert_eq!(
            (s, e["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("message.body"))
        );
        let (s, e) = app.post("/api/v1/conversations", json!({"channel": "api", "colour": "red", "customer": {"email": "x@example.com"}, "message": {"body": "x"}})).await;
        assert_eq!(
            (s, e["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("colour"))
        );
        let (s, e) = app.post("/api/v1/conversations", json!({"channel": "api", "customer": {"email": "not-an-email"}, "message": {"body": "x"}})).await;
        assert_eq!(
            (s, e["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("customer.email"))
        );
        let (s, e) = app.post("/api/v1/conversations", json!({"channel": "api", "customer": {"email": "x@example.com"}, "message": {"body": "nul\u{0}byte"}})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        let (s, e) = app.post("/api/v1/conversations", json!({"channel": "api", "customer": {"email": "x@example.com"}, "message": {"body": "x".repeat(10_000)}})).await;
        assert_eq!(
            (s, code(&e)),
            (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".into())
        );
        let (s, e) = app
            .raw("/api/v1/conversations", "text/plain", b"{}".to_vec())
            .await;
        assert_eq!(
            (s, code(&e)),
            (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type".into()
            )
        );
        for path in [
            "/api/v1/conversations/nope",
            "/api/v1/conversations/cnv_00000000000000000000000000000000",
            "/api/v1/nothing-here",
        ] {
            let (s, e) = app.get(path).await;
            assert_eq!(
                (s, code(&e)),
                (StatusCode::NOT_FOUND, "not_found".into()),
                "{path}"
            );
        }
        let (s, e) = app
            .send(reqwest::Method::PUT, "/api/v1/conversations", None)
            .await;
        assert_eq!(
            (s, code(&e)),
            (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed".into())
        );
        let (s, e) = app
            .patch(
                "/api/v1/conversations/cnv_00000000000000000000000000000000",
                json!({"status": "open"}),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{e}");

        // Nothing half-stored: an order whose second line item is invalid leaves no trace.
        let (s, _) = app.post("/api/v1/orders", json!({"external_id": "9", "number": "9", "customer": {"email": "half@example.com"},
        "status": "open", "financial_status": "paid", "fulfillment_status": "unfulfilled", "currency": "EUR", "total": "1.00",
        "placed_at": "2026-11-01T10:00:00Z", "line_items": [{"title": "ok", "quantity": 1, "price": "1.00"}, {"title": "bad", "quantity": 0, "price": "1.00"}]})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let (_, cs) = app.get("/api/v1/customers?email=half@example.com").await;
        assert_eq!(cs["items"].as_array().unwrap().len(), 0);
        let (_, c) = app
            .post(
                "/api/v1/conversations",
                conversation("e@example.com", "api", "s", "hi"),
            )
            .await;
        let id = c["id"].as_str().unwrap();
        let (s, e) = app
            .patch(
                &format!("/api/v1/conversations/{id}"),
                json!({"assignee_id": "agt_00000000000000000000000000000000"}),
            )
            .await;
        assert_eq!(
            (s, e["error"]["field"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("assignee_id"))
        );
    }
);

on_both_engines!(tokens_roles_and_service_routes, |app| {
    let res = app
        .client
        .get(format!("{}/api/v1/conversations", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let e: Value = res.json().await.unwrap();
    assert_eq!(e["error"]["code"], "unauthenticated");
    let res = app
        .client
        .get(format!("{}/api/v1/conversations", app.base))
        .bearer_auth("cnc_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let (s, t) = app
        .post(
            "/api/v1/tokens",
            json!({"name": "helpdesk script", "role": "agent"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let agent_token = t["token"].as_str().unwrap().to_owned();
    let as_agent = |path: &str| {
        app.client
            .get(format!("{}{path}", app.base))
            .bearer_auth(&agent_token)
            .send()
    };
    assert_eq!(
        as_agent("/api/v1/conversations").await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        as_agent("/api/v1/jobs").await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let (s, _) = app
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/tokens/{}", t["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        as_agent("/api/v1/conversations").await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "revoked tokens stop working"
    );

    let health: Value = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health, json!({"status": "ok"}));
    let doc: Value = app
        .client
        .get(format!("{}/api/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/conversations",
        "/api/v1/conversations/{id}",
        "/api/v1/conversations/{id}/messages",
        "/api/v1/customers/{id}",
        "/api/v1/orders",
        "/api/v1/orders/{id}/shipments",
        "/api/v1/shipments/{id}/events",
        "/api/v1/articles/{id}",
        "/api/v1/tokens",
        "/api/v1/jobs",
        "/api/v1/customers/{id}/merge",
        "/api/v1/attachments/{id}",
        "/api/v1/messages/{id}/original",
        "/api/v1/messages/{id}/retry",
        "/webhooks/email",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from OpenAPI"
        );
    }
    // Metrics need a token unless they are opened.
    let metrics = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), StatusCode::UNAUTHORIZED);
    let metrics = app
        .client
        .get(format!("{}/metrics", app.base))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("concierge_http_requests_total"),
        "{metrics}"
    );
});

on_both_engines!(
    every_job_kind_has_a_handler_once_a_relay_is_set,
    |s| s.smtp_relay = Some("smtp://127.0.0.1:9".into()),
    |app| {
        // The service refuses to start if a kind of job the store queues has no handler;
        // started, every kind has one.
        let (s, _) = app.get("/api/v1/jobs").await;
        assert_eq!(s, StatusCode::OK);
    }
);

on_both_engines!(
    a_reply_nothing_can_carry_yet_fails_at_once_saying_why,
    |app| {
        let (s, c) = app
        .post(
            "/api/v1/conversations",
            json!({"channel": "sms", "customer": {"phone": "+4915112345678"}, "message": {"body": "Where is my parcel?"}}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        let id = c["id"].as_str().unwrap();
        let (s, m) = app
            .post(
                &format!("/api/v1/conversations/{id}/messages"),
                json!({"body": "It arrives tomorrow."}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{m}");
        assert_eq!(m["delivery_status"], "failed", "{m}");
        assert!(
            m["delivery_error"]
                .as_str()
                .unwrap_or_default()
                .contains("cannot send SMS messages yet"),
            "{m}"
        );
        // Nothing waits in the queue for a transport that does not exist.
        let (_, jobs) = app.get("/api/v1/jobs?status=queued").await;
        assert!(
            jobs["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|j| j["kind"] != "sms.deliver"),
            "{jobs}"
        );
        // Sending again is refused with the same reason.
        let (s, e) = app
            .post(
                &format!("/api/v1/messages/{}/retry", m["id"].as_str().unwrap()),
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "{e}");
        assert!(e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot send SMS"));
    }
);

#[tokio::test]
async fn private_answers_are_not_stored_and_browsers_are_told_what_they_may_do() {
    let Some(app) = App::start("sqlite", |_| {}).await else {
        return;
    };
    let get = |path: &str, auth: bool| {
        let mut req = app.client.get(format!("{}{path}", app.base));
        if auth {
            req = req.bearer_auth(&app.token);
        }
        req.send()
    };
    let api = get("/api/v1/conversations", true).await.unwrap();
    assert_eq!(api.headers()["cache-control"], "no-store");
    assert!(api.headers()["permissions-policy"]
        .to_str()
        .unwrap()
        .contains("camera=()"));
    // Served over plain http, no HSTS.
    assert!(!api.headers().contains_key("strict-transport-security"));
    // Errors too.
    let refused = get("/api/v1/conversations", false).await.unwrap();
    assert_eq!(refused.headers()["cache-control"], "no-store");
    // A signed-in agent's page is not kept; the public help center may be.
    app.create_agent("sam@shop.example", "Sam Agent", "correct horse battery")
        .await;
    let (cookie, _) = app
        .sign_in("sam@shop.example", "correct horse battery")
        .await;
    let page = app
        .with_cookie(reqwest::Method::GET, "/inbox", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let help = get("/help", false).await.unwrap();
    assert_ne!(
        help.headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap()),
        Some("no-store")
    );
    app.stop().await;

    // Reached over https, browsers are told to keep to it.
    let Some(app) = App::start("sqlite", |s| {
        s.public_url = Some("https://help.shop.example".into())
    })
    .await
    else {
        return;
    };
    let r = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    app.stop().await;
}

/// The conversations of the customer at `email`.
async fn conversations_of(app: &App, email: &str) -> usize {
    let (_, customers) = app.get(&format!("/api/v1/customers?email={email}")).await;
    let Some(customer) = customers["items"][0]["id"].as_str() else {
        return 0;
    };
    let (_, list) = app
        .get(&format!("/api/v1/conversations?customer_id={customer}"))
        .await;
    list["items"].as_array().unwrap().len()
}

on_both_engines!(
    a_post_sent_again_with_its_idempotency_key_is_answered_once,
    |app| {
        let url = format!("{}/api/v1/conversations", app.base);
        let send = |key: &str, body: &Value| {
            app.client
                .post(&url)
                .bearer_auth(&app.token)
                .header("Idempotency-Key", key)
                .json(body)
                .send()
        };
        let body = conversation("idem@example.com", "api", "Lost answer", "Hello?");
        let first = send("retry-1", &body).await.unwrap();
        assert_eq!(first.status(), StatusCode::CREATED);
        assert!(!first.headers().contains_key("idempotent-replayed"));
        let first: Value = first.json().await.unwrap();
        // The answer was lost; the client asks again with the same key.
        let again = send("retry-1", &body).await.unwrap();
        assert_eq!(again.status(), StatusCode::CREATED);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        let again: Value = again.json().await.unwrap();
        assert_eq!(again["id"], first["id"]);
        assert_eq!(conversations_of(&app, "idem@example.com").await, 1);

        // The same key for something else is refused.
        let other = conversation("idem@example.com", "api", "Another", "Hi");
        let r = send("retry-1", &other).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"]["field"], "Idempotency-Key");

        // Ten at once with one key: one conversation, whatever each was told.
        let body = conversation("burst@example.com", "api", "Burst", "Hello?");
        let statuses: Vec<StatusCode> =
            futures::future::join_all((0..10).map(|_| send("burst-1", &body)))
                .await
                .into_iter()
                .map(|r| r.unwrap().status())
                .collect();
        assert!(
            statuses
                .iter()
                .all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT),
            "{statuses:?}"
        );
        assert_eq!(conversations_of(&app, "burst@example.com").await, 1);

        // A bad key is refused; without a key, every POST is its own.
        let r = send("has space", &body).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = conversation("twice@example.com", "api", "Twice", "Hello?");
        for _ in 0..2 {
            let (s, _) = app.post("/api/v1/conversations", body.clone()).await;
            assert_eq!(s, StatusCode::CREATED);
        }
        assert_eq!(conversations_of(&app, "twice@example.com").await, 2);
    }
);

on_both_engines!(a_database_that_is_down_answers_503, |app| {
    app.running.as_ref().unwrap().store.close().await;
    let (s, e) = app.get("/api/v1/conversations").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{e}");
    assert_eq!(e["error"]["code"], "service_unavailable");
    let res = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
});

on_both_engines!(
    each_client_address_is_rate_limited,
    |s| s.rate_limit_per_second = 1,
    |app| {
        // One a second with bursts of two: of ten requests in a row, the first passes and
        // some are refused (all ten passing would take them eight seconds).
        let mut statuses = Vec::new();
        let mut refused = None;
        for _ in 0..10 {
            let r = app
                .client
                .get(format!("{}/api/v1/conversations", app.base))
                .bearer_auth(&app.token)
                .send()
                .await
                .unwrap();
            statuses.push(r.status());
            if r.status() == StatusCode::TOO_MANY_REQUESTS && refused.is_none() {
                let retry: u64 = r.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                refused = Some((retry, r.json::<Value>().await.unwrap()));
            }
        }
        assert_eq!(statuses[0], StatusCode::OK, "{statuses:?}");
        assert!(
            statuses
                .iter()
                .all(|s| *s == StatusCode::OK || *s == StatusCode::TOO_MANY_REQUESTS),
            "{statuses:?}"
        );
        let (retry, body) = refused.expect("some requests are refused");
        assert!((1..=2).contains(&retry), "Retry-After {retry}");
        assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    }
);

#[tokio::test]
async fn made_up_methods_and_paths_add_no_metric_series() {
    let Some(app) = App::start("sqlite", |s| s.rate_limit_per_second = 1).await else {
        return;
    };
    // Fifty requests with made-up 1 KB methods on made-up paths, most of them past the rate
    // limit.
    let hostile = from_source([127, 0, 0, 5]);
    for i in 0..50 {
        let method =
            reqwest::Method::from_bytes(format!("M{i}{}", "X".repeat(1024)).as_bytes()).unwrap();
        let r = hostile
            .request(method, format!("{}/made/up/{i}", app.base))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "{}", r.status());
    }
    let metrics = app
        .client
        .get(format!("{}/metrics", app.base))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!metrics.contains("XXXX"), "a method became a label");
    assert!(!metrics.contains("/made/up"), "a raw path became a label");
    // Each was counted once: as `other` on no route, or as refused by the limit.
    let count = |prefix: &str| -> f64 {
        metrics
            .lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    let other = count("concierge_http_requests_total{method=\"other\",route=\"unmatched\"");
    let refused = count("concierge_http_requests_rate_limited_total");
    assert_eq!(other + refused, 50.0, "{metrics}");
    assert!(refused >= 1.0, "{metrics}");
    app.stop().await;
}

on_both_engines!(agents_sign_in_with_a_session_cookie_and_csrf, |app| {
    app.create_agent("sam@shop.example", "Sam Agent", "correct horse battery")
        .await;
    let url = |p: &str| format!("{}{p}", app.base);
    let sign_in = |password: &'static str| {
        app.client
            .post(url("/api/v1/session"))
            .json(&json!({"email": "Sam@Shop.example", "password": password}))
            .send()
    };

    // A cookie planted before signing in (session fixation) is worth nothing.
    let planted = "concierge_session=planted-by-someone-else";
    let r = app
        .client
        .get(url("/api/v1/conversations"))
        .header("cookie", planted)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let r = sign_in("wrong password!!").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().get("set-cookie").is_none());

    let r = sign_in("correct horse battery").await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let set_cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    assert_ne!(cookie, planted, "a new secret at every sign-in");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["agent"]["email"], "sam@shop.example");
    let csrf = body["csrf_token"].as_str().unwrap().to_owned();
    assert!(!body.to_string().contains(cookie.split('=').nth(1).unwrap()));

    // Reads need only the cookie.
    let r = app
        .with_cookie(reqwest::Method::GET, "/api/v1/session", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.unwrap()["csrf_token"],
        csrf.as_str()
    );

    // Writes need the CSRF token as well: without it, or with a wrong one, nothing happens.
    let new = conversation("csrf@example.com", "api", "Hello", "From the browser");
    for header in [None, Some("not-the-token")] {
        let mut req = app
            .with_cookie(reqwest::Method::POST, "/api/v1/conversations", &cookie)
            .json(&new);
        if let Some(h) = header {
            req = req.header("x-csrf-token", h);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    let (_, listed) = app.get("/api/v1/conversations?q=browser").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 0, "{listed}");
    let r = app
        .with_cookie(reqwest::Method::POST, "/api/v1/conversations", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&new)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // Agents are not admins, whatever the credential.
    let r = app
        .with_cookie(reqwest::Method::GET, "/api/v1/tokens", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Signing out needs the CSRF token too, and ends the cookie for good.
    let r = app
        .with_cookie(reqwest::Method::DELETE, "/api/v1/session", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .with_cookie(reqwest::Method::DELETE, "/api/v1/session", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let r = app
        .with_cookie(reqwest::Method::GET, "/api/v1/session", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (_, audit) = app.get("/api/v1/audit-log").await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"agent.signed_in") && actions.contains(&"agent.signed_out"),
        "{actions:?}"
    );

    // Brute force: after five wrong passwords from one source the address is refused there
    // for a while, even the right one.
    for _ in 0..5 {
        assert_eq!(
            sign_in("wrong password!!").await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let r = sign_in("correct horse battery").await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
});

/// A client whose requests come from `ip` (any address of 127.0.0.0/8 is this machine).
fn from_source(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(ip))
        .build()
        .unwrap()
}

on_both_engines!(
    sign_in_guesses_sent_together_are_counted_before_they_are_checked,
    |app| {
        app.create_agent("kim@shop.example", "Kim Agent", "correct horse battery")
            .await;
        let url = format!("{}/api/v1/session", app.base);
        let attempt = |client: &reqwest::Client, password: &str| {
            client
                .post(&url)
                .json(&json!({"email": "kim@shop.example", "password": password}))
                .send()
        };

        // Forty at once from one source, the right password at #30: five are checked, the rest
        // refused unchecked (before, all forty were checked and #30 signed in).
        let stranger = from_source([127, 0, 0, 2]);
        let tries = (0..40).map(|i| {
            attempt(
                &stranger,
                if i == 29 {
                    "correct horse battery"
                } else {
                    "wrong password!!"
                },
            )
        });
        let statuses: Vec<StatusCode> = futures::future::join_all(tries)
            .await
            .into_iter()
            .map(|r| r.unwrap().status())
            .collect();
        let refused = statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count();
        assert_eq!(refused, 35, "{statuses:?}");
        let r = attempt(&stranger, "correct horse battery").await.unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let wait: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=900).contains(&wait), "{wait}");

        // The stranger's guesses do not keep the agent out: from its own machine it signs in.
        let agent = from_source([127, 0, 0, 3]);
        assert_eq!(
            attempt(&agent, "correct horse battery")
                .await
                .unwrap()
                .status(),
            StatusCode::CREATED
        );

        // Many sources, one guess each: past twenty for the address (the five above, the agent's
        // first and fourteen more), sources that never signed
        // in to it wait too, the right password or not; the agent's own source does not.
        for i in 0..14u8 {
            let r = attempt(&from_source([127, 0, 1, i + 1]), "wrong password!!")
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "source {i}");
        }
        assert_eq!(
            attempt(&from_source([127, 0, 2, 1]), "correct horse battery")
                .await
                .unwrap()
                .status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            attempt(&agent, "correct horse battery")
                .await
                .unwrap()
                .status(),
            StatusCode::CREATED
        );
    }
);

on_both_engines!(two_factor_sign_in_with_totp_and_recovery_codes, |app| {
    app.create_agent("kim@shop.example", "Kim Agent", "correct horse battery")
        .await;
    let url = |p: &str| format!("{}{p}", app.base);
    let sign_in = |code: Option<String>| {
        let mut body = json!({"email": "kim@shop.example", "password": "correct horse battery"});
        if let Some(c) = code {
            body["code"] = json!(c);
        }
        app.client.post(url("/api/v1/session")).json(&body).send()
    };
    let r = sign_in(None).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let cookie = session_cookie(&r);
    let csrf = r.json::<Value>().await.unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let post = |path: &str, body: Value, with_csrf: bool| {
        let mut req = app
            .with_cookie(reqwest::Method::POST, path, &cookie)
            .json(&body);
        if with_csrf {
            req = req.header("x-csrf-token", &csrf);
        }
        req.send()
    };

    assert_eq!(
        post("/api/v1/session/totp", json!({}), false)
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let r = post(
        "/api/v1/session/totp/confirm",
        json!({"code": "123456"}),
        true,
    )
    .await
    .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CONFLICT,
        "nothing to confirm before enrolling"
    );
    let r = post("/api/v1/session/totp", json!({}), true).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let enrollment: Value = r.json().await.unwrap();
    let otpauth = enrollment["otpauth_url"].as_str().unwrap();
    assert!(
        otpauth.starts_with("otpauth://totp/Concierge:kim%40shop.example?"),
        "{otpauth}"
    );
    // What an authenticator app computes from the secret it was given.
    let totp = totp_rs::Totp::from_url(otpauth).unwrap();
    let now = chrono::Utc::now().timestamp() as u64;
    let r = post(
        "/api/v1/session/totp/confirm",
        json!({"code": "abcdef"}),
        true,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = post(
        "/api/v1/session/totp/confirm",
        json!({"code": totp.generate(now).to_string()}),
        true,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let codes: Vec<String> = r.json::<Value>().await.unwrap()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);

    // The password alone no longer signs in.
    let r = sign_in(None).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "totp_required"
    );
    // The next step's code is within the accepted window; it works once, never twice.
    let next = totp.generate(now + 30).to_string();
    assert_eq!(
        sign_in(Some(next.clone())).await.unwrap().status(),
        StatusCode::CREATED
    );
    let r = sign_in(Some(next)).await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "a code is accepted once"
    );
    // A recovery code works in its place, typed in any case, once.
    let recovery = codes[3].to_uppercase();
    assert_eq!(
        sign_in(Some(recovery.clone())).await.unwrap().status(),
        StatusCode::CREATED
    );
    assert_eq!(
        sign_in(Some(recovery)).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    // Codes guessed all at once are counted before any is checked: a hundred wrong codes
    // from one source, with the right password, and at most five are tried.
    let at = chrono::Utc::now().timestamp() as u64;
    let valid: Vec<String> = [at - 30, at, at + 30, at + 60]
        .iter()
        .map(|t| totp.generate(*t).to_string())
        .collect();
    let guesser = from_source([127, 0, 0, 4]);
    let guesses = (0..100).map(|i| {
        // Six digits and recovery-code shapes, none of them a real one.
        let code = if i % 2 == 0 {
            format!("{:06}", (i * 7919 + 1) % 1_000_000)
        } else {
            format!("abcde-{i:05}")
        };
        let code = if valid.contains(&code) {
            "abcde-99999".into()
        } else {
            code
        };
        guesser
            .post(url("/api/v1/session"))
            .json(&json!({"email": "kim@shop.example", "password": "correct horse battery", "code": code}))
            .send()
    });
    let statuses: Vec<StatusCode> = futures::future::join_all(guesses)
        .await
        .into_iter()
        .map(|r| r.unwrap().status())
        .collect();
    let checked = statuses
        .iter()
        .filter(|s| **s != StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(
        checked <= 5,
        "{checked} of 100 codes were checked: {statuses:?}"
    );
    assert!(statuses
        .iter()
        .all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS));

    // Lost phone and codes: an admin resets two-factor; the password alone signs in again,
    // and the sessions from before are over.
    let (_, agents) = app.get("/api/v1/agents").await;
    let kim = agents["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "kim@shop.example")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = app
        .patch(
            &format!("/api/v1/agents/{kim}"),
            json!({"reset_two_factor": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let r = app
        .with_cookie(reqwest::Method::GET, "/api/v1/session", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in(None).await.unwrap().status(), StatusCode::CREATED);
});

on_both_engines!(admins_manage_agents_and_deactivation_ends_sessions, |app| {
    let url = |p: &str| format!("{}{p}", app.base);
    let (s, e) = app
        .post(
            "/api/v1/agents",
            json!({"email": "lee@shop.example", "name": "Lee", "password": "short"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["error"]["field"], "password");
    let new = json!({"email": "lee@shop.example", "name": "Lee", "password": "a long enough one"});
    let (s, agent) = app.post("/api/v1/agents", new.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{agent}");
    assert_eq!(agent["role"], "agent");
    assert!(!agent.to_string().contains("argon2"), "no hash in answers");
    let (s, _) = app.post("/api/v1/agents", new).await;
    assert_eq!(s, StatusCode::CONFLICT);

    // An agent-role token may not manage agents.
    let (_, agent_token) = concierge_api::auth::issue_token(
        &app.running.as_ref().unwrap().store,
        &Label::parse("agent token").unwrap(),
        Role::Agent,
        &Actor::System,
    )
    .await
    .unwrap();
    let r = app
        .client
        .post(url("/api/v1/agents"))
        .bearer_auth(&agent_token)
        .json(&json!({"email": "x@shop.example", "name": "X", "password": "a long enough one"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let r = app
        .client
        .post(url("/api/v1/session"))
        .json(&json!({"email": "lee@shop.example", "password": "a long enough one"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let cookie = session_cookie(&r);
    let id = agent["id"].as_str().unwrap();
    let (s, changed) = app
        .patch(&format!("/api/v1/agents/{id}"), json!({"active": false}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(changed["active"], false);
    let r = app
        .with_cookie(reqwest::Method::GET, "/api/v1/session", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "deactivation ends the session"
    );
    let r = app
        .client
        .post(url("/api/v1/session"))
        .json(&json!({"email": "lee@shop.example", "password": "a long enough one"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (s, _) = app
        .patch(
            "/api/v1/agents/agt_00000000000000000000000000000000",
            json!({"active": true}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
});

on_both_engines!(every_response_carries_the_security_headers, |app| {
    for path in ["/healthz", "/api/v1/conversations", "/no/such/page"] {
        let r = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
    }
});

on_both_engines!(bulk_changes_counts_tags_and_merge, |app| {
    let (_, a) = app
        .post(
            "/api/v1/conversations",
            conversation("liv@example.com", "email", "Late parcel", "Where is it?"),
        )
        .await;
    let (_, b) = app
        .post(
            "/api/v1/conversations",
            conversation("liv@example.com", "chat", "Also", "Any update?"),
        )
        .await;
    let (_, other) = app
        .post(
            "/api/v1/conversations",
            conversation("max@example.com", "email", "Sizes", "Do you have XL?"),
        )
        .await;
    let (a, b, other) = (
        a["id"].as_str().unwrap().to_owned(),
        b["id"].as_str().unwrap().to_owned(),
        other["id"].as_str().unwrap().to_owned(),
    );

    let (status, counts) = app.get("/api/v1/conversations/counts").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(counts["open"], 3, "{counts}");
    assert_eq!(counts["unassigned"], 3);
    assert_eq!(counts["mine"], 0, "a token has no conversations of its own");

    // One change for many; an unknown id fails alone.
    let (status, result) = app
        .post(
            "/api/v1/conversations/bulk",
            json!({"ids": [a, other, "cnv_00000000000000000000000000000000"], "patch": {"add_tags": ["VIP"], "priority": "high"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{result}");
    let oks: Vec<bool> = result["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["ok"].as_bool().unwrap())
        .collect();
    assert_eq!(oks, [true, true, false]);
    assert_eq!(result["items"][2]["error"]["code"], "not_found");
    let (status, body) = app
        .post(
            "/api/v1/conversations/bulk",
            json!({"ids": [], "patch": {"status": "resolved"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "ids");
    app.patch(
        &format!("/api/v1/conversations/{a}"),
        json!({"tags": ["wismo"], "add_tags": ["vip"]}),
    )
    .await;
    let (_, list) = app.get("/api/v1/conversations?priority=high&tag=vip").await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{list}");
    let (_, c) = app.get(&format!("/api/v1/conversations/{a}")).await;
    assert_eq!(c["tags"], json!(["vip", "wismo"]));
    let (_, tags) = app.get("/api/v1/tags").await;
    let vip = tags["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "vip")
        .unwrap();
    assert_eq!(vip["conversations"], 2);

    // Waiting longest first lists only those awaiting an answer, oldest wait first.
    app.post(
        &format!("/api/v1/conversations/{b}/messages"),
        json!({"body": "On it."}),
    )
    .await;
    let (_, waiting) = app.get("/api/v1/conversations?sort=waiting").await;
    let ids: Vec<&str> = waiting["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [a.as_str(), other.as_str()]);
    let (status, _) = app.get("/api/v1/conversations?sort=oldest").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Merge: only one customer's conversations, never into itself.
    let (status, body) = app
        .post(
            &format!("/api/v1/conversations/{a}/merge"),
            json!({"into": other}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = app
        .post(
            &format!("/api/v1/conversations/{a}/merge"),
            json!({"into": a}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, merged) = app
        .post(
            &format!("/api/v1/conversations/{b}/merge"),
            json!({"into": a}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    let bodies: Vec<&str> = merged["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies.len(), 4, "{bodies:?}");
    assert!(bodies.contains(&"Any update?") && bodies.contains(&"On it."));
    assert!(
        bodies.last().unwrap().starts_with("Merged “Also”"),
        "{bodies:?}"
    );
    let (_, source) = app.get(&format!("/api/v1/conversations/{b}")).await;
    assert_eq!(source["status"], "closed");
    assert_eq!(source["merged_into_id"], a.as_str());
    assert_eq!(source["messages"], json!([]));
    let (status, _) = app
        .post(
            &format!("/api/v1/conversations/{b}/merge"),
            json!({"into": a}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "merged once only");
    // Search follows the messages.
    let (_, found) = app.get("/api/v1/conversations?q=update").await;
    let ids: Vec<&str> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [a.as_str()]);
});

on_both_engines!(canned_replies_fill_their_variables, |app| {
    let (status, reply) = app
        .post(
            "/api/v1/canned-replies",
            json!({"shortcut": "/Where", "title": "Where is my order", "body": "Hi {{customer.first_name}}, order {{order.number}} is with {{shipment.carrier}}: {{shipment.tracking_url}}"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert_eq!(reply["shortcut"], "where");
    let rid = reply["id"].as_str().unwrap().to_owned();
    let (status, body) = app
        .post(
            "/api/v1/canned-replies",
            json!({"shortcut": "where", "title": "Again", "body": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["field"], "shortcut");
    let (status, body) = app
        .post(
            "/api/v1/canned-replies",
            json!({"shortcut": "shoe", "title": "Shoe", "body": "{{customer.shoe_size}}"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "body");

    let (_, c) = app
        .post(
            "/api/v1/conversations",
            conversation("ann@example.com", "email", "Order?", "Where is it?"),
        )
        .await;
    let cid = c["id"].as_str().unwrap();
    let fill = format!("/api/v1/conversations/{cid}/canned-replies/{rid}");
    let (status, filled) = app.get(&fill).await;
    assert_eq!(status, StatusCode::OK, "{filled}");
    assert_eq!(filled["body"], "Hi Ann, order  is with : ");
    assert_eq!(
        filled["missing"],
        json!(["order.number", "shipment.carrier", "shipment.tracking_url"])
    );

    let (_, order) = app
        .post(
            "/api/v1/orders",
            json!({"external_id": "9001", "number": "#1042", "customer": {"email": "ann@example.com"},
                   "status": "open", "financial_status": "paid", "fulfillment_status": "fulfilled",
                   "currency": "EUR", "total": "49.90", "placed_at": "2026-11-20T10:00:00Z",
                   "line_items": [{"sku": "TEE-1", "title": "Tee", "quantity": 1, "price": "49.90"}]}),
        )
        .await;
    let oid = order["id"].as_str().unwrap();
    let (status, body) = app
        .post(
            &format!("/api/v1/orders/{oid}/shipments"),
            json!({"carrier": "DHL", "tracking_number": "JD0001", "tracking_url": "https://dhl.example/JD0001"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, filled) = app.get(&fill).await;
    assert_eq!(
        filled["body"],
        "Hi Ann, order #1042 is with DHL: https://dhl.example/JD0001"
    );
    assert_eq!(filled["missing"], json!([]));

    let (status, replies) = app.get("/api/v1/canned-replies").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(replies["items"].as_array().unwrap().len(), 1);
    let r = app
        .client
        .delete(format!("{}/api/v1/canned-replies/{rid}", app.base))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, _) = app.get(&fill).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
});
