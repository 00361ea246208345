//! The shop's business hours (see `concierge_domain::hours`), one row; none means always open.
//! Spans and dates are kept in their text form and parsed back by the domain's own parser,
//! so what the store returns is as valid as what the API accepted.

use crate::args::Batch;
use crate::{on_engine, At, Store, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use concierge_domain::access::Actor;
use concierge_domain::dates::{Calendar, Language};
use concierge_domain::hours::{BusinessHours, Span, DAYS};
use serde_json::json;

impl Store {
    /// How dates and times are written for shoppers in `language`: in the shop's time zone,
    /// its business hours' (UTC until it sets them).
    pub async fn calendar(&self, language: Language) -> Result<Calendar, StoreError> {
        Ok(Calendar::of_shop(
            self.business_hours().await?.as_ref(),
            language,
        ))
    }

    /// How dates and times are written in the shop's own words (canned replies, its
    /// wording of notices and of the assistant's replies): its time zone, and its language
    /// (see [`Language::of_shop`]).
    pub async fn shop_calendar(&self) -> Result<Calendar, StoreError> {
        let published = self.published_locales().await?;
        self.calendar(Language::of_shop(published.iter().map(String::as_str)))
            .await
    }

    /// The shop's hours, when it set any.
    pub async fn business_hours(&self) -> Result<Option<BusinessHours>, StoreError> {
        let row: Option<(String, String, String)> = on_engine!(self, |pool, pg| sqlx::query_as(
            "SELECT timezone, week, closed_dates FROM business_hours WHERE id = 1"
        )
        .fetch_optional(pool)
        .await?);
        let Some((timezone, week, closed)) = row else {
            return Ok(None);
        };
        let corrupt =
            |e: &dyn std::fmt::Display| StoreError::Corrupt(format!("business hours: {e}"));
        let week: Vec<Vec<String>> = serde_json::from_str(&week).map_err(|e| corrupt(&e))?;
        let week: Vec<Vec<Span>> = week
            .iter()
            .map(|day| day.iter().map(|s| Span::parse(s)).collect::<Result<_, _>>())
            .collect::<Result<_, _>>()
            .map_err(|e| corrupt(&e))?;
        let week: [Vec<Span>; 7] = week
            .try_into()
            .map_err(|_| corrupt(&"the week is not seven days"))?;
        let closed: Vec<NaiveDate> = serde_json::from_str(&closed).map_err(|e| corrupt(&e))?;
        BusinessHours::new(&timezone, week, closed)
            .map(Some)
            .map_err(|e| corrupt(&e))
    }

    /// Sets the shop's hours, audited.
    pub async fn set_business_hours(
        &self,
        hours: &BusinessHours,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let week: Vec<Vec<String>> = DAYS
            .iter()
            .map(|(day, _)| hours.day(*day).iter().map(Span::to_string).collect())
            .collect();
        let closed: Vec<String> = hours.closed_dates().map(|d| d.to_string()).collect();
        let now = At::now();
        let tx = self.begin().await?;
        let mut batch = Batch::default();
        batch
            .add(
                "INSERT INTO business_hours (id, timezone, week, closed_dates, updated_at) \
                 VALUES (1, $1, $2, $3, $4) \
                 ON CONFLICT (id) DO UPDATE SET timezone = excluded.timezone, week = excluded.week, \
                 closed_dates = excluded.closed_dates, updated_at = excluded.updated_at",
            )
            .text(hours.timezone())
            .text(json!(week).to_string())
            .text(json!(closed).to_string())
            .time(now);
        audit(&mut batch, actor, "business_hours.updated", now);
        tx.commit_with(batch).await
    }

    /// Back to always open, audited.
    pub async fn clear_business_hours(&self, actor: &Actor) -> Result<(), StoreError> {
        let now = At::now();
        let tx = self.begin().await?;
        let mut batch = Batch::default();
        batch.add("DELETE FROM business_hours");
        audit(&mut batch, actor, "business_hours.cleared", now);
        tx.commit_with(batch).await
    }
}

fn audit(batch: &mut Batch, actor: &Actor, action: &'static str, now: DateTime<Utc>) {
    crate::audit::record(
        batch,
        crate::audit::AuditEntry::new(actor, action, "business_hours", "1", json!({})),
        now,
    );
}
