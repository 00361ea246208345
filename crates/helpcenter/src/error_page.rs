//! What a person is shown when a page cannot be: the help center's error page, in its look
//! (its stylesheet, a search box, the way back to the help center), in the reader's language
//! when the help center has words for it. The API's layer ([`concierge_api::audience`]) asks
//! for it for every error a person is answered outside the agent workspace: the help center's
//! and tracking pages, the links in our mails, and any path that is nobody's (the help center
//! is the shop's public face).

use crate::visits::{cookie, LANG_COOKIE};
use crate::words::{words, Words, SPOKEN};
use crate::{assets, HelpCenter};
use axum::http::{HeaderMap, StatusCode, Uri};
use concierge_api::audience::{ErrorPages, Refusal};
use concierge_domain::knowledge::{negotiate, Locale};
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;

impl ErrorPages for HelpCenter {
    fn page(&self, uri: &Uri, headers: &HeaderMap, refusal: &Refusal<'_>) -> Option<Markup> {
        let locale = language(uri, headers);
        let w = words(locale.as_str());
        let (title, text) = explain(w, refusal);
        Some(message_page(self, &locale, title, &text))
    }
}

/// A page with only a heading and a message (errors), with search and the way back.
pub(crate) fn message_page(help: &HelpCenter, locale: &Locale, title: &str, text: &str) -> Markup {
    let w = words(locale.as_str());
    html! {
        (DOCTYPE)
        html lang=(locale.as_str()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) " · " (help.settings.site_name) }
                link rel="icon" href="/favicon.ico";
                link rel="stylesheet" href=(assets().url("help.css"));
            }
            body {
                main #main .message {
                    h1 { (title) }
                    p { (text) }
                    form.search role="search" action="/help" method="get" {
                        label for="help-search" { (w.search_label) }
                        div.search-row {
                            input #help-search type="search" name="q" maxlength="200";
                            button type="submit" { (w.search_button) }
                        }
                    }
                    p { a href="/help" { (w.back) } }
                }
            }
        }
    }
}

/// The heading and the sentence for an error, by its status: a shopper needs to know what
/// happened and what to do, not the API's words for it.
fn explain(w: &Words, refusal: &Refusal<'_>) -> (&'static str, String) {
    match refusal.status {
        StatusCode::NOT_FOUND | StatusCode::GONE => {
            (w.error_not_found_title, w.error_not_found.to_owned())
        }
        StatusCode::TOO_MANY_REQUESTS => {
            let wait = match refusal.retry_after {
                Some(1) => format!(" {} 1 {}.", w.try_again_in, w.second),
                Some(secs) => format!(" {} {secs} {}.", w.try_again_in, w.seconds),
                None => String::new(),
            };
            (
                w.error_too_many_title,
                format!("{}{wait}", w.error_too_many),
            )
        }
        StatusCode::PAYLOAD_TOO_LARGE => (w.error_too_large_title, w.error_too_large.to_owned()),
        StatusCode::SERVICE_UNAVAILABLE => (w.error_busy_title, w.error_busy.to_owned()),
        s if s.is_server_error() => (w.error_failed_title, w.error_failed.to_owned()),
        _ => (w.error_refused_title, w.error_refused.to_owned()),
    }
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

/// The reader's language, as far as it is known without asking the store which languages the
/// shop writes in: the one asked for (`?lang=`), else the one remembered (the cookie), else the
/// best for `Accept-Language`, among the languages the help center has words for; English
/// otherwise.
fn language(uri: &Uri, headers: &HeaderMap) -> Locale {
    let spoken: Vec<Locale> = SPOKEN
        .iter()
        .map(|l| Locale::parse(l).expect("the help center's languages are locales"))
        .collect();
    let known = |value: Option<&str>| {
        let wanted = Locale::parse(value?).ok()?;
        spoken
            .iter()
            .find(|l| l.language() == wanted.language())
            .cloned()
    };
    let asked = axum::extract::Query::<LangQuery>::try_from_uri(uri)
        .ok()
        .and_then(|q| q.0.lang);
    let accept_language = headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    known(asked.as_deref())
        .or_else(|| known(cookie(headers, LANG_COOKIE)))
        .or_else(|| negotiate(accept_language, &spoken).cloned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.parse().unwrap(), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn the_language_is_asked_for_remembered_or_preferred() {
        let uri = |s: &str| s.parse::<Uri>().unwrap();
        let german = headers(&[("accept-language", "de-AT, en;q=0.5")]);
        assert_eq!(language(&uri("/help/nope"), &german).as_str(), "de");
        assert_eq!(language(&uri("/help/nope?lang=en"), &german).as_str(), "en");
        let remembered = headers(&[("cookie", "help_lang=de"), ("accept-language", "en")]);
        assert_eq!(language(&uri("/track/x"), &remembered).as_str(), "de");
        // A language without words of ours is English.
        let french = headers(&[("accept-language", "fr")]);
        assert_eq!(language(&uri("/help?lang=fr"), &french).as_str(), "en");
    }

    #[test]
    fn a_rate_limited_reader_is_told_how_long_to_wait() {
        let refusal = |secs| Refusal {
            status: StatusCode::TOO_MANY_REQUESTS,
            error: None,
            retry_after: Some(secs),
        };
        let (_, text) = explain(words("en"), &refusal(3));
        assert!(text.ends_with("Please try again in 3 seconds."), "{text}");
        let (_, text) = explain(words("de"), &refusal(1));
        assert!(text.ends_with("in 1 Sekunde."), "{text}");
    }
}
