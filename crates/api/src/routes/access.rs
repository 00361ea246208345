//! Tokens, agents, teams, background jobs and the audit log. Managing tokens, teams and jobs
//! needs an admin token.

use super::conversations::path_id;
use super::{non_blank, page};
use crate::auth::{issue_token, Admin, Caller};
use crate::error::{parse, ApiError};
use crate::extract::{Json, Query};
use crate::wire::{
    AgentOut, AuditOut, AuditQuery, CreateAgent, CreateTeam, CreateToken, JobOut, JobQuery, List,
    PageQuery, TeamOut, TokenOut, UpdateAgent,
};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use concierge_domain::access::Role;
use concierge_domain::access::{check_password_strength, Actor};
use concierge_domain::contact::EmailAddress;
use concierge_domain::ids::{AgentId, JobId, TokenId};
use concierge_domain::text::Label;
use concierge_domain::text::PersonName;
use concierge_store::access::NewAgent;
use concierge_store::jobs::JobStatus;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(list_agents, create_agent))
        .routes(routes!(update_agent))
        .routes(routes!(list_teams, create_team))
        .routes(routes!(list_jobs))
        .routes(routes!(get_job))
        .routes(routes!(retry_job))
        .routes(routes!(list_audit))
}

/// Create an API token. The token is in this response only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "access", request_body = CreateToken,
    responses((status = 201, body = TokenOut), (status = 403, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn create_token(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Json(req): Json<CreateToken>,
) -> Result<(StatusCode, axum::Json<TokenOut>), ApiError> {
    let name = parse("name", &req.name, Label::parse)?;
    let role = req
        .role
        .as_deref()
        .map(|r| parse("role", r, Role::parse))
        .transpose()?
        .unwrap_or(Role::Agent);
    let (token, secret) = issue_token(&state.store, &name, role, &caller.actor).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(TokenOut::new(token, Some(secret))),
    ))
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "access", params(PageQuery),
    responses((status = 200, body = List<TokenOut>)), security(("bearer" = [])))]
async fn list_tokens(
    State(state): State<AppState>,
    _admin: Admin,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<List<TokenOut>>, ApiError> {
    let page = state.store.tokens(&q.page()?).await?;
    Ok(axum::Json(List::from_page(page, |t| {
        TokenOut::new(t, None)
    })))
}

/// Revoke a token; it stops working at once.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "access", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn revoke_token(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id("token", &id, TokenId::parse)?;
    state.store.revoke_token(&id, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The team's agents (for assignment).
#[utoipa::path(get, path = "/api/v1/agents", tag = "access",
    responses((status = 200, body = List<AgentOut>)), security(("bearer" = [])))]
async fn list_agents(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<axum::Json<List<AgentOut>>, ApiError> {
    let agents = state.store.agents().await?;
    Ok(axum::Json(List {
        items: agents.into_iter().map(Into::into).collect(),
        next_cursor: None,
    }))
}

/// Create an agent (admins only).
#[utoipa::path(post, path = "/api/v1/agents", tag = "access", request_body = CreateAgent,
    responses((status = 201, body = AgentOut), (status = 403, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
async fn create_agent(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Json(req): Json<CreateAgent>,
) -> Result<(StatusCode, axum::Json<AgentOut>), ApiError> {
    let email = parse("email", &req.email, EmailAddress::parse)?;
    let name = parse("name", &req.name, PersonName::parse)?;
    let role = match non_blank(&req.role) {
        Some(r) => parse("role", r, Role::parse)?,
        None => Role::Agent,
    };
    parse("password", &req.password, check_password_strength)?;
    let password = req.password;
    let password_hash = tokio::task::spawn_blocking(move || crate::auth::hash_password(&password))
        .await
        .map_err(|_| ApiError::Internal)?
        .map_err(|_| ApiError::Internal)?;
    let agent = state
        .store
        .create_agent(
            NewAgent {
                email,
                name,
                role,
                password_hash,
            },
            &caller.actor,
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(agent.into())))
}

/// Change an agent's role, or deactivate them (admins only). Admins cannot demote or
/// deactivate themselves, so a shop is never left without one by accident.
#[utoipa::path(patch, path = "/api/v1/agents/{id}", tag = "access", params(("id" = String, Path)),
    request_body = UpdateAgent,
    responses((status = 200, body = AgentOut), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
async fn update_agent(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
    Json(req): Json<UpdateAgent>,
) -> Result<axum::Json<AgentOut>, ApiError> {
    let id = path_id("agent", &id, AgentId::parse)?;
    let role = non_blank(&req.role)
        .map(|r| parse("role", r, Role::parse))
        .transpose()?;
    let demotes = role.is_some_and(|r| !r.is_admin()) || req.active == Some(false);
    if demotes && caller.actor == Actor::Agent(id.clone()) {
        return Err(ApiError::Conflict {
            field: "id",
            message: "admins cannot demote or deactivate themselves".into(),
        });
    }
    let agent = state
        .store
        .update_agent(&id, role, req.active, req.reset_two_factor, &caller.actor)
        .await?;
    Ok(axum::Json(agent.into()))
}

#[utoipa::path(get, path = "/api/v1/teams", tag = "access",
    responses((status = 200, body = List<TeamOut>)), security(("bearer" = [])))]
async fn list_teams(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<axum::Json<List<TeamOut>>, ApiError> {
    let teams = state.store.teams().await?;
    Ok(axum::Json(List {
        items: teams.into_iter().map(Into::into).collect(),
        next_cursor: None,
    }))
}

#[utoipa::path(post, path = "/api/v1/teams", tag = "access", request_body = CreateTeam,
    responses((status = 201, body = TeamOut), (status = 409, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn create_team(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Json(req): Json<CreateTeam>,
) -> Result<(StatusCode, axum::Json<TeamOut>), ApiError> {
    let name = parse("name", &req.name, Label::parse)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(state.store.create_team(&name, &caller.actor).await?.into()),
    ))
}

/// Background jobs (the outbox), newest first; `status=dead` lists the dead letters.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", params(JobQuery),
    responses((status = 200, body = List<JobOut>)), security(("bearer" = [])))]
async fn list_jobs(
    State(state): State<AppState>,
    _admin: Admin,
    Query(q): Query<JobQuery>,
) -> Result<axum::Json<List<JobOut>>, ApiError> {
    let status = non_blank(&q.status)
        .map(|s| parse("status", s, JobStatus::parse))
        .transpose()?;
    let page = state
        .store
        .jobs(status, &page(q.limit, q.cursor.as_deref())?)
        .await?;
    Ok(axum::Json(List::from_page(page, JobOut::from)))
}

#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs", params(("id" = String, Path)),
    responses((status = 200, body = JobOut), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn get_job(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<axum::Json<JobOut>, ApiError> {
    let id = path_id("job", &id, JobId::parse)?;
    Ok(axum::Json(state.store.job(&id).await?.into()))
}

/// Put a dead job back in the queue with fresh attempts.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/retry", tag = "jobs", params(("id" = String, Path)),
    responses((status = 200, body = JobOut), (status = 409, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn retry_job(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<axum::Json<JobOut>, ApiError> {
    let id = path_id("job", &id, JobId::parse)?;
    Ok(axum::Json(state.store.retry_job(&id).await?.into()))
}

/// The audit log of actions, newest first.
#[utoipa::path(get, path = "/api/v1/audit-log", tag = "access", params(AuditQuery),
    responses((status = 200, body = List<AuditOut>)), security(("bearer" = [])))]
async fn list_audit(
    State(state): State<AppState>,
    _admin: Admin,
    Query(q): Query<AuditQuery>,
) -> Result<axum::Json<List<AuditOut>>, ApiError> {
    let subject = match (non_blank(&q.subject_type), non_blank(&q.subject_id)) {
        (Some(t), Some(id)) => Some((t, id)),
        (None, None) => None,
        _ => {
            return Err(ApiError::Validation {
                field: "subject_id".into(),
                message: "subject_type and subject_id go together".into(),
            })
        }
    };
    let page = state
        .store
        .audit_log(subject, &page(q.limit, q.cursor.as_deref())?)
        .await?;
    Ok(axum::Json(List::from_page(page, AuditOut::from)))
}
