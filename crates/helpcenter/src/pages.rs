//! The pages: home, category, article, search results; the vote on an article; suggestions
//! as the reader types. Also the frame every page shares.

use crate::error_page::message_page;
use crate::visits::{lang_cookie, old_lang_cookie_cleared, Reader};
use crate::words::words;
use crate::{assets, library, HelpCenter, HelpResult, Languages};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form, Json};
use chrono::{Duration, Utc};
use concierge_api::error::ApiError;
use concierge_api::AppState;
use concierge_domain::dates::Language;
use concierge_domain::knowledge::Locale;
use concierge_knowledge::{Hit, Search};
use concierge_store::articles::{Article, ArticleFilter, Category, SlugTarget};
use concierge_store::help::{Feedback, HelpEvent};
use concierge_store::{Store, StoreError};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;

/// Results on a page of search results.
const PER_PAGE: usize = 20;
/// Suggestions while typing.
const SUGGESTIONS: usize = 5;
/// The longest query taken; the rest is cut off.
const MAX_QUERY_CHARS: usize = 200;

/// A language's own name, for the language switcher.
fn language_name(locale: &str) -> String {
    let language = locale.split('-').next().unwrap_or(locale);
    let name = match language {
        "en" => "English",
        "de" => "Deutsch",
        "fr" => "Français",
        "es" => "Español",
        "it" => "Italiano",
        "nl" => "Nederlands",
        "pt" => "Português",
        "sv" => "Svenska",
        "da" => "Dansk",
        "nb" | "no" => "Norsk",
        "fi" => "Suomi",
        "pl" => "Polski",
        "cs" => "Čeština",
        "tr" => "Türkçe",
        "ru" => "Русский",
        "ja" => "日本語",
        "zh" => "中文",
        "ar" => "العربية",
        _ => return locale.to_owned(),
    };
    if locale.contains('-') {
        format!("{name} ({locale})")
    } else {
        name.to_owned()
    }
}

/// What a page says about itself to search engines and the frame.
pub(crate) struct Head {
    pub title: String,
    pub description: Option<String>,
    /// The page's canonical path (with `?lang=` when not in the first language).
    pub canonical: Option<String>,
    /// The same page in other languages: (locale, path).
    pub alternates: Vec<(String, String)>,
    /// schema.org descriptions of the page.
    pub json_ld: Vec<serde_json::Value>,
    /// Whether search engines should leave the page out (search results, forms).
    pub noindex: bool,
}

impl Head {
    pub(crate) fn titled(title: impl Into<String>) -> Head {
        Head {
            title: title.into(),
            description: None,
            canonical: None,
            alternates: Vec::new(),
            json_ld: Vec::new(),
            noindex: false,
        }
    }
}

/// JSON for a `<script type="application/ld+json">` block: `<` is written as `\u003c`, so no
/// text from an article can close the block.
fn ld_json(value: &serde_json::Value) -> PreEscaped<String> {
    PreEscaped(value.to_string().replace('<', "\\u003c"))
}

/// The frame of every page: head, header with search, language switcher, footer.
pub(crate) fn frame(
    help: &HelpCenter,
    langs: &Languages,
    head: &Head,
    query: &str,
    main: Markup,
) -> Markup {
    let site = &help.settings.site_name;
    let public = &help.settings.public_url;
    let w = words(langs.chosen.as_str());
    let switch_to: Vec<(String, String)> = if head.alternates.is_empty() {
        langs
            .available
            .iter()
            .map(|l| (l.as_str().to_owned(), langs.url("/help", l.as_str())))
            .collect()
    } else {
        head.alternates.clone()
    };
    // The switcher names its language even for the first one, whose pages have plain URLs:
    // a plain URL would be read in the language remembered from before, so a reader who
    // once chose German could not go back to English.
    let switch_to: Vec<(String, String)> = switch_to
        .into_iter()
        .map(|(locale, path)| match path.contains("lang=") {
            true => (locale, path),
            false => {
                let sep = if path.contains('?') { '&' } else { '?' };
                let path = format!("{path}{sep}lang={locale}");
                (locale, path)
            }
        })
        .collect();
    html! {
        (DOCTYPE)
        html lang=(langs.chosen.as_str()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (head.title) " · " (site) }
                @if let Some(d) = &head.description { meta name="description" content=(d); }
                @if head.noindex { meta name="robots" content="noindex"; }
                @if let Some(c) = &head.canonical { link rel="canonical" href={ (public) (c) }; }
                @for (locale, path) in &head.alternates {
                    link rel="alternate" hreflang=(locale) href={ (public) (path) };
                }
                link rel="icon" href="/favicon.ico";
                link rel="stylesheet" href=(assets().url("help.css"));
                script type="module" src=(assets().url("help.js")) {}
                @for block in &head.json_ld {
                    script type="application/ld+json" { (ld_json(block)) }
                }
            }
            body {
                a.skip href="#main" { (w.skip) }
                header.site {
                    a.brand href=(langs.here("/help")) { (site) }
                    @if switch_to.len() > 1 {
                        nav.languages aria-label=(w.language) {
                            @for (locale, path) in &switch_to {
                                @let current = *locale == langs.chosen.as_str();
                                a href=(path) hreflang=(locale) lang=(locale)
                                    aria-current=[current.then_some("true")] { (language_name(locale)) }
                            }
                        }
                    }
                    (search_form(langs, query))
                }
                main #main tabindex="-1" { (main) }
                footer.site {
                    p {
                        (w.cant_find) " "
                        a href=(langs.here("/help/contact")) { (w.contact_us) }
                    }
                }
            }
        }
    }
}

fn search_form(langs: &Languages, query: &str) -> Markup {
    let w = words(langs.chosen.as_str());
    html! {
        form.search role="search" action="/help" method="get" {
            label for="help-search" { (w.search_label) }
            div.search-row {
                input #help-search type="search" name="q" value=(query) maxlength="200"
                    placeholder=(w.search_placeholder) autocomplete="off"
                    data-suggest=(langs.chosen.as_str()) aria-controls="help-suggestions"
                    aria-autocomplete="list";
                @if langs.chosen != langs.primary {
                    input type="hidden" name="lang" value=(langs.chosen.as_str());
                }
                button type="submit" { (w.search_button) }
            }
            ul #help-suggestions .suggestions role="listbox" hidden {}
        }
    }
}

/// A page's answer: the page, the visit cookie renewed, the language remembered when the
/// reader picked one. Pages differ by reader (language, votes), so no shared cache keeps them.
pub(crate) fn respond(
    help: &HelpCenter,
    reader: &Reader,
    langs: &Languages,
    status: StatusCode,
    page: Markup,
) -> Response {
    let mut response = (status, page).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Accept-Language, Cookie"),
    );
    if let Some(c) = reader.visit_cookie(help.secure_cookies) {
        headers.append(header::SET_COOKIE, c);
    }
    if langs.asked {
        for c in [
            old_lang_cookie_cleared(),
            lang_cookie(langs.chosen.as_str(), help.secure_cookies),
        ]
        .into_iter()
        .flatten()
        {
            headers.append(header::SET_COOKIE, c);
        }
    }
    response
}

fn article_path(slug: &str) -> String {
    format!("/help/articles/{slug}")
}

fn category_path(slug: &str) -> String {
    format!("/help/categories/{slug}")
}

/// The query of a search, trimmed and cut to a sane length.
fn clean_query(q: Option<&str>) -> String {
    q.unwrap_or("")
        .trim()
        .chars()
        .take(MAX_QUERY_CHARS)
        .collect()
}

#[derive(Deserialize)]
pub(crate) struct HomeQuery {
    q: Option<String>,
    lang: Option<String>,
    /// Taken loosely: anything but a number is the first page.
    page: Option<String>,
}

/// `/help`: categories and popular articles; with `?q=`, search results.
pub(crate) async fn home(
    State(state): State<AppState>,
    Extension(help): Extension<Arc<HelpCenter>>,
    reader: Reader,
    Query(q): Query<HomeQuery>,
) -> HelpResult {
    let langs = Languages::pick(&state, q.lang.as_deref(), &reader).await?;
    let query = clean_query(q.q.as_deref());
    if !query.is_empty() {
        return search_results(
            &state,
            &help,
            &reader,
            &langs,
            &query,
            q.page.and_then(|p| p.parse().ok()).unwrap_or(1),
        )
        .await;
    }
    let store = &state.store;
    let categories = store.categories().await?;
    let articles = store
        .articles_in_order(&ArticleFilter {
            published_only: true,
            category: None,
            locale: Some(langs.chosen.clone()),
        })
        .await?;
    let popular = popular(store, &langs.chosen, &articles).await?;
    let w = words(langs.chosen.as_str());
    let shelves = shelves(&categories, &articles, w.more);
    let site = &help.settings.site_name;
    let mut head = Head::titled(w.help_center);
    head.description = Some(format!("{site}: {}", w.home_description));
    head.canonical = Some(langs.here("/help"));
    head.alternates = langs
        .available
        .iter()
        .map(|l| (l.as_str().to_owned(), langs.url("/help", l.as_str())))
        .collect();
    head.json_ld.push(json!({
        "@context": "https://schema.org",
        "@type": "WebSite",
        "name": site,
        "url": format!("{}/help", help.settings.public_url),
        "potentialAction": {
            "@type": "SearchAction",
            "target": format!("{}/help?q={{query}}", help.settings.public_url),
            "query-input": "required name=query",
        },
    }));
    let main = html! {
        h1 { (w.how_can_we_help) }
        @if !popular.is_empty() {
            section.popular aria-labelledby="popular-heading" {
                h2 #popular-heading { (w.popular) }
                ul.article-list {
                    @for a in &popular {
                        li { a href=(langs.here(&article_path(&a.slug))) { (a.title) } }
                    }
                }
            }
        }
        section.categories aria-labelledby="categories-heading" {
            h2 #categories-heading { (w.browse) }
            @if shelves.is_empty() {
                p { (w.no_articles) }
            }
            div.category-grid {
                @for (category, items) in &shelves {
                    section.category-card {
                        h3 { a href=(langs.here(&category_path(&category.slug))) { (category.name) } }
                        @if let Some(d) = &category.description { p.muted { (d) } }
                        ul.article-list {
                            @for a in items.iter().take(5) {
                                li { a href=(langs.here(&article_path(&a.slug))) { (a.title) } }
                            }
                        }
                        @if items.len() > 5 {
                            a.more href=(langs.here(&category_path(&category.slug))) {
                                (w.all_articles) " (" (items.len()) ")"
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(respond(
        &help,
        &reader,
        &langs,
        StatusCode::OK,
        frame(&help, &langs, &head, "", main),
    ))
}

/// Categories with their published articles of the page's language, in order; categories
/// without any are left out, articles without a category come last under "More".
fn shelves<'a>(
    categories: &'a [Category],
    articles: &'a [Article],
    more: &str,
) -> Vec<(std::borrow::Cow<'a, Category>, Vec<&'a Article>)> {
    let mut out: Vec<(std::borrow::Cow<'a, Category>, Vec<&'a Article>)> = categories
        .iter()
        .map(|c| {
            let items = articles
                .iter()
                .filter(|a| a.category.as_deref() == Some(c.slug.as_str()))
                .collect();
            (std::borrow::Cow::Borrowed(c), items)
        })
        .filter(|(_, items): &(_, Vec<_>)| !items.is_empty())
        .collect();
    let loose: Vec<&Article> = articles
        .iter()
        .filter(|a| {
            a.category
                .as_deref()
                .is_none_or(|c| !categories.iter().any(|k| k.slug == c))
        })
        .collect();
    if !loose.is_empty() {
        out.push((
            std::borrow::Cow::Owned(Category {
                slug: String::new(),
                name: more.to_owned(),
                description: None,
                position: i64::MAX,
            }),
            loose,
        ));
    }
    out
}

/// The most read articles of the last month; the first ones in order before anyone has read.
async fn popular<'a>(
    store: &Store,
    locale: &Locale,
    articles: &'a [Article],
) -> Result<Vec<&'a Article>, StoreError> {
    let ids = store
        .popular_articles(locale.as_str(), Utc::now() - Duration::days(30), 6)
        .await?;
    let mut out: Vec<&Article> = ids
        .iter()
        .filter_map(|id| articles.iter().find(|a| a.id == *id))
        .collect();
    for a in articles {
        if out.len() >= 6 {
            break;
        }
        if !out.iter().any(|o| o.id == a.id) {
            out.push(a);
        }
    }
    Ok(out)
}

async fn search_results(
    state: &AppState,
    help: &HelpCenter,
    reader: &Reader,
    langs: &Languages,
    query: &str,
    page: usize,
) -> HelpResult {
    let page = page.clamp(1, 50);
    let hits = library(state)?.search(&Search {
        text: query,
        locale: Some(&langs.chosen),
        published_only: true,
        limit: PER_PAGE + 1,
        offset: (page - 1) * PER_PAGE,
    })?;
    let more = hits.len() > PER_PAGE;
    let hits = &hits[..hits.len().min(PER_PAGE)];
    // Crawlers (no visit) are not counted.
    if page == 1 && reader.visit.is_some() {
        help.recorder.record(HelpEvent::Search {
            visit: reader.visit.clone(),
            query: query.to_owned(),
            results: hits.len() as i64,
            at: Utc::now(),
        });
    }
    let w = words(langs.chosen.as_str());
    let mut head = Head::titled(format!("{}: “{query}”", w.results_title));
    head.noindex = true;
    let page_url = |n: usize| {
        let q: String = query
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        langs.here(&format!("/help?q={q}&page={n}"))
    };
    let main = html! {
        h1 { (w.results_for) " “" (query) "”" }
        @if hits.is_empty() {
            div.no-results {
                p { (w.no_results) " "
                    a href=(langs.here("/help")) { (w.home_link) } "." }
                p { (w.still_need_help) " " a href=(langs.here("/help/contact")) { (w.contact_us) } " " (w.well_get_back) }
            }
        } @else {
            ol.results {
                @for hit in hits {
                    li {
                        a href=(langs.here(&article_path(&hit.slug))) { (hit.title) }
                        @if !hit.summary.is_empty() { p.muted { (hit.summary) } }
                    }
                }
            }
            nav.pages aria-label=(w.result_pages) {
                @if page > 1 { a href=(page_url(page - 1)) rel="prev" { (w.previous) } }
                @if more { a href=(page_url(page + 1)) rel="next" { (w.next) } }
            }
        }
    };
    Ok(respond(
        help,
        reader,
        langs,
        StatusCode::OK,
        frame(help, langs, &head, query, main),
    ))
}

#[derive(Deserialize)]
pub(crate) struct CategoryQuery {
    lang: Option<String>,
}

/// `/help/categories/{slug}`: a category's articles, described for search engines as an FAQ.
pub(crate) async fn category(
    State(state): State<AppState>,
    Extension(help): Extension<Arc<HelpCenter>>,
    reader: Reader,
    Path(slug): Path<String>,
    Query(q): Query<CategoryQuery>,
) -> HelpResult {
    let langs = Languages::pick(&state, q.lang.as_deref(), &reader).await?;
    let category = state
        .store
        .categories()
        .await?
        .into_iter()
        .find(|c| c.slug == slug)
        .ok_or(ApiError::NotFound("category"))?;
    let articles = state
        .store
        .articles_in_order(&ArticleFilter {
            published_only: true,
            category: Some(category.slug.clone()),
            locale: Some(langs.chosen.clone()),
        })
        .await?;
    let w = words(langs.chosen.as_str());
    let path = category_path(&category.slug);
    let mut head = Head::titled(category.name.clone());
    head.description = category.description.clone().or_else(|| {
        Some(format!(
            "{}: {}",
            category.name,
            articles
                .iter()
                .take(5)
                .map(|a| a.title.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    });
    head.canonical = Some(langs.here(&path));
    head.alternates = langs
        .available
        .iter()
        .map(|l| (l.as_str().to_owned(), langs.url(&path, l.as_str())))
        .collect();
    if !articles.is_empty() {
        head.json_ld.push(json!({
            "@context": "https://schema.org",
            "@type": "FAQPage",
            "name": category.name,
            "mainEntity": articles.iter().map(|a| json!({
                "@type": "Question",
                "name": a.title,
                "acceptedAnswer": {
                    "@type": "Answer",
                    "text": a.summary.clone().unwrap_or_default(),
                    "url": format!("{}{}", help.settings.public_url, langs.here(&article_path(&a.slug))),
                },
            })).collect::<Vec<_>>(),
        }));
    }
    let main = html! {
        nav.breadcrumbs aria-label=(w.breadcrumbs) {
            a href=(langs.here("/help")) { (w.help_center) }
        }
        h1 { (category.name) }
        @if let Some(d) = &category.description { p.lead { (d) } }
        @if articles.is_empty() {
            p { (w.none_in_language) }
        }
        ul.article-list.wide {
            @for a in &articles {
                li {
                    a href=(langs.here(&article_path(&a.slug))) { (a.title) }
                    @if let Some(s) = &a.summary { p.muted { (s) } }
                }
            }
        }
    };
    Ok(respond(
        &help,
        &reader,
        &langs,
        StatusCode::OK,
        frame(&help, &langs, &head, "", main),
    ))
}

#[derive(Deserialize)]
pub(crate) struct ArticleQuery {
    lang: Option<String>,
    /// Set after a vote, to thank the reader: `yes` or `no`.
    voted: Option<String>,
}

/// Finds the article a slug names for a reader: in their language first, then in any
/// language that has the slug (the shop's first language before others).
async fn find_article(
    store: &Store,
    langs: &Languages,
    slug: &str,
) -> Result<SlugTarget, ApiError> {
    match store.article_by_slug(&langs.chosen, slug).await {
        Ok(found) => return Ok(found),
        Err(StoreError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let mut others: Vec<Locale> = store
        .slug_locales(slug)
        .await?
        .iter()
        .filter_map(|l| Locale::parse(l).ok())
        .filter(|l| *l != langs.chosen)
        .collect();
    others.sort_by_key(|l| *l != langs.primary);
    for locale in others {
        match store.article_by_slug(&locale, slug).await {
            Ok(found) => return Ok(found),
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::NotFound("article"))
}

/// A redirect for a page read with GET: 301 for a moved article (search engines move its
/// rank along), 302 for the reader's language.
fn redirect(status: StatusCode, to: &str) -> Response {
    let mut response = status.into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(to) {
        headers.insert(header::LOCATION, location);
    }
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Accept-Language, Cookie"),
    );
    response
}

/// `/help/articles/{slug}`: an article, with related ones, its vote, and the way to a person.
pub(crate) async fn article(
    State(state): State<AppState>,
    Extension(help): Extension<Arc<HelpCenter>>,
    reader: Reader,
    Path(slug): Path<String>,
    Query(q): Query<ArticleQuery>,
) -> HelpResult {
    let store = &state.store;
    let langs = Languages::pick(&state, q.lang.as_deref(), &reader).await?;
    let article = match find_article(store, &langs, &slug).await? {
        SlugTarget::Current(a) => a,
        // An old slug: the article moved (its title changed), so links keep working.
        SlugTarget::Moved(a) => {
            let to = langs.url(&article_path(&a.slug), &a.locale);
            return Ok(redirect(StatusCode::MOVED_PERMANENTLY, &to));
        }
    };
    if !article.published {
        return Err(ApiError::NotFound("article"));
    }
    let translations: Vec<_> = store
        .translations(&article.translation_group)
        .await?
        .into_iter()
        .filter(|t| t.published)
        .collect();
    // The reader's language has its own version of this article: show that one, unless
    // they asked for this language in this very link.
    if article.locale != langs.chosen.as_str() && !langs.asked {
        if let Some(t) = translations
            .iter()
            .find(|t| t.locale == langs.chosen.as_str())
        {
            let to = langs.url(&article_path(&t.slug), &t.locale);
            return Ok(redirect(StatusCode::FOUND, &to));
        }
    }
    // From here the page is in the article's language.
    let langs = match Locale::parse(&article.locale) {
        Ok(l) if l != langs.chosen => Languages { chosen: l, ..langs },
        _ => langs,
    };
    if reader.visit.is_some() {
        help.recorder.record(HelpEvent::View {
            visit: reader.visit.clone(),
            article: article.id.clone(),
            at: Utc::now(),
        });
    }
    let category = match &article.category {
        Some(c) => store.categories().await?.into_iter().find(|k| k.slug == *c),
        None => None,
    };
    let related = related(&state, &langs, &article);
    let w = words(langs.chosen.as_str());
    let calendar = store.calendar(Language::of(langs.chosen.as_str())).await?;
    let path = article_path(&article.slug);
    let url = langs.here(&path);
    let public = &help.settings.public_url;
    let mut head = Head::titled(article.title.clone());
    head.description = article.summary.clone();
    head.canonical = Some(url.clone());
    head.alternates = translations
        .iter()
        .map(|t| {
            (
                t.locale.clone(),
                langs.url(&article_path(&t.slug), &t.locale),
            )
        })
        .collect();
    head.json_ld.push(json!({
        "@context": "https://schema.org",
        "@type": "Article",
        "headline": article.title,
        "description": article.summary,
        "inLanguage": article.locale,
        "datePublished": article.created_at.to_rfc3339(),
        "dateModified": article.updated_at.to_rfc3339(),
        "mainEntityOfPage": format!("{public}{url}"),
        "publisher": { "@type": "Organization", "name": help.settings.site_name },
    }));
    let mut crumbs = vec![
        json!({"@type": "ListItem", "position": 1, "name": w.help_center, "item": format!("{public}{}", langs.here("/help"))}),
    ];
    if let Some(c) = &category {
        crumbs.push(json!({"@type": "ListItem", "position": 2, "name": c.name, "item": format!("{public}{}", langs.here(&category_path(&c.slug)))}));
    }
    head.json_ld.push(json!({
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": crumbs,
    }));
    let voted = q.voted.as_deref();
    let contact = langs.here(&format!("/help/contact?article={}", article.slug));
    let main = html! {
        nav.breadcrumbs aria-label=(w.breadcrumbs) {
            a href=(langs.here("/help")) { (w.help_center) }
            @if let Some(c) = &category {
                " › " a href=(langs.here(&category_path(&c.slug))) { (c.name) }
            }
        }
        article.article {
            h1 { (article.title) }
            p.updated.muted {
                (w.updated) " "
                time datetime=(article.updated_at.format("%Y-%m-%d")) { (calendar.date(article.updated_at)) }
            }
            div.body { (PreEscaped(&article.body_html)) }
        }
        section #feedback .feedback aria-labelledby="feedback-heading" {
            @match voted {
                Some("yes") => {
                    h2 #feedback-heading { (w.thanks_yes) }
                    p { (w.glad) }
                }
                Some(_) => {
                    h2 #feedback-heading { (w.thanks_no) }
                    p { (w.sorry) " "
                        a href=(contact) { (w.contact_us) } " " (w.help_yourselves) }
                }
                None => {
                    form method="post" action={ (path) "/feedback" } {
                        input type="hidden" name="lang" value=(article.locale);
                        h2 #feedback-heading { (w.was_it_helpful) }
                        div.vote {
                            button type="submit" name="helpful" value="yes" { (w.yes) }
                            button type="submit" name="helpful" value="no" { (w.no) }
                        }
                        label for="feedback-comment" { (w.comment_label) }
                        textarea #feedback-comment name="comment" rows="2" maxlength="2000" {}
                    }
                }
            }
        }
        @if !related.is_empty() {
            aside.related aria-labelledby="related-heading" {
                h2 #related-heading { (w.related) }
                ul.article-list {
                    @for r in &related {
                        li { a href=(langs.here(&article_path(&r.slug))) { (r.title) } }
                    }
                }
            }
        }
        section.still-need-help {
            h2 { (w.still_need_help) }
            p { (w.send_us) }
            a.button href=(contact) { (w.contact_us) }
        }
    };
    Ok(respond(
        &help,
        &reader,
        &langs,
        StatusCode::OK,
        frame(&help, &langs, &head, "", main),
    ))
}

/// Articles like this one: the index's best matches for its title, itself left out.
fn related(state: &AppState, langs: &Languages, article: &Article) -> Vec<Hit> {
    let Ok(library) = library(state) else {
        return Vec::new();
    };
    let found = library.search(&Search {
        text: &article.title,
        locale: Some(&langs.chosen),
        published_only: true,
        limit: 6,
        offset: 0,
    });
    match found {
        Ok(hits) => hits
            .into_iter()
            .filter(|h| h.id != article.id)
            .take(5)
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "related articles could not be found");
            Vec::new()
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct Vote {
    helpful: Option<String>,
    comment: Option<String>,
    lang: Option<String>,
}

/// `POST /help/articles/{slug}/feedback`: "was this helpful?" — then back to the article.
pub(crate) async fn feedback(
    State(state): State<AppState>,
    Extension(help): Extension<Arc<HelpCenter>>,
    reader: Reader,
    Path(slug): Path<String>,
    Form(vote): Form<Vote>,
) -> HelpResult {
    let helpful = match vote.helpful.as_deref() {
        Some("yes") => true,
        Some("no") => false,
        _ => {
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                message_page(
                    &help,
                    &Locale::default(),
                    "Pick yes or no",
                    "Please choose Yes or No to rate the article.",
                ),
            )
                .into_response())
        }
    };
    let langs = Languages::pick(&state, vote.lang.as_deref(), &reader).await?;
    let article = match find_article(&state.store, &langs, &slug).await? {
        SlugTarget::Current(a) | SlugTarget::Moved(a) => a,
    };
    if !article.published {
        return Err(ApiError::NotFound("article"));
    }
    let comment: Option<String> = vote
        .comment
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.chars()
                .filter(|ch| !ch.is_control() || *ch == '\n')
                .take(2000)
                .collect()
        });
    state
        .store
        .record_feedback(&Feedback {
            article: article.id.clone(),
            visit: reader.visit.clone(),
            helpful,
            comment,
        })
        .await?;
    let back = langs.url(
        &format!(
            "{}?voted={}",
            article_path(&article.slug),
            if helpful { "yes" } else { "no" }
        ),
        &article.locale,
    );
    let mut response = Redirect::to(&format!("{back}#feedback")).into_response();
    if let Some(c) = reader.visit_cookie(help.secure_cookies) {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(response)
}

#[derive(Deserialize)]
pub(crate) struct SuggestQuery {
    q: Option<String>,
    lang: Option<String>,
}

/// One suggestion while typing.
#[derive(Serialize)]
pub(crate) struct Suggestion {
    title: String,
    url: String,
    summary: String,
    category: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct Suggestions {
    items: Vec<Suggestion>,
}

/// `GET /help/suggest?q=&lang=`: up to five articles for what the reader has typed so far
/// (the last word may be half a word). For the search box, the contact form and the chat
/// widget. Not recorded: a search is what the reader submits.
pub(crate) async fn suggest(
    State(state): State<AppState>,
    reader: Reader,
    Query(q): Query<SuggestQuery>,
) -> HelpResult {
    let langs = Languages::pick(&state, q.lang.as_deref(), &reader).await?;
    let query = clean_query(q.q.as_deref());
    let hits = if query.is_empty() {
        Vec::new()
    } else {
        library(&state)?.suggest(&Search {
            text: &query,
            locale: Some(&langs.chosen),
            published_only: true,
            limit: SUGGESTIONS,
            offset: 0,
        })?
    };
    let items = hits
        .into_iter()
        .map(|h| Suggestion {
            url: langs.url(&article_path(&h.slug), &h.locale),
            title: h.title,
            summary: h.summary,
            category: h.category,
        })
        .collect();
    let mut response = Json(Suggestions { items }).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=60"),
    );
    // The chat widget asks from the shop's pages, another origin; published articles are
    // public anyway.
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(response)
}
