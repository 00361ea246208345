//! The help center's own words (headings, buttons, messages) in the languages it speaks.
//! Articles come in the shop's languages; the frame around them follows the page's language
//! where we have its words here, and is English otherwise.

/// One language's words.
pub(crate) struct Words {
    pub skip: &'static str,
    pub language: &'static str,
    pub cant_find: &'static str,
    pub contact_us: &'static str,
    pub search_label: &'static str,
    pub search_placeholder: &'static str,
    pub search_button: &'static str,
    pub help_center: &'static str,
    /// After the site's name, for the home page's description.
    pub home_description: &'static str,
    pub how_can_we_help: &'static str,
    pub popular: &'static str,
    pub browse: &'static str,
    pub no_articles: &'static str,
    pub all_articles: &'static str,
    pub more: &'static str,
    pub results_title: &'static str,
    pub results_for: &'static str,
    pub no_results: &'static str,
    pub home_link: &'static str,
    pub still_need_help: &'static str,
    pub well_get_back: &'static str,
    pub result_pages: &'static str,
    pub previous: &'static str,
    pub next: &'static str,
    pub breadcrumbs: &'static str,
    pub none_in_language: &'static str,
    pub updated: &'static str,
    /// `chrono` format of a date.
    pub date_format: &'static str,
    pub months: [&'static str; 12],
    pub thanks_yes: &'static str,
    pub glad: &'static str,
    pub thanks_no: &'static str,
    pub sorry: &'static str,
    pub help_yourselves: &'static str,
    pub was_it_helpful: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub comment_label: &'static str,
    pub related: &'static str,
    pub send_us: &'static str,
    pub contact_lead: &'static str,
    pub check_form: &'static str,
    pub your_name: &'static str,
    pub your_email: &'static str,
    pub suggested: &'static str,
    pub send: &'static str,
    pub need_email: &'static str,
    pub need_message: &'static str,
    pub bad_message: &'static str,
    pub bad_name: &'static str,
    pub sent_title: &'static str,
    pub sent_heading: &'static str,
    pub sent_text: &'static str,
    pub back: &'static str,
}

const EN: Words = Words {
    skip: "Skip to content",
    language: "Language",
    cant_find: "Can't find what you need?",
    contact_us: "Contact us",
    search_label: "Search the help center",
    search_placeholder: "Describe your question",
    search_button: "Search",
    help_center: "Help center",
    home_description: "orders, delivery, returns, refunds and more.",
    how_can_we_help: "How can we help?",
    popular: "Popular articles",
    browse: "Browse by topic",
    no_articles: "There are no articles here yet.",
    all_articles: "All articles",
    more: "More",
    results_title: "Search results",
    results_for: "Results for",
    no_results: "We found no articles for that. Try other words, or browse the topics on the",
    home_link: "help center home",
    still_need_help: "Still need help?",
    well_get_back: "and we'll get back to you.",
    result_pages: "Result pages",
    previous: "Previous",
    next: "Next",
    breadcrumbs: "Breadcrumbs",
    none_in_language: "There are no articles in this topic in your language yet.",
    updated: "Updated",
    date_format: "{d} {month} {y}",
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
    thanks_yes: "Thanks for letting us know!",
    glad: "We're glad this helped.",
    thanks_no: "Thanks for letting us know.",
    sorry: "Sorry this didn't answer your question.",
    help_yourselves: "and we'll help you ourselves.",
    was_it_helpful: "Was this article helpful?",
    yes: "Yes",
    no: "No",
    comment_label: "Anything we could add or explain better? (optional)",
    related: "Related articles",
    send_us: "Send us a message and we'll get back to you by email.",
    contact_lead: "Tell us what you need and we'll reply by email.",
    check_form: "Please check the form:",
    your_name: "Your name (optional)",
    your_email: "Your email",
    suggested: "These articles might answer your question:",
    send: "Send message",
    need_email: "Enter the email address we should reply to.",
    need_message: "Tell us how we can help.",
    bad_message: "Your message could not be taken:",
    bad_name: "Your name could not be taken:",
    sent_title: "Message sent",
    sent_heading: "Thanks, we've got your message",
    sent_text:
        "We'll reply by email, usually within one working day. You don't need to write again.",
    back: "Back to the help center",
};

const DE: Words = Words {
    skip: "Zum Inhalt springen",
    language: "Sprache",
    cant_find: "Nicht gefunden, was du suchst?",
    contact_us: "Schreib uns",
    search_label: "Hilfe-Center durchsuchen",
    search_placeholder: "Beschreibe deine Frage",
    search_button: "Suchen",
    help_center: "Hilfe-Center",
    home_description: "Bestellungen, Lieferung, Rücksendungen, Erstattungen und mehr.",
    how_can_we_help: "Wie können wir helfen?",
    popular: "Beliebte Artikel",
    browse: "Themen",
    no_articles: "Hier gibt es noch keine Artikel.",
    all_articles: "Alle Artikel",
    more: "Weiteres",
    results_title: "Suchergebnisse",
    results_for: "Ergebnisse für",
    no_results: "Dazu haben wir keine Artikel gefunden. Versuch es mit anderen Wörtern oder stöbere in den Themen auf der",
    home_link: "Startseite des Hilfe-Centers",
    still_need_help: "Noch Fragen?",
    well_get_back: "und wir melden uns bei dir.",
    result_pages: "Ergebnisseiten",
    previous: "Zurück",
    next: "Weiter",
    breadcrumbs: "Navigationspfad",
    none_in_language: "Zu diesem Thema gibt es noch keine Artikel in deiner Sprache.",
    updated: "Aktualisiert am",
    date_format: "{d}. {month} {y}",
    months: [
        "Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
        "Oktober", "November", "Dezember",
    ],
    thanks_yes: "Danke für deine Rückmeldung!",
    glad: "Schön, dass es geholfen hat.",
    thanks_no: "Danke für deine Rückmeldung.",
    sorry: "Schade, dass das deine Frage nicht beantwortet hat.",
    help_yourselves: "und wir helfen dir persönlich.",
    was_it_helpful: "War dieser Artikel hilfreich?",
    yes: "Ja",
    no: "Nein",
    comment_label: "Was könnten wir ergänzen oder besser erklären? (optional)",
    related: "Ähnliche Artikel",
    send_us: "Schick uns eine Nachricht, wir antworten per E-Mail.",
    contact_lead: "Sag uns, was du brauchst – wir antworten per E-Mail.",
    check_form: "Bitte prüfe das Formular:",
    your_name: "Dein Name (optional)",
    your_email: "Deine E-Mail-Adresse",
    suggested: "Diese Artikel beantworten deine Frage vielleicht:",
    send: "Nachricht senden",
    need_email: "Gib die E-Mail-Adresse an, an die wir antworten sollen.",
    need_message: "Sag uns, wobei wir helfen können.",
    bad_message: "Deine Nachricht konnte nicht angenommen werden:",
    bad_name: "Dein Name konnte nicht angenommen werden:",
    sent_title: "Nachricht gesendet",
    sent_heading: "Danke, deine Nachricht ist da",
    sent_text: "Wir antworten per E-Mail, meist innerhalb eines Werktags. Du musst nicht noch einmal schreiben.",
    back: "Zurück zum Hilfe-Center",
};

/// The words for a locale's language; English when we have none of its own.
pub(crate) fn words(locale: &str) -> &'static Words {
    match locale.split('-').next().unwrap_or(locale) {
        "de" => &DE,
        _ => &EN,
    }
}

impl Words {
    /// A date, as this language writes it.
    pub(crate) fn date(&self, at: chrono::DateTime<chrono::Utc>) -> String {
        use chrono::Datelike;
        self.date_format
            .replace("{d}", &at.day().to_string())
            .replace("{month}", self.months[at.month0() as usize])
            .replace("{y}", &at.year().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn dates_read_as_each_language_writes_them() {
        let at = chrono::Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap();
        assert_eq!(words("en").date(at), "2 March 2026");
        assert_eq!(words("de-AT").date(at), "2. März 2026");
        assert_eq!(
            words("ja").date(at),
            "2 March 2026",
            "English where we have no words"
        );
    }
}
