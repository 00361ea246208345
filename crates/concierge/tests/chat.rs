//! The live chat widget's protocol (README, "Live chat") with real WebSocket
//! clients over loopback, on both engines: sessions, messages stored before they are echoed,
//! agents' replies arriving, reconnecting without losing or repeating anything, identity
//! verification, and what a hostile or broken client cannot do.

use chrono::Datelike;
use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

#[macro_use]
mod support;

use support::*;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const IDENTITY_SECRET: &str = "widget-secret";

/// Opens a widget session as the widget does (no agent credentials).
async fn open_session(app: &App, body: Value) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .post(format!("{}/api/widget/v1/sessions", app.base))
        .header("origin", "https://shop.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    assert_eq!(
        res.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap()),
        Some("*"),
        "the widget runs on the shop's origin"
    );
    (status, res.json().await.unwrap())
}

async fn session(app: &App) -> (String, String) {
    let (s, v) = open_session(app, json!({"name": "Ann Shopper"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    (
        v["session_token"].as_str().unwrap().to_owned(),
        v["conversation_id"].as_str().unwrap().to_owned(),
    )
}

async fn connect(app: &App, token: &str, after: Option<&str>) -> Socket {
    let ws = app.base.replacen("http", "ws", 1);
    let after = after.map_or(String::new(), |a| format!("&after={a}"));
    tokio_tungstenite::connect_async(format!("{ws}/api/widget/v1/ws?token={token}{after}"))
        .await
        .expect("the widget socket opens")
        .0
}

/// The next frame of a type, skipping the others. Waits at most 10 s, so a missing frame
/// fails the test instead of hanging it.
async fn next_of(socket: &mut Socket, kind: &str) -> Value {
    loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .unwrap_or_else(|_| panic!("a {kind} frame within 10 s"))
            .expect("the socket stays open")
            .expect("a valid frame");
        if let Message::Text(t) = message {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == kind {
                return v;
            }
        }
    }
}

/// The next message not from the assistant (which answers in the background).
async fn next_not_bot(socket: &mut Socket) -> Value {
    loop {
        let m = next_of(socket, "message").await;
        if m["sender_type"] != "bot" {
            return m;
        }
    }
}

async fn say(socket: &mut Socket, body: &str, client_id: &str) {
    let frame = json!({"type": "message", "body": body, "client_id": client_id});
    socket
        .send(Message::Text(frame.to_string().into()))
        .await
        .unwrap();
}

/// A call to the widget's REST side with a session token.
async fn widget(
    app: &App,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    (res.status(), res.json().await.unwrap_or(Value::Null))
}

on_both_engines!(
    a_shopper_chats_and_the_agents_answer_arrives_on_the_socket,
    |app| {
        let (token, conversation) = session(&app).await;
        let mut socket = connect(&app, &token, None).await;
        assert_eq!(next_of(&mut socket, "status").await["status"], "new");

        say(
            &mut socket,
            "hi <script>alert(1)</script> is anyone there?",
            "c-1",
        )
        .await;
        let echo = next_of(&mut socket, "message").await;
        assert_eq!(echo["sender_type"], "customer");
        assert_eq!(echo["client_id"], "c-1");
        assert_eq!(
            echo["body"], "hi <script>alert(1)</script> is anyone there?",
            "text, kept as text"
        );
        let id = echo["id"].as_str().unwrap().to_owned();

        // Echoed only once stored: the agents' API has it already.
        let (s, c) = app
            .get(&format!("/api/v1/conversations/{conversation}"))
            .await;
        assert_eq!(s, StatusCode::OK, "{c}");
        assert_eq!(c["channel"], "chat");
        assert_eq!(c["customer"]["name"], "Ann Shopper");
        assert_eq!(c["messages"][0]["id"], id.as_str());
        assert_eq!(next_of(&mut socket, "status").await["status"], "open");

        let (s, _) = app
            .post(
                &format!("/api/v1/conversations/{conversation}/messages"),
                json!({"body": "internal: check stock first", "private": true}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let (s, _) = app
            .post(
                &format!("/api/v1/conversations/{conversation}/messages"),
                json!({"body": "Hello Ann, Sam here. How can I help?"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let reply = next_not_bot(&mut socket).await;
        assert_eq!(reply["sender_type"], "agent");
        assert_eq!(
            reply["body"], "Hello Ann, Sam here. How can I help?",
            "the private note never reaches the shopper"
        );
        // The agent sees it leave the outbox: the widget reads it from the store.
        let reply_id = reply["id"].as_str().unwrap().to_owned();
        eventually("the agent's chat message is marked sent", || async {
            let (_, c) = app
                .get(&format!("/api/v1/conversations/{conversation}"))
                .await;
            c["messages"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["id"] == reply_id.as_str() && m["delivery_status"] == "sent")
        })
        .await;

        // A second tab of the same session sees the whole transcript, notes left out.
        let mut other = connect(&app, &token, None).await;
        assert_eq!(next_not_bot(&mut other).await["id"], id.as_str());
        assert_eq!(next_not_bot(&mut other).await["sender_type"], "agent");
        say(&mut other, "great, thanks", "c-2").await;
        assert_eq!(next_not_bot(&mut other).await["client_id"], "c-2");
        let seen = next_not_bot(&mut socket).await;
        assert_eq!(seen["body"], "great, thanks", "the first tab sees it too");

        // A change of status with no message is told to every tab; the shopper writing
        // again reopens the chat.
        let (s, c) = app
            .patch(
                &format!("/api/v1/conversations/{conversation}"),
                json!({"status": "resolved"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{c}");
        assert_eq!(next_of(&mut socket, "status").await["status"], "resolved");
        assert_eq!(next_of(&mut other, "status").await["status"], "resolved");
        say(&mut socket, "one more thing", "c-3").await;
        assert_eq!(next_of(&mut socket, "status").await["status"], "open");
    }
);

on_both_engines!(
    a_widget_that_reconnects_gets_what_it_missed_and_a_resend_is_stored_once,
    |app| {
        let (token, conversation) = session(&app).await;
        let send = || {
            widget(
                &app,
                reqwest::Method::POST,
                "/api/widget/v1/messages",
                &token,
                Some(json!({"body": "where is my parcel?", "client_id": "k-1"})),
            )
        };
        let (s, first) = send().await;
        assert_eq!(s, StatusCode::CREATED, "{first}");
        // The acknowledgement was lost; the widget sends again: the same message, once.
        let (s, again) = send().await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(again["id"], first["id"]);
        let first_id = first["id"].as_str().unwrap();

        for body in ["Let me look.", "It left the warehouse today."] {
            app.post(
                &format!("/api/v1/conversations/{conversation}/messages"),
                json!({ "body": body }),
            )
            .await;
        }
        let (_, c) = app
            .get(&format!("/api/v1/conversations/{conversation}"))
            .await;
        let customer_messages = c["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["sender_type"] == "customer")
            .count();
        assert_eq!(customer_messages, 1);

        let mut socket = connect(&app, &token, Some(first_id)).await;
        assert_eq!(next_not_bot(&mut socket).await["body"], "Let me look.");
        assert_eq!(
            next_not_bot(&mut socket).await["body"],
            "It left the warehouse today."
        );

        let (s, t) = widget(
            &app,
            reqwest::Method::GET,
            &format!("/api/widget/v1/messages?after={first_id}"),
            &token,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let bodies: Vec<&str> = t["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["sender_type"] != "bot")
            .map(|m| m["body"].as_str().unwrap())
            .collect();
        assert_eq!(bodies, ["Let me look.", "It left the warehouse today."]);
        assert_eq!(t["status"], "open");
    }
);

on_both_engines!(
    forged_tokens_bad_frames_and_floods_are_refused_and_others_chat_on,
    |app| {
        // A made-up token opens nothing.
        let ws = app.base.replacen("http", "ws", 1);
        let err =
            tokio_tungstenite::connect_async(format!("{ws}/api/widget/v1/ws?token=cws_forged"))
                .await
                .unwrap_err();
        assert!(err.to_string().contains("401"), "{err}");
        let (s, _) = widget(
            &app,
            reqwest::Method::GET,
            "/api/widget/v1/messages",
            "cws_forged",
            None,
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        // An agent's token is not a shopper's.
        let (s, _) = widget(
            &app,
            reqwest::Method::GET,
            "/api/widget/v1/messages",
            &app.token,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);

        let (token, _) = session(&app).await;
        let mut socket = connect(&app, &token, None).await;
        socket
            .send(Message::Text("{not json".into()))
            .await
            .unwrap();
        assert_eq!(next_of(&mut socket, "error").await["code"], "invalid_frame");
        say(&mut socket, &"x".repeat(4_001), "long").await;
        assert_eq!(
            next_of(&mut socket, "error").await["code"],
            "validation_failed"
        );
        say(&mut socket, "   ", "blank").await;
        assert_eq!(
            next_of(&mut socket, "error").await["code"],
            "validation_failed"
        );
        say(&mut socket, "still here", "ok-1").await;
        assert_eq!(next_of(&mut socket, "message").await["body"], "still here");

        // A flood: past the burst, messages are refused, not stored.
        for i in 0..12 {
            say(&mut socket, &format!("spam {i}"), &format!("spam-{i}")).await;
        }
        let mut stored = 0;
        let mut refused = 0;
        while stored + refused < 12 {
            let message = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
                .await
                .expect("a frame")
                .unwrap()
                .unwrap();
            let Message::Text(t) = message else { continue };
            let v: Value = serde_json::from_str(&t).unwrap();
            match v["type"].as_str() {
                Some("message")
                    if v["client_id"]
                        .as_str()
                        .is_some_and(|c| c.starts_with("spam-")) =>
                {
                    stored += 1
                }
                Some("error") => {
                    assert_eq!(v["code"], "rate_limited");
                    refused += 1;
                }
                _ => {}
            }
        }
        assert!(refused >= 3, "{stored} stored, {refused} refused");

        // An oversized frame closes that socket; another shopper's chat is untouched.
        let (other_token, _) = session(&app).await;
        let mut other = connect(&app, &other_token, None).await;
        socket
            .send(Message::Text("y".repeat(20 * 1024).into()))
            .await
            .ok();
        let closed = loop {
            match tokio::time::timeout(std::time::Duration::from_secs(10), socket.next()).await {
                Ok(Some(Ok(Message::Text(_)))) => continue,
                Ok(_) => break true,
                Err(_) => break false,
            }
        };
        assert!(closed, "the oversized frame ended that socket");
        say(&mut other, "hello from another shopper", "o-1").await;
        assert_eq!(
            next_of(&mut other, "message").await["body"],
            "hello from another shopper"
        );
    }
);

on_both_engines!(
    a_verified_session_joins_its_customer_and_a_forged_one_is_refused,
    |s| s.widget_identity_secret = Some(IDENTITY_SECRET.into()),
    |app| {
        // Ann is a customer already (she wrote by email).
        let (_, c) = app
            .post(
                "/api/v1/conversations",
                conversation("ann@example.com", "email", "Hi", "an earlier question"),
            )
            .await;
        let ann = c["customer"]["id"].as_str().unwrap().to_owned();

        let v = anns_session(&app).await;
        let token = v["session_token"].as_str().unwrap();
        let (s, _) = widget(
            &app,
            reqwest::Method::POST,
            "/api/widget/v1/messages",
            token,
            Some(json!({"body": "hello again"})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
        let (_, chat) = app
            .get(&format!(
                "/api/v1/conversations/{}",
                v["conversation_id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(chat["customer"]["id"], ann.as_str(), "the chat is Ann's");

        // A signature over another address, or by another secret, is refused.
        let forged = concierge_commerce::signature::sign_hex(b"guess", b"ann@example.com");
        for sig in [forged.as_str(), "00", "not hex"] {
            let (s, v) = open_session(
                &app,
                json!({"identity": {"email": "ann@example.com", "signature": sig}}),
            )
            .await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
            assert_eq!(v["error"]["code"], "invalid_signature");
        }
        // Claiming an address without the shop's word is allowed, but not verified.
        let (s, v) = open_session(&app, json!({"email": "ann@example.com"})).await;
        assert_eq!(s, StatusCode::CREATED);
        assert_eq!(v["verified"], false);
        let (s, v) = open_session(&app, json!({"email": "not an address"})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(v["error"]["field"], "email");
        let (s, _) = open_session(&app, json!({"admin": true})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    }
);

on_both_engines!(without_a_secret_no_session_claims_verification, |app| {
    let (s, v) = open_session(
        &app,
        json!({"identity": {"email": "ann@example.com", "signature": "00"}}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "identity");
});

/// The conversation once the assistant has handed it over (its note to the team is the last
/// thing it writes), and that note.
async fn handed_over(app: &App, conversation: &str) -> (Value, String) {
    let note = |c: &Value| {
        c["messages"].as_array().and_then(|ms| {
            ms.iter()
                .find(|m| m["sender_type"] == "system" && m["private"] == true)
                .map(|m| m["body"].as_str().unwrap_or("").to_owned())
        })
    };
    let path = format!("/api/v1/conversations/{conversation}");
    eventually("the assistant's note to the team", || async {
        note(&app.get(&path).await.1).is_some()
    })
    .await;
    let (_, c) = app.get(&path).await;
    let text = note(&c).unwrap_or_default();
    (c, text)
}

/// The next message from the assistant.
async fn next_bot(socket: &mut Socket) -> String {
    loop {
        let m = next_of(socket, "message").await;
        if m["sender_type"] == "bot" {
            return m["body"].as_str().unwrap().to_owned();
        }
    }
}

on_both_engines!(
    the_assistant_tells_a_verified_shopper_where_their_order_is,
    |s| s.widget_identity_secret = Some(IDENTITY_SECRET.into()),
    |app| {
        let (order, shipment) = app
            .shipped_order("ann@example.com", "#1042", "JD014600")
            .await;
        let (s, _) = app
            .post(
                &format!("/api/v1/shipments/{shipment}/events"),
                json!({"status": "in_transit", "occurred_at": "2026-11-21T08:30:00Z", "location": "Leipzig hub"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);

        let v = anns_session(&app).await;
        let token = v["session_token"].as_str().unwrap();
        let conversation = v["conversation_id"].as_str().unwrap().to_owned();
        let mut socket = connect(&app, token, None).await;
        say(
            &mut socket,
            "hi! where's my order? it's been a while",
            "t-1",
        )
        .await;
        let answer = next_bot(&mut socket).await;
        assert!(answer.contains("#1042"), "{answer}");
        assert!(answer.contains("shipped"), "{answer}");
        assert!(
            answer.contains("DHL parcel JD014600: On its way"),
            "{answer}"
        );
        assert!(answer.contains("Leipzig hub"), "{answer}");
        assert!(answer.contains("Expected by"), "{answer}");
        assert!(answer.contains(&format!("{}/track/", app.base)), "{answer}");

        // The order it looked at sits beside the conversation for the team.
        let (_, c) = app
            .get(&format!("/api/v1/conversations/{conversation}"))
            .await;
        assert_eq!(c["intent"], "track_order");
        let (_, orders) = app
            .get(&format!(
                "/api/v1/orders?customer_id={}",
                c["customer"]["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(orders["items"][0]["id"], order.as_str());
    }
);

on_both_engines!(
    the_assistant_never_shows_orders_to_an_unverified_shopper_and_hands_over_with_the_story,
    |app| {
        // Bob has an order; someone typing his address into the widget does not see it.
        let (s, _) = app
        .post(
            "/api/v1/orders",
            json!({"external_id": "ext-7", "number": "#7007", "customer": {"email": "bob@example.com"},
                "status": "open", "financial_status": "paid", "fulfillment_status": "unfulfilled", "currency": "EUR",
                "total": "10.00", "placed_at": "2026-11-20T10:00:00Z",
                "line_items": [{"sku": "S", "title": "Socks", "quantity": 1, "price": "10.00"}]}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
        let (_, v) = open_session(&app, json!({"email": "bob@example.com", "name": "Bob"})).await;
        assert_eq!(v["verified"], false);
        let token = v["session_token"].as_str().unwrap();
        let conversation = v["conversation_id"].as_str().unwrap().to_owned();
        let mut socket = connect(&app, token, None).await;
        say(&mut socket, "where is my order?", "u-1").await;
        let answer = next_bot(&mut socket).await;
        assert!(!answer.contains("7007"), "{answer}");
        assert!(
            answer.contains("its number together with the email address or the postcode"),
            "{answer}"
        );

        say(&mut socket, "can I talk to a real person please", "u-2").await;
        let answer = next_bot(&mut socket).await;
        assert!(answer.contains("passing you to a person"), "{answer}");
        let (c, note) = handed_over(&app, &conversation).await;
        assert_eq!(c["status"], "open");
        assert!(note.contains("the shopper asked for a person"), "{note}");
        assert!(
            note.contains("Shopper [track_order]: where is my order?"),
            "{note}"
        );
        assert!(note.contains("Assistant: I can look that up"), "{note}");

        // From now on the team answers: the assistant stays quiet.
        say(&mut socket, "hello?", "u-3").await;
        assert_eq!(next_of(&mut socket, "message").await["client_id"], "u-3");
        app.post(
            &format!("/api/v1/conversations/{conversation}/messages"),
            json!({"body": "Hi Bob, Sam here."}),
        )
        .await;
        let next = next_of(&mut socket, "message").await;
        assert_eq!(next["sender_type"], "agent", "{next}");

        // The agent hands the chat back: the assistant answers again.
        let (s, v) = app
            .send(
                reqwest::Method::PUT,
                &format!("/api/v1/conversations/{conversation}/assistant"),
                Some(json!({"active": true})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        // The number alone proves nothing.
        say(&mut socket, "where is my order #7007?", "u-4").await;
        let answer = next_bot(&mut socket).await;
        assert!(answer.contains("couldn't match"), "{answer}");
        assert!(!answer.contains("Socks"), "{answer}");
        // Only a chat has an assistant.
        let (_, email) = app
            .post(
                "/api/v1/conversations",
                support::conversation("bob@example.com", "email", "Hi", "hello"),
            )
            .await;
        let (s, _) = app
            .send(
                reqwest::Method::PUT,
                &format!(
                    "/api/v1/conversations/{}/assistant",
                    email["id"].as_str().unwrap()
                ),
                Some(json!({"active": true})),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
);

on_both_engines!(a_complaint_is_urgent_and_two_misses_hand_over, |app| {
    let (token, conversation) = session(&app).await;
    let mut socket = connect(&app, &token, None).await;
    say(
        &mut socket,
        "This is outrageous, the worst service I've ever had. I want to file a complaint.",
        "c-1",
    )
    .await;
    assert!(next_bot(&mut socket).await.contains("urgent"));
    let (c, note) = handed_over(&app, &conversation).await;
    assert_eq!(c["priority"], "high");
    assert!(note.contains("complaining"), "{note}");

    let (token, conversation) = session(&app).await;
    let mut socket = connect(&app, &token, None).await;
    say(&mut socket, "blorp zzzk qwx", "m-1").await;
    assert!(next_bot(&mut socket).await.contains("say it another way"));
    say(&mut socket, "vrrm plix", "m-2").await;
    assert!(next_bot(&mut socket)
        .await
        .contains("can't answer that one"));
    let (_, note) = handed_over(&app, &conversation).await;
    assert!(note.contains("could not answer twice in a row"), "{note}");
});

/// Bob's order #7007, not shipped yet, going to postcode 10115.
async fn bobs_order(app: &App) {
    let (s, v) = app
        .post(
            "/api/v1/orders",
            json!({"external_id": "ext-7", "number": "#7007", "customer": {"email": "bob@example.com"},
                "status": "open", "financial_status": "paid", "fulfillment_status": "unfulfilled", "currency": "EUR",
                "total": "10.00", "placed_at": "2026-11-20T10:00:00Z",
                "line_items": [{"sku": "S", "title": "Socks", "quantity": 1, "price": "10.00"}],
                "shipping_address": {"name": "Bob", "address1": "Invalidenstr. 1", "zip": "10115", "city": "Berlin", "country": "DE"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

on_both_engines!(
    a_shopper_proves_an_order_with_its_postcode_and_asks_to_cancel_it_before_it_ships,
    |app| {
        bobs_order(&app).await;
        let (token, conversation) = session(&app).await;
        let mut socket = connect(&app, &token, None).await;
        say(&mut socket, "hi, where is my order?", "p-1").await;
        assert!(next_bot(&mut socket).await.contains("postcode"));
        // A wrong address: no order data, and no hint of which part was wrong.
        say(&mut socket, "#7007 eve@example.com", "p-2").await;
        let answer = next_bot(&mut socket).await;
        assert!(answer.contains("couldn't match"), "{answer}");
        assert!(!answer.contains("prepared"), "{answer}");
        // The number with its postcode answers the question still waiting.
        say(&mut socket, "it's 7007, postcode 10115", "p-3").await;
        let answer = next_bot(&mut socket).await;
        assert!(answer.contains("Your order #7007"), "{answer}");
        assert!(answer.contains("being prepared"), "{answer}");
        // The proven order is theirs for the rest of the chat, by its number too …
        say(&mut socket, "where is #7007 now?", "p-3b").await;
        let answer = next_bot(&mut socket).await;
        assert!(answer.contains("Your order #7007"), "{answer}");
        // … and it has not shipped, so a person can still cancel it, and gets the request.
        say(&mut socket, "actually, please cancel it", "p-4").await;
        let answer = next_bot(&mut socket).await;
        assert!(answer.contains("hasn't shipped yet"), "{answer}");
        assert!(
            answer.contains("No one from our team is online"),
            "{answer}"
        );
        let (c, note) = handed_over(&app, &conversation).await;
        assert_eq!(c["status"], "open");
        assert!(note.contains("wants an order changed"), "{note}");
        assert!(note.contains("Shopper [cancel_order]"), "{note}");
        assert!(note.contains("- #7007 (being prepared"), "{note}");
    }
);

on_both_engines!(guessing_order_proofs_is_throttled_across_chats, |app| {
    bobs_order(&app).await;
    // Three wrong proofs end the checks in a chat.
    let (token, conversation) = session(&app).await;
    let mut socket = connect(&app, &token, None).await;
    for (n, guess) in ["#7007 a@example.com", "#7007 b@example.com"]
        .iter()
        .enumerate()
    {
        say(&mut socket, guess, &format!("g-{n}")).await;
        assert!(next_bot(&mut socket).await.contains("couldn't match"));
    }
    say(&mut socket, "#7007 c@example.com", "g-3").await;
    let answer = next_bot(&mut socket).await;
    assert!(answer.contains("can't check more orders"), "{answer}");
    let (_, note) = handed_over(&app, &conversation).await;
    assert!(note.contains("could not prove an order"), "{note}");

    // A new chat gets two more tries at that order number, then it is locked for an hour,
    // even with the right address.
    let (token, _) = session(&app).await;
    let mut socket = connect(&app, &token, None).await;
    for (n, guess) in ["7007 d@example.com", "7007 e@example.com"]
        .iter()
        .enumerate()
    {
        say(&mut socket, guess, &format!("h-{n}")).await;
        assert!(next_bot(&mut socket).await.contains("couldn't match"));
    }
    let (token, _) = session(&app).await;
    let mut socket = connect(&app, &token, None).await;
    say(&mut socket, "#7007 bob@example.com", "i-1").await;
    let answer = next_bot(&mut socket).await;
    assert!(answer.contains("can't check more orders"), "{answer}");
    assert!(!answer.contains("prepared"), "{answer}");

    // Another order is not locked by guesses at #7007.
    let (s, _) = app
        .post(
            "/api/v1/orders",
            json!({"external_id": "ext-8", "number": "#8008", "customer": {"email": "cy@example.com"},
                "status": "open", "financial_status": "paid", "fulfillment_status": "unfulfilled", "currency": "EUR",
                "total": "12.00", "placed_at": "2026-11-20T10:00:00Z",
                "line_items": [{"sku": "S", "title": "Socks", "quantity": 1, "price": "12.00"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (token, _) = session(&app).await;
    let mut socket = connect(&app, &token, None).await;
    say(&mut socket, "where is #8008? cy@example.com", "j-1").await;
    let answer = next_bot(&mut socket).await;
    assert!(answer.contains("Your order #8008"), "{answer}");
});

on_both_engines!(
    a_shipped_order_is_not_cancelled_and_the_shopper_is_told_why,
    |s| s.widget_identity_secret = Some(IDENTITY_SECRET.into()),
    |app| {
        app.shipped_order("ann@example.com", "#1042", "JD014600")
            .await;
        let v = anns_session(&app).await;
        let token = v["session_token"].as_str().unwrap();
        let mut socket = connect(&app, token, None).await;
        say(&mut socket, "I want to cancel my order", "k-1").await;
        let answer = next_bot(&mut socket).await;
        assert!(
            answer.contains("#1042 has already shipped, so it can't be cancelled"),
            "{answer}"
        );
        assert!(answer.contains("/track/"), "{answer}");
        // Not handed over: the assistant still answers.
        say(&mut socket, "ok, where is it now?", "k-2").await;
        let answer = next_bot(&mut socket).await;
        assert!(answer.contains("DHL parcel JD014600"), "{answer}");
    }
);

on_both_engines!(an_angry_shopper_goes_to_a_person_who_is_online, |app| {
    // An agent has the workspace open.
    app.create_agent("sam@example.com", "Sam Rivera", "correct horse battery")
        .await;
    let store = app.store();
    let agents = store.agents().await.unwrap();
    let sam = agents
        .iter()
        .find(|a| a.email == "sam@example.com")
        .unwrap();
    store.agent_seen(&sam.id).await.unwrap();
    let (token, conversation) = session(&app).await;
    let mut socket = connect(&app, &token, None).await;
    say(
        &mut socket,
        "Where the hell is my parcel?! Three weeks of waiting, this is absolutely pathetic and I'm furious.",
        "a-1",
    )
    .await;
    let answer = next_bot(&mut socket).await;
    assert!(answer.contains("urgent"), "{answer}");
    assert!(
        answer.contains("Someone from our team is online"),
        "{answer}"
    );
    let (c, note) = handed_over(&app, &conversation).await;
    assert_eq!(c["priority"], "high");
    assert!(note.contains("sounds upset"), "{note}");
    assert!(note.contains("Shopper [track_order]"), "{note}");
});

/// Sends a file as the widget does: the raw bytes with their type.
async fn send_file(
    app: &App,
    token: &str,
    name: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .post(format!(
            "{}/api/widget/v1/files?filename={name}&client_id=f-{name}",
            app.base
        ))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

on_both_engines!(
    a_shopper_sends_a_photo_and_the_team_gets_it_and_nothing_else_passes,
    |app| {
        let (token, conversation) = session(&app).await;
        let mut socket = connect(&app, &token, None).await;
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
        png.extend_from_slice(&[0u8; 64]);
        let (s, m) = send_file(&app, &token, "damaged box.png", "image/png", png.clone()).await;
        assert_eq!(s, StatusCode::CREATED, "{m}");
        assert_eq!(m["body"], "damaged-box.png", "the name made safe");
        assert_eq!(m["attachments"][0]["content_type"], "image/png");
        // The socket sees it too; sent again, it is stored once.
        let echoed = next_of(&mut socket, "message").await;
        assert_eq!(echoed["id"], m["id"]);
        let (s, again) = send_file(&app, &token, "damaged box.png", "image/png", png).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(again["id"], m["id"]);

        // A page labelled as a photo, an SVG, and a file past the limit are refused.
        let (s, v) = send_file(
            &app,
            &token,
            "x.png",
            "image/png",
            b"<html><script>alert(1)</script>".to_vec(),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"]["field"], "content_type");
        let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>".to_vec();
        let (s, _) = send_file(&app, &token, "x.svg", "image/svg+xml", svg).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let mut big = b"%PDF-1.7\n".to_vec();
        big.resize(concierge_chat::MAX_CHAT_FILE_BYTES + 1, b' ');
        let (s, v) = send_file(&app, &token, "big.pdf", "application/pdf", big).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");

        // The team sees the photo attached; the assistant did not answer a file.
        let (_, msgs) = app
            .get(&format!("/api/v1/conversations/{conversation}/messages"))
            .await;
        let items = msgs["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{msgs}");
        assert_eq!(items[0]["attachments"][0]["filename"], "damaged-box.png");
        // The assistant answers words, as before.
        say(&mut socket, "can I talk to a person?", "f-2").await;
        assert!(next_bot(&mut socket)
            .await
            .contains("passing you to a person"));
    }
);

on_both_engines!(
    the_widget_routes_share_the_per_address_rate_limit,
    |s| s.rate_limit_per_second = 2,
    |app| {
        // One address opening chat after chat is stopped; nothing past the limit is stored.
        let mut refused = 0;
        for i in 0..12 {
            let (s, v) = open_session(&app, json!({ "name": format!("Bot {i}") })).await;
            match s {
                StatusCode::CREATED => {}
                StatusCode::TOO_MANY_REQUESTS => {
                    assert_eq!(v["error"]["code"], "rate_limited", "{v}");
                    refused += 1;
                }
                other => panic!("unexpected {other}: {v}"),
            }
        }
        assert!(
            refused > 0,
            "a flood of sessions from one address is refused"
        );
    }
);

/// What the fake language model was asked: each request's `Authorization` and body.
type Asked = std::sync::Arc<std::sync::Mutex<Vec<(Option<String>, Value)>>>;

/// A fake OpenAI-compatible chat-completions endpoint on loopback: it keeps what it was
/// asked and answers with `reply(answer to reword)`.
async fn fake_language_model(reply: fn(&str) -> String) -> (String, Asked) {
    use axum::routing::post;
    let asked: Asked = Default::default();
    let kept = asked.clone();
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        post(move |headers: axum::http::HeaderMap, axum::Json(body): axum::Json<Value>| {
            let kept = kept.clone();
            async move {
                let auth = headers
                    .get("authorization")
                    .map(|v| v.to_str().unwrap().to_owned());
                let user = body["messages"][1]["content"].as_str().unwrap_or("").to_owned();
                kept.lock().unwrap().push((auth, body));
                let answer = user.split("The answer to reword:\n").nth(1).unwrap_or("");
                axum::Json(json!({"choices": [{"message": {"role": "assistant", "content": reply(answer)}}]}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/v1"), asked)
}

/// Opens a verified chat for Ann and asks where her order is; the assistant's answer.
/// A session the shop verified as ann@example.com (it signed her email): its open answer.
async fn anns_session(app: &App) -> Value {
    let signature =
        concierge_commerce::signature::sign_hex(IDENTITY_SECRET.as_bytes(), b"ann@example.com");
    let (s, v) = open_session(
        app,
        json!({"identity": {"email": "ann@example.com", "signature": signature}}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["verified"], true, "{v}");
    v
}

async fn ann_asks(app: &App) -> String {
    let v = anns_session(app).await;
    let mut socket = connect(app, v["session_token"].as_str().unwrap(), None).await;
    say(&mut socket, "where's my order?", "l-1").await;
    next_bot(&mut socket).await
}

#[tokio::test]
async fn a_configured_language_model_rewords_answers_from_the_facts_only() {
    let (url, asked) = fake_language_model(|answer| format!("Good news, Ann! {answer}")).await;
    let Some(app) = App::start_with("sqlite", move |s| {
        s.widget_identity_secret = Some(IDENTITY_SECRET.into());
        s.llm_base_url = Some(url);
        s.llm_api_key = Some("test-key".into());
        s.llm_model = "small-model".into();
    })
    .await
    else {
        return;
    };
    app.shipped_order("ann@example.com", "#1042", "JD014600")
        .await;
    let answer = ann_asks(&app).await;
    assert!(
        answer.starts_with("Good news, Ann! Your order #1042"),
        "{answer}"
    );
    let (auth, request) = asked.lock().unwrap()[0].clone();
    assert_eq!(auth.as_deref(), Some("Bearer test-key"));
    assert_eq!(request["model"], "small-model");
    let facts = request["messages"][1]["content"].as_str().unwrap();
    assert!(facts.contains("Order #1042"), "{facts}");
    assert!(facts.contains("Parcel DHL JD014600"), "{facts}");
    assert!(
        !facts.contains("ann@example.com"),
        "only the order's facts: {facts}"
    );
    app.stop().await;

    // A model that drops the tracking link is not used: the answer goes out as made.
    let (url, asked) = fake_language_model(|_| "It's on its way!".to_owned()).await;
    let Some(app) = App::start_with("sqlite", move |s| {
        s.widget_identity_secret = Some(IDENTITY_SECRET.into());
        s.llm_base_url = Some(url);
    })
    .await
    else {
        return;
    };
    app.shipped_order("ann@example.com", "#1042", "JD014600")
        .await;
    let answer = ann_asks(&app).await;
    assert!(answer.starts_with("Your order #1042"), "{answer}");
    assert_eq!(asked.lock().unwrap().len(), 1, "the model was asked");

    // Nor is it asked to word a handover: what the assistant decides is its own.
    let v = anns_session(&app).await;
    let mut socket = connect(&app, v["session_token"].as_str().unwrap(), None).await;
    say(&mut socket, "I want to talk to a human", "l-2").await;
    assert!(next_bot(&mut socket)
        .await
        .contains("passing you to a person"));
    assert_eq!(asked.lock().unwrap().len(), 1);
    app.stop().await;
}

on_both_engines!(
    a_socket_that_never_reads_is_dropped_and_holds_up_nobody,
    |s| {
        s.widget_max_sockets = 2;
        s.rate_limit_per_second = 0;
    },
    |app| {
        // A's widget stops reading (a frozen tab) while the team writes it long answers:
        // more than the connection's buffers hold.
        let (token_a, conversation_a) = session(&app).await;
        let stuck = connect(&app, &token_a, None).await;
        let res = reqwest::Client::new()
            .post(format!("{}/api/widget/v1/messages", app.base))
            .bearer_auth(&token_a)
            .json(&json!({"body": "hello", "client_id": "s-1"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let long = "x".repeat(65_000);
        for n in 0..160 {
            let (s, v) = app
                .post(
                    &format!("/api/v1/conversations/{conversation_a}/messages"),
                    json!({"body": format!("{n} {long}")}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
        }

        // B chats on meanwhile, on the other socket place.
        let (token_b, _) = session(&app).await;
        let mut socket_b = connect(&app, &token_b, None).await;
        say(&mut socket_b, "is anyone there?", "b-1").await;
        assert_eq!(next_of(&mut socket_b, "message").await["client_id"], "b-1");

        // The stuck socket is dropped (its sends time out), and its place is free again.
        eventually("the stuck socket's place is freed", || async {
            let ws = app.base.replacen("http", "ws", 1);
            tokio_tungstenite::connect_async(format!("{ws}/api/widget/v1/ws?token={token_a}"))
                .await
                .is_ok()
        })
        .await;
        drop(stuck);
        let (s, _) = app.get("/healthz").await;
        assert_eq!(s, StatusCode::OK);
    }
);

on_both_engines!(
    outside_business_hours_the_widget_and_the_assistant_say_when_the_team_is_back,
    |app| {
        // Open only tomorrow (UTC), 09:00 to 17:00: closed now, whatever the time.
        let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).date_naive();
        let day =
            concierge_domain::hours::DAYS[tomorrow.weekday().num_days_from_monday() as usize].1;
        let opens = tomorrow.and_hms_opt(9, 0, 0).unwrap().and_utc();
        let put =
            |body: Value| app.send(reqwest::Method::PUT, "/api/v1/business-hours", Some(body));

        // Each bad field is named; nothing is stored.
        for (body, field) in [
            (json!({"timezone": "Mars/Olympus", "week": {}}), "timezone"),
            (
                json!({"timezone": "UTC", "week": {"funday": ["09:00-17:00"]}}),
                "week.funday",
            ),
            (
                json!({"timezone": "UTC", "week": {"monday": ["17:00-09:00"]}}),
                "week.monday",
            ),
            (
                json!({"timezone": "UTC", "week": {"friday": ["09:00-13:00", "12:00-17:00"]}}),
                "week.friday",
            ),
            (
                json!({"timezone": "UTC", "week": {}, "closed_dates": ["25/12/2026"]}),
                "closed_dates",
            ),
        ] {
            let (s, v) = put(body).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
            assert_eq!(v["error"]["field"], field, "{v}");
        }
        let (_, v) = app.get("/api/v1/business-hours").await;
        assert_eq!(v["always_open"], true, "{v}");

        let (s, v) = put(json!({
            "timezone": "UTC",
            "week": { day: ["09:00-17:00"] },
            "closed_dates": ["2099-12-25"],
        }))
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["open_now"], false, "{v}");
        let next = |v: &Value| {
            chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap_or_default())
                .map(|t| t.with_timezone(&chrono::Utc))
                .ok()
        };
        assert_eq!(next(&v["next_opening"]), Some(opens), "{v}");
        let (_, v) = app.get("/api/v1/business-hours").await;
        assert_eq!(v["week"][day][0], "09:00-17:00", "{v}");
        assert_eq!(
            v["week"]["sunday"].as_array().map(Vec::len),
            Some(usize::from(day == "sunday")),
            "{v}"
        );
        assert_eq!(v["closed_dates"][0], "2099-12-25", "{v}");

        // The widget is told the team is away and when it is back.
        let team = widget_team(&app).await;
        assert_eq!(team["online"], false, "{team}");
        assert_eq!(team["open"], false, "{team}");
        assert_eq!(next(&team["opens_at"]), Some(opens), "{team}");

        // Asked for a person, the assistant says the same.
        let (token, _) = session(&app).await;
        let mut socket = connect(&app, &token, None).await;
        say(&mut socket, "can I talk to a person please?", "h-1").await;
        let answer = next_bot(&mut socket).await;
        assert!(
            answer.contains(&format!(
                "Our team is away right now and back {}, 09:00 UTC.",
                tomorrow.format("%A, %-d %B")
            )),
            "{answer}"
        );

        // Dropped, the shop is always open again.
        let (s, v) = app
            .send(reqwest::Method::DELETE, "/api/v1/business-hours", None)
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["always_open"], true, "{v}");
        let team = widget_team(&app).await;
        assert_eq!(team["open"], true, "{team}");
        assert_eq!(team["opens_at"], Value::Null, "{team}");
    }
);

on_both_engines!(
    business_hours_that_are_refused_name_every_bad_day_and_how_to_write_it,
    |app| {
        let (s, v) = app
            .send(
                reqwest::Method::PUT,
                "/api/v1/business-hours",
                Some(json!({
                    "timezone": "Europe/Berlin",
                    "week": {
                        "monday": ["9-17"],
                        "wednesday": ["09:00-17:00"],
                        "friday": ["09:00-12:00", "9"],
                        "funday": ["09:00-17:00"],
                    },
                    "closed_dates": ["2026-12-24", "25.12.2026"],
                })),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let error = &v["error"];
        assert_eq!(error["code"], "validation_failed", "{v}");
        // The first bad field, Monday first, as the error format names one.
        assert_eq!(error["field"], "week.monday", "{v}");
        // Each bad field with its own words, in the order of the form.
        let fields: Vec<(&str, &str)> = error["fields"]
            .as_array()
            .unwrap_or_else(|| panic!("no list of fields: {v}"))
            .iter()
            .map(|f| (f["field"].as_str().unwrap(), f["message"].as_str().unwrap()))
            .collect();
        assert_eq!(
            fields,
            [
                (
                    "week.monday",
                    "`9-17` is not a span of time: write it as 09:00-17:00"
                ),
                ("week.friday", "`9` is not a span like 09:00-17:00"),
                ("week.funday", "not a day: monday to sunday"),
                (
                    "closed_dates",
                    "`25.12.2026` is not a date: write it as 2026-12-25"
                ),
            ],
            "{v}"
        );
        // The message alone says all of it.
        let message = error["message"].as_str().unwrap();
        for (field, words) in &fields {
            assert!(message.contains(&format!("{field}: {words}")), "{message}");
        }
        let (_, v) = app.get("/api/v1/business-hours").await;
        assert_eq!(v["always_open"], true, "nothing was stored: {v}");
    }
);

on_both_engines!(
    the_widget_and_the_assistant_say_one_time_for_when_the_team_is_back,
    |app| {
        // A shop in Berlin open only the day after tomorrow: closed now, wherever the day
        // is in Berlin.
        let day_after = (chrono::Utc::now() + chrono::Duration::days(2)).date_naive();
        let day =
            concierge_domain::hours::DAYS[day_after.weekday().num_days_from_monday() as usize].1;
        app.set_hours(json!({"timezone": "Europe/Berlin", "week": { day: ["09:00-17:00"] }}))
            .await;

        // The widget is told when, as the shop's clock says it.
        let team = widget_team(&app).await;
        let opens = team["opens"].as_str().unwrap_or_else(|| panic!("{team}"));
        let weekday = day_after.format("%A").to_string();
        let date = day_after.format("%-d %B").to_string();
        assert!(
            opens.starts_with(&format!("{weekday}, {date}, 09:00 ")),
            "{team}"
        );

        // Asked for a person, the assistant says the very same.
        let (token, _) = session(&app).await;
        let mut socket = connect(&app, &token, None).await;
        say(&mut socket, "can I talk to a person please?", "b-1").await;
        let answer = next_bot(&mut socket).await;
        assert!(
            answer.contains(&format!("back {opens}.")),
            "{answer} / {opens}"
        );
    }
);

/// What the widget is told about the team (`GET /api/widget/v1/team`).
async fn widget_team(app: &App) -> Value {
    reqwest::get(format!("{}/api/widget/v1/team", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Opens a widget socket from `source` (any address of 127.0.0.0/8 is this machine), or
/// the status it was refused with.
async fn connect_from(app_base: &str, token: &str, source: [u8; 4]) -> Result<Socket, u16> {
    let url = format!(
        "{}/api/widget/v1/ws?token={token}",
        app_base.replacen("http", "ws", 1)
    );
    let server: std::net::SocketAddr = app_base.trim_start_matches("http://").parse().unwrap();
    let tcp = tokio::net::TcpSocket::new_v4().unwrap();
    tcp.bind((std::net::Ipv4Addr::from(source), 0).into())
        .unwrap();
    let stream = tcp.connect(server).await.map_err(|_| 0u16)?;
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    match tokio_tungstenite::client_async(url, stream).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(_) => Err(0),
    }
}

on_both_engines!(
    a_chat_session_and_a_client_address_have_their_share_of_sockets,
    |s| s.widget_max_sockets_per_address = 8,
    |app| {
        // One session: five sockets (tabs), not a sixth, until one closes.
        let (ann, _) = session(&app).await;
        let mut anns = Vec::new();
        for _ in 0..5 {
            anns.push(connect_from(&app.base, &ann, [127, 0, 4, 1]).await.unwrap());
        }
        assert_eq!(
            connect_from(&app.base, &ann, [127, 0, 4, 2]).await.err(),
            Some(429)
        );
        drop(anns.pop());
        // The server hears the close when it next reads; until then the place is held.
        let mut reopened = None;
        for _ in 0..500 {
            match connect_from(&app.base, &ann, [127, 0, 4, 1]).await {
                Ok(socket) => {
                    reopened = Some(socket);
                    break;
                }
                Err(429) => tokio::task::yield_now().await,
                Err(other) => panic!("refused with {other}"),
            }
        }
        anns.push(reopened.expect("a closed tab's place is given back"));

        // One address: eight sockets over any sessions, then no more from there.
        let (bob, _) = session(&app).await;
        let mut bobs = Vec::new();
        for _ in 0..3 {
            bobs.push(connect_from(&app.base, &bob, [127, 0, 4, 1]).await.unwrap());
        }
        let (cat, _) = session(&app).await;
        assert_eq!(
            connect_from(&app.base, &cat, [127, 0, 4, 1]).await.err(),
            Some(429)
        );
        // Another address is not held up.
        let mut cats = connect_from(&app.base, &cat, [127, 0, 4, 3]).await.unwrap();
        assert_eq!(next_of(&mut cats, "status").await["status"], "new");
    }
);

/// Runs the real binary with at most `open_files` file descriptors (soft and hard).
async fn serve_with_open_files(
    open_files: u64,
    dir: &std::path::Path,
) -> (tokio::process::Child, String, std::net::SocketAddr) {
    use tokio::io::AsyncBufReadExt;
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_concierge"));
    command
        .arg("serve")
        .env("CONCIERGE_DATA_DIR", dir)
        .env("CONCIERGE_HTTP_ADDR", "127.0.0.1:0")
        .env("CONCIERGE_SMTP_ADDR", "127.0.0.1:0")
        .env_remove("CONCIERGE_DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    // SAFETY: setrlimit is async-signal-safe, and nothing else runs in the child before exec.
    unsafe {
        command
            .pre_exec(move || rlimit::setrlimit(rlimit::Resource::NOFILE, open_files, open_files));
    }
    let mut child = command.spawn().expect("start concierge serve");
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let listening = loop {
        let line = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
            .await
            .expect("the service starts in time")
            .unwrap()
            .expect("the service runs");
        if line.contains("listening http=") {
            break line;
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let field = |name: &str| {
        listening
            .split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .unwrap()
            .to_owned()
    };
    (
        child,
        format!("http://{}", field("http=")),
        field("smtp=").parse().unwrap(),
    )
}

#[tokio::test]
async fn a_flood_of_chat_sockets_leaves_room_for_the_health_check_new_chats_and_mail() {
    let dir = std::env::temp_dir().join(format!("concierge-fd-{}", unique()));
    // 512 descriptors: 600 sockets would take them all.
    let (_service, base, smtp) = serve_with_open_files(512, &dir).await;
    let mut open = Vec::new();
    let mut refused = 0;
    for batch in 0..12u8 {
        let tries = (0..50u8).map(|i| {
            let source = [127, 0, 5 + batch, 1 + i % 25];
            let base = base.clone();
            async move {
                let from_source = reqwest::Client::builder()
                    .local_address(std::net::IpAddr::from(source))
                    .build()
                    .unwrap();
                let v: Value = from_source
                    .post(format!("{base}/api/widget/v1/sessions"))
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let token = v["session_token"].as_str().unwrap().to_owned();
                tokio::time::timeout(
                    std::time::Duration::from_secs(20),
                    connect_from(&base, &token, source),
                )
                .await
                .unwrap_or(Err(0))
            }
        });
        for result in futures::future::join_all(tries).await {
            match result {
                Ok(socket) => open.push(socket),
                Err(503) => refused += 1,
                Err(other) => panic!("a socket was refused with {other}"),
            }
        }
    }
    assert!(refused > 0, "all {} sockets opened", open.len());

    // With every chat socket the service allows open, it still answers.
    let client = reqwest::Client::new();
    let health = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        client.get(format!("{base}/healthz")).send(),
    )
    .await
    .expect("the health check is answered")
    .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let new = client
        .post(format!("{base}/api/widget/v1/sessions"))
        .json(&json!({"name": "Late Shopper"}))
        .send()
        .await
        .unwrap();
    assert_eq!(new.status(), StatusCode::CREATED);
    let mut mail = tokio::net::TcpStream::connect(smtp).await.unwrap();
    let mut greeting = [0u8; 3];
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        tokio::io::AsyncReadExt::read_exact(&mut mail, &mut greeting),
    )
    .await
    .expect("the SMTP listener greets")
    .unwrap();
    assert_eq!(&greeting, b"220");
    drop(open);
    let _ = std::fs::remove_dir_all(&dir);
}

on_both_engines!(without_a_mail_relay_a_chat_is_told_no_mail_goes, |app| {
    // The default settings have no outbound relay.
    let (token, _) = session(&app).await;
    let (s, _) = widget(
        &app,
        reqwest::Method::POST,
        "/api/widget/v1/messages",
        &token,
        Some(json!({"body": "hello", "client_id": "m-1"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = widget(
        &app,
        reqwest::Method::POST,
        "/api/widget/v1/email",
        &token,
        Some(json!({"email": "ann@example.com"})),
    )
    .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["error"]["code"], "mail_unavailable");
    let (s, v) = widget(
        &app,
        reqwest::Method::POST,
        "/api/widget/v1/transcript",
        &token,
        Some(json!({})),
    )
    .await;
    // No address was kept, so the transcript still asks for one; with one given at the
    // start, it is refused as unsendable.
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, opened) = open_session(&app, json!({"email": "bo@example.com"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let token = opened["session_token"].as_str().unwrap();
    widget(
        &app,
        reqwest::Method::POST,
        "/api/widget/v1/messages",
        token,
        Some(json!({"body": "hi", "client_id": "m-2"})),
    )
    .await;
    let (s, v) = widget(
        &app,
        reqwest::Method::POST,
        "/api/widget/v1/transcript",
        token,
        Some(json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["error"]["code"], "mail_unavailable");
    // Nothing was queued that no worker would send.
    let (s, jobs) = app.get("/api/v1/jobs?status=queued").await;
    assert_eq!(s, StatusCode::OK, "{jobs}");
    let kinds: Vec<&str> = jobs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|j| j["kind"].as_str())
        .collect();
    assert!(kinds.iter().all(|k| !k.starts_with("chat.")), "{kinds:?}");
});

/// A widget session opened from `source` (any address of 127.0.0.0/8 is this machine).
async fn session_from(app: &App, source: [u8; 4]) -> String {
    let v: Value = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(source))
        .build()
        .unwrap()
        .post(format!("{}/api/widget/v1/sessions", app.base))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["session_token"].as_str().unwrap().to_owned()
}

on_both_engines!(
    sweeping_order_numbers_from_one_place_is_stopped_and_a_postcode_shows_less,
    |app| {
        let (s, order) = app
            .post(
                "/api/v1/orders",
                json!({"external_id": "ext-5", "number": "#5005", "customer": {"email": "cy@example.com"},
                    "status": "open", "financial_status": "paid", "fulfillment_status": "fulfilled", "currency": "EUR",
                    "total": "20.00", "placed_at": "2026-11-20T10:00:00Z",
                    "line_items": [{"sku": "S", "title": "Socks", "quantity": 2, "price": "10.00"}],
                    "shipping_address": {"name": "Cy", "address1": "Hauptstr. 5", "zip": "SW1A 1AA", "city": "London", "country": "GB"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{order}");
        let (s, v) = app
            .post(
                &format!("/api/v1/orders/{}/shipments", order["id"].as_str().unwrap()),
                json!({"carrier": "DHL", "tracking_number": "TRACK5005", "status": "in_transit"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");

        // One place sweeps numbers with one postcode over many chats (three misses end each
        // chat; no number is tried twice): after ten misses it is not checked any more, even
        // when it hits.
        let sweeper = [127, 0, 7, 1];
        let mut guess = 9000;
        for misses in [3, 3, 3, 1] {
            let token = session_from(&app, sweeper).await;
            let mut socket = connect(&app, &token, None).await;
            for _ in 0..misses {
                guess += 1;
                say(
                    &mut socket,
                    &format!("#{guess} SW1A 1AA"),
                    &format!("s-{guess}"),
                )
                .await;
                let answer = next_bot(&mut socket).await;
                assert!(
                    answer.contains("couldn't match") || answer.contains("can't check more orders"),
                    "{answer}"
                );
            }
        }
        let token = session_from(&app, sweeper).await;
        let mut socket = connect(&app, &token, None).await;
        say(&mut socket, "#5005 SW1A 1AA", "s-hit").await;
        let answer = next_bot(&mut socket).await;
        assert!(answer.contains("can't check more orders"), "{answer}");
        assert!(
            !answer.contains("5005") || !answer.contains("parcel"),
            "{answer}"
        );

        // Elsewhere, the postcode proves the order, and tells its state only.
        let token = session_from(&app, [127, 0, 7, 2]).await;
        let mut socket = connect(&app, &token, None).await;
        say(&mut socket, "#5005 SW1A 1AA", "c-1").await;
        let answer = next_bot(&mut socket).await;
        assert!(answer.contains("Your order #5005"), "{answer}");
        assert!(answer.contains("Parcel: On its way."), "{answer}");
        assert!(
            !answer.contains("TRACK5005") && !answer.contains("DHL") && !answer.contains("/track/"),
            "{answer}"
        );
        assert!(
            answer.contains("email address you ordered with"),
            "{answer}"
        );
        // With the email beside the number, the parcel's details.
        say(&mut socket, "#5005 cy@example.com", "c-2").await;
        let answer = next_bot(&mut socket).await;
        assert!(answer.contains("DHL parcel TRACK5005"), "{answer}");
        // Given both, the email is what is checked: a wrong one fails, whatever the postcode.
        let token = session_from(&app, [127, 0, 7, 4]).await;
        let mut socket = connect(&app, &token, None).await;
        say(&mut socket, "#5005 eve@example.com SW1A 1AA", "c-3").await;
        assert!(next_bot(&mut socket).await.contains("couldn't match"));

        // Past the shop-wide share of misses in the hour, nobody is checked.
        let misses = vec![
            concierge_assistant::SHOP_WIDE_CLAIM.to_owned();
            concierge_assistant::CHECKS_PER_SHOP as usize
        ];
        app.store()
            .record_order_check_failure(&misses)
            .await
            .unwrap();
        let token = session_from(&app, [127, 0, 7, 3]).await;
        let mut socket = connect(&app, &token, None).await;
        say(&mut socket, "#5005 cy@example.com", "d-1").await;
        let answer = next_bot(&mut socket).await;
        assert!(answer.contains("can't check more orders"), "{answer}");
    }
);
