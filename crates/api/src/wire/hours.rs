//! Wire types for the shop's business hours.

use chrono::{DateTime, NaiveDate, Utc};
use concierge_domain::hours::{BusinessHours, DAYS};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The shop's business hours as set.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetBusinessHours {
    /// An IANA time zone name, e.g. `Europe/London`.
    pub timezone: String,
    /// Each day's openings as `HH:MM-HH:MM` spans in that time zone, e.g.
    /// `{"monday": ["09:00-12:30", "13:30-17:00"]}`. A day left out is closed; `24:00` ends a
    /// day, so a shift past midnight is two spans, one on each day.
    #[schema(value_type = Object, example = json!({"monday": ["09:00-17:00"], "saturday": ["10:00-14:00"]}))]
    pub week: BTreeMap<String, Vec<String>>,
    /// Whole days the team is away (holidays), `YYYY-MM-DD` in that time zone.
    #[serde(default)]
    pub closed_dates: Vec<String>,
}

/// The shop's business hours, and whether the team is in now.
#[derive(Serialize, ToSchema)]
pub struct BusinessHoursOut {
    /// No hours set: always open (the chat widget then goes by who is online).
    pub always_open: bool,
    pub timezone: Option<String>,
    /// All seven days, Monday first in the settings page; empty lists are closed days.
    #[schema(value_type = Object)]
    pub week: BTreeMap<&'static str, Vec<String>>,
    pub closed_dates: Vec<NaiveDate>,
    /// Within business hours now.
    pub open_now: bool,
    /// While closed, when the team is next in.
    pub next_opening: Option<DateTime<Utc>>,
}

impl BusinessHoursOut {
    pub fn new(hours: Option<&BusinessHours>, now: DateTime<Utc>) -> Self {
        let Some(h) = hours else {
            return BusinessHoursOut {
                always_open: true,
                timezone: None,
                week: BTreeMap::new(),
                closed_dates: vec![],
                open_now: true,
                next_opening: None,
            };
        };
        BusinessHoursOut {
            always_open: false,
            timezone: Some(h.timezone().to_owned()),
            week: DAYS
                .iter()
                .map(|(day, name)| (*name, h.day(*day).iter().map(|s| s.to_string()).collect()))
                .collect(),
            closed_dates: h.closed_dates().collect(),
            open_now: h.is_open(now),
            next_opening: h.next_opening(now).map(|o| o.at),
        }
    }
}
