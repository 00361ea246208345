//! `/api/v1/customers`: shoppers with their identities, orders and cross-channel timeline.

use super::conversations::path_id;
use super::{non_blank, page};
use crate::auth::Caller;
use crate::error::{parse, ApiError};
use crate::extract::Json;
use crate::extract::Query;
use crate::wire::{CustomerOut, CustomerQuery, List, MergeCustomer};
use crate::AppState;
use axum::extract::{Path, State};
use concierge_domain::contact::{EmailAddress, PhoneNumber};
use concierge_domain::ids::CustomerId;
use concierge_store::commerce::OrderFilter;
use concierge_store::conversations::ConversationFilter;
use concierge_store::customers::CustomerFilter;
use concierge_store::PageRequest;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_customers))
        .routes(routes!(get_customer))
        .routes(routes!(merge_customer))
}

/// Customers, newest first; find one by email or phone.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(CustomerQuery),
    responses((status = 200, body = List<CustomerOut>)), security(("bearer" = [])))]
async fn list_customers(
    State(state): State<AppState>,
    _caller: Caller,
    Query(q): Query<CustomerQuery>,
) -> Result<axum::Json<List<CustomerOut>>, ApiError> {
    let filter = CustomerFilter {
        email: non_blank(&q.email)
            .map(|e| parse("email", e, EmailAddress::parse))
            .transpose()?,
        phone: non_blank(&q.phone)
            .map(|p| parse("phone", p, PhoneNumber::parse))
            .transpose()?,
        q: non_blank(&q.q).map(|s| s.chars().take(200).collect()),
    };
    let page = state
        .store
        .customers(&filter, &page(q.limit, q.cursor.as_deref())?)
        .await?;
    Ok(axum::Json(List::from_page(page, |c| {
        CustomerOut::new(c, None, None)
    })))
}

/// One customer with their orders (newest first, with shipments) and conversations on every
/// channel (newest activity first).
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = String, Path)),
    responses((status = 200, body = CustomerOut), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn get_customer(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<CustomerOut>, ApiError> {
    let id = path_id("customer", &id, CustomerId::parse)?;
    let customer = state.store.customer(&id).await?;
    let most = PageRequest {
        limit: Some(concierge_store::MAX_LIMIT),
        cursor: None,
    };
    let orders = state
        .store
        .orders(
            &OrderFilter {
                customer_id: Some(id.clone()),
                ..Default::default()
            },
            &most,
        )
        .await?;
    let conversations = state
        .store
        .conversations(
            &ConversationFilter {
                customer_id: Some(id.clone()),
                ..Default::default()
            },
            &most,
        )
        .await?;
    Ok(axum::Json(CustomerOut::new(
        customer,
        Some(orders.items),
        Some(conversations.items),
    )))
}

/// Merge this customer into another: the same shopper known twice (a second email address,
/// a phone number first seen on SMS). Identities, conversations and orders move to `into`;
/// this customer is deleted. Answers with the merged customer.
#[utoipa::path(post, path = "/api/v1/customers/{id}/merge", tag = "customers", params(("id" = String, Path)), request_body = MergeCustomer,
    responses((status = 200, body = CustomerOut), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn merge_customer(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<MergeCustomer>,
) -> Result<axum::Json<CustomerOut>, ApiError> {
    let id = path_id("customer", &id, CustomerId::parse)?;
    let into = parse("into", &req.into, CustomerId::parse)?;
    let merged = state
        .store
        .merge_customers(&id, &into, &caller.actor)
        .await?;
    Ok(axum::Json(CustomerOut::new(merged, None, None)))
}
