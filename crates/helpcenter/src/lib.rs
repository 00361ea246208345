//! The public help center at `/help`: the shop's articles by category, search with
//! suggestions as the shopper types, "was this helpful?", and a contact form that opens a
//! conversation carrying what the shopper searched and read. Pages are rendered on the
//! server with `maud` (which escapes every value), articles' HTML was sanitised when it was
//! saved, and the stylesheet and the one small script are embedded in the binary.
//!
//! Languages: an article may have translations. A page is shown in the language the reader
//! picked (`?lang=`, remembered in a cookie), else the best match for `Accept-Language`
//! among the languages with published articles, else the shop's first language (English
//! when it has English articles). Pages in the first language have plain URLs; others carry
//! `?lang=`.
//!
//! Architecture invariant: no inline script or style (the service's Content-Security-Policy
//! forbids them; JSON-LD blocks are data, not script), nothing fetched from another origin,
//! and pages read the store and the search index but write only shoppers' votes, their
//! contact messages and the visit records.

mod contact;
mod error_page;
mod mail_links;
mod pages;
mod seo;
mod tracking;
mod visits;
mod words;

use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use concierge_api::embedded::Embedded;
use concierge_api::error::ApiError;
use concierge_api::rate::PerClient;
use concierge_api::AppState;
use concierge_domain::knowledge::{negotiate, Locale};
use concierge_knowledge::Library;
use concierge_store::Store;
use std::num::NonZeroU32;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use visits::{Reader, Recorder};

/// How often views and searches are written.
const RECORD_EVERY: Duration = Duration::from_secs(1);

/// What the help center needs to know about the shop.
#[derive(Debug, Clone)]
pub struct HelpSettings {
    /// The name the help center goes by (the support team's name).
    pub site_name: String,
    /// Where the service is reached from outside, without a trailing slash: for canonical
    /// URLs and the sitemap.
    pub public_url: String,
}

/// The help center: its settings, the buffer of what readers did, and the contact form's
/// rate limit.
pub struct HelpCenter {
    settings: HelpSettings,
    secure_cookies: bool,
    recorder: Recorder,
    contact_limit: PerClient,
}

impl HelpCenter {
    pub fn new(settings: HelpSettings) -> Arc<HelpCenter> {
        let nz = |n| NonZeroU32::new(n).expect("not zero");
        Arc::new(HelpCenter {
            secure_cookies: settings.public_url.starts_with("https://"),
            settings,
            recorder: Recorder::default(),
            // Five messages at once from one address, then one a minute: plenty for a
            // shopper, little for a spammer.
            contact_limit: PerClient::per_minute(nz(1), nz(5)),
        })
    }

    /// Writes the views and searches waiting in memory now.
    pub async fn flush(&self, store: &Store) {
        self.recorder.flush(store).await;
    }

    /// Writes views and searches every second until `stop`, then what is left.
    pub async fn keep_recording(
        self: Arc<Self>,
        store: Store,
        stop: tokio::sync::watch::Receiver<bool>,
    ) {
        self.recorder.run(store, RECORD_EVERY, stop).await;
    }
}

/// The help center's pages, to serve beside the API ([`concierge_api::router_with`]).
pub fn pages(help: Arc<HelpCenter>) -> Router<AppState> {
    Router::new()
        .route("/help", get(pages::home))
        .route("/help/", get(|| async { Redirect::permanent("/help") }))
        .route("/help/categories/{slug}", get(pages::category))
        .route("/help/articles/{slug}", get(pages::article))
        .route("/help/articles/{slug}/feedback", post(pages::feedback))
        .route("/help/suggest", get(pages::suggest))
        .route("/help/contact", get(contact::form).post(contact::send))
        .route("/help/assets/{name}", get(asset))
        .route("/sitemap.xml", get(seo::sitemap))
        .route("/robots.txt", get(seo::robots))
        .route("/track/{token}", get(tracking::page))
        .route("/track/{token}/help", post(tracking::ask))
        .route(
            "/chat/confirm/{token}",
            get(mail_links::ask_confirm).post(mail_links::confirm),
        )
        .route(
            "/notices/unsubscribe/{token}",
            get(mail_links::ask_unsubscribe).post(mail_links::unsubscribe),
        )
        .layer(Extension(help))
}

fn assets() -> &'static Embedded {
    static TABLE: OnceLock<Embedded> = OnceLock::new();
    TABLE.get_or_init(|| {
        Embedded::new(
            "/help/assets/",
            concierge_api::embedded_files! {
                "help.css": "text/css; charset=utf-8",
                "help.js": "text/javascript; charset=utf-8",
            },
        )
    })
}

async fn asset(
    axum::extract::Path(name): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
) -> Response {
    assets().serve(&name, &headers)
}

/// The languages of a page: the one it is shown in and the ones it could be.
pub(crate) struct Languages {
    pub chosen: Locale,
    /// Whether the reader asked for `chosen` in this request (`?lang=`).
    pub asked: bool,
    /// Languages with published articles, in order.
    pub available: Vec<Locale>,
    /// The shop's first language: its pages have plain URLs.
    pub primary: Locale,
}

impl Languages {
    /// The shop's languages, the page in its first one.
    pub(crate) async fn of_shop(state: &AppState) -> Result<Languages, ApiError> {
        let locales = match &state.config.library {
            Some(library) => library.published_locales()?,
            None => Arc::new(state.store.published_locales().await?),
        };
        let mut available: Vec<Locale> = locales
            .iter()
            .filter_map(|l| Locale::parse(l).ok())
            .collect();
        if available.is_empty() {
            available.push(Locale::default());
        }
        let primary = if available.contains(&Locale::default()) {
            Locale::default()
        } else {
            available[0].clone()
        };
        Ok(Languages {
            chosen: primary.clone(),
            asked: false,
            available,
            primary,
        })
    }

    /// The languages of a page for a reader who may have `asked` for one.
    pub(crate) async fn pick(
        state: &AppState,
        asked: Option<&str>,
        reader: &Reader,
    ) -> Result<Languages, ApiError> {
        let shop = Languages::of_shop(state).await?;
        let known = |value: Option<&str>| {
            value
                .and_then(|v| Locale::parse(v).ok())
                .filter(|l| shop.available.contains(l))
        };
        let (chosen, asked) = if let Some(l) = known(asked) {
            (l, true)
        } else if let Some(l) = known(reader.lang_cookie.as_deref()) {
            (l, false)
        } else if let Some(l) = negotiate(&reader.accept_language, &shop.available) {
            (l.clone(), false)
        } else {
            (shop.primary.clone(), false)
        };
        Ok(Languages {
            chosen,
            asked,
            ..shop
        })
    }

    /// `path` in `locale`: plain for the first language, with `?lang=` for the others.
    pub(crate) fn url(&self, path: &str, locale: &str) -> String {
        if locale == self.primary.as_str() {
            path.to_owned()
        } else {
            let sep = if path.contains('?') { '&' } else { '?' };
            format!("{path}{sep}lang={locale}")
        }
    }

    /// `path` in the page's language.
    pub(crate) fn here(&self, path: &str) -> String {
        self.url(path, self.chosen.as_str())
    }
}

/// The search index, which the service always has; a bare API router (in some tests) may not.
pub(crate) fn library(state: &AppState) -> Result<&Arc<Library>, ApiError> {
    state.config.library.as_ref().ok_or(ApiError::Unavailable)
}

/// A page's answer, or why there is none: the error leaves as the API's one error type (a
/// storage error mapped by `ApiError::from`), and the API's layer shows it to the reader as
/// the help center's error page (`error_page`).
pub(crate) type HelpResult = Result<Response, ApiError>;
