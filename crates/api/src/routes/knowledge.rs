//! The rest of the knowledge base: categories in their order, the shop's synonyms for search,
//! and what the help center achieved (`/api/v1/knowledge/*`: deflection, content gaps, each
//! article's views and votes).

use super::non_blank;
use crate::auth::{Admin, Caller, Editor};
use crate::error::{invalid, parse, ApiError};
use crate::extract::{Json, Query};
use crate::wire::{
    ArticleStatsOut, CategoryOut, ContentGapOut, HelpStatsOut, List, PeriodQuery, SaveCategory,
    SaveSynonyms, SynonymsOut, VoteOut,
};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use concierge_domain::knowledge::{Slug, Synonyms};
use concierge_domain::text::{bounded, Label};
use concierge_store::articles::Category;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_categories))
        .routes(routes!(save_category, delete_category))
        .routes(routes!(list_synonyms, create_synonyms))
        .routes(routes!(update_synonyms, delete_synonyms))
        .routes(routes!(help_stats))
        .routes(routes!(content_gaps))
        .routes(routes!(article_stats))
        .routes(routes!(article_comments))
}

fn list<T>(items: Vec<T>) -> axum::Json<List<T>> {
    axum::Json(List {
        items,
        next_cursor: None,
    })
}

/// The help center's categories, in their order.
#[utoipa::path(get, path = "/api/v1/categories", tag = "articles",
    responses((status = 200, body = List<CategoryOut>)), security(("bearer" = [])))]
async fn list_categories(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<axum::Json<List<CategoryOut>>, ApiError> {
    let categories = state.store.categories().await?;
    Ok(list(
        categories.into_iter().map(CategoryOut::from).collect(),
    ))
}

/// Create the category with this slug, or rename, describe or move it.
#[utoipa::path(put, path = "/api/v1/categories/{slug}", tag = "articles", params(("slug" = String, Path)),
    request_body = SaveCategory,
    responses((status = 200, body = CategoryOut), (status = 422, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn save_category(
    State(state): State<AppState>,
    Editor(caller): Editor,
    Path(slug): Path<String>,
    Json(req): Json<SaveCategory>,
) -> Result<axum::Json<CategoryOut>, ApiError> {
    let slug = parse("slug", &slug, Slug::parse)?;
    let name = parse("name", &req.name, Label::parse)?;
    let description = non_blank(&req.description)
        .map(|d| bounded(d, 500, "description").map_err(|e| invalid("description", e)))
        .transpose()?;
    let position = req.position.unwrap_or(0);
    if !(-1_000_000..=1_000_000).contains(&position) {
        return Err(ApiError::Validation {
            field: "position".into(),
            message: "position must be between -1000000 and 1000000".into(),
        });
    }
    let category = Category {
        slug: slug.as_str().to_owned(),
        name: name.into_string(),
        description,
        position,
    };
    let saved = state.store.save_category(&category, &caller.actor).await?;
    knowledge_changed(&state).await;
    Ok(axum::Json(saved.into()))
}

/// Delete a category no article is in (409 while any is).
#[utoipa::path(delete, path = "/api/v1/categories/{slug}", tag = "articles", params(("slug" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
async fn delete_category(
    State(state): State<AppState>,
    Editor(caller): Editor,
    Path(slug): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.store.delete_category(&slug, &caller.actor).await?;
    knowledge_changed(&state).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Words the shop says mean the same: a search for one finds articles with any of them.
#[utoipa::path(get, path = "/api/v1/synonyms", tag = "articles",
    responses((status = 200, body = List<SynonymsOut>)), security(("bearer" = [])))]
async fn list_synonyms(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<axum::Json<List<SynonymsOut>>, ApiError> {
    let groups = state.store.synonyms().await?;
    Ok(list(groups.into_iter().map(SynonymsOut::from).collect()))
}

/// Search picks synonyms and categories (whose names are searched) up at once in this
/// process (other instances within seconds).
async fn knowledge_changed(state: &AppState) {
    if let Some(library) = &state.config.library {
        if let Err(e) = library.refresh().await {
            tracing::warn!(error = %e, "the change waits for the next index refresh");
        }
    }
}

fn terms(req: &SaveSynonyms) -> Result<Synonyms, ApiError> {
    Synonyms::parse(&req.terms).map_err(|e| invalid("terms", e))
}

#[utoipa::path(post, path = "/api/v1/synonyms", tag = "articles", request_body = SaveSynonyms,
    responses((status = 201, body = SynonymsOut), (status = 422, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn create_synonyms(
    State(state): State<AppState>,
    Editor(caller): Editor,
    Json(req): Json<SaveSynonyms>,
) -> Result<(StatusCode, axum::Json<SynonymsOut>), ApiError> {
    let terms = terms(&req)?;
    let group = state
        .store
        .save_synonyms(None, &terms, &caller.actor)
        .await?;
    knowledge_changed(&state).await;
    Ok((StatusCode::CREATED, axum::Json(group.into())))
}

#[utoipa::path(put, path = "/api/v1/synonyms/{id}", tag = "articles", params(("id" = String, Path)),
    request_body = SaveSynonyms,
    responses((status = 200, body = SynonymsOut), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
async fn update_synonyms(
    State(state): State<AppState>,
    Editor(caller): Editor,
    Path(id): Path<String>,
    Json(req): Json<SaveSynonyms>,
) -> Result<axum::Json<SynonymsOut>, ApiError> {
    let terms = terms(&req)?;
    if !state.store.synonyms().await?.iter().any(|g| g.id == id) {
        return Err(ApiError::NotFound("synonyms"));
    }
    let group = state
        .store
        .save_synonyms(Some(&id), &terms, &caller.actor)
        .await?;
    knowledge_changed(&state).await;
    Ok(axum::Json(group.into()))
}

#[utoipa::path(delete, path = "/api/v1/synonyms/{id}", tag = "articles", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn delete_synonyms(
    State(state): State<AppState>,
    Editor(caller): Editor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.store.delete_synonyms(&id, &caller.actor).await?;
    knowledge_changed(&state).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The period asked for: 30 days up to now unless said otherwise.
fn period(q: &PeriodQuery) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let until = q.until.unwrap_or_else(Utc::now);
    let since = q.since.unwrap_or(until - Duration::days(30));
    if since >= until {
        return Err(ApiError::Validation {
            field: "since".into(),
            message: "since must be before until".into(),
        });
    }
    Ok((since, until))
}

/// What the help center achieved in a period: visits, and the share of them that did not
/// open a conversation within 24 hours (deflection); searches and those that found nothing;
/// article views and votes.
#[utoipa::path(get, path = "/api/v1/knowledge/stats", tag = "articles", params(PeriodQuery),
    responses((status = 200, body = HelpStatsOut), (status = 403, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn help_stats(
    State(state): State<AppState>,
    _admin: Admin,
    Query(q): Query<PeriodQuery>,
) -> Result<axum::Json<HelpStatsOut>, ApiError> {
    let (since, until) = period(&q)?;
    let stats = state.store.help_stats(since, until).await?;
    Ok(axum::Json(HelpStatsOut::new(stats, since, until)))
}

/// Content gaps: what shoppers searched for and found nothing, the most frequent first.
#[utoipa::path(get, path = "/api/v1/knowledge/gaps", tag = "articles", params(PeriodQuery),
    responses((status = 200, body = List<ContentGapOut>), (status = 403, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn content_gaps(
    State(state): State<AppState>,
    _admin: Admin,
    Query(q): Query<PeriodQuery>,
) -> Result<axum::Json<List<ContentGapOut>>, ApiError> {
    let (since, until) = period(&q)?;
    let gaps = state.store.content_gaps(since, until, 100).await?;
    Ok(list(gaps.into_iter().map(ContentGapOut::from).collect()))
}

/// Each article's views and votes in a period, the most viewed first.
#[utoipa::path(get, path = "/api/v1/knowledge/articles", tag = "articles", params(PeriodQuery),
    responses((status = 200, body = List<ArticleStatsOut>), (status = 403, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn article_stats(
    State(state): State<AppState>,
    _admin: Admin,
    Query(q): Query<PeriodQuery>,
) -> Result<axum::Json<List<ArticleStatsOut>>, ApiError> {
    let (since, until) = period(&q)?;
    let stats = state.store.article_stats(since, until).await?;
    Ok(list(stats.into_iter().map(ArticleStatsOut::from).collect()))
}

/// What readers wrote with their votes on an article, newest first (the latest 100).
#[utoipa::path(get, path = "/api/v1/articles/{id}/feedback", tag = "articles", params(("id" = String, Path)),
    responses((status = 200, body = List<VoteOut>), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn article_comments(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<List<VoteOut>>, ApiError> {
    let id =
        super::conversations::path_id("article", &id, concierge_domain::ids::ArticleId::parse)?;
    state.store.article(&id).await?;
    let votes = state.store.article_comments(&id, 100).await?;
    Ok(list(votes.into_iter().map(VoteOut::from).collect()))
}
