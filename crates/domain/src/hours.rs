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
    /// day. A span written loosely (`9-17`, `9am-5pm`) is refused with how to write it.
    pub fn parse(text: &str) -> Result<Span, Invalid> {
        let Some((from_text, to_text)) = text.split_once('-') else {
            return Err(Invalid::new(format!(
                "`{text}` is not a span like 09:00-17:00"
            )));
        };
        let (from_text, to_text) = (from_text.trim(), to_text.trim());
        let (from, to) = match (clock(from_text), clock(to_text)) {
            (Ok(from), Ok(to)) => (from, to),
            (from, to) => {
                // Both ends read as times, only not written so: say the whole span as it
                // should be, rather than one end at a time.
                if let (Some(f), Some(t)) = (loose_clock(from_text), loose_clock(to_text)) {
                    if f < t {
                        return Err(Invalid::new(format!(
                            "`{text}` is not a span of time: write it as {}-{}",
                            hh_mm(f),
                            hh_mm(t)
                        )));
                    }
                }
                return Err(from.and(to).err().unwrap_or_else(|| {
                    Invalid::new(format!("`{text}` is not a span like 09:00-17:00"))
                }));
            }
        };
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
        write!(f, "{}-{}", hh_mm(self.from), hh_mm(self.to))
    }
}

/// Minutes since midnight as `HH:MM`.
fn hh_mm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `"HH:MM"`, `00:00` to `24:00`, as minutes. A time written loosely (`9`, `9:30`, `5pm`)
/// is refused with how to write it.
fn clock(text: &str) -> Result<u16, Invalid> {
    let strict = text.split_once(':').and_then(|(h, m)| {
        let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
        if !(two_digits(h) && two_digits(m)) {
            return None;
        }
        minutes(h.parse().ok()?, m.parse().ok()?)
    });
    strict.ok_or_else(|| match loose_clock(text) {
        Some(m) => Invalid::new(format!("`{text}` is not a time: write it as {}", hh_mm(m))),
        None => Invalid::new(format!("`{text}` is not a time like 09:00")),
    })
}

/// The minute of the day an hour and minute name, up to `24:00`.
fn minutes(hour: u16, minute: u16) -> Option<u16> {
    let total = hour * 60 + minute;
    (hour <= 24 && minute <= 59 && total <= DAY_MINUTES).then_some(total)
}

/// A time as people also write it — `9`, `9:30`, `9.30`, `9am`, `5:30 pm` — as minutes, to
/// say how to write it. Never accepted as it is: `5` could be morning or evening.
fn loose_clock(text: &str) -> Option<u16> {
    let lower = text.trim().to_ascii_lowercase();
    let (number, afternoon) = match lower.strip_suffix("am").or(lower.strip_suffix("a.m.")) {
        Some(n) => (n.trim(), Some(false)),
        None => match lower.strip_suffix("pm").or(lower.strip_suffix("p.m.")) {
            Some(n) => (n.trim(), Some(true)),
            None => (lower.as_str(), None),
        },
    };
    let (h, m) = number.split_once([':', '.', 'h']).unwrap_or((number, "00"));
    let digits = |s: &str, most: usize| {
        (!s.is_empty() && s.len() <= most && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u16>().ok())
            .flatten()
    };
    let (mut hour, minute) = (digits(h, 2)?, digits(m, 2)?);
    if m.len() != 2 {
        return None;
    }
    match afternoon {
        Some(_) if hour == 0 || hour > 12 => return None,
        Some(true) if hour < 12 => hour += 12,
        Some(false) if hour == 12 => hour = 0,
        _ => {}
    }
    minutes(hour, minute)
}

/// A date as `YYYY-MM-DD`. One written another common way (`25.12.2026`, `25/12/2026`) is
/// refused with how to write it, when it can only mean one day.
fn date(text: &str) -> Result<NaiveDate, Invalid> {
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(d);
    }
    let readings: BTreeSet<NaiveDate> = ["%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y"]
        .iter()
        .filter_map(|f| NaiveDate::parse_from_str(text, f).ok())
        .collect();
    Err(match readings.first().filter(|_| readings.len() == 1) {
        Some(d) => Invalid::new(format!("`{text}` is not a date: write it as {d}")),
        None => Invalid::new(format!("`{text}` is not a date like 2026-12-25")),
    })
}

/// Where a problem with business hours is, as the settings page lays them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    TimeZone,
    Day(Weekday),
    ClosedDates,
}

/// When the team answers.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessHours {
    timezone: Tz,
    /// Monday first, each day's spans sorted and apart.
    week: [Vec<Span>; 7],
    closed: BTreeSet<NaiveDate>,
}

/// When the team is next in. Shoppers are told it by [`crate::dates::Calendar::day_time`],
/// in the shop's time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opening {
    pub at: DateTime<Utc>,
}

/// Business hours refused: every problem found, each with its place, in the order the
/// settings page shows them (time zone, Monday to Sunday, holidays), so that one answer can
/// mark them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub Vec<(Place, Invalid)>);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, (place, why)) in self.0.iter().enumerate() {
            let place = match place {
                Place::TimeZone => "time zone",
                Place::Day(day) => day_key(*day),
                Place::ClosedDates => "closed dates",
            };
            write!(f, "{}{place}: {why}", if n > 0 { "; " } else { "" })?;
        }
        Ok(())
    }
}

impl std::error::Error for Refused {}

/// A day's name as the API and the settings page write it (`monday`).
pub fn day_key(day: Weekday) -> &'static str {
    DAYS[day.num_days_from_monday() as usize].1
}

/// An IANA time zone name.
fn zone(name: &str) -> Result<Tz, Invalid> {
    name.parse().map_err(|_| {
        Invalid::new(format!(
            "`{name}` is not a time zone name like Europe/London"
        ))
    })
}

/// Sorts a day's spans, refusing spans that overlap.
fn sort_apart(spans: &mut [Span]) -> Result<(), Invalid> {
    spans.sort();
    match spans.windows(2).find(|w| w[0].to > w[1].from) {
        Some(w) => Err(Invalid::new(format!("{} overlaps {}", w[0], w[1]))),
        None => Ok(()),
    }
}

impl BusinessHours {
    /// `timezone`: an IANA name (`Europe/London`); `week`: each day's spans, Monday first;
    /// `closed`: dates (in the shop's time zone) the team is away all day.
    pub fn new(
        timezone: &str,
        week: [Vec<Span>; 7],
        closed: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<Self, Refused> {
        let mut problems = Vec::new();
        let timezone = zone(timezone).map_err(|e| problems.push((Place::TimeZone, e)));
        let mut week = week;
        for (spans, (day, _)) in week.iter_mut().zip(DAYS) {
            if let Err(e) = sort_apart(spans) {
                problems.push((Place::Day(day), e));
            }
        }
        match timezone {
            Ok(timezone) if problems.is_empty() => Ok(BusinessHours {
                timezone,
                week,
                closed: closed.into_iter().collect(),
            }),
            _ => Err(Refused(problems)),
        }
    }

    /// Business hours as people write them: a time zone name, each day's spans like
    /// `09:00-17:00` (Monday first), holidays like `2026-12-25`. Every problem is reported,
    /// not only the first, each day's in one sentence.
    pub fn read(
        timezone: &str,
        week: &[Vec<String>; 7],
        closed: &[String],
    ) -> Result<Self, Refused> {
        let mut problems = Vec::new();
        let mut spans: [Vec<Span>; 7] = Default::default();
        for ((day, _), (texts, spans)) in DAYS.iter().zip(week.iter().zip(spans.iter_mut())) {
            let mut reasons = Vec::new();
            for text in texts {
                match Span::parse(text) {
                    Ok(span) => spans.push(span),
                    Err(e) => reasons.push(e.0),
                }
            }
            if reasons.is_empty() {
                // Overlaps are found by `new`, below, once every day reads.
                continue;
            }
            // One sentence for the day: what it has left is not checked for overlaps.
            spans.clear();
            problems.push((Place::Day(*day), Invalid::new(reasons.join("; "))));
        }
        let (dates, bad): (Vec<_>, Vec<_>) =
            closed.iter().map(|d| date(d)).partition(Result::is_ok);
        if !bad.is_empty() {
            let reasons: Vec<String> = bad
                .into_iter()
                .filter_map(|e| e.err())
                .map(|e| e.0)
                .collect();
            problems.push((Place::ClosedDates, Invalid::new(reasons.join("; "))));
        }
        let dates = dates.into_iter().filter_map(Result::ok);
        match BusinessHours::new(timezone, spans, dates) {
            Ok(hours) if problems.is_empty() => Ok(hours),
            Ok(_) => Err(Refused(problems)),
            Err(Refused(more)) => {
                // The time zone first, then the days Monday first, then the holidays: the
                // order of the settings page.
                problems.extend(more);
                problems.sort_by_key(|(place, _)| match place {
                    Place::TimeZone => 0,
                    Place::Day(day) => 1 + day.num_days_from_monday(),
                    Place::ClosedDates => 8,
                });
                Err(Refused(problems))
            }
        }
    }

    /// The time zone's IANA name.
    pub fn timezone(&self) -> &str {
        self.timezone.name()
    }

    /// The shop's time zone: the one its hours are in, and the one shoppers are told
    /// dates and times in.
    pub fn zone(&self) -> Tz {
        self.timezone
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
            Some(Opening {
                at: self.instant(date, span.from),
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
        assert_eq!(
            err.0,
            [(
                Place::Day(Weekday::Mon),
                Invalid::new("09:00-13:00 overlaps 12:00-14:00")
            )]
        );
        assert_eq!(err.to_string(), "monday: 09:00-13:00 overlaps 12:00-14:00");
        assert!(BusinessHours::new("Mars/Olympus", Default::default(), []).is_err());
    }

    #[test]
    fn times_written_loosely_are_refused_with_how_to_write_them() {
        let why = |span: &str| Span::parse(span).unwrap_err().0;
        assert_eq!(
            why("9-17"),
            "`9-17` is not a span of time: write it as 09:00-17:00"
        );
        assert_eq!(
            why("9am - 5:30pm"),
            "`9am - 5:30pm` is not a span of time: write it as 09:00-17:30"
        );
        assert_eq!(
            why("9.30-12"),
            "`9.30-12` is not a span of time: write it as 09:30-12:00"
        );
        // One end that cannot be a time is named on its own, the other told how to write.
        assert_eq!(why("9-noon"), "`9` is not a time: write it as 09:00");
        assert_eq!(why("09:00-noon"), "`noon` is not a time like 09:00");
        // Evening or morning cannot be guessed: `9-5` is refused, end by end.
        assert_eq!(why("9-5"), "`9` is not a time: write it as 09:00");
        assert_eq!(why("9"), "`9` is not a span like 09:00-17:00");
        assert_eq!(why("13pm-14:00"), "`13pm` is not a time like 09:00");
    }

    #[test]
    fn reading_a_week_names_every_bad_day_in_the_settings_order() {
        let mut week: [Vec<String>; 7] = Default::default();
        week[0] = vec!["9-17".into()];
        week[2] = vec!["09:00-12:00".into(), "11:00-13:00".into()];
        week[4] = vec!["09:00-12:00".into(), "9".into(), "13:00-1".into()];
        week[5] = vec!["10:00-14:00".into()];
        let closed = [
            "2026-12-24".to_owned(),
            "25.12.2026".to_owned(),
            "12/31/2026".to_owned(),
            "01/02/2027".to_owned(),
        ];
        let refused = BusinessHours::read("Europe/Berln", &week, &closed).unwrap_err();
        let said: Vec<(Place, &str)> = refused
            .0
            .iter()
            .map(|(p, why)| (*p, why.0.as_str()))
            .collect();
        assert_eq!(
            said,
            [
                (
                    Place::TimeZone,
                    "`Europe/Berln` is not a time zone name like Europe/London"
                ),
                (
                    Place::Day(Weekday::Mon),
                    "`9-17` is not a span of time: write it as 09:00-17:00"
                ),
                (Place::Day(Weekday::Wed), "09:00-12:00 overlaps 11:00-13:00"),
                (
                    Place::Day(Weekday::Fri),
                    "`9` is not a span like 09:00-17:00; `1` is not a time: write it as 01:00"
                ),
                (
                    Place::ClosedDates,
                    "`25.12.2026` is not a date: write it as 2026-12-25; `12/31/2026` is not a \
                     date: write it as 2026-12-31; `01/02/2027` is not a date like 2026-12-25"
                ),
            ]
        );
        week[0] = vec!["09:00-17:00".into()];
        week[2].pop();
        week[4] = vec!["09:00-12:00".into(), "13:00-17:00".into()];
        let hours =
            BusinessHours::read("Europe/Berlin", &week, &["2026-12-24".to_owned()]).unwrap();
        assert_eq!(hours.day(Weekday::Fri).len(), 2);
        assert_eq!(hours.closed_dates().count(), 1);
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
        let early = h.next_opening(utc("2026-12-02T07:00:00Z")).unwrap();
        assert_eq!(early.at, utc("2026-12-02T09:00:00Z"));
        // Thursday 24th evening: Friday is Christmas, then the weekend.
        let christmas = h.next_opening(utc("2026-12-24T18:00:00Z")).unwrap();
        assert_eq!(christmas.at, utc("2026-12-28T09:00:00Z"));
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
