//! What search engines read: `sitemap.xml` (every published article, category and language
//! home, with their last change) and `robots.txt` (the help center is open to them, the
//! team's workspace and the API are not).

use crate::{HelpCenter, HelpResult, Languages};
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use concierge_api::AppState;
use concierge_domain::text::escape_html as xml;
use concierge_store::articles::ArticleFilter;
use std::fmt::Write;
use std::sync::Arc;

/// `GET /sitemap.xml`.
pub(crate) async fn sitemap(
    State(state): State<AppState>,
    Extension(help): Extension<Arc<HelpCenter>>,
) -> HelpResult {
    let store = &state.store;
    let articles = store
        .articles_in_order(&ArticleFilter {
            published_only: true,
            ..ArticleFilter::default()
        })
        .await?;
    let categories = store.categories().await?;
    let langs = Languages::of_shop(&state).await?;
    let available = &langs.available;
    let public = &help.settings.public_url;
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    let mut url = |path: String, lastmod: Option<chrono::DateTime<chrono::Utc>>| {
        let _ = write!(out, "<url><loc>{}</loc>", xml(&format!("{public}{path}")));
        if let Some(at) = lastmod {
            let _ = write!(out, "<lastmod>{}</lastmod>", at.format("%Y-%m-%d"));
        }
        out.push_str("</url>\n");
    };
    for locale in available {
        let newest = articles
            .iter()
            .filter(|a| a.locale == locale.as_str())
            .map(|a| a.updated_at)
            .max();
        url(langs.url("/help", locale.as_str()), newest);
        for c in &categories {
            let in_it = articles
                .iter()
                .filter(|a| a.locale == locale.as_str() && a.category.as_deref() == Some(&c.slug));
            if let Some(newest) = in_it.map(|a| a.updated_at).max() {
                url(
                    langs.url(&format!("/help/categories/{}", c.slug), locale.as_str()),
                    Some(newest),
                );
            }
        }
    }
    for a in &articles {
        url(
            langs.url(&format!("/help/articles/{}", a.slug), &a.locale),
            Some(a.updated_at),
        );
    }
    out.push_str("</urlset>\n");
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/xml; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=600"),
            ),
        ],
        out,
    )
        .into_response())
}

/// `GET /robots.txt`.
pub(crate) async fn robots(Extension(help): Extension<Arc<HelpCenter>>) -> Response {
    let body = format!(
        "User-agent: *\nAllow: /help\nDisallow: /help/contact\nDisallow: /help/suggest\nDisallow: /\n\nSitemap: {}/sitemap.xml\n",
        help.settings.public_url
    );
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}
