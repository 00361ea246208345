//! The assistant's intent model: the CLI (`assist classify`, `assist eval` on
//! the Bitext validation split and on our shoppers' messages), the API, and the intent every
//! shopper's message leaves on its conversation, on both engines.

use reqwest::StatusCode;
use serde_json::{json, Value};

#[macro_use]
mod support;

use support::*;

fn concierge(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_concierge"))
        .args(args)
        .output()
        .unwrap()
}

fn repo_file(path: &str) -> String {
    format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))
}

/// The accuracy on the last line of `assist eval`'s output.
fn accuracy(out: &std::process::Output) -> f64 {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().unwrap();
    last.strip_prefix("accuracy: ")
        .unwrap_or_else(|| panic!("last line {last:?}"))
        .parse()
        .unwrap()
}

#[test]
fn classify_prints_one_json_line_with_intent_category_and_confidence() {
    let out = concierge(&["assist", "classify", "hi, where is my parcel? order #1001"]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1);
    assert!(stdout.starts_with("{\"intent\":"), "{stdout}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["intent"], "track_order");
    assert_eq!(v["category"], "ORDER");
    let confidence = v["confidence"].as_f64().unwrap();
    assert!((0.5..=1.0).contains(&confidence), "{confidence}");

    let v: Value =
        serde_json::from_slice(&concierge(&["assist", "classify", "good morning!"]).stdout)
            .unwrap();
    assert_eq!(v["intent"], "unknown");
}

#[test]
fn eval_reaches_the_targets_on_the_validation_split_and_on_shoppers_messages() {
    let validation = format!(
        "{}/../intents/data/bitext/Bitext_Sample_Customer_Service_Validation_Dataset.csv",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = concierge(&["assist", "eval", &validation]);
    let a = accuracy(&out);
    assert!(a >= 0.995, "validation accuracy {a}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("track_order"));
    let a = accuracy(&concierge(&[
        "assist",
        "eval",
        &repo_file("crates/intents/eval/shoppers.csv"),
    ]));
    assert!(a >= 0.90, "shoppers' messages accuracy {a}");
}

#[test]
fn eval_refuses_what_it_cannot_read() {
    let out = concierge(&["assist", "eval", "/nonexistent/file.csv"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: cannot read"));

    let dir = std::env::temp_dir().join(format!("concierge-eval-{}", unique()));
    std::fs::create_dir_all(&dir).unwrap();
    let wrong = dir.join("wrong.csv");
    std::fs::write(&wrong, "question,article\nwhere,faq\n").unwrap();
    let out = concierge(&["assist", "eval", wrong.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no column named \"utterance\""), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

on_both_engines!(the_api_classifies_and_refuses_empty_or_huge_text, |app| {
    let (s, v) = app
        .post(
            "/api/v1/assist/classify",
            json!({"text": "can I still cancel my order? I changed my mind"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["intent"], "cancel_order");
    assert_eq!(v["category"], "ORDER");
    let (s, v) = app
        .post("/api/v1/assist/classify", json!({"text": "  "}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["field"], "text");
    let (s, _) = app
        .post(
            "/api/v1/assist/classify",
            json!({"text": "a".repeat(10_001)}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app
        .post("/api/v1/assist/classify", json!({"words": "x"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let anonymous = reqwest::Client::new()
        .post(format!("{}/api/v1/assist/classify", app.base))
        .json(&json!({"text": "where is my order"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
});

on_both_engines!(
    every_shoppers_message_leaves_its_intent_and_a_thank_you_does_not_erase_it,
    |app| {
        let (s, c) = app
        .post(
            "/api/v1/conversations",
            conversation(
                "intent@example.com",
                "api",
                "Parcel",
                "Hello! I ordered a blue mug set last week (order 1001) and the parcel still isn't here. Where is it?",
            ),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        assert_eq!(c["intent"], "track_order");
        assert!(c["intent_confidence"].as_f64().unwrap() >= 0.5);
        assert_eq!(c["messages"][0]["intent"]["name"], "track_order");
        let id = c["id"].as_str().unwrap();

        let (_, m) = app
            .post(
                &format!("/api/v1/conversations/{id}/messages"),
                json!({"body": "We are on it."}),
            )
            .await;
        assert_eq!(m["intent"], Value::Null, "an agent's message has no intent");
        let (_, m) = app
            .post(
                &format!("/api/v1/conversations/{id}/messages"),
                json!({"body": "ok thanks!", "sender_type": "customer"}),
            )
            .await;
        assert_eq!(m["intent"]["name"], "unknown");
        let (_, got) = app.get(&format!("/api/v1/conversations/{id}")).await;
        assert_eq!(got["intent"], "track_order");
        assert_eq!(got["messages"][2]["intent"]["name"], "unknown");

        let (_, m) = app
        .post(
            &format!("/api/v1/conversations/{id}/messages"),
            json!({"body": "Actually, please just refund me, I don't want it anymore.", "sender_type": "customer"}),
        )
        .await;
        assert_eq!(m["intent"]["name"], "get_refund");
        let (_, got) = app.get(&format!("/api/v1/conversations/{id}")).await;
        assert_eq!(got["intent"], "get_refund", "the latest clear intent wins");
        let (_, list) = app.get("/api/v1/conversations?intent=get_refund").await;
        assert!(list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id));
    }
);
