//! `/api/v1/business-hours`: when the team answers. Outside them the chat widget offers email
//! and the assistant says when the team is back. Agents read them; admins set them.

use crate::auth::{Admin, Caller};
use crate::error::{invalid, ApiError};
use crate::extract::Json;
use crate::wire::{BusinessHoursOut, SetBusinessHours};
use crate::AppState;
use axum::extract::State;
use chrono::{NaiveDate, Utc};
use concierge_domain::hours::{BusinessHours, Span, DAYS};
use concierge_domain::Invalid;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_hours, set_hours, clear_hours))
}

/// The shop's business hours, and whether the team is in now.
#[utoipa::path(get, path = "/api/v1/business-hours", tag = "settings",
    responses((status = 200, body = BusinessHoursOut)), security(("bearer" = [])))]
async fn get_hours(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<axum::Json<BusinessHoursOut>, ApiError> {
    let hours = state.store.business_hours().await?;
    Ok(axum::Json(BusinessHoursOut::new(
        hours.as_ref(),
        Utc::now(),
    )))
}

/// Sets the shop's business hours (admins). 422 names the field at fault: `timezone` (not an
/// IANA name), `week.DAY` (an unknown day, a span not like `09:00-17:00`, or spans that
/// overlap) or `closed_dates`.
#[utoipa::path(put, path = "/api/v1/business-hours", tag = "settings",
    request_body = SetBusinessHours,
    responses((status = 200, body = BusinessHoursOut), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn set_hours(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Json(req): Json<SetBusinessHours>,
) -> Result<axum::Json<BusinessHoursOut>, ApiError> {
    let hours = parse(req)?;
    state
        .store
        .set_business_hours(&hours, &caller.actor)
        .await?;
    Ok(axum::Json(BusinessHoursOut::new(Some(&hours), Utc::now())))
}

/// Back to always open (admins).
#[utoipa::path(delete, path = "/api/v1/business-hours", tag = "settings",
    responses((status = 200, body = BusinessHoursOut), (status = 403, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn clear_hours(
    State(state): State<AppState>,
    Admin(caller): Admin,
) -> Result<axum::Json<BusinessHoursOut>, ApiError> {
    state.store.clear_business_hours(&caller.actor).await?;
    Ok(axum::Json(BusinessHoursOut::new(None, Utc::now())))
}

fn parse(req: SetBusinessHours) -> Result<BusinessHours, ApiError> {
    let mut week: [Vec<Span>; 7] = Default::default();
    for (name, spans) in &req.week {
        let field = format!("week.{name}");
        let day = DAYS
            .iter()
            .position(|(_, n)| n == name)
            .ok_or_else(|| invalid(&field, Invalid::new("not a day: monday to sunday")))?;
        week[day] = spans
            .iter()
            .map(|s| Span::parse(s))
            .collect::<Result<_, _>>()
            .map_err(|e| invalid(&field, e))?;
    }
    let closed = req
        .closed_dates
        .iter()
        .map(|d| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                invalid(
                    "closed_dates",
                    Invalid::new(format!("`{d}` is not a date like 2026-12-25")),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    BusinessHours::new(&req.timezone, week, closed).map_err(|e| {
        // The domain names the day its spans overlap on; otherwise it is the time zone.
        match DAYS.iter().find(|(_, n)| e.0.starts_with(&format!("{n}:"))) {
            Some((_, day)) => invalid(format!("week.{day}"), e),
            None => invalid("timezone", e),
        }
    })
}
