//! The knowledge base for admins: the articles with how they do (views, votes), what shoppers
//! searched for and did not find (content gaps), the editor with its live preview, and the
//! help center's categories and synonyms. Every write goes through the JSON API.

use crate::admin::page;
use crate::layout;
use crate::{AdminAgent, PageResult};
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::Router;
use chrono::{Duration, Utc};
use concierge_api::error::ApiError;
use concierge_api::AppState;
use concierge_domain::ids::ArticleId;
use concierge_store::articles::{Article, ArticleFilter};
use maud::{html, Markup, PreEscaped};
use serde::Deserialize;
use std::collections::HashMap;

/// How far back the figures on the articles page look.
const PERIOD_DAYS: i64 = 30;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/articles", get(articles))
        .route("/admin/articles/new", get(new_article))
        .route("/admin/articles/{id}", get(edit_article))
        .route("/admin/help-center", get(help_center))
}

fn percent(part: i64, whole: i64) -> String {
    if whole == 0 {
        "—".to_owned()
    } else {
        format!("{:.0}%", part as f64 * 100.0 / whole as f64)
    }
}

async fn articles(State(state): State<AppState>, AdminAgent(viewer): AdminAgent) -> PageResult {
    let store = &state.store;
    let until = Utc::now();
    let since = until - Duration::days(PERIOD_DAYS);
    let articles = store.articles_in_order(&ArticleFilter::default()).await?;
    let stats = store.help_stats(since, until).await?;
    let gaps = store.content_gaps(since, until, 20).await?;
    let per_article: HashMap<String, _> = store
        .article_stats(since, until)
        .await?
        .into_iter()
        .map(|s| (s.id.as_str().to_owned(), s))
        .collect();
    let body = html! {
        p { a.button href="/admin/articles/new" { "New article" } " "
            a href="/help" target="_blank" rel="noopener" { "Open the help center" } }
        h2 { "Last " (PERIOD_DAYS) " days" }
        dl.facts.figures {
            dt { "Help-center visits" } dd { (stats.visits) }
            dt { "Answered without a conversation" }
            dd title="Visits over a day old that did not open a conversation within 24 hours" {
                (stats.deflection().map_or("—".to_owned(), |d| format!("{:.0}%", d * 100.0)))
            }
            dt { "Article views" } dd { (stats.views) }
            dt { "Searches" } dd { (stats.searches) }
            dt { "Searches with no result" } dd { (stats.searches_without_results) }
            dt { "Rated helpful" } dd { (percent(stats.helpful, stats.helpful + stats.not_helpful)) " of " (stats.helpful + stats.not_helpful) " votes" }
        }
        h2 #gaps { "Content gaps" }
        @if gaps.is_empty() {
            p.empty { "No searches without results. When shoppers search for something no article answers, it shows here." }
        } @else {
            p { "What shoppers searched for and found nothing: articles to write, or synonyms to add." }
            table.list.gaps {
                thead { tr { th { "Search" } th { "Times" } th { "Last" } } }
                tbody {
                    @for g in &gaps {
                        tr { td { (g.query) } td { (g.searches) } td { (layout::time(g.last_at)) } }
                    }
                }
            }
        }
        h2 { "Articles" }
        @if articles.is_empty() { p.empty { "No articles yet." } }
        table.list.articles {
            thead { tr { th { "Title" } th { "Language" } th { "Category" } th { "Status" } th { "Views" } th { "Helpful" } th { "Updated" } } }
            tbody {
                @for a in &articles {
                    @let s = per_article.get(a.id.as_str());
                    tr {
                        td { a href={"/admin/articles/" (a.id.as_str())} { (a.title) } }
                        td { (a.locale) }
                        td { (a.category.as_deref().unwrap_or("—")) }
                        td { @if a.published { "published" } @else { "draft" } }
                        td { (s.map_or(0, |s| s.views)) }
                        td { (s.map_or("—".to_owned(), |s| percent(s.helpful, s.helpful + s.not_helpful))) }
                        td { (layout::time(a.updated_at)) }
                    }
                }
            }
        }
    };
    page(&viewer, "articles", body)
}

#[derive(Deserialize)]
pub(crate) struct NewQuery {
    /// The article the new one translates.
    translation_of: Option<String>,
}

async fn new_article(
    State(state): State<AppState>,
    AdminAgent(viewer): AdminAgent,
    Query(q): Query<NewQuery>,
) -> PageResult {
    let original = match q.translation_of.as_deref().map(ArticleId::parse) {
        Some(Ok(id)) => Some(state.store.article(&id).await?),
        Some(Err(_)) => return Err(ApiError::NotFound("article")),
        None => None,
    };
    let body = editor(&state, None, original.as_ref()).await?;
    page(&viewer, "articles", body)
}

async fn edit_article(
    State(state): State<AppState>,
    AdminAgent(viewer): AdminAgent,
    Path(id): Path<String>,
) -> PageResult {
    let id = ArticleId::parse(&id).map_err(|_| ApiError::NotFound("article"))?;
    let article = state.store.article(&id).await?;
    let body = editor(&state, Some(&article), None).await?;
    page(&viewer, "articles", body)
}

/// The editor: the fields, the Markdown beside its preview (rendered by the server, exactly
/// as the help center will show it), files, and the article's translations.
async fn editor(
    state: &AppState,
    article: Option<&Article>,
    translating: Option<&Article>,
) -> Result<Markup, ApiError> {
    let categories = state.store.categories().await?;
    let translations = match article {
        Some(a) => state.store.translations(&a.translation_group).await?,
        None => Vec::new(),
    };
    let comments = match article {
        Some(a) => state.store.article_comments(&a.id, 20).await?,
        None => Vec::new(),
    };
    let category = article.or(translating).and_then(|a| a.category.clone());
    let markdown = article.map_or("", |a| a.body_markdown.as_str());
    let preview = article.map_or("", |a| a.body_html.as_str());
    Ok(html! {
        p { a href="/admin/articles" { "← All articles" } }
        @if let Some(o) = translating {
            p.notice { "A translation of “" (o.title) "” (" (o.locale) ")." }
        }
        form #article-form .article-editor data-id=[article.map(|a| a.id.as_str())] {
            @if let Some(o) = translating {
                input type="hidden" name="translation_of" value=(o.id.as_str());
            }
            div.editor-fields {
                label { "Title" input name="title" required maxlength="200" value=[article.map(|a| a.title.as_str())]; }
                label { "Slug (the address; old ones keep working)"
                    input name="slug" maxlength="100" value=[article.map(|a| a.slug.as_str())] placeholder="made from the title"; }
                label { "Category"
                    select name="category" {
                        option value="" { "—" }
                        @for c in &categories {
                            option value=(c.slug) selected[category.as_deref() == Some(c.slug.as_str())] { (c.name) }
                        }
                    }
                }
                label { "Language"
                    input name="locale" maxlength="10" required
                        value=(article.map_or_else(|| if translating.is_some() { String::new() } else { "en".to_owned() }, |a| a.locale.clone()))
                        readonly[article.is_some()] placeholder="de";
                }
                label { "Summary (search results and search engines)"
                    input name="summary" maxlength="300" value=[article.and_then(|a| a.summary.as_deref())]; }
                label { "Order in its category" input name="position" type="number" value=(article.map_or(0, |a| a.position)); }
                label.check { input name="published" type="checkbox" checked[article.is_none_or(|a| a.published)]; " Published" }
            }
            div.editor-panes {
                label.pane { "Markdown"
                    textarea #article-body name="body_markdown" rows="22" required { (markdown) }
                }
                section.pane aria-labelledby="preview-heading" {
                    h2 #preview-heading { "Preview" }
                    div #article-preview .article-preview aria-live="polite" { (PreEscaped(preview)) }
                }
            }
            p #article-error .error role="alert" {}
            div.editor-actions {
                button type="submit" { @if article.is_some() { "Save" } @else { "Create article" } }
                @if let Some(a) = article {
                    " " a href=(a.help_url()) target="_blank" rel="noopener" { "View in the help center" }
                    " " button.delete #article-delete type="button" { "Delete" }
                }
            }
        }
        @if let Some(a) = article {
            h2 { "Images and videos" }
            form #article-file .stack data-id=(a.id.as_str()) {
                label { "Upload a PNG, JPEG, GIF, WebP, MP4, WebM or PDF (up to 20 MB); it is added to the Markdown where the cursor is."
                    input name="file" type="file" accept="image/png,image/jpeg,image/gif,image/webp,video/mp4,video/webm,application/pdf"; }
                p.error role="alert" {}
                button type="submit" { "Upload" }
            }
            h2 { "Translations" }
            ul.plain {
                @for t in &translations {
                    li {
                        @if t.id == a.id { strong { (t.locale) " — " (t.title) } " (this one)" }
                        @else { a href={"/admin/articles/" (t.id.as_str())} { (t.locale) " — " (t.title) } }
                        @if !t.published { " · draft" }
                    }
                }
            }
            p { a href={"/admin/articles/new?translation_of=" (a.id.as_str())} { "Add a translation" } }
            h2 { "What readers said" }
            @if comments.is_empty() {
                p.empty { "No comments yet. Readers can add one when they vote on the article." }
            }
            ul.plain.comments {
                @for c in &comments {
                    li {
                        strong { @if c.helpful { "Helpful" } @else { "Not helpful" } }
                        " · " (layout::time(c.at)) " — " (c.comment.as_deref().unwrap_or(""))
                    }
                }
            }
        }
    })
}

async fn help_center(State(state): State<AppState>, AdminAgent(viewer): AdminAgent) -> PageResult {
    let categories = state.store.categories().await?;
    let synonyms = state.store.synonyms().await?;
    let body = html! {
        h2 { "Categories" }
        p { "The help center's topics, in order. A category with articles cannot be deleted." }
        @for c in &categories {
            form.category-form.stack data-slug=(c.slug) aria-label={"Category " (c.name)} {
                label { "Name" input name="name" value=(c.name) required maxlength="100"; }
                label { "Description" input name="description" value=[c.description.as_deref()] maxlength="300"; }
                label { "Order" input name="position" type="number" value=(c.position); }
                p.muted { "Address: /help/categories/" (c.slug) }
                p.error role="alert" {}
                div { button type="submit" { "Save" } " " button.delete type="button" { "Delete" } }
            }
        }
        h3 { "Add a category" }
        form.category-form.stack aria-label="New category" {
            label { "Slug (its address)" input name="slug" required maxlength="100" placeholder="gift-cards"; }
            label { "Name" input name="name" required maxlength="100"; }
            label { "Description" input name="description" maxlength="300"; }
            label { "Order" input name="position" type="number" value="0"; }
            p.error role="alert" {}
            button type="submit" { "Add category" }
        }
        h2 { "Synonyms" }
        p { "Words your shoppers use for the same thing: a search for one finds articles with the others." }
        ul.plain.synonyms {
            @for g in &synonyms {
                li { (g.terms.join(" = ")) " "
                    button.synonym-delete type="button" data-id=(g.id) { "Remove" } }
            }
        }
        form #synonym-form .stack {
            label { "Words that mean the same, separated by commas" input name="terms" required placeholder="parcel, package, order"; }
            p.error role="alert" {}
            button type="submit" { "Add synonyms" }
        }
    };
    page(&viewer, "help-center", body)
}
