//! The chat assistant's replies in the shop's words (`/api/v1/assistant/replies`), on both
//! engines: listed with their variables, reworded by an admin and said in a real chat with
//! the shopper's and the shop's names filled, refused with a variable the reply does not
//! have, and back to ours.

use reqwest::StatusCode;
use serde_json::{json, Value};

#[macro_use]
mod support;

use support::*;

const SHOP: &str = "Acme Outfitters";
const ASKED: &str = "/api/v1/assistant/replies/handover.asked";
const OURS: &str = "Of course. I'm passing you to a person on our team now;";

/// Opens a widget chat as Ann, asks for a person, and returns what the assistant answered
/// (waiting for it: it answers from a job).
async fn ask_for_a_person(app: &App) -> String {
    let client = reqwest::Client::new();
    let session: Value = client
        .post(format!("{}/api/widget/v1/sessions", app.base))
        .json(&json!({"name": "Ann Shopper"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["session_token"].as_str().expect("a session token");
    let sent = client
        .post(format!("{}/api/widget/v1/messages", app.base))
        .bearer_auth(token)
        .json(&json!({"body": "can I talk to a human please", "client_id": "x-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::CREATED);
    let bot = || async {
        let messages: Value = client
            .get(format!("{}/api/widget/v1/messages", app.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        messages["items"].as_array().and_then(|items| {
            items
                .iter()
                .find(|m| m["sender_type"] == "bot")
                .map(|m| m["body"].as_str().unwrap_or_default().to_owned())
        })
    };
    eventually("the assistant's answer", || async { bot().await.is_some() }).await;
    bot().await.unwrap_or_default()
}

fn item<'a>(list: &'a Value, key: &str) -> &'a Value {
    list["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["key"] == key))
        .unwrap_or_else(|| panic!("no reply {key} in {list}"))
}

on_both_engines!(
    the_shop_words_the_assistants_replies_and_a_chat_says_them,
    |s| s.support_name = SHOP.into(),
    |app| {
        let (s, list) = app.get("/api/v1/assistant/replies").await;
        assert_eq!(s, StatusCode::OK, "{list}");
        let asked = item(&list, "handover.asked");
        assert_eq!(asked["customised"], false);
        assert_eq!(asked["template"], asked["default"]);
        assert!(asked["default"].as_str().unwrap().starts_with(OURS));
        let variables: Vec<&str> = asked["variables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        assert!(variables.contains(&"customer.first_name"), "{variables:?}");
        assert!(variables.contains(&"shop.name"), "{variables:?}");
        assert!(
            !variables.contains(&"order.number"),
            "no order in a handover"
        );
        assert!(item(&list, "order_status")["default"]
            .as_str()
            .unwrap()
            .contains("{{order.number}}"));
        for key in [
            "wait.offline",
            "article",
            "refund.done",
            "did_not_understand",
        ] {
            item(&list, key);
        }

        // A variable this reply does not have is refused, naming the field.
        for wrong in ["About {{order.number}}", "Hi {{customer.shoe_size}}", "  "] {
            let (s, e) = app
                .send(
                    reqwest::Method::PUT,
                    ASKED,
                    Some(json!({"template": wrong})),
                )
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{wrong}: {e}");
            assert_eq!(e["error"]["field"], "template");
        }
        let (s, e) = app
            .send(
                reqwest::Method::PUT,
                "/api/v1/assistant/replies/handover.never",
                Some(json!({"template": "Hello"})),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
        assert_eq!(e["error"]["code"], "not_found");
        let (s, _) = app
            .send(
                reqwest::Method::DELETE,
                "/api/v1/assistant/replies/handover.never",
                None,
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        // Only admins word the assistant.
        let (_, agent_token) = concierge_api::auth::issue_token(
            app.store(),
            &concierge_domain::text::Label::parse("an agent").unwrap(),
            concierge_domain::access::Role::Agent,
            &concierge_domain::access::Actor::System,
        )
        .await
        .unwrap();
        let as_agent = reqwest::Client::new()
            .put(format!("{}{ASKED}", app.base))
            .bearer_auth(&agent_token)
            .json(&json!({"template": "Hello"}))
            .send()
            .await
            .unwrap();
        assert_eq!(as_agent.status(), StatusCode::FORBIDDEN);

        let mine =
            "Right away, {{customer.first_name}}! Someone from {{shop.name}} will take over.";
        let (s, saved) = app
            .send(reqwest::Method::PUT, ASKED, Some(json!({"template": mine})))
            .await;
        assert_eq!(s, StatusCode::OK, "{saved}");
        assert_eq!(saved["key"], "handover.asked");
        assert_eq!(saved["template"], mine);
        assert_eq!(saved["customised"], true);
        let (_, list) = app.get("/api/v1/assistant/replies").await;
        assert_eq!(item(&list, "handover.asked")["template"], mine);
        assert_eq!(item(&list, "handover.complaint")["customised"], false);

        let answer = ask_for_a_person(&app).await;
        assert!(
            answer.starts_with(&format!(
                "Right away, Ann! Someone from {SHOP} will take over."
            )),
            "{answer}"
        );
        assert!(!answer.contains("{{"), "{answer}");

        // Back to ours: the list and the next chat say it again.
        let (s, reset) = app.send(reqwest::Method::DELETE, ASKED, None).await;
        assert_eq!(s, StatusCode::OK, "{reset}");
        assert_eq!(reset["customised"], false);
        assert_eq!(reset["template"], reset["default"]);
        let (_, list) = app.get("/api/v1/assistant/replies").await;
        assert_eq!(item(&list, "handover.asked")["customised"], false);
        let answer = ask_for_a_person(&app).await;
        assert!(answer.starts_with(OURS), "{answer}");
    }
);

on_both_engines!(the_admin_page_shows_the_shops_wording_escaped, |app| {
    let hostile = "<script>alert(1)</script> Sorry, {{customer.first_name}}.";
    let (s, _) = app
        .send(
            reqwest::Method::PUT,
            "/api/v1/assistant/replies/handover.upset",
            Some(json!({"template": hostile})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .post(
            "/api/v1/agents",
            json!({"email": "ada@shop.example", "name": "Ada", "role": "admin", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (cookie, _) = app
        .sign_in("ada@shop.example", "correct horse battery")
        .await;
    let page = app
        .with_cookie(reqwest::Method::GET, "/admin/assistant", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("data-key=\"handover.upset\""), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; Sorry, {{customer.first_name}}."));
    assert!(!html.contains("<script>alert(1)"));
    // Each reply lists the variables it may use, and can go back to ours.
    assert!(html.contains("{{shop.name}}"));
    assert!(html.contains("Back to default"));
});
