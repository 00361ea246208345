//! The knowledge base and the help center against the real service: the articles API and its
//! refusals, pages a shopper reads (languages, old slugs, SEO), search that never errors and
//! finds the answer, votes, the contact form carrying the visit's trail, the figures admins
//! see, and articles' files.

#[macro_use]
mod support;

use chrono::{Duration, Utc};
use concierge_store::help::HelpEvent;
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::*;

const PHONE: &str =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148";

/// A shopper's browser, as far as the tests need one: a user agent, the visit cookie the help
/// center hands out, and no following of redirects (the tests look at them).
struct Shopper {
    client: reqwest::Client,
    base: String,
    cookies: std::sync::Mutex<Vec<(String, String)>>,
    accept_language: Option<&'static str>,
}

impl Shopper {
    fn new(app: &App) -> Shopper {
        Shopper {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(PHONE)
                .build()
                .unwrap(),
            base: app.base.clone(),
            cookies: Default::default(),
            accept_language: None,
        }
    }

    fn speaking(mut self, accept_language: &'static str) -> Shopper {
        self.accept_language = Some(accept_language);
        self
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&self, r: &reqwest::Response) {
        for set in r.headers().get_all("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            let mut jar = self.cookies.lock().unwrap();
            jar.retain(|(name, _)| name != k);
            jar.push((k.to_owned(), v.to_owned()));
        }
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .lock()
            .unwrap()
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    async fn request(&self, req: reqwest::RequestBuilder) -> reqwest::Response {
        let mut req = req.header("cookie", self.cookie_header());
        if let Some(l) = self.accept_language {
            req = req.header("accept-language", l);
        }
        let r = req.send().await.expect("request");
        self.keep_cookies(&r);
        r
    }

    /// GET: status, `Location` (if any), body.
    async fn get(&self, path: &str) -> (StatusCode, Option<String>, String) {
        let r = self
            .request(self.client.get(format!("{}{path}", self.base)))
            .await;
        let status = r.status();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, location, r.text().await.unwrap())
    }

    async fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, Option<String>, String) {
        let r = self
            .request(self.client.post(format!("{}{path}", self.base)).form(form))
            .await;
        let status = r.status();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, location, r.text().await.unwrap())
    }
}

async fn article(app: &App, body: Value) -> Value {
    let (s, a) = app.post("/api/v1/articles", body).await;
    assert_eq!(s, 201, "{a}");
    a
}

fn error_field(body: &Value) -> &str {
    body["error"]["field"].as_str().unwrap_or("")
}

on_both_engines!(bad_articles_are_refused_with_the_field_named, |app| {
    let base = |md: String| json!({"title": "Big", "body_markdown": md});
    let (s, e) = app
        .post("/api/v1/articles", base("word ".repeat(50_000)))
        .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(error_field(&e), "body_markdown");
    let (s, e) = app
        .post(
            "/api/v1/articles",
            base(format!("{}deep", "> ".repeat(200))),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(error_field(&e), "body_markdown");
    let (s, e) = app
        .post(
            "/api/v1/articles",
            base(format!("{}deep", "- ".repeat(200))),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    let (s, e) = app
        .post(
            "/api/v1/articles",
            json!({"title": "Hi", "body_markdown": "x", "locale": "english!"}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(error_field(&e), "locale");

    let first = article(
        &app,
        json!({"title": "Returns", "body_markdown": "Send it back.", "slug": "returns"}),
    )
    .await;
    let (s, e) = app
        .post(
            "/api/v1/articles",
            json!({"title": "Other", "body_markdown": "x", "slug": "returns"}),
        )
        .await;
    assert_eq!(s, 422, "a slug is one article's: {e}");
    assert_eq!(error_field(&e), "slug");
    let (s, e) = app
        .post(
            "/api/v1/articles",
            json!({"title": "Other", "body_markdown": "x", "slug": "Not a slug!"}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    // A translation into a language the article already has.
    let (s, e) = app
        .post("/api/v1/articles", json!({"title": "Returns again", "body_markdown": "x", "locale": "en", "translation_of": first["id"]}))
        .await;
    assert_eq!(s, 422, "{e}");
    // The same title twice is fine: the second gets its own slug.
    let second = article(&app, json!({"title": "Returns", "body_markdown": "Also."})).await;
    assert_ne!(second["slug"], first["slug"]);

    // The preview refuses what a save refuses, and cleans what a save cleans.
    let (s, e) = app
        .post(
            "/api/v1/articles/preview",
            json!({"body_markdown": format!("{}deep", "> ".repeat(200))}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    let (s, p) = app
        .post("/api/v1/articles/preview", json!({"body_markdown": "**bold** <script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)>"}))
        .await;
    assert_eq!(s, 200, "{p}");
    let html = p["html"].as_str().unwrap();
    assert!(html.contains("<strong>bold</strong>"), "{html}");
    for bad in ["<script", "javascript:", "onerror"] {
        assert!(!html.contains(bad), "{bad} survived: {html}");
    }
});

on_both_engines!(
    hostile_articles_cannot_run_script_in_the_help_center,
    |app| {
        let a = article(&app, json!({
        "title": "Returns </script><script>alert(1)</script>",
        "summary": "Quick </script><img src=x onerror=alert(2)> answer",
        "body_markdown": "Hello <script>alert(3)</script> <a href=\"javascript:alert(4)\">x</a> <img src=x onerror=alert(5)>\n\n<iframe src=\"https://evil.example\"></iframe>",
        "category": "Returns",
    }))
    .await;
        let shopper = Shopper::new(&app);
        let (s, _, page) = shopper
            .get(&format!("/help/articles/{}", a["slug"].as_str().unwrap()))
            .await;
        assert_eq!(s, 200);
        for bad in [
            "<script>alert",
            "</script><script>",
            "<img src=x onerror",
            "<img src=\"x\" onerror",
            "javascript:",
            "<iframe",
        ] {
            assert!(!page.contains(bad), "{bad} reached the page:\n{page}");
        }
        // The title is still there, as text (and as escaped JSON in the JSON-LD).
        assert!(
            page.contains("Returns &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{page}"
        );
        assert!(
            page.contains("\\u003c/script>"),
            "JSON-LD escapes <: {page}"
        );
        let (_, _, results) = shopper.get("/help?q=returns").await;
        assert!(!results.contains("<script>alert"), "{results}");
        let (_, _, category) = shopper.get("/help/categories/returns").await;
        assert!(!category.contains("</script><script>"), "{category}");
    }
);

on_both_engines!(slugs_survive_title_edits_and_old_ones_redirect, |app| {
    let a = article(
        &app,
        json!({"title": "Returns policy", "body_markdown": "30 days."}),
    )
    .await;
    let id = a["id"].as_str().unwrap();
    assert_eq!(a["slug"], "returns-policy");
    let shopper = Shopper::new(&app);
    let (s, _) = app
        .patch(
            &format!("/api/v1/articles/{id}"),
            json!({"title": "Our returns policy"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _, page) = shopper.get("/help/articles/returns-policy").await;
    assert_eq!(s, 200, "a title edit keeps the address");
    assert!(page.contains("Our returns policy"));
    let (s, b) = app
        .patch(
            &format!("/api/v1/articles/{id}"),
            json!({"slug": "returns"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["url"], "/help/articles/returns");
    let (s, to, _) = shopper.get("/help/articles/returns-policy").await;
    assert_eq!(s, 301, "the old slug redirects");
    assert_eq!(to.as_deref(), Some("/help/articles/returns"));
    let (s, _, _) = shopper.get("/help/articles/returns").await;
    assert_eq!(s, 200);
    // A draft is not public, and a slug that never was is a 404 page.
    let (s, _) = app
        .patch(
            &format!("/api/v1/articles/{id}"),
            json!({"published": false}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _, _) = shopper.get("/help/articles/returns").await;
    assert_eq!(s, 404);
    let (s, _, page) = shopper.get("/help/articles/never-was").await;
    assert_eq!(s, 404);
    assert!(
        page.contains("Search the help center"),
        "the 404 page offers search"
    );
});

on_both_engines!(translations_follow_the_shoppers_language, |app| {
    let en = article(&app, json!({"title": "Returns policy", "body_markdown": "Return within 30 days.", "category": "Returns"})).await;
    let de = article(&app, json!({"title": "Rückgaberecht", "slug": "rueckgabe", "locale": "de", "translation_of": en["id"], "body_markdown": "Rückgabe innerhalb von 30 Tagen.", "category": "returns"})).await;
    assert_eq!(de["translation_group"], en["translation_group"]);
    assert_eq!(de["url"], "/help/articles/rueckgabe?lang=de");
    let (s, t) = app
        .get(&format!(
            "/api/v1/articles/{}/translations",
            en["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(s, 200);
    assert_eq!(t["items"].as_array().unwrap().len(), 2, "{t}");

    // A German reader following an English link is sent to the German version.
    let german = Shopper::new(&app).speaking("de-CH, de;q=0.9, en;q=0.5");
    let (s, to, _) = german.get("/help/articles/returns-policy").await;
    assert_eq!(s, 302);
    assert_eq!(to.as_deref(), Some("/help/articles/rueckgabe?lang=de"));
    let (s, _, page) = german.get("/help/articles/rueckgabe?lang=de").await;
    assert_eq!(s, 200);
    assert!(page.contains("<html lang=\"de\">"), "{page}");
    assert!(page.contains("Rückgabe innerhalb"));
    assert!(
        page.contains("War dieser Artikel hilfreich?"),
        "the frame speaks German too: {page}"
    );
    assert!(page.contains("Aktualisiert am"), "{page}");
    assert!(
        page.contains("hreflang=\"en\""),
        "the switcher and alternates name English"
    );
    // The switcher names the language it goes to, even the first one: a plain URL would be
    // read in the language remembered.
    assert!(
        page.contains("href=\"/help/articles/returns-policy?lang=en\""),
        "{page}"
    );
    // … unless they pick English in the switcher, which is remembered.
    let (s, _, page) = german.get("/help/articles/returns-policy?lang=en").await;
    assert_eq!(s, 200);
    assert!(page.contains("Return within 30 days"));
    assert_eq!(german.cookie("help_lang").as_deref(), Some("en"));
    let (s, _, home) = german.get("/help").await;
    assert_eq!(s, 200);
    assert!(
        home.contains("<html lang=\"en\">"),
        "the picked language wins over the header"
    );

    // The choice holds site-wide (tracking pages follow it); the cookie once set under /help
    // is cleared, or it would be sent first on help pages and outvote the new one.
    let r = reqwest::Client::new()
        .get(format!("{}/help?lang=de", app.base))
        .send()
        .await
        .unwrap();
    let set: Vec<&str> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(
        set.iter().any(|c| c.starts_with("help_lang=de; Path=/;")),
        "{set:?}"
    );
    assert!(
        set.iter()
            .any(|c| c.starts_with("help_lang=; Path=/help;") && c.contains("Max-Age=0")),
        "{set:?}"
    );

    // An English reader, and one whose language the shop does not have, read English.
    let (s, _, page) = Shopper::new(&app)
        .speaking("ja")
        .get("/help/articles/returns-policy")
        .await;
    assert_eq!(s, 200);
    assert!(page.contains("Return within 30 days"));
    // The German home page links to German pages.
    let (_, _, home) = Shopper::new(&app).speaking("de").get("/help").await;
    assert!(home.contains("/help/articles/rueckgabe?lang=de"), "{home}");
    assert!(home.contains("/help/categories/returns?lang=de"), "{home}");
    // With its one German article unpublished, the shop speaks English only.
    let (s, _) = app
        .patch(
            &format!("/api/v1/articles/{}", de["id"].as_str().unwrap()),
            json!({"published": false}),
        )
        .await;
    assert_eq!(s, 200);
    let (_, _, home) = Shopper::new(&app).speaking("de").get("/help").await;
    assert!(home.contains("<html lang=\"en\">"), "{home}");
    assert!(!home.contains("hreflang=\"de\""), "{home}");
});

on_both_engines!(search_takes_any_query_without_error, |app| {
    article(
        &app,
        json!({"title": "Returns policy", "body_markdown": "Send shoes back within 30 days."}),
    )
    .await;
    let shopper = Shopper::new(&app);
    let long = "retour ".repeat(100);
    let odd = [
        "\"unclosed",
        "AND OR NOT",
        "title:returns",
        "(((",
        "*",
        "~2",
        "returns^10",
        "-",
        "+",
        "\\",
        "[a TO z]",
        "🙂 émoji ü",
        "返品",
        "'; DROP TABLE articles; --",
        "%00",
        long.as_str(),
        "  ",
    ];
    for q in odd {
        let enc: String = url_encode(q);
        let (s, body) = app.get(&format!("/api/v1/articles?q={enc}")).await;
        assert_eq!(s, 200, "API search for {q:?}: {body}");
        let (s, _, _) = shopper.get(&format!("/help?q={enc}")).await;
        assert_eq!(s, 200, "help search for {q:?}");
        let (s, _, body) = shopper.get(&format!("/help/suggest?q={enc}")).await;
        assert_eq!(s, 200, "suggest for {q:?}: {body}");
    }
    // Quotes and operators still find the article when its words are there.
    let (_, hits) = app.get("/api/v1/articles?q=%22shoes%20back%22").await;
    assert_eq!(hits["items"][0]["title"], "Returns policy", "{hits}");
    let (_, hits) = app.get("/api/v1/articles?q=retrns%20polcy").await;
    assert_eq!(
        hits["items"][0]["title"], "Returns policy",
        "typos are forgiven: {hits}"
    );
});

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

on_both_engines!(synonyms_the_shop_edits_widen_search, |app| {
    article(&app, json!({"title": "Tracking a package", "body_markdown": "Every package has a tracking link."})).await;
    let (_, hits) = app.get("/api/v1/articles?q=parcel").await;
    assert_eq!(hits["items"].as_array().unwrap().len(), 0, "{hits}");
    let (s, e) = app
        .post("/api/v1/synonyms", json!({"terms": ["parcel"]}))
        .await;
    assert_eq!(s, 422, "one word is no synonym: {e}");
    let (s, g) = app
        .post("/api/v1/synonyms", json!({"terms": ["Parcel", "package"]}))
        .await;
    assert_eq!(s, 201, "{g}");
    let (_, hits) = app.get("/api/v1/articles?q=parcel").await;
    assert_eq!(hits["items"][0]["title"], "Tracking a package", "{hits}");
    let (_, list) = app.get("/api/v1/synonyms").await;
    assert_eq!(list["items"][0]["terms"], json!(["parcel", "package"]));
    let (s, _) = app
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/synonyms/{}", g["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (_, hits) = app.get("/api/v1/articles?q=parcel").await;
    assert_eq!(hits["items"].as_array().unwrap().len(), 0, "{hits}");
});

on_both_engines!(
    agents_read_the_help_center_and_only_admins_change_it,
    |app| {
        let (s, article) = app
            .post(
                "/api/v1/articles",
                json!({"title": "Returns", "body_markdown": "Send it back within 30 days."}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{article}");
        let id = article["id"].as_str().unwrap().to_owned();
        let (s, synonyms) = app
            .post("/api/v1/synonyms", json!({"terms": ["parcel", "package"]}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{synonyms}");
        let synonyms = synonyms["id"].as_str().unwrap().to_owned();

        // An agent's token, and an agent signed in to the browser.
        let (_, agent_token) = concierge_api::auth::issue_token(
            app.store(),
            &concierge_domain::text::Label::parse("an agent's script").unwrap(),
            concierge_domain::access::Role::Agent,
            &concierge_domain::access::Actor::System,
        )
        .await
        .unwrap();
        app.create_agent("sam@shop.example", "Sam Agent", "correct horse battery")
            .await;
        let (cookie, csrf) = app
            .sign_in("sam@shop.example", "correct horse battery")
            .await;
        let client = reqwest::Client::new();
        let as_token = |method: reqwest::Method, path: &str| {
            client
                .request(method, format!("{}{path}", app.base))
                .bearer_auth(&agent_token)
        };
        let as_browser = |method: reqwest::Method, path: &str| {
            app.with_cookie(method, path, &cookie)
                .header("x-csrf-token", &csrf)
        };
        use reqwest::Method;
        let writes: Vec<(Method, String, Option<Value>)> = vec![
            (
                Method::POST,
                "/api/v1/articles".into(),
                Some(json!({"title": "Mine", "body_markdown": "x", "published": false})),
            ),
            (
                Method::PATCH,
                format!("/api/v1/articles/{id}"),
                Some(json!({"title": "Defaced"})),
            ),
            (Method::DELETE, format!("/api/v1/articles/{id}"), None),
            (
                Method::PUT,
                "/api/v1/categories/returns".into(),
                Some(json!({"name": "Returns"})),
            ),
            (Method::DELETE, "/api/v1/categories/returns".into(), None),
            (
                Method::POST,
                "/api/v1/synonyms".into(),
                Some(json!({"terms": ["a", "b"]})),
            ),
            (
                Method::PUT,
                format!("/api/v1/synonyms/{synonyms}"),
                Some(json!({"terms": ["a", "b"]})),
            ),
            (Method::DELETE, format!("/api/v1/synonyms/{synonyms}"), None),
        ];
        for (method, path, body) in &writes {
            for (who, mut req) in [
                ("token", as_token(method.clone(), path)),
                ("browser", as_browser(method.clone(), path)),
            ] {
                if let Some(b) = body {
                    req = req.json(b);
                }
                let r = req.send().await.unwrap();
                assert_eq!(r.status(), StatusCode::FORBIDDEN, "{who} {method} {path}");
            }
        }
        let r = as_token(
            Method::POST,
            &format!("/api/v1/articles/{id}/files?filename=a.png"),
        )
        .header("content-type", "image/png")
        .body(vec![0x89, b'P', b'N', b'G', 13, 10, 26, 10])
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);

        // Nothing changed; agents still read and search.
        let (_, kept) = app.get(&format!("/api/v1/articles/{id}")).await;
        assert_eq!(kept["title"], "Returns");
        let (_, groups) = app.get("/api/v1/synonyms").await;
        assert_eq!(groups["items"].as_array().unwrap().len(), 1);
        let r = as_token(Method::GET, "/api/v1/articles?q=returns")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let found: Value = r.json().await.unwrap();
        assert_eq!(found["items"][0]["id"], id.as_str());
    }
);

on_both_engines!(categories_keep_their_order_and_their_articles, |app| {
    let (s, c) = app
        .send(
            reqwest::Method::PUT,
            "/api/v1/categories/shipping",
            Some(json!({"name": "Shipping", "description": "Delivery", "position": 2})),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    app.send(
        reqwest::Method::PUT,
        "/api/v1/categories/returns",
        Some(json!({"name": "Returns", "position": 1})),
    )
    .await;
    let (_, list) = app.get("/api/v1/categories").await;
    let names: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Returns", "Shipping"]);
    let (s, e) = app
        .send(
            reqwest::Method::PUT,
            "/api/v1/categories/Bad Slug",
            Some(json!({"name": "x"})),
        )
        .await;
    assert!(s == 422 || s == 404, "{s} {e}");
    article(
        &app,
        json!({"title": "Returns policy", "body_markdown": "x", "category": "returns"}),
    )
    .await;
    // A category's words find its articles, from the moment it is described.
    let (_, hits) = app.get("/api/v1/articles?q=exchanges").await;
    assert_eq!(hits["items"].as_array().unwrap().len(), 0, "{hits}");
    app.send(reqwest::Method::PUT, "/api/v1/categories/returns", Some(json!({"name": "Returns", "description": "Sending things back, exchanges", "position": 1}))).await;
    let (_, hits) = app.get("/api/v1/articles?q=exchanges").await;
    assert_eq!(hits["items"][0]["title"], "Returns policy", "{hits}");
    let (s, e) = app
        .send(reqwest::Method::DELETE, "/api/v1/categories/returns", None)
        .await;
    assert_eq!(s, 409, "a category with articles stays: {e}");
    let (s, _) = app
        .send(reqwest::Method::DELETE, "/api/v1/categories/shipping", None)
        .await;
    assert_eq!(s, 204);
});

on_both_engines!(help_pages_tell_search_engines_what_they_are, |app| {
    app.send(
        reqwest::Method::PUT,
        "/api/v1/categories/returns",
        Some(json!({"name": "Returns & refunds", "description": "Sending things back"})),
    )
    .await;
    let a = article(&app, json!({"title": "Returns policy", "summary": "Return anything within 30 days.", "body_markdown": "Return anything within **30 days**.\n\n| Item | Days |\n|---|---|\n| Shoes | 30 |", "category": "returns"})).await;
    article(&app, json!({"title": "Secret draft", "body_markdown": "x", "category": "returns", "published": false})).await;
    let shopper = Shopper::new(&app);

    let (s, _, home) = shopper.get("/help").await;
    assert_eq!(s, 200);
    assert!(home.contains("<title>Help center · "), "{home}");
    assert!(home.contains("<meta name=\"description\""));
    assert!(
        home.contains(&format!(
            "<link rel=\"canonical\" href=\"{}/help\">",
            app.base
        )),
        "{home}"
    );
    assert!(home.contains("\"@type\":\"WebSite\""));
    assert!(home.contains("Returns &amp; refunds"));
    assert!(
        home.contains("/help/articles/returns-policy"),
        "popular articles or the category list"
    );
    assert!(!home.contains("Secret draft"));
    assert!(
        home.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
    );
    assert!(
        !home.contains("http://") || !home.contains("src=\"http"),
        "nothing loaded from elsewhere"
    );

    let (s, _, cat) = shopper.get("/help/categories/returns").await;
    assert_eq!(s, 200);
    assert!(cat.contains("\"@type\":\"FAQPage\""), "{cat}");
    assert!(cat.contains("\"name\":\"Returns policy\""));
    assert!(!cat.contains("Secret draft"));
    let (s, _, _) = shopper.get("/help/categories/nothing-here").await;
    assert_eq!(s, 404);

    let (s, _, page) = shopper.get("/help/articles/returns-policy").await;
    assert_eq!(s, 200);
    assert!(page.contains("<title>Returns policy · "));
    assert!(
        page.contains("<meta name=\"description\" content=\"Return anything within 30 days.\">")
    );
    assert!(page.contains(&format!(
        "<link rel=\"canonical\" href=\"{}/help/articles/returns-policy\">",
        app.base
    )));
    assert!(page.contains("\"@type\":\"Article\""));
    assert!(page.contains("\"@type\":\"BreadcrumbList\""));
    assert!(page.contains("<table>"), "tables render");
    assert!(
        page.contains("<time datetime=\""),
        "the last update is shown"
    );
    assert!(page.contains("Was this article helpful?"));
    assert!(page.contains("/help/contact?article=returns-policy"));

    let (s, _, sitemap) = shopper.get("/sitemap.xml").await;
    assert_eq!(s, 200);
    assert!(sitemap.starts_with("<?xml"), "{sitemap}");
    assert!(
        sitemap.contains(&format!(
            "<loc>{}/help/articles/returns-policy</loc>",
            app.base
        )),
        "{sitemap}"
    );
    assert!(sitemap.contains("/help/categories/returns</loc>"));
    assert!(!sitemap.contains("secret-draft"));
    let (s, _, robots) = shopper.get("/robots.txt").await;
    assert_eq!(s, 200);
    assert!(robots.contains(&format!("Sitemap: {}/sitemap.xml", app.base)));
    assert!(robots.contains("Disallow: /\n") && robots.contains("Allow: /help"));

    // The assets the pages load are ours, and cached by content.
    let css = home
        .split("href=\"/help/assets/help.css?v=")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let r = app
        .client
        .get(format!("{}/help/assets/help.css", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"].to_str().unwrap(), format!("\"{css}\""));
    let _ = a;
});

on_both_engines!(suggestions_complete_what_the_shopper_is_typing, |app| {
    article(
        &app,
        json!({"title": "Returns policy", "body_markdown": "Send it back within 30 days."}),
    )
    .await;
    article(
        &app,
        json!({"title": "Refund times", "body_markdown": "Refunds take 3 days."}),
    )
    .await;
    for n in 0..8 {
        article(
            &app,
            json!({"title": format!("Return question {n}"), "body_markdown": "About returns."}),
        )
        .await;
    }
    let shopper = Shopper::new(&app);
    let (s, _, body) = shopper.get("/help/suggest?q=retu").await;
    assert_eq!(s, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    let items = v["items"].as_array().unwrap();
    assert!(!items.is_empty() && items.len() <= 5, "{v}");
    assert!(items
        .iter()
        .all(|i| i["url"].as_str().unwrap().starts_with("/help/articles/")));
    let (_, _, body) = shopper.get("/help/suggest?q=").await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["items"],
        json!([])
    );
    let (_, _, body) = shopper.get("/help/suggest?q=refund%20tim").await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["items"][0]["title"], "Refund times", "{v}");
});

on_both_engines!(
    votes_views_and_searches_become_the_figures_admins_see,
    |app| {
        let a = article(
            &app,
            json!({"title": "Returns policy", "body_markdown": "30 days."}),
        )
        .await;
        let shopper = Shopper::new(&app);
        shopper.get("/help/articles/returns-policy").await;
        assert!(
            shopper.cookie("help_visit").is_some(),
            "a visit cookie is handed out"
        );
        let (s, to, _) = shopper
            .post_form(
                "/help/articles/returns-policy/feedback",
                &[("helpful", "no"), ("comment", "Which address?")],
            )
            .await;
        assert_eq!(s, 303);
        assert_eq!(
            to.as_deref(),
            Some("/help/articles/returns-policy?voted=no#feedback")
        );
        let (_, _, thanks) = shopper.get("/help/articles/returns-policy?voted=no").await;
        assert!(thanks.contains("Thanks for letting us know."));
        // Changing one's mind replaces the vote rather than adding one.
        shopper
            .post_form(
                "/help/articles/returns-policy/feedback",
                &[("helpful", "yes")],
            )
            .await;
        let (s, _, _) = shopper
            .post_form(
                "/help/articles/returns-policy/feedback",
                &[("helpful", "maybe")],
            )
            .await;
        assert_eq!(s, 422);
        let (s, _, _) = shopper
            .post_form("/help/articles/nope/feedback", &[("helpful", "yes")])
            .await;
        assert_eq!(s, 404);
        shopper.get("/help?q=xyzzy%20gift%20wrap").await;
        shopper.get("/help?q=Xyzzy%20Gift%20Wrap").await;
        shopper.get("/help?q=returns").await;
        // A crawler reads but is not counted.
        app.client
            .get(format!("{}/help/articles/returns-policy", app.base))
            .header("user-agent", "Mozilla/5.0 (compatible; Googlebot/2.1)")
            .send()
            .await
            .unwrap();
        app.running.as_ref().unwrap().flush_help_center().await;

        let (s, stats) = app.get("/api/v1/knowledge/stats").await;
        assert_eq!(s, 200, "{stats}");
        assert_eq!(stats["visits"], 1, "{stats}");
        assert_eq!(
            stats["article_views"], 2,
            "two views by the shopper, none by the crawler: {stats}"
        );
        assert_eq!(stats["searches"], 3);
        assert_eq!(stats["searches_without_results"], 2);
        assert_eq!(stats["helpful_votes"], 1);
        assert_eq!(stats["not_helpful_votes"], 0);
        let (_, gaps) = app.get("/api/v1/knowledge/gaps").await;
        assert_eq!(gaps["items"][0]["query"], "xyzzy gift wrap", "{gaps}");
        assert_eq!(gaps["items"][0]["searches"], 2);
        let (_, per) = app.get("/api/v1/knowledge/articles").await;
        let row = per["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == a["id"])
            .unwrap()
            .clone();
        assert_eq!(row["views"], 2, "{per}");
        assert_eq!(row["helpful_votes"], 1);
    }
);

on_both_engines!(
    deflection_counts_visits_that_needed_no_conversation,
    |app| {
        let a = article(
            &app,
            json!({"title": "Returns policy", "body_markdown": "30 days."}),
        )
        .await;
        let store = app.store();
        let id = concierge_domain::ids::ArticleId::parse(a["id"].as_str().unwrap()).unwrap();
        let two_days_ago = Utc::now() - Duration::days(2);
        let view = |visit: &str| HelpEvent::View {
            visit: Some(visit.into()),
            article: id.clone(),
            at: two_days_ago,
        };
        store
            .record_help(&[view("visit-a"), view("visit-b"), view("visit-c")])
            .await
            .unwrap();
        let (_, c) = app
            .post(
                "/api/v1/conversations",
                conversation("ann@example.com", "email", "Help", "Hi"),
            )
            .await;
        let conv = concierge_domain::ids::ConversationId::parse(c["id"].as_str().unwrap()).unwrap();
        // a wrote in an hour into its visit; c only three days later (too late to count).
        store
            .visit_contacted("visit-a", &conv, two_days_ago + Duration::hours(1))
            .await
            .unwrap();
        store
            .visit_contacted("visit-c", &conv, two_days_ago + Duration::days(3))
            .await
            .unwrap();
        // A visit from today cannot be judged yet.
        store
            .record_help(&[HelpEvent::Search {
                visit: Some("visit-d".into()),
                query: "x".into(),
                results: 0,
                at: Utc::now(),
            }])
            .await
            .unwrap();
        let (s, stats) = app.get("/api/v1/knowledge/stats").await;
        assert_eq!(s, 200);
        assert_eq!(stats["visits"], 4, "{stats}");
        assert_eq!(stats["judged_visits"], 3);
        assert_eq!(stats["deflected_visits"], 2);
        assert!((stats["deflection"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
        // Only admins read the figures.
        app.create_agent("agent@shop.example", "Agent", "correct horse battery")
            .await;
        let (cookie, _) = app
            .sign_in("agent@shop.example", "correct horse battery")
            .await;
        let r = app
            .with_cookie(reqwest::Method::GET, "/api/v1/knowledge/stats", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        let (s, e) = app.get("/api/v1/knowledge/stats?since=yesterday").await;
        assert_eq!(s, 422, "{e}");
    }
);

on_both_engines!(
    the_contact_form_opens_a_conversation_that_knows_the_visit,
    |app| {
        article(&app, json!({"title": "Returns policy", "body_markdown": "Send shoes back within 30 days.", "category": "Returns"})).await;
        let shopper = Shopper::new(&app);
        shopper.get("/help?q=send%20back%20shoes").await;
        shopper.get("/help/articles/returns-policy").await;
        let (s, _, form) = shopper.get("/help/contact?article=returns-policy").await;
        assert_eq!(s, 200);
        assert!(form.contains("name=\"article\" value=\"returns-policy\""));

        // Mistakes come back with what was typed and what to fix.
        let (s, _, page) = shopper
            .post_form(
                "/help/contact",
                &[("email", "not-an-address"), ("message", "  ")],
            )
            .await;
        assert_eq!(s, 422);
        assert!(page.contains("Enter the email address we should reply to."));
        assert!(page.contains("Tell us how we can help."));
        assert!(page.contains("value=\"not-an-address\""));

        let (s, to, _) = shopper
            .post_form(
                "/help/contact",
                &[
                    ("name", "Ana <b>Shopper</b>"),
                    ("email", "ana@example.com"),
                    ("message", "My shoes don't fit.\nHow do I send them back?"),
                    ("article", "returns-policy"),
                    ("website", ""),
                ],
            )
            .await;
        assert_eq!(s, 303);
        assert_eq!(to.as_deref(), Some("/help/contact?sent=1"));
        let (_, _, sent) = shopper.get("/help/contact?sent=1").await;
        assert!(sent.contains("we've got your message"));

        let (_, list) = app.get("/api/v1/conversations?tag=help-center").await;
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{list}");
        let c = &items[0];
        assert_eq!(c["channel"], "email");
        assert_eq!(c["subject"], "My shoes don't fit.");
        let (_, msgs) = app
            .get(&format!(
                "/api/v1/conversations/{}/messages",
                c["id"].as_str().unwrap()
            ))
            .await;
        let msgs = msgs["items"].as_array().unwrap();
        assert_eq!(msgs[0]["sender_type"], "customer");
        assert!(msgs[0]["body"]
            .as_str()
            .unwrap()
            .contains("How do I send them back?"));
        let note = msgs
            .iter()
            .find(|m| m["private"] == true)
            .expect("a private note for the team");
        let text = note["body"].as_str().unwrap();
        assert!(text.contains("“send back shoes”"), "{text}");
        assert!(text.contains("- Returns policy"), "{text}");
        assert!(text.contains("/help/articles/returns-policy"), "{text}");
        let (_, customer) = app
            .get(&format!(
                "/api/v1/customers/{}",
                c["customer"]["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(
            customer["name"], "Ana <b>Shopper</b>",
            "kept as text: {customer}"
        );
        let (_, stats) = app.get("/api/v1/knowledge/stats").await;
        assert_eq!(stats["visits"], 1, "{stats}");

        // A robot filling the hidden field is thanked, and nothing is stored.
        let (s, _, _) = Shopper::new(&app)
            .post_form(
                "/help/contact",
                &[
                    ("email", "bot@example.com"),
                    ("message", "Buy now"),
                    ("website", "http://spam.example"),
                ],
            )
            .await;
        assert_eq!(s, 303);
        let (_, list) = app.get("/api/v1/conversations?tag=help-center").await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
    }
);

on_both_engines!(the_contact_form_is_rate_limited_per_address, |app| {
    let shopper = Shopper::new(&app);
    let mut statuses = Vec::new();
    for n in 0..7 {
        let message = format!("Question {n}");
        let (s, _, _) = shopper
            .post_form(
                "/help/contact",
                &[("email", "ana@example.com"), ("message", message.as_str())],
            )
            .await;
        statuses.push(s.as_u16());
    }
    assert_eq!(&statuses[..5], &[303; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    let (_, list) = app.get("/api/v1/conversations?tag=help-center").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        5,
        "nothing past the limit is stored"
    );
});

/// Asserts that `r` is a readable error page in the help center's look, with `status`: HTML
/// (not the API's JSON), the help center's stylesheet from our own origin, no inline script or
/// style, kept by no cache, and a way back. Returns the page.
async fn error_page(r: reqwest::Response, status: u16) -> String {
    assert_eq!(r.status(), status);
    let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(kind, "text/html; charset=utf-8");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let page = r.text().await.unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(
        page.contains("<link rel=\"stylesheet\" href=\"/help/assets/help.css?v="),
        "{page}"
    );
    assert!(
        !page.contains("<script") && !page.contains("style="),
        "{page}"
    );
    assert!(page.contains("<a href=\"/help\">"), "a way back: {page}");
    assert!(!page.contains("\"error\""), "{page}");
    page
}

on_both_engines!(
    shoppers_are_shown_errors_as_pages_in_their_language,
    |s| s.max_body_bytes = 4096,
    |app| {
        let shopper = Shopper::new(&app);
        let get = |path: &str| shopper.request(shopper.client.get(format!("{}{path}", app.base)));
        // A path of the help center that does not exist: not the API's JSON, a page that
        // offers search.
        let page = error_page(get("/help/no/such/page").await, 404).await;
        assert!(page.contains("<h1>Page not found</h1>"), "{page}");
        assert!(page.contains("Search the help center"), "{page}");
        // A tracking link whose token is unknown, or not shaped as ours; a mail's link that
        // is not ours.
        for path in [
            format!("/track/{}", "0".repeat(32)),
            "/track/not-a-token".to_owned(),
            "/notices/unsubscribe/nope".to_owned(),
        ] {
            let page = error_page(get(&path).await, 404).await;
            assert!(page.contains("Page not found"), "{path}: {page}");
        }
        // In the reader's language.
        let german = Shopper::new(&app).speaking("de-DE,de;q=0.9,en;q=0.5");
        let r = german
            .request(german.client.get(format!("{}/help/nirgendwo", app.base)))
            .await;
        let page = error_page(r, 404).await;
        assert!(page.contains("<html lang=\"de\">"), "{page}");
        assert!(page.contains("<h1>Seite nicht gefunden</h1>"), "{page}");
        assert!(page.contains("Hilfe-Center durchsuchen"), "{page}");

        // A form past the body limit is refused before its handler runs: a page too.
        let contact = |message: String| {
            shopper.request(
                shopper
                    .client
                    .post(format!("{}/help/contact", app.base))
                    .form(&[("email", "ana@example.com"), ("message", message.as_str())]),
            )
        };
        let page = error_page(contact("x".repeat(10_000)).await, 413).await;
        assert!(page.contains("<h1>Too much at once</h1>"), "{page}");
        // The contact form's own limit, past five messages.
        for n in 0..5 {
            assert_eq!(contact(format!("Question {n}")).await.status(), 303);
        }
        let r = contact("One more".into()).await;
        let retry: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry), "Retry-After {retry}");
        let page = error_page(r, 429).await;
        assert!(page.contains("<h1>Too many requests</h1>"), "{page}");
        assert!(
            page.contains(&format!("Please try again in {retry} second")),
            "{page}"
        );

        // Programs keep the API's JSON: unknown API paths and objects, the chat widget's calls.
        for path in [
            "/api/v1/nothing-here",
            "/api/v1/conversations/cnv_00000000000000000000000000000000",
            "/api/widget/v1/nothing-here",
        ] {
            let (s, e) = app.get(path).await;
            assert_eq!(s, 404, "{path}");
            assert_eq!(e["error"]["code"], "not_found", "{path}: {e}");
        }
        let (s, e) = app
            .raw(
                "/api/v1/conversations",
                "application/json",
                vec![b' '; 10_000],
            )
            .await;
        assert_eq!(s, 413);
        assert_eq!(e["error"]["code"], "payload_too_large", "{e}");
    }
);

on_both_engines!(
    a_rate_limited_reader_is_shown_a_page_saying_how_long_to_wait,
    |s| s.rate_limit_per_second = 1,
    |app| {
        // One a second with bursts of two: of ten pages in a row, some are refused.
        let shopper = Shopper::new(&app);
        let mut refused = None;
        for _ in 0..10 {
            let r = shopper
                .request(shopper.client.get(format!("{}/help", app.base)))
                .await;
            if r.status() == StatusCode::TOO_MANY_REQUESTS {
                refused = Some(r);
                break;
            }
            assert_eq!(r.status(), StatusCode::OK);
        }
        let r = refused.expect("some pages are refused");
        let retry: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=2).contains(&retry), "Retry-After {retry}");
        let page = error_page(r, 429).await;
        assert!(page.contains("<h1>Too many requests</h1>"), "{page}");
        assert!(
            page.contains(&format!("Please try again in {retry} second")),
            "{page}"
        );
    }
);

on_both_engines!(article_files_are_typed_limited_and_served_safely, |app| {
    let a = article(
        &app,
        json!({"title": "Returns policy", "body_markdown": "30 days."}),
    )
    .await;
    let id = a["id"].as_str().unwrap();
    // A real (tiny) PNG: the 8-byte signature and an IHDR chunk are enough for the type.
    let png: Vec<u8> = vec![
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0,
        0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
    ];
    let (s, f) = app
        .raw(
            &format!("/api/v1/articles/{id}/files?filename=..%2Fbox%20label.png"),
            "image/png",
            png.clone(),
        )
        .await;
    assert_eq!(s, 201, "{f}");
    let url = f["url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with("/help/files/") && url.ends_with("/box-label.png"),
        "{url}"
    );
    let r = reqwest::get(format!("{}{url}", app.base)).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert!(r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("sandbox"));
    assert_eq!(r.bytes().await.unwrap().to_vec(), png);

    let (s, e) = app
        .raw(
            &format!("/api/v1/articles/{id}/files?filename=x.svg"),
            "image/svg+xml",
            b"<svg onload=alert(1)>".to_vec(),
        )
        .await;
    assert_eq!(s, 422, "no SVG: {e}");
    let (s, _) = app
        .raw(
            &format!("/api/v1/articles/{id}/files?filename=x.png"),
            "image/png",
            vec![],
        )
        .await;
    assert_eq!(s, 422, "no empty files");
    let (s, _) = app
        .raw(
            "/api/v1/articles/art_0000/files?filename=x.png",
            "image/png",
            png.clone(),
        )
        .await;
    assert_eq!(s, 404);
    let big = vec![0u8; concierge_api::MAX_ARTICLE_FILE_BYTES + 1];
    let (s, _) = app
        .raw(
            &format!("/api/v1/articles/{id}/files?filename=big.mp4"),
            "video/mp4",
            big,
        )
        .await;
    assert_eq!(s, 413);
    let (s, pdf) = app
        .raw(
            &format!("/api/v1/articles/{id}/files?filename=size%20guide.pdf"),
            "application/pdf",
            b"%PDF-1.4 <script>".to_vec(),
        )
        .await;
    assert_eq!(s, 201);
    let r = reqwest::get(format!("{}{}", app.base, pdf["url"].as_str().unwrap()))
        .await
        .unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "application/octet-stream",
        "PDFs are downloads"
    );
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let (s, mp4) = app
        .raw(
            &format!("/api/v1/articles/{id}/files?filename=how.mp4"),
            "video/mp4",
            // The start of an MP4: its `ftyp` box, brand `isom`.
            vec![
                0, 0, 0, 24, b'f', b't', b'y', b'p', b'i', b's', b'o', b'm', 0, 0, 2, 0, b'i',
                b's', b'o', b'm', b'i', b's', b'o', b'2',
            ],
        )
        .await;
    assert_eq!(s, 201);
    let r = reqwest::get(format!("{}{}", app.base, mp4["url"].as_str().unwrap()))
        .await
        .unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "video/mp4",
        "videos play in the page"
    );
    // A video of the help center's own plays in the article; one elsewhere becomes a link.
    let md = format!("![How to return]({})\n\n```transcript\nFirst, pack it.\n```\n\n![Tour](https://www.youtube.com/watch?v=abc)", mp4["url"].as_str().unwrap());
    app.patch(
        &format!("/api/v1/articles/{id}"),
        json!({"body_markdown": md}),
    )
    .await;
    let (_, _, page) = Shopper::new(&app)
        .get("/help/articles/returns-policy")
        .await;
    assert!(
        page.contains(&format!(
            "<video controls=\"\" preload=\"metadata\" src=\"{}\"",
            mp4["url"].as_str().unwrap()
        )) || page.contains("<video controls"),
        "{page}"
    );
    assert!(page.contains("<details class=\"transcript\"><summary>Transcript</summary><p>First, pack it.</p></details>"), "{page}");
    assert!(
        page.contains("class=\"video-link\" href=\"https://www.youtube.com/watch?v=abc\""),
        "{page}"
    );
    assert!(!page.contains("<iframe"));
    let (s, _, _) = Shopper::new(&app).get("/help/files/att_nope/x.png").await;
    assert_eq!(s, 404);
});

on_both_engines!(
    article_files_are_what_their_bytes_are_not_what_they_claim,
    |app| {
        let a = article(
            &app,
            json!({"title": "Sizes", "body_markdown": "See the chart."}),
        )
        .await;
        let id = a["id"].as_str().unwrap();
        let page = b"<html><script>fetch('/api/v1/tokens')</script></html>".to_vec();
        let (s, e) = app
            .raw(
                &format!("/api/v1/articles/{id}/files?filename=chart.png"),
                "image/png",
                page.clone(),
            )
            .await;
        assert_eq!(s, 422, "a page is no picture: {e}");
        assert_eq!(error_field(&e), "content_type", "{e}");
        let png: Vec<u8> = vec![
            0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, b'I', b'H', b'D', b'R', 0,
            0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
        ];
        let (s, e) = app
            .raw(
                &format!("/api/v1/articles/{id}/files?filename=chart.jpg"),
                "image/jpeg",
                png,
            )
            .await;
        assert_eq!(s, 422, "a PNG is not a JPEG: {e}");

        // A file stored before its bytes were looked at, under the type it claimed: served as
        // a download all the same.
        use concierge_store::files::FileStore as _;
        let key = concierge_store::files::LocalFiles::new(app.dir.join("files"))
            .put(page)
            .await
            .unwrap();
        let file = concierge_store::articles::ArticleFile {
            id: concierge_domain::ids::AttachmentId::generate(),
            article_id: concierge_domain::ids::ArticleId::parse(id).unwrap(),
            filename: "chart.png".into(),
            content_type: "image/png".into(),
            size_bytes: 52,
            storage_key: key,
        };
        app.store().add_article_file(&file).await.unwrap();
        let r = reqwest::get(format!("{}/help/files/{}/chart.png", app.base, file.id))
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/octet-stream");
        assert!(r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"));
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    }
);

#[tokio::test]
async fn the_demo_knowledge_base_answers_shoppers_questions() {
    let demo = concierge::DemoKnowledge::open().await.unwrap();
    let questions =
        concierge_knowledge::eval::read_questions(concierge_knowledge::eval::DEMO_QUESTIONS)
            .unwrap();
    assert!(questions.len() >= 150, "{} questions", questions.len());
    let en = concierge_domain::knowledge::Locale::default();
    let report = concierge_knowledge::eval::evaluate(&demo.library, &questions, &en).unwrap();
    let misses: Vec<_> = report.misses().map(|o| o.question.text.clone()).collect();
    assert!(
        report.top3() >= 0.90,
        "top-3 {:.4} (top-1 {:.4}); misses: {misses:?}",
        report.top3(),
        report.top1()
    );
    let hits = demo
        .library
        .search(&concierge_knowledge::Search {
            text: "send back shoes",
            locale: Some(&en),
            published_only: true,
            limit: 3,
            offset: 0,
        })
        .unwrap();
    assert!(hits.iter().any(|h| h.slug == "returns-policy"), "{hits:?}");
    demo.close().await;
}

#[test]
fn the_eval_command_reports_top_3() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_concierge"))
        .args(["knowledge", "eval", "--demo"])
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let last = stdout.lines().last().unwrap();
    let figure: f64 = last
        .strip_prefix("top-3: ")
        .unwrap_or_else(|| panic!("{stdout}"))
        .parse()
        .unwrap();
    assert!(figure >= 0.90, "{stdout}");
    assert!(stdout.contains("questions: "), "{stdout}");
}

on_both_engines!(admins_see_articles_gaps_and_what_readers_said, |app| {
    let a = article(
        &app,
        json!({"title": "Returns policy", "body_markdown": "Return within **30 days**."}),
    )
    .await;
    let id = a["id"].as_str().unwrap();
    let shopper = Shopper::new(&app);
    shopper.get("/help?q=gift%20wrapping").await;
    shopper
        .post_form(
            "/help/articles/returns-policy/feedback",
            &[
                ("helpful", "no"),
                (
                    "comment",
                    "<script>alert(1)</script> What about sale items?",
                ),
            ],
        )
        .await;
    app.running.as_ref().unwrap().flush_help_center().await;
    let (s, _) = app.post("/api/v1/agents", json!({"email": "ada@shop.example", "name": "Ada", "role": "admin", "password": "correct horse battery"})).await;
    assert_eq!(s, 201);
    let (cookie, _) = app
        .sign_in("ada@shop.example", "correct horse battery")
        .await;
    let page = |path: &str| {
        let r = app.with_cookie(reqwest::Method::GET, path, &cookie);
        async move {
            let r = r.send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let (s, list) = page("/admin/articles").await;
    assert_eq!(s, 200);
    assert!(
        list.contains("Content gaps") && list.contains("gift wrapping"),
        "{list}"
    );
    assert!(list.contains(&format!("/admin/articles/{id}")));
    let (s, editor) = page(&format!("/admin/articles/{id}")).await;
    assert_eq!(s, 200);
    assert!(editor.contains("id=\"article-preview\""));
    assert!(
        editor.contains("Return within <strong>30 days</strong>."),
        "the preview starts rendered: {editor}"
    );
    assert!(
        editor.contains("&lt;script&gt;alert(1)&lt;/script&gt; What about sale items?"),
        "comments are text: {editor}"
    );
    let (s, _) = page("/admin/articles/new").await;
    assert_eq!(s, 200);
    let (s, settings) = page("/admin/help-center").await;
    assert_eq!(s, 200);
    assert!(settings.contains("synonym-form"));
    // The conversation view offers the article search.
    let (_, c) = app
        .post(
            "/api/v1/conversations",
            conversation("ann@example.com", "email", "Hi", "Hello"),
        )
        .await;
    let (s, view) = page(&format!("/conversations/{}", c["id"].as_str().unwrap())).await;
    assert_eq!(s, 200);
    assert!(view.contains("id=\"kb-q\""));
    assert!(
        view.contains(&format!("data-help-url=\"{}\"", app.base)),
        "links use the public URL"
    );
});
