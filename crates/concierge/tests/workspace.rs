//! The agent workspace over HTTP and WebSocket, without a browser: who may see which page,
//! what pages escape, the live-update socket (order, resume, origin, limits) and the suggested
//! reply, on both engines.

#[macro_use]
mod support;

use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::*;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const PASSWORD: &str = "correct horse battery";

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The handshake request for `/api/v1/live` (with `after`, when given), carrying `headers`.
fn live_request(
    app: &App,
    after: Option<i64>,
    headers: &[(&'static str, String)],
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let ws = app.base.replacen("http", "ws", 1);
    let query = after.map_or(String::new(), |a| format!("?after={a}"));
    let mut req = format!("{ws}/api/v1/live{query}")
        .into_client_request()
        .unwrap();
    for (name, value) in headers {
        req.headers_mut().insert(*name, value.parse().unwrap());
    }
    req
}

fn bearer(app: &App) -> (&'static str, String) {
    ("authorization", format!("Bearer {}", app.token))
}

/// Opens `/api/v1/live` with the app's token (and `after`, when given).
async fn live(app: &App, after: Option<i64>) -> Socket {
    tokio_tungstenite::connect_async(live_request(app, after, &[bearer(app)]))
        .await
        .expect("the live socket opens")
        .0
}

/// The status a page answers with a session cookie.
async fn page_status(app: &App, path: &str, cookie: &str) -> StatusCode {
    app.with_cookie(reqwest::Method::GET, path, cookie)
        .send()
        .await
        .unwrap()
        .status()
}

/// The next JSON frame, skipping presence frames unless asked for.
async fn next(socket: &mut Socket, presence: bool) -> Value {
    loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .expect("a frame within 10 s")
            .expect("the socket stays open")
            .expect("a valid frame");
        if let Message::Text(t) = message {
            let v: Value = serde_json::from_str(&t).unwrap();
            if presence || v["type"] != "presence" {
                return v;
            }
        }
    }
}

on_both_engines!(live_events_arrive_in_order_and_resume_after_a_drop, |app| {
    let mut socket = live(&app, None).await;
    let hello = next(&mut socket, false).await;
    assert_eq!(hello["type"], "hello");
    let start = hello["last_event_id"].as_i64().unwrap();

    let (_, c) = app
        .post(
            "/api/v1/conversations",
            // The API channel: its replies have no delivery to report, so the events below
            // are exactly the ones this test makes.
            conversation("eve@example.com", "api", "Hi", "Hello?"),
        )
        .await;
    let id = c["id"].as_str().unwrap().to_owned();
    let created = next(&mut socket, false).await;
    assert_eq!(created["type"], "event");
    assert_eq!(created["kind"], "conversation.created");
    assert_eq!(created["conversation_id"], id.as_str());
    assert!(created["id"].as_i64().unwrap() > start);
    let seen = created["id"].as_i64().unwrap();
    socket.close(None).await.unwrap();

    // While nobody listens: a message and an assignment.
    app.post(
        &format!("/api/v1/conversations/{id}/messages"),
        json!({"body": "We are here."}),
    )
    .await;
    app.patch(
        &format!("/api/v1/conversations/{id}"),
        json!({"status": "pending"}),
    )
    .await;

    // Reconnecting after the last event seen replays exactly what was missed, in order.
    let mut socket = live(&app, Some(seen)).await;
    assert_eq!(next(&mut socket, false).await["type"], "hello");
    let first = next(&mut socket, false).await;
    assert_eq!(first["kind"], "message.created", "{first}");
    assert_eq!(first["data"]["sender_type"], "agent");
    assert_eq!(first["data"]["private"], false);
    let second = next(&mut socket, false).await;
    assert_eq!(second["kind"], "conversation.updated", "{second}");
    assert_eq!(second["data"]["status"], "pending");
    assert!(second["id"].as_i64().unwrap() > first["id"].as_i64().unwrap());
    assert!(first["id"].as_i64().unwrap() > seen);

    // And then goes on live.
    app.post(
        &format!("/api/v1/conversations/{id}/messages"),
        json!({"body": "Still there?", "sender_type": "customer"}),
    )
    .await;
    let third = next(&mut socket, false).await;
    assert_eq!(third["kind"], "message.created");
    assert_eq!(third["data"]["sender_type"], "customer");
    assert_eq!(
        third["data"]["status"], "open",
        "a customer message reopens"
    );

    // Old events are pruned; a socket asking for them gets what is left.
    let store = &app.running.as_ref().unwrap().store;
    let pruned = store
        .prune_events(chrono::Utc::now() + chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert!(pruned >= 4, "{pruned}");
    assert!(store.events_after(0, 10).await.unwrap().is_empty());
});

on_both_engines!(
    the_live_socket_checks_origin_upgrade_and_its_limit,
    |s| s.live_max_sockets = 1,
    |app| {
        // A plain GET is not a socket.
        let (status, body) = app.get("/api/v1/live").await;
        assert_eq!(status, StatusCode::UPGRADE_REQUIRED, "{body}");
        assert_eq!(body["error"]["code"], "upgrade_required");

        // Without credentials, nothing.
        let err = tokio_tungstenite::connect_async(live_request(&app, None, &[]))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("401"), "{err}");

        // A page on another site cannot ride on an agent's cookie.
        app.create_agent("sam@shop.example", "Sam Agent", PASSWORD)
            .await;
        let (cookie, _) = app.sign_in("sam@shop.example", PASSWORD).await;
        let req = live_request(
            &app,
            None,
            &[
                ("cookie", cookie),
                ("origin", "https://evil.example".into()),
            ],
        );
        let err = tokio_tungstenite::connect_async(req).await.unwrap_err();
        assert!(err.to_string().contains("403"), "{err}");

        // One socket allowed: the second is refused until the first closes.
        let mut first = live(&app, None).await;
        assert_eq!(next(&mut first, false).await["type"], "hello");
        let req = live_request(&app, None, &[bearer(&app)]);
        let err = tokio_tungstenite::connect_async(req).await.unwrap_err();
        assert!(err.to_string().contains("503"), "{err}");
    }
);

on_both_engines!(presence_tells_who_is_viewing_and_typing, |app| {
    app.create_agent("sam@shop.example", "Sam Agent", PASSWORD)
        .await;
    let (cookie, _) = app.sign_in("sam@shop.example", PASSWORD).await;
    let (_, c) = app
        .post(
            "/api/v1/conversations",
            conversation("eve@example.com", "chat", "Hi", "Hello?"),
        )
        .await;
    let id = c["id"].as_str().unwrap().to_owned();
    let req = live_request(
        &app,
        None,
        &[("cookie", cookie), ("origin", app.base.clone())],
    );
    let (mut sam, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("same-origin cookie socket");
    let mut watcher = live(&app, None).await;
    assert_eq!(next(&mut sam, false).await["type"], "hello");
    assert_eq!(next(&mut watcher, false).await["type"], "hello");

    sam.send(Message::text(
        json!({"type": "viewing", "conversation_id": id}).to_string(),
    ))
    .await
    .unwrap();
    let seen = next(&mut watcher, true).await;
    assert_eq!(seen["type"], "presence");
    assert_eq!(seen["conversation_id"], id.as_str());
    assert_eq!(seen["agents"][0]["name"], "Sam Agent");
    assert_eq!(seen["agents"][0]["typing"], false);

    sam.send(Message::text(
        json!({"type": "typing", "conversation_id": id}).to_string(),
    ))
    .await
    .unwrap();
    assert_eq!(next(&mut watcher, true).await["agents"][0]["typing"], true);

    // Leaving (or dropping the socket) clears it.
    drop(sam);
    let gone = next(&mut watcher, true).await;
    assert_eq!(gone["agents"], json!([]), "{gone}");
});

on_both_engines!(
    a_flood_of_presence_frames_reaches_other_agents_as_a_few,
    |app| {
        app.create_agent("sam@shop.example", "Sam Agent", PASSWORD)
            .await;
        let (cookie, _) = app.sign_in("sam@shop.example", PASSWORD).await;
        let mut ids = Vec::new();
        for who in ["eve", "fay", "gus"] {
            let (_, c) = app
                .post(
                    "/api/v1/conversations",
                    conversation(&format!("{who}@example.com"), "chat", "Hi", "Hello?"),
                )
                .await;
            ids.push(c["id"].as_str().unwrap().to_owned());
        }
        let req = live_request(
            &app,
            None,
            &[("cookie", cookie), ("origin", app.base.clone())],
        );
        let (mut sam, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        let mut watcher = live(&app, None).await;
        assert_eq!(next(&mut sam, false).await["type"], "hello");
        assert_eq!(next(&mut watcher, false).await["type"], "hello");
        // Sam's own socket is read all along, so nothing waits on Sam's side.
        let (mut sam, mut sam_hears) = sam.split();
        tokio::spawn(async move { while sam_hears.next().await.is_some() {} });

        // Twenty thousand frames, flipping between two conversations and typing or not, then
        // one last place to be.
        let flood = (0..20_000).map(|i| {
            let frame = if i % 2 == 0 {
                json!({"type": "viewing", "conversation_id": ids[i % 4 / 2]})
            } else {
                json!({"type": "typing", "conversation_id": ids[0], "active": i % 3 == 0})
            };
            Message::text(frame.to_string())
        });
        sam.send_all(&mut futures::stream::iter(flood).map(Ok))
            .await
            .unwrap();
        sam.send(Message::text(
            json!({"type": "viewing", "conversation_id": ids[2]}).to_string(),
        ))
        .await
        .unwrap();

        // The other agent hears a handful, ending with where Sam is now.
        let mut heard = 0;
        loop {
            let frame = next(&mut watcher, true).await;
            heard += 1;
            if frame["conversation_id"] == ids[2].as_str()
                && frame["agents"][0]["name"] == "Sam Agent"
            {
                break;
            }
        }
        assert!(
            heard <= 100,
            "{heard} presence frames for one agent's flood"
        );
    }
);

on_both_engines!(pages_need_a_session_and_admin_pages_an_admin, |app| {
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirects
        .get(format!("{}/inbox?view=mine", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login?next=/inbox%3Fview%3Dmine");
    let login = no_redirects
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let csp = login.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));

    app.create_agent("sam@shop.example", "Sam Agent", PASSWORD)
        .await;
    let (agent, csrf) = app.sign_in("sam@shop.example", PASSWORD).await;
    for path in [
        "/admin/agents",
        "/admin/tokens",
        "/admin/settings",
        "/admin/canned-replies",
    ] {
        let r = app
            .with_cookie(reqwest::Method::GET, path, &agent)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(r.text().await.unwrap().contains("for admins"));
    }
    for path in ["/inbox", "/account"] {
        assert_eq!(
            page_status(&app, path, &agent).await,
            StatusCode::OK,
            "{path}"
        );
    }
    // An agent cannot do an admin's action by calling the API either.
    let r = app
        .with_cookie(reqwest::Method::POST, "/api/v1/canned-replies", &agent)
        .header("x-csrf-token", &csrf)
        .json(&json!({"shortcut": "x", "title": "x", "body": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("admin"));

    // An admin sees the admin pages.
    let created = app
        .post(
            "/api/v1/agents",
            json!({"email": "ada@shop.example", "name": "Ada", "role": "admin", "password": PASSWORD}),
        )
        .await;
    assert_eq!(created.0, StatusCode::CREATED);
    let (admin, _) = app.sign_in("ada@shop.example", PASSWORD).await;
    for path in [
        "/admin/agents",
        "/admin/teams",
        "/admin/tags",
        "/admin/canned-replies",
        "/admin/tokens",
        "/admin/settings",
    ] {
        assert_eq!(
            page_status(&app, path, &admin).await,
            StatusCode::OK,
            "{path}"
        );
    }
    assert_eq!(
        page_status(&app, "/conversations/cnv_nope", &admin).await,
        StatusCode::NOT_FOUND
    );
});

on_both_engines!(workspace_errors_are_pages_in_its_look, |app| {
    app.create_agent("sam@shop.example", "Sam Agent", PASSWORD)
        .await;
    let (agent, _) = app.sign_in("sam@shop.example", PASSWORD).await;
    for (path, words) in [
        (
            "/conversations/cnv_00000000000000000000000000000000",
            "conversation not found",
        ),
        ("/conversations/nope", "conversation not found"),
        (
            "/conversations/cnv_00000000000000000000000000000000?fragment=thread",
            "conversation not found",
        ),
        ("/admin/no-such-page", "There is nothing at this address."),
    ] {
        let r = app
            .with_cookie(reqwest::Method::GET, path, &agent)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            r.headers()["content-type"],
            "text/html; charset=utf-8",
            "{path}"
        );
        let page = r.text().await.unwrap();
        assert!(page.starts_with("<!DOCTYPE html>"), "{path}: {page}");
        assert!(page.contains("<h1>Not found</h1>"), "{path}: {page}");
        assert!(page.contains(words), "{path}: {page}");
        assert!(
            page.contains("<link rel=\"stylesheet\" href=\"/assets/app.css?v="),
            "{path}: {page}"
        );
        assert!(page.contains("<a href=\"/inbox\">"), "a way back: {page}");
        assert!(
            !page.contains("style=") && !page.contains("\"error\""),
            "{page}"
        );
    }
    // The API beside the pages answers the same conversation in JSON.
    let r = app
        .with_cookie(
            reqwest::Method::GET,
            "/api/v1/conversations/cnv_00000000000000000000000000000000",
            &agent,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "not_found", "{e}");
});

on_both_engines!(pages_escape_what_customers_write, |app| {
    app.create_agent("sam@shop.example", "Sam Agent", PASSWORD)
        .await;
    let (cookie, _) = app.sign_in("sam@shop.example", PASSWORD).await;
    let (_, c) = app
        .post(
            "/api/v1/conversations",
            json!({"channel": "chat", "customer": {"email": "x@example.com", "name": "<script>alert(1)</script>"},
                   "subject": "\"><img src=x onerror=alert(2)>", "message": {"body": "<iframe src=javascript:alert(3)>"}}),
        )
        .await;
    let id = c["id"].as_str().unwrap();
    for path in [
        "/inbox".to_owned(),
        format!("/conversations/{id}"),
        "/inbox?q=%3Cscript%3E".to_owned(),
    ] {
        let html = app
            .with_cookie(reqwest::Method::GET, &path, &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for raw in ["<script>alert", "<img src=x", "<iframe"] {
            assert!(!html.contains(raw), "{path} carries {raw}");
        }
        assert!(
            !html.contains("<script>"),
            "{path}: no inline script at all"
        );
    }
    let html = app
        .with_cookie(
            reqwest::Method::GET,
            &format!("/conversations/{id}"),
            &cookie,
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("&lt;iframe src=javascript:alert(3)&gt;"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
});

on_both_engines!(
    a_suggested_reply_answers_the_shoppers_open_question,
    |app| {
        concierge_demo::seed_knowledge(app.store()).await.unwrap();
        app.running
            .as_ref()
            .unwrap()
            .refresh_knowledge()
            .await
            .unwrap();
        let app = &app;
        let (s, wismo) = app
        .post("/api/v1/canned-replies", json!({"shortcut": "wismo", "title": "Where is my order",
            "body": "Hi {{customer.first_name}}, your order {{order.number}} is on its way with {{shipment.carrier}}."}))
        .await;
        assert_eq!(s, StatusCode::CREATED, "{wismo}");
        let (s, refund) = app
            .post(
                "/api/v1/canned-replies",
                json!({"shortcut": "refund", "title": "When will I get my refund",
            "body": "Hi {{customer.first_name}}, refunds reach your bank within 5 days."}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{refund}");
        app.shipped_order("ann@example.com", "#1001", "JD0001")
            .await;
        let suggestion = |c: &Value| {
            let path = format!(
                "/api/v1/conversations/{}/suggestion",
                c["id"].as_str().unwrap()
            );
            async move {
                let (s, body) = app.get(&path).await;
                assert_eq!(s, StatusCode::OK, "{body}");
                body["suggestion"].clone()
            }
        };

        // The canned reply for the question's intent, filled for this shopper and their order.
        let wismo_asked = app
            .open_conversation("ann@example.com", "Parcel", "where is my order #1001?")
            .await;
        let s = suggestion(&wismo_asked).await;
        assert_eq!(s["source"], "canned_reply", "{s}");
        assert_eq!(s["id"], wismo["id"]);
        assert_eq!(s["title"], "Where is my order");
        assert_eq!(
            s["body"],
            "Hi Ann, your order #1001 is on its way with DHL."
        );
        assert_eq!(s["missing"], json!([]));
        assert_eq!(s["intent"], "track_order");
        assert_eq!(s["message_id"], wismo_asked["messages"][0]["id"]);

        // No canned reply answers a returns question: the help center's returns article does,
        // linked at its public address.
        let returns = app
            .open_conversation(
                "bo@example.com",
                "Boots",
                "Hi, I'd like to return the boots I bought, how do I do that?",
            )
            .await;
        let s = suggestion(&returns).await;
        assert_eq!(s["source"], "article", "{s}");
        let title = s["title"].as_str().unwrap();
        assert!(
            ["Returns policy", "How to start a return"].contains(&title),
            "{title}"
        );
        let body = s["body"].as_str().unwrap();
        assert!(body.starts_with("Hi Ann,\n\n"), "{body}");
        let link = body.rsplit(' ').next().unwrap();
        assert!(
            link.starts_with(&format!("{}/help/articles/", app.base)),
            "{body}"
        );
        let page = app.client.get(link).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.text().await.unwrap().contains(title));
        let (_, article) = app
            .get(&format!("/api/v1/articles/{}", s["id"].as_str().unwrap()))
            .await;
        assert_eq!(article["title"], title);

        // A note is not an answer; an agent's public reply is; the shopper's next message asks
        // again.
        let id = wismo_asked["id"].as_str().unwrap();
        let say = |body: Value| async move {
            let (s, m) = app
                .post(&format!("/api/v1/conversations/{id}/messages"), body)
                .await;
            assert_eq!(s, StatusCode::CREATED, "{m}");
        };
        say(json!({"body": "Checking with DHL.", "private": true})).await;
        assert_eq!(suggestion(&wismo_asked).await["id"], wismo["id"]);
        say(json!({"body": "It arrives tomorrow."})).await;
        assert_eq!(suggestion(&wismo_asked).await, Value::Null);
        say(json!({"body": "When will I get my refund for the old one?", "sender_type": "customer"}))
        .await;
        assert_eq!(suggestion(&wismo_asked).await["id"], refund["id"]);

        // Nothing asked, nothing suggested.
        let thanks = app
            .open_conversation("cy@example.com", "Hello", "Thanks so much!")
            .await;
        assert_eq!(suggestion(&thanks).await, Value::Null);

        // An unknown conversation is a 404 in the error format.
        for id in [
            concierge_domain::ids::ConversationId::generate().into_string(),
            "nonsense".to_owned(),
        ] {
            let (s, e) = app
                .get(&format!("/api/v1/conversations/{id}/suggestion"))
                .await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
            assert_eq!(e["error"]["code"], "not_found", "{e}");
        }

        // The OpenAPI document describes it.
        let (_, doc) = app.get("/api/openapi.json").await;
        let route = &doc["paths"]["/api/v1/conversations/{id}/suggestion"]["get"];
        assert!(route["responses"]["200"].is_object(), "{route}");
        assert!(route["responses"]["404"].is_object(), "{route}");
        let reply = &doc["components"]["schemas"]["SuggestedReply"]["properties"];
        for field in [
            "source",
            "id",
            "title",
            "body",
            "missing",
            "intent",
            "message_id",
        ] {
            assert!(
                reply[field].is_object(),
                "SuggestedReply.{field} is undocumented"
            );
        }
    }
);

on_both_engines!(
    a_search_that_finds_nothing_suggests_only_what_would_widen_it,
    |app| {
        app.open_conversation(
            "ann@example.com",
            "Where is my parcel?",
            "It was due Tuesday.",
        )
        .await;
        app.create_agent("sam@shop.example", "Sam Agent", PASSWORD)
            .await;
        let (agent, _) = app.sign_in("sam@shop.example", PASSWORD).await;
        let empty = |path: &'static str| {
            let request = app.with_cookie(reqwest::Method::GET, path, &agent);
            async move {
                let page = request.send().await.unwrap().text().await.unwrap();
                assert!(page.contains("Nothing matches"), "{path} found something");
                page
            }
        };
        // Searching is already across every status: no link to do what it does.
        let every_status = empty("/inbox?q=umbrella").await;
        assert!(
            !every_status.contains("search every status"),
            "{every_status}"
        );
        // Searching one view: every status would find more.
        let open_only = empty("/inbox?view=open&q=umbrella").await;
        assert!(open_only.contains("search every status"), "{open_only}");
        // Every status, but one channel: it is the filter that narrows.
        let filtered = empty("/inbox?view=all&channel=chat&q=parcel").await;
        assert!(
            !filtered.contains("search every status") && filtered.contains("without the filters"),
            "{filtered}"
        );
    }
);

#[tokio::test]
async fn assets_are_embedded_and_revalidated() {
    let app = App::start("sqlite", |_| {}).await.unwrap();
    let r = app
        .client
        .get(format!("{}/assets/app.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    assert!(r.text().await.unwrap().contains("import"));
    let r = app
        .client
        .get(format!("{}/assets/app.js", app.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    let r = app
        .client
        .get(format!("{}/assets/..%2Fsecret", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn the_favicon_is_served_and_every_page_names_it() {
    let app = App::start("sqlite", |_| {}).await.unwrap();
    let r = app
        .client
        .get(format!("{}/favicon.ico", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("image/"), "{kind}");
    let icon = r.bytes().await.unwrap();
    assert!(icon.starts_with(&[0, 0, 1, 0]), "an ICO file");
    for path in ["/login", "/help"] {
        let page = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains(r#"<link rel="icon" href="/favicon.ico">"#),
            "{path} names no icon"
        );
    }
    app.stop().await;
}
