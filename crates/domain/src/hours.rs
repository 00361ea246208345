//! The shop's business hours: when the team answers. A week of opening spans in the shop's
//! own time zone, and dates it is closed (holidays). Outside them the chat widget offers
//! email and the assistant says when the team is back; routing and service levels count
//! time by them too.
//!
//! No hours set means always open: the only question then is whether anyone is online.

use crate::Invalid;
use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use std::collections::BTreeSet;
use std::fmt;

/// The days of the week as the API and the settings page name them, Monday first.
pub const DAYS: [(Weekday, &str); 7] = [
    (Weekday::Mon, "monday"),
    (Weekday::Tue, "tuesday"),
    (Weekday::Wed, "wednesday"),
    (Weekday::Thu, "thursday"),
    (Weekday::Fri, "friday"),
    (Weekday::Sat, "saturday"),
    (Weekday::Sun, "sunday"),
];

/// Minutes in a day: a span may end at `24:00`.
const DAY_MINUTES: u16 = 24 * 60;

/// One opening within a day, `from` before `to`, in minutes since local midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    from: u16,
    to: u16,
}

impl Span {
    /// `"09:00-17:30"`; `24:00` ends a day. A shift past midnight is two spans, one on each
    /// day.
    pub fn parse(text: &str) -> Result<Span, Invalid> {
        let (from, to) = text
            .split_once('-')
            .ok_or_else(|| Invalid::new(format!("`{text}` is not a span like 09:00-17:00")))?;
        let (from, to) = (clock(from.trim())?, clock(to.trim())?);
        if from >= to {
            return Err(Invalid::new(format!(
                "`{text}` ends before it starts (a shift past midnight is two spans, one on each day)"
            )));
        }
        Ok(Span { from, to })
    }

    fn contains(&self, minute: u16) -> bool {
        (self.from..self.to).contains(&minute)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        write!(f, "{}-{}", hm(self.from), hm(self.to))
    }
}

/// `"HH:MM"`, `00:00` to `24:00`, as minutes.
fn clock(text: &str) -> Result<u16, Invalid> {
    let bad = || Invalid::new(format!("`{text}` is not a time like 09:00"));
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    let minutes = h * 60 + m;
    if h > 24 || m > 59 || minutes > DAY_MINUTES {
        return Err(bad());
    }
    Ok(minutes)
}

/// When the team answers.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessHours {
    timezone: Tz,
    /// Monday first, each day's spans sorted and apart.
    week: [Vec<Span>; 7],
    closed: BTreeSet<NaiveDate>,
}

/// When the team is next in, as an instant and as the shop says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opening {
    pub at: DateTime<Utc>,
    /// "Monday 09:00 (Europe/London)".
    pub local: String,
}

impl BusinessHours {
    /// `timezone`: an IANA name (`Europe/London`); `week`: each day's spans, Monday first;
    /// `closed`: dates (in the shop's time zone) the team is away all day.
    pub fn new(
        timezone: &str,
        week: [Vec<Span>; 7],
        closed: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<Self, Invalid> {
        let timezone: Tz = timezone.parse().map_err(|_| {
            Invalid::new(format!(
                "`{timezone}` is not a time zone name like Europe/London"
            ))
        })?;
        let mut week = week;
        for (spans, (_, name)) in week.iter_mut().zip(DAYS) {
            spans.sort();
            if let Some(w) = spans.windows(2).find(|w| w[0].to > w[1].from) {
                return Err(Invalid::new(format!("{name}: {} overlaps {}", w[0], w[1])));
            }
        }
        Ok(BusinessHours {
            timezone,
            week,
            closed: closed.into_iter().collect(),
        })
    }

    pub fn timezone(&self) -> &str {
        self.timezone.name()
    }

    pub fn day(&self, day: Weekday) -> &[Span] {
        &self.week[day.num_days_from_monday() as usize]
    }

    pub fn closed_dates(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.closed.iter().copied()
    }

    /// Whether the team is in at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.timezone);
        let minute = minute_of_day(&local);
        !self.closed.contains(&local.date_naive())
            && self.day(local.weekday()).iter().any(|s| s.contains(minute))
    }

    /// When the team is next in after `at`, while it is away; `None` when it is in now, or
    /// has no opening in the coming year.
    pub fn next_opening(&self, at: DateTime<Utc>) -> Option<Opening> {
        if self.is_open(at) {
            return None;
        }
        let local = at.with_timezone(&self.timezone);
        let today = local.date_naive();
        let now_minute = minute_of_day(&local);
        (0..=366).find_map(|ahead| {
            let date = today + Duration::days(ahead);
            if self.closed.contains(&date) {
                return None;
            }
            let span = self
                .day(date.weekday())
                .iter()
                .find(|s| ahead > 0 || s.from > now_minute)?;
            let starts = self.instant(date, span.from);
            Some(Opening {
                at: starts,
                local: format!(
                    "{} {:02}:{:02} ({})",
                    weekday_name(date.weekday()),
                    span.from / 60,
                    span.from % 60,
                    self.timezone.name()
                ),
            })
        })
    }

    /// The instant a local date and minute name; a time the clocks skip (a spring-forward
    /// gap) is the first instant after the gap.
    fn instant(&self, date: NaiveDate, minute: u16) -> DateTime<Utc> {
        let mut time = date.and_time(NaiveTime::MIN) + Duration::minutes(i64::from(minute));
        loop {
            if let Some(at) = self.timezone.from_local_datetime(&time).earliest() {
                return at.with_timezone(&Utc);
            }
            time += Duration::minutes(1);
        }
    }
}

fn minute_of_day(time: &impl Timelike) -> u16 {
    (time.hour() * 60 + time.minute()) as u16
}

fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(list: &[&str]) -> Vec<Span> {
        list.iter().map(|s| Span::parse(s).unwrap()).collect()
    }

    /// Weekdays 09:00–17:00 in London, closed on Christmas Day 2026 (a Friday).
    fn london() -> BusinessHours {
        let day = spans(&["09:00-17:00"]);
        BusinessHours::new(
            "Europe/London",
            [
                day.clone(),
                day.clone(),
                day.clone(),
                day.clone(),
                day,
                vec![],
                vec![],
            ],
            [NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()],
        )
        .unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn spans_parse_and_refuse() {
        assert_eq!(
            Span::parse("09:00-17:30").unwrap().to_string(),
            "09:00-17:30"
        );
        assert_eq!(
            Span::parse("18:00 - 24:00").unwrap().to_string(),
            "18:00-24:00"
        );
        for bad in [
            "9-5",
            "09:00",
            "17:00-09:00",
            "09:00-09:00",
            "25:00-26:00",
            "09:60-10:00",
            "24:00-24:30",
            "9:00-17:00",
        ] {
            assert!(Span::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn overlapping_spans_and_unknown_zones_are_refused() {
        let err = BusinessHours::new(
            "Europe/London",
            [
                spans(&["12:00-14:00", "09:00-13:00"]),
                vec![],
                vec![],
                vec![],
                vec![],
                vec![],
                vec![],
            ],
            [],
        )
        .unwrap_err();
        assert!(err.0.contains("monday"), "{err}");
        assert!(BusinessHours::new("Mars/Olympus", Default::default(), []).is_err());
    }

    #[test]
    fn open_in_the_shops_own_time() {
        let h = london();
        // Winter: London is UTC.
        assert!(h.is_open(utc("2026-12-01T09:00:00Z")));
        assert!(!h.is_open(utc("2026-12-01T08:59:00Z")));
        assert!(!h.is_open(utc("2026-12-01T17:00:00Z")));
        // Summer: 09:00 in London is 08:00 UTC.
        assert!(h.is_open(utc("2026-07-01T08:00:00Z")));
        assert!(!h.is_open(utc("2026-07-01T16:30:00Z")));
        // Saturday, and Christmas Day (a Friday).
        assert!(!h.is_open(utc("2026-12-05T12:00:00Z")));
        assert!(!h.is_open(utc("2026-12-25T12:00:00Z")));
    }

    #[test]
    fn the_next_opening_skips_weekends_and_holidays() {
        let h = london();
        assert_eq!(
            h.next_opening(utc("2026-12-01T12:00:00Z")),
            None,
            "open now"
        );
        let evening = h.next_opening(utc("2026-12-01T18:00:00Z")).unwrap();
        assert_eq!(evening.at, utc("2026-12-02T09:00:00Z"));
        assert_eq!(evening.local, "Wednesday 09:00 (Europe/London)");
        let early = h.next_opening(utc("2026-12-02T07:00:00Z")).unwrap();
        assert_eq!(early.at, utc("2026-12-02T09:00:00Z"));
        // Thursday 24th evening: Friday is Christmas, then the weekend.
        let christmas = h.next_opening(utc("2026-12-24T18:00:00Z")).unwrap();
        assert_eq!(christmas.at, utc("2026-12-28T09:00:00Z"));
        assert_eq!(christmas.local, "Monday 09:00 (Europe/London)");
    }

    #[test]
    fn a_week_with_no_spans_never_opens() {
        let h = BusinessHours::new("UTC", Default::default(), []).unwrap();
        assert!(!h.is_open(utc("2026-12-01T12:00:00Z")));
        assert_eq!(h.next_opening(utc("2026-12-01T12:00:00Z")), None);
    }

    #[test]
    fn an_opening_in_a_clock_change_gap_is_just_after_it() {
        // New York springs forward at 02:00 on 8 March 2026: 02:30 does not exist.
        let mut week: [Vec<Span>; 7] = Default::default();
        week[6] = spans(&["02:30-05:00"]);
        let h = BusinessHours::new("America/New_York", week, []).unwrap();
        let opening = h.next_opening(utc("2026-03-08T05:00:00Z")).unwrap();
        // 03:00 EDT is 07:00 UTC.
        assert_eq!(opening.at, utc("2026-03-08T07:00:00Z"));
    }
}
