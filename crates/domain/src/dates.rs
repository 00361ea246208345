//! Dates and times as shoppers read them: in one time zone — the shop's — and one language.
//! Every date or time a shopper is shown (the tracking page, help articles, the chat widget,
//! the assistant's replies, notices, canned replies) is written here, so no page says UTC
//! while another says the shop's time, and none writes `2026-12-09` where a person would
//! write "9 December 2026".
//!
//! Month and day names are a small table per language rather than a locale library: the
//! shop's pages speak English and German, and a language added there is a row added here.

use crate::hours::BusinessHours;
use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;

/// A language dates are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    English,
    German,
}

impl Language {
    /// The language of a locale (`de`, `de-AT`); English for one we have no names for.
    pub fn of(locale: &str) -> Language {
        match locale.split(['-', '_']).next().unwrap_or(locale) {
            "de" => Language::German,
            _ => Language::English,
        }
    }

    /// The shop's language, which it words its own messages in: its help center's first —
    /// English when it publishes English articles, else the first language it publishes in,
    /// English when it publishes none.
    pub fn of_shop<'a>(published: impl IntoIterator<Item = &'a str>) -> Language {
        let languages: Vec<Language> = published.into_iter().map(Language::of).collect();
        match languages.first() {
            Some(first) if !languages.contains(&Language::English) => *first,
            _ => Language::English,
        }
    }

    fn names(self) -> &'static Names {
        match self {
            Language::English => &ENGLISH,
            Language::German => &GERMAN,
        }
    }
}

/// How one language writes dates.
struct Names {
    months: [&'static str; 12],
    /// Monday first.
    weekdays: [&'static str; 7],
    /// `{d}` the day of the month, `{month}`, `{y}`.
    date: &'static str,
    /// `{day}` the weekday, `{date}` the date.
    day: &'static str,
    /// `{date}` then `{time}`.
    date_time: &'static str,
    /// `{time}` `HH:MM`, `{zone}` the zone's abbreviation.
    time: &'static str,
}

const ENGLISH: Names = Names {
    months: [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    weekdays: [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ],
    date: "{d} {month} {y}",
    day: "{day}, {date}",
    date_time: "{date}, {time}",
    time: "{time} {zone}",
};

const GERMAN: Names = Names {
    months: [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ],
    weekdays: [
        "Montag",
        "Dienstag",
        "Mittwoch",
        "Donnerstag",
        "Freitag",
        "Samstag",
        "Sonntag",
    ],
    date: "{d}. {month} {y}",
    day: "{day}, {date}",
    date_time: "{date}, {time}",
    time: "{time} Uhr {zone}",
};

/// A time zone and a language: how dates and times are written for one reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calendar {
    zone: Tz,
    language: Language,
}

impl Calendar {
    pub fn new(zone: Tz, language: Language) -> Self {
        Calendar { zone, language }
    }

    /// The shop's calendar in `language`: the time zone of its business hours, UTC until it
    /// sets them (the only zone it has told us).
    pub fn of_shop(hours: Option<&BusinessHours>, language: Language) -> Self {
        Calendar::new(hours.map_or(Tz::UTC, BusinessHours::zone), language)
    }

    pub fn language(&self) -> Language {
        self.language
    }

    /// The same time zone in another language.
    pub fn in_language(self, language: Language) -> Calendar {
        Calendar { language, ..self }
    }

    /// "9 December 2026", "9. Dezember 2026": the day `at` falls on in this time zone.
    pub fn date(&self, at: DateTime<Utc>) -> String {
        self.date_without_year(at, true)
    }

    /// "Wednesday, 9 December 2026".
    pub fn day(&self, at: DateTime<Utc>) -> String {
        self.with_weekday(at, self.date(at))
    }

    /// "9 December 2026, 15:05 CET": a moment, with the zone it is told in.
    pub fn date_time(&self, at: DateTime<Utc>) -> String {
        self.language
            .names()
            .date_time
            .replace("{date}", &self.date(at))
            .replace("{time}", &self.time(at))
    }

    /// "Wednesday, 9 December, 09:00 CET": a moment in the coming days (when the team is
    /// back), so without the year.
    pub fn day_time(&self, at: DateTime<Utc>) -> String {
        let day = self.with_weekday(at, self.date_without_year(at, false));
        self.language
            .names()
            .date_time
            .replace("{date}", &day)
            .replace("{time}", &self.time(at))
    }

    /// "15:05 CET", "15:05 Uhr CET". A zone without a letter abbreviation is told by its
    /// offset: "UTC+04".
    fn time(&self, at: DateTime<Utc>) -> String {
        let local = at.with_timezone(&self.zone);
        let abbreviation = local.format("%Z").to_string();
        let zone = if abbreviation.starts_with(['+', '-']) {
            format!("UTC{abbreviation}")
        } else {
            abbreviation
        };
        self.language
            .names()
            .time
            .replace("{time}", &local.format("%H:%M").to_string())
            .replace("{zone}", &zone)
    }

    fn date_without_year(&self, at: DateTime<Utc>, year: bool) -> String {
        let local = at.with_timezone(&self.zone);
        let names = self.language.names();
        let format = if year {
            names.date
        } else {
            names.date.trim_end_matches(" {y}")
        };
        format
            .replace("{d}", &local.day().to_string())
            .replace("{month}", names.months[local.month0() as usize])
            .replace("{y}", &local.year().to_string())
    }

    fn with_weekday(&self, at: DateTime<Utc>, date: String) -> String {
        let weekday = at.with_timezone(&self.zone).weekday();
        let names = self.language.names();
        names
            .day
            .replace(
                "{day}",
                names.weekdays[weekday.num_days_from_monday() as usize],
            )
            .replace("{date}", &date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn berlin(language: Language) -> Calendar {
        Calendar::new(chrono_tz::Europe::Berlin, language)
    }

    #[test]
    fn dates_are_written_as_each_language_writes_them() {
        let at = utc("2026-12-09T12:00:00Z");
        let en = berlin(Language::English);
        let de = berlin(Language::German);
        assert_eq!(en.date(at), "9 December 2026");
        assert_eq!(de.date(at), "9. Dezember 2026");
        assert_eq!(en.day(at), "Wednesday, 9 December 2026");
        assert_eq!(de.day(at), "Mittwoch, 9. Dezember 2026");
        assert_eq!(en.date_time(at), "9 December 2026, 13:00 CET");
        assert_eq!(de.date_time(at), "9. Dezember 2026, 13:00 Uhr CET");
        assert_eq!(en.day_time(at), "Wednesday, 9 December, 13:00 CET");
        assert_eq!(de.day_time(at), "Mittwoch, 9. Dezember, 13:00 Uhr CET");
        assert_eq!(de.date(utc("2026-03-02T12:00:00Z")), "2. März 2026");
    }

    #[test]
    fn the_day_is_the_shops_day_not_utcs() {
        // 23:30 UTC on the 8th is already the 9th in Berlin, and still the 8th in New York.
        let late = utc("2026-12-08T23:30:00Z");
        assert_eq!(
            berlin(Language::English).day(late),
            "Wednesday, 9 December 2026"
        );
        let new_york = Calendar::new(chrono_tz::America::New_York, Language::English);
        assert_eq!(new_york.date_time(late), "8 December 2026, 18:30 EST");
    }

    #[test]
    fn summer_time_and_zones_without_letters_are_named() {
        let summer = utc("2026-07-01T07:00:00Z");
        assert_eq!(
            berlin(Language::English).date_time(summer),
            "1 July 2026, 09:00 CEST"
        );
        let dubai = Calendar::new(chrono_tz::Asia::Dubai, Language::English);
        assert_eq!(dubai.date_time(summer), "1 July 2026, 11:00 UTC+04");
        let utc_shop = Calendar::of_shop(None, Language::English);
        assert_eq!(utc_shop.date_time(summer), "1 July 2026, 07:00 UTC");
    }

    #[test]
    fn languages_come_from_locales() {
        assert_eq!(Language::of("de"), Language::German);
        assert_eq!(Language::of("de-AT"), Language::German);
        assert_eq!(Language::of("en-GB"), Language::English);
        assert_eq!(
            Language::of("ja"),
            Language::English,
            "English where we have no names"
        );
        assert_eq!(Language::of_shop(["de", "en"]), Language::English);
        assert_eq!(Language::of_shop(["de-AT"]), Language::German);
        assert_eq!(Language::of_shop([]), Language::English);
    }
}
