//! `/api/v1/articles`: the knowledge base. Markdown is checked and rendered to sanitised HTML
//! here, once, on write; readers get the stored HTML. Every write is also handed to the
//! search index, so an editor finds their article the moment they saved it.

use super::conversations::path_id;
use super::{non_blank, page};
use crate::auth::{Caller, Editor};
use crate::error::{invalid, parse, ApiError};
use crate::extract::{file_name, raw_body, Json, Query};
use crate::wire::{
    ArticleFileOut, ArticleOut, ArticleQuery, CreateArticle, List, PreviewArticle, PreviewOut,
    TranslationOut, UpdateArticle,
};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use concierge_domain::ids::{ArticleId, AttachmentId};
use concierge_domain::knowledge::{Locale, Slug};
use concierge_domain::text::{bounded, Label};
use concierge_knowledge::markdown;
use concierge_knowledge::{Library, Search};
use concierge_store::articles::{ArticleFile, ArticleFilter, ArticlePatch, Filing, NewArticle};
use serde::Deserialize;
use std::sync::Arc;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The largest image or video an editor may upload into an article.
pub const MAX_ARTICLE_FILE_BYTES: usize = 20 * 1024 * 1024;

/// What an article may show or offer: images and videos a browser plays itself, and PDFs.
/// No SVG (it can carry script) and nothing a browser would run.
const ARTICLE_FILE_TYPES: [&str; 7] = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "video/mp4",
    "video/webm",
    "application/pdf",
];

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_articles, create_article))
        .routes(routes!(get_article, update_article, delete_article))
        .routes(routes!(translations))
        .routes(routes!(upload_file))
        .layer(DefaultBodyLimit::max(MAX_ARTICLE_FILE_BYTES))
        .routes(routes!(preview))
}

/// The help center's public route for articles' files (no token: articles are public).
pub(super) fn public_files() -> axum::Router<AppState> {
    axum::Router::new().route("/help/files/{id}/{name}", axum::routing::get(article_file))
}

/// An article's file, by id; the name in the URL is only for people and is not checked.
async fn article_file(
    State(state): State<AppState>,
    Path((id, _name)): Path<(String, String)>,
) -> Result<axum::response::Response, ApiError> {
    let id = AttachmentId::parse(&id).map_err(|_| ApiError::NotFound("file"))?;
    let file = state.store.article_file(&id).await?;
    let files = state.config.files.clone().ok_or(ApiError::Unavailable)?;
    let bytes = files.get(&file.storage_key).await?;
    Ok(super::file_response(
        bytes,
        &file.content_type,
        &file.filename,
        super::Audience::Public,
    ))
}

/// Render Markdown as an article would show it, without saving anything: the editor's live
/// preview. Refused (422) exactly as a save would be.
#[utoipa::path(post, path = "/api/v1/articles/preview", tag = "articles", request_body = PreviewArticle,
    responses((status = 200, body = PreviewOut), (status = 422, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn preview(
    _caller: Caller,
    Json(req): Json<PreviewArticle>,
) -> Result<axum::Json<PreviewOut>, ApiError> {
    let (_, html) = body(&req.body_markdown)?;
    Ok(axum::Json(PreviewOut { html }))
}

fn library(state: &AppState) -> Result<&Arc<Library>, ApiError> {
    state.config.library.as_ref().ok_or(ApiError::Unavailable)
}

/// Tells the index about an article this request wrote. The write is stored either way: if
/// the index cannot take it now, its next refresh will.
async fn reindex(state: &AppState, id: &ArticleId) {
    if let Some(library) = &state.config.library {
        if let Err(e) = library.updated(id).await {
            tracing::warn!(error = %e, article = %id, "the article waits for the next index refresh");
        }
    }
}

/// Checks and renders an article's Markdown: the stored source and its HTML.
fn body(value: &str) -> Result<(String, String), ApiError> {
    markdown::check(value).map_err(|e| ApiError::Validation {
        field: "body_markdown".into(),
        message: e.to_string(),
    })?;
    Ok((value.to_owned(), markdown::render(value)))
}

fn title(value: &str) -> Result<String, ApiError> {
    bounded(value, 200, "title").map_err(|e| invalid("title", e))
}

fn summary(value: &str) -> Result<String, ApiError> {
    bounded(value, 300, "summary").map_err(|e| invalid("summary", e))
}

fn filing(value: &str) -> Result<Filing, ApiError> {
    let label = parse("category", value, Label::parse)?;
    Ok(Filing::named(label.as_str()))
}

fn slug(value: &str) -> Result<Slug, ApiError> {
    parse("slug", value, Slug::parse)
}

fn position(value: i64) -> Result<i64, ApiError> {
    if (-1_000_000..=1_000_000).contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::Validation {
            field: "position".into(),
            message: "position must be between -1000000 and 1000000".into(),
        })
    }
}

/// Create an article.
#[utoipa::path(post, path = "/api/v1/articles", tag = "articles", request_body = CreateArticle,
    responses((status = 201, body = ArticleOut), (status = 422, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn create_article(
    State(state): State<AppState>,
    Editor(caller): Editor,
    Json(req): Json<CreateArticle>,
) -> Result<(StatusCode, axum::Json<ArticleOut>), ApiError> {
    let (body_markdown, body_html) = body(&req.body_markdown)?;
    let new = NewArticle {
        title: title(&req.title)?,
        body_markdown,
        body_html,
        category: non_blank(&req.category).map(filing).transpose()?,
        locale: non_blank(&req.locale)
            .map(|l| parse("locale", l, Locale::parse))
            .transpose()?
            .unwrap_or_default(),
        published: req.published.unwrap_or(true),
        slug: non_blank(&req.slug).map(slug).transpose()?,
        summary: non_blank(&req.summary).map(summary).transpose()?,
        position: req.position.map(position).transpose()?.unwrap_or(0),
        translation_of: non_blank(&req.translation_of)
            .map(|id| {
                ArticleId::parse(id).map_err(|_| ApiError::Validation {
                    field: "translation_of".into(),
                    message: "translation_of does not name an existing article".into(),
                })
            })
            .transpose()?,
    };
    let article = state.store.create_article(new, &caller.actor).await?;
    reindex(&state, &article.id).await;
    Ok((StatusCode::CREATED, axum::Json(article.into())))
}

/// Articles. With `q`, the best matches first (stemmed, forgiving of typos, with the shop's
/// synonyms; one page of at most `limit`); otherwise newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/articles", tag = "articles", params(ArticleQuery),
    responses((status = 200, body = List<ArticleOut>)), security(("bearer" = [])))]
async fn list_articles(
    State(state): State<AppState>,
    _caller: Caller,
    Query(q): Query<ArticleQuery>,
) -> Result<axum::Json<List<ArticleOut>>, ApiError> {
    let locale = non_blank(&q.locale)
        .map(|l| parse("locale", l, Locale::parse))
        .transpose()?;
    let category = non_blank(&q.category).map(|c| Slug::from_title(c).as_str().to_owned());
    let published_only = q.published.unwrap_or(false);
    let page = page(q.limit, q.cursor.as_deref())?;
    if let Some(text) = non_blank(&q.q) {
        let hits = library(&state)?.search(&Search {
            text,
            locale: locale.as_ref(),
            published_only,
            limit: page.limit() as usize * 2,
            offset: 0,
        })?;
        let ids: Vec<ArticleId> = hits.iter().map(|h| h.id.clone()).collect();
        let mut found = state.store.articles_by_id(&ids).await?;
        // Back into the order of relevance; the category filter applies to what was found.
        found.sort_by_key(|a| ids.iter().position(|id| *id == a.id));
        let items = found
            .into_iter()
            .filter(|a| category.is_none() || a.category == category)
            .take(page.limit() as usize)
            .map(ArticleOut::from)
            .collect();
        return Ok(axum::Json(List {
            items,
            next_cursor: None,
        }));
    }
    let filter = ArticleFilter {
        published_only,
        category,
        locale,
    };
    let page = state.store.articles(&filter, &page).await?;
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

/// Change an article. The slug changes only when asked; the old one keeps leading to the
/// article (the help center redirects it).
#[utoipa::path(patch, path = "/api/v1/articles/{id}", tag = "articles", params(("id" = String, Path)), request_body = UpdateArticle,
    responses((status = 200, body = ArticleOut), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
async fn update_article(
    State(state): State<AppState>,
    Editor(caller): Editor,
    Path(id): Path<String>,
    Json(req): Json<UpdateArticle>,
) -> Result<axum::Json<ArticleOut>, ApiError> {
    let id = path_id("article", &id, ArticleId::parse)?;
    let blank_is_none = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let patch = ArticlePatch {
        title: req.title.as_deref().map(title).transpose()?,
        body: req.body_markdown.as_deref().map(body).transpose()?,
        category: req
            .category
            .map(|c| blank_is_none(c).as_deref().map(filing).transpose())
            .transpose()?,
        published: req.published,
        slug: req.slug.as_deref().map(slug).transpose()?,
        summary: req
            .summary
            .map(|s| blank_is_none(s).as_deref().map(summary).transpose())
            .transpose()?,
        position: req.position.map(position).transpose()?,
    };
    let article = state
        .store
        .update_article(&id, patch, &caller.actor)
        .await?;
    reindex(&state, &article.id).await;
    Ok(axum::Json(article.into()))
}

#[utoipa::path(delete, path = "/api/v1/articles/{id}", tag = "articles", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn delete_article(
    State(state): State<AppState>,
    Editor(caller): Editor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id("article", &id, ArticleId::parse)?;
    state.store.delete_article(&id, &caller.actor).await?;
    reindex(&state, &id).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The article in every locale it is written in (itself included).
#[utoipa::path(get, path = "/api/v1/articles/{id}/translations", tag = "articles", params(("id" = String, Path)),
    responses((status = 200, body = List<TranslationOut>), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn translations(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<List<TranslationOut>>, ApiError> {
    let id = path_id("article", &id, ArticleId::parse)?;
    let article = state.store.article(&id).await?;
    let items = state
        .store
        .translations(&article.translation_group)
        .await?
        .into_iter()
        .map(TranslationOut::from)
        .collect();
    Ok(axum::Json(List {
        items,
        next_cursor: None,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct FileQuery {
    /// The file's name, as the help center will offer it.
    filename: String,
}

/// Upload an image, video or PDF for an article: the raw bytes as the body, their type as
/// `Content-Type` (PNG, JPEG, GIF, WebP, MP4, WebM or PDF; at most 20 MiB). The bytes must
/// be of that type (by their magic numbers), else 422. The answer's `url` is where the help
/// center serves it, for the article's Markdown.
#[utoipa::path(post, path = "/api/v1/articles/{id}/files", tag = "articles",
    params(("id" = String, Path), FileQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = ArticleFileOut), (status = 404, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
async fn upload_file(
    State(state): State<AppState>,
    _editor: Editor,
    Path(id): Path<String>,
    Query(q): Query<FileQuery>,
    headers: HeaderMap,
    bytes: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, axum::Json<ArticleFileOut>), ApiError> {
    let bytes = raw_body(bytes, MAX_ARTICLE_FILE_BYTES)?;
    let id = path_id("article", &id, ArticleId::parse)?;
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if bytes.is_empty() {
        return Err(ApiError::Validation {
            field: "body".into(),
            message: "the file is empty".into(),
        });
    }
    // The bytes decide, not the label: a page called a PNG would otherwise be served as one.
    let sniffed = infer::get(&bytes).map(|t| t.mime_type());
    let content_type = match sniffed {
        Some(t) if ARTICLE_FILE_TYPES.contains(&t) && (declared.is_empty() || declared == t) => {
            t.to_owned()
        }
        _ => {
            return Err(ApiError::Validation {
                field: "content_type".into(),
                message: format!(
                    "articles take {} files; this one is {}{}",
                    ARTICLE_FILE_TYPES.join(", "),
                    sniffed.unwrap_or("of another kind"),
                    if declared.is_empty() || sniffed == Some(declared.as_str()) {
                        String::new()
                    } else {
                        format!(", not {declared}")
                    }
                ),
            })
        }
    };
    let filename = file_name(&q.filename)?;
    state.store.article(&id).await?;
    let files = state.config.files.clone().ok_or(ApiError::Unavailable)?;
    let size_bytes = bytes.len() as i64;
    let storage_key = files.put(bytes.to_vec()).await?;
    let file = ArticleFile {
        id: AttachmentId::generate(),
        article_id: id,
        filename,
        content_type,
        size_bytes,
        storage_key,
    };
    state.store.add_article_file(&file).await?;
    Ok((StatusCode::CREATED, axum::Json(file.into())))
}
