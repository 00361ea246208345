//! `/api/v1/business-hours`: when the team answers. Outside them the chat widget offers email
//! and the assistant says when the team is back. Agents read them; admins set them.

use crate::auth::{Admin, Caller};
use crate::error::{ApiError, FieldProblem};
use crate::extract::Json;
use crate::wire::{BusinessHoursOut, SetBusinessHours};
use crate::AppState;
use axum::extract::State;
use chrono::Utc;
use concierge_domain::hours::{day_key, BusinessHours, Place, DAYS};
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

/// Sets the shop's business hours (admins). 422 names every field at fault, in `fields` (the
/// first also as `field`): `timezone` (not an IANA name), `week.DAY` (an unknown day, a span
/// not like `09:00-17:00` — with how to write it — or spans that overlap) or `closed_dates`.
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

/// Reads the hours as sent, naming every field at fault at once: the time zone, each bad day
/// (Monday first, then names that are no day) and the holidays.
fn parse(req: SetBusinessHours) -> Result<BusinessHours, ApiError> {
    let mut week: [Vec<String>; 7] = Default::default();
    let mut problems = Vec::new();
    for (name, spans) in req.week {
        match DAYS.iter().position(|(_, n)| *n == name) {
            Some(day) => week[day] = spans,
            None => problems.push(FieldProblem::new(
                format!("week.{name}"),
                "not a day: monday to sunday",
            )),
        }
    }
    let refused = match BusinessHours::read(&req.timezone, &week, &req.closed_dates) {
        Ok(hours) if problems.is_empty() => return Ok(hours),
        Ok(_) => vec![],
        Err(refused) => refused.0,
    };
    let mut fields: Vec<FieldProblem> = refused
        .into_iter()
        .map(|(place, why)| {
            let field = match place {
                Place::TimeZone => "timezone".to_owned(),
                Place::Day(day) => format!("week.{}", day_key(day)),
                Place::ClosedDates => "closed_dates".to_owned(),
            };
            FieldProblem::new(field, why.0)
        })
        .collect();
    // Names that are no day come after the days, before the holidays.
    let at = fields
        .iter()
        .position(|f| f.field == "closed_dates")
        .unwrap_or(fields.len());
    fields.splice(at..at, problems);
    Err(ApiError::Fields(fields))
}
