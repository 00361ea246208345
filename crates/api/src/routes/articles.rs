//! `/api/v1/articles`: the knowledge base. Markdown is rendered and sanitised here, once, on
//! write; readers get the stored HTML.

use super::conversations::path_id;
use super::{non_blank, page};
use crate::auth::Caller;
use crate::error::{invalid, parse, ApiError};
use crate::extract::{Json, Query};
use crate::wire::{ArticleOut, ArticleQuery, CreateArticle, List, UpdateArticle};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use concierge_domain::ids::ArticleId;
use concierge_domain::knowledge::Locale;
use concierge_domain::text::{bounded, Label};
use concierge_store::articles::{ArticleFilter, ArticlePatch, NewArticle};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_articles, create_article))
        .routes(routes!(get_article, update_article, delete_article))
}

/// The longest article body accepted, in characters.
const MAX_MARKDOWN_CHARS: usize = 200_000;

/// Renders CommonMark (with tables) to HTML and sanitises it with an allow-list: no script,
/// no event handlers, no `javascript:` URLs survive.
pub fn render_markdown(markdown: &str) -> String {
    let options =
        pulldown_cmark::Options::ENABLE_TABLES | pulldown_cmark::Options::ENABLE_STRIKETHROUGH;
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(
        &mut html,
        pulldown_cmark::Parser::new_ext(markdown, options),
    );
    ammonia::clean(&html)
}

fn markdown(field: &str, value: &str) -> Result<String, ApiError> {
    bounded(value, MAX_MARKDOWN_CHARS, field).map_err(|e| invalid(field, e))
}

fn title(value: &str) -> Result<String, ApiError> {
    bounded(value, 200, "title").map_err(|e| invalid("title", e))
}

/// Create an article.
#[utoipa::path(post, path = "/api/v1/articles", tag = "articles", request_body = CreateArticle,
    responses((status = 201, body = ArticleOut), (status = 422, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn create_article(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<CreateArticle>,
) -> Result<(StatusCode, axum::Json<ArticleOut>), ApiError> {
    let body_markdown = markdown("body_markdown", &req.body_markdown)?;
    let new = NewArticle {
        title: title(&req.title)?,
        body_html: render_markdown(&body_markdown),
        body_markdown,
        category: non_blank(&req.category)
            .map(|c| parse("category", c, Label::parse).map(Label::into_string))
            .transpose()?,
        locale: req
            .locale
            .as_deref()
            .map(|l| parse("locale", l, Locale::parse))
            .transpose()?
            .unwrap_or_default(),
        published: req.published.unwrap_or(true),
    };
    let article = state.store.create_article(new, &caller.actor).await?;
    Ok((StatusCode::CREATED, axum::Json(article.into())))
}

/// Articles: with `q`, best match first; otherwise newest first.
#[utoipa::path(get, path = "/api/v1/articles", tag = "articles", params(ArticleQuery),
    responses((status = 200, body = List<ArticleOut>)), security(("bearer" = [])))]
async fn list_articles(
    State(state): State<AppState>,
    _caller: Caller,
    Query(q): Query<ArticleQuery>,
) -> Result<axum::Json<List<ArticleOut>>, ApiError> {
    let filter = ArticleFilter {
        q: non_blank(&q.q).map(|s| s.chars().take(500).collect()),
        published_only: false,
        category: non_blank(&q.category).map(str::to_owned),
        locale: non_blank(&q.locale)
            .map(|l| parse("locale", l, Locale::parse))
            .transpose()?,
    };
    let page = state
        .store
        .articles(&filter, &page(q.limit, q.cursor.as_deref())?)
        .await?;
    Ok(axum::Json(List::from_page(page, ArticleOut::from)))
}

#[utoipa::path(get, path = "/api/v1/articles/{id}", tag = "articles", params(("id" = String, Path)),
    responses((status = 200, body = ArticleOut), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn get_article(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<ArticleOut>, ApiError> {
    let id = path_id("article", &id, ArticleId::parse)?;
    Ok(axum::Json(state.store.article(&id).await?.into()))
}

/// Change an article; the slug stays, so links keep working.
#[utoipa::path(patch, path = "/api/v1/articles/{id}", tag = "articles", params(("id" = String, Path)), request_body = UpdateArticle,
    responses((status = 200, body = ArticleOut), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn update_article(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<UpdateArticle>,
) -> Result<axum::Json<ArticleOut>, ApiError> {
    let id = path_id("article", &id, ArticleId::parse)?;
    let patch = ArticlePatch {
        title: req.title.as_deref().map(title).transpose()?,
        body: req
            .body_markdown
            .as_deref()
            .map(|m| {
                markdown("body_markdown", m).map(|m| {
                    let html = render_markdown(&m);
                    (m, html)
                })
            })
            .transpose()?,
        category: req
            .category
            .map(|c| {
                c.filter(|c| !c.trim().is_empty())
                    .map(|c| parse("category", &c, Label::parse).map(Label::into_string))
                    .transpose()
            })
            .transpose()?,
        published: req.published,
    };
    Ok(axum::Json(
        state
            .store
            .update_article(&id, patch, &caller.actor)
            .await?
            .into(),
    ))
}

#[utoipa::path(delete, path = "/api/v1/articles/{id}", tag = "articles", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn delete_article(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id("article", &id, ArticleId::parse)?;
    state.store.delete_article(&id, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::render_markdown;

    #[test]
    fn markdown_is_rendered_and_sanitised() {
        let html = render_markdown("# Returns\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>\n\n| a | b |\n|---|---|\n| 1 | 2 |");
        assert!(html.contains("<h1>Returns</h1>"), "{html}");
        assert!(html.contains("<table>"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
    }
}
