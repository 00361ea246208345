//! Who is reading: a visit is a cookie (`help_visit`, half an hour after the last page), so
//! the team can see what a shopper searched and read before writing in, and how many visits
//! ended without writing in at all. Crawlers are served but not counted.
//!
//! Views and searches are many and each alone is worth little, so they are kept in memory and
//! written together every second (and when the service stops), off the page's path.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use concierge_api::AppState;
use concierge_store::help::HelpEvent;
use concierge_store::Store;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;

pub(crate) const VISIT_COOKIE: &str = "help_visit";
pub(crate) const LANG_COOKIE: &str = "help_lang";
/// A visit ends after this long without a page.
const VISIT_SECONDS: u32 = 30 * 60;
/// Events held at most between writes; past this (the database is down for long), new ones
/// are dropped rather than growing without bound.
const MAX_BUFFERED: usize = 100_000;

/// Events waiting to be written.
#[derive(Default)]
pub(crate) struct Recorder {
    events: Mutex<Vec<HelpEvent>>,
}

impl Recorder {
    pub(crate) fn record(&self, event: HelpEvent) {
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        if events.len() < MAX_BUFFERED {
            events.push(event);
        }
    }

    /// Writes what is waiting. On failure the events go back to wait for the next try.
    pub(crate) async fn flush(&self, store: &Store) {
        let batch = std::mem::take(&mut *self.events.lock().unwrap_or_else(|p| p.into_inner()));
        if batch.is_empty() {
            return;
        }
        if let Err(e) = store.record_help(&batch).await {
            tracing::warn!(error = %e, events = batch.len(), "help-center events wait for the next write");
            let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
            let room = MAX_BUFFERED.saturating_sub(events.len());
            events.extend(batch.into_iter().take(room));
        }
    }

    /// Writes every `every` until `stop`, then once more.
    pub(crate) async fn run(
        &self,
        store: Store,
        every: Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => self.flush(&store).await,
                changed = stop.changed() => if changed.is_err() || *stop.borrow() { break },
            }
        }
        self.flush(&store).await;
    }
}

/// The reader of a page, from the request.
pub(crate) struct Reader {
    /// The visit's id, `None` for crawlers (which are not counted).
    pub visit: Option<String>,
    /// The language cookie, when the reader picked one.
    pub lang_cookie: Option<String>,
    pub accept_language: String,
    pub address: Option<IpAddr>,
}

/// The value of the cookie `name`, if the request sent it.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

/// User agents that announce themselves as robots (or as command-line fetchers).
fn is_robot(user_agent: &str) -> bool {
    let ua = user_agent.to_ascii_lowercase();
    [
        "bot", "crawl", "spider", "slurp", "preview", "fetch", "monitor", "curl/", "wget/",
    ]
    .iter()
    .any(|word| ua.contains(word))
}

fn valid_visit(value: &str) -> bool {
    value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

impl FromRequestParts<AppState> for Reader {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Infallible> {
        let headers = &parts.headers;
        let agent = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let visit = (!is_robot(agent)).then(|| {
            cookie(headers, VISIT_COOKIE)
                .filter(|v| valid_visit(v))
                .map(str::to_owned)
                .unwrap_or_else(|| hex::encode(rand::random::<[u8; 16]>()))
        });
        Ok(Reader {
            visit,
            lang_cookie: cookie(headers, LANG_COOKIE).map(str::to_owned),
            accept_language: headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned(),
            address: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(a)| a.ip()),
        })
    }
}

impl Reader {
    /// The visit cookie, renewed on every page so a visit lasts while the reader reads.
    pub(crate) fn visit_cookie(&self, secure: bool) -> Option<HeaderValue> {
        let visit = self.visit.as_ref()?;
        let secure = if secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{VISIT_COOKIE}={visit}; Path=/help; HttpOnly; SameSite=Lax; Max-Age={VISIT_SECONDS}{secure}"
        ))
        .ok()
    }
}

/// The language cookie, set when a reader picks a language.
/// Clears the language cookie as it was first set, under `Path=/help`: beside the site-wide
/// one it would be sent first on help pages (the longer path wins the order) and outvote a
/// new choice.
pub(crate) fn old_lang_cookie_cleared() -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{LANG_COOKIE}=; Path=/help; SameSite=Lax; Max-Age=0"
    ))
    .ok()
}

pub(crate) fn lang_cookie(locale: &str, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        // Site-wide: the language a shopper picked holds on their tracking pages too.
        "{LANG_COOKIE}={locale}; Path=/; SameSite=Lax; Max-Age=31536000{secure}"
    ))
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robots_are_told_apart_from_browsers() {
        assert!(is_robot(
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
        ));
        assert!(is_robot("curl/8.5.0"));
        // Some clients send no user agent at all; they are counted, as a browser would be.
        assert!(!is_robot(""));
        assert!(!is_robot(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
        ));
    }

    #[test]
    fn only_well_formed_visit_ids_are_kept() {
        assert!(valid_visit("0123456789abcdef0123456789abcdef"));
        assert!(!valid_visit("0123"));
        assert!(!valid_visit("0123456789abcdef0123456789abcdeg"));
    }
}
