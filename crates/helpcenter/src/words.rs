//! The help center's own words (headings, buttons, messages) in the languages it speaks.
//! Articles come in the shop's languages; the frame around them follows the page's language
//! where we have its words here, and is English otherwise. Dates are written by
//! `concierge_domain::dates`, in the shop's time zone and the page's language.

use concierge_domain::commerce::TrackingStatus;

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
    // The tracking page.
    pub order: &'static str,
    /// Before the day a parcel is expected.
    pub expected_by: &'static str,
    /// Before the day it was delivered.
    pub delivered_on: &'static str,
    /// A tracking status in a shopper's words, in [`TrackingStatus::ALL`]'s order.
    pub tracking: [&'static str; 8],
    pub carrier: &'static str,
    pub tracking_number: &'static str,
    pub on_carriers_site: &'static str,
    pub journey: &'static str,
    pub no_scans: &'static str,
    pub order_help: &'static str,
    /// Followed by the order's number.
    pub order_help_thanks: &'static str,
    pub order_help_reply: &'static str,
    pub whats_wrong: &'static str,
    pub leave_empty: &'static str,
    pub need_reply_address: &'static str,
    pub tell_whats_wrong: &'static str,
    pub unsubscribed_title: &'static str,
    pub unsubscribed_heading: &'static str,
    pub unsubscribed_text: &'static str,
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
    order: "Order",
    expected_by: "Expected by",
    delivered_on: "Delivered on",
    tracking: [
        "Label created",
        "On its way",
        "Out for delivery",
        "Delivered",
        "Delivery attempted",
        "Delivery problem",
        "Returned to sender",
        "No longer tracked",
    ],
    carrier: "Carrier",
    tracking_number: "Tracking number",
    on_carriers_site: "(on the carrier's site)",
    journey: "Journey",
    no_scans: "No scans from the carrier yet. They usually appear within a day of the label being created.",
    order_help: "Get help with this order",
    order_help_thanks: "Thanks, we have your message about order",
    order_help_reply: "We'll reply by email.",
    whats_wrong: "What's wrong?",
    leave_empty: "Leave this empty",
    need_reply_address: "Please give an email address we can reply to.",
    tell_whats_wrong: "Please tell us what's wrong.",
    unsubscribed_title: "Unsubscribed",
    unsubscribed_heading: "You're unsubscribed",
    unsubscribed_text: "We won't email you delivery updates any more. Your orders and messages are not affected.",
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
    order: "Bestellung",
    expected_by: "Voraussichtlich am",
    delivered_on: "Zugestellt am",
    tracking: [
        "Versandetikett erstellt",
        "Unterwegs",
        "In Zustellung",
        "Zugestellt",
        "Zustellversuch",
        "Problem bei der Zustellung",
        "Zurück an den Absender",
        "Keine Sendungsverfolgung mehr",
    ],
    carrier: "Versanddienstleister",
    tracking_number: "Sendungsnummer",
    on_carriers_site: "(beim Versanddienstleister)",
    journey: "Sendungsverlauf",
    no_scans: "Noch keine Scans vom Versanddienstleister. Sie erscheinen meist innerhalb eines Tages, nachdem das Etikett erstellt wurde.",
    order_help: "Hilfe zu dieser Bestellung",
    order_help_thanks: "Danke, wir haben deine Nachricht zur Bestellung",
    order_help_reply: "Wir antworten per E-Mail.",
    whats_wrong: "Was ist los?",
    leave_empty: "Dieses Feld leer lassen",
    need_reply_address: "Bitte gib eine E-Mail-Adresse an, an die wir antworten können.",
    tell_whats_wrong: "Bitte sag uns, was los ist.",
    unsubscribed_title: "Abgemeldet",
    unsubscribed_heading: "Du bist abgemeldet",
    unsubscribed_text: "Wir schicken dir keine Versand-Updates mehr per E-Mail. Deine Bestellungen und Nachrichten sind davon nicht betroffen.",
};

/// The words for a locale's language; English when we have none of its own.
pub(crate) fn words(locale: &str) -> &'static Words {
    match locale.split('-').next().unwrap_or(locale) {
        "de" => &DE,
        _ => &EN,
    }
}

impl Words {
    /// A parcel's status in this language.
    pub(crate) fn tracking_status(&self, status: TrackingStatus) -> &'static str {
        let at = TrackingStatus::ALL
            .iter()
            .position(|s| *s == status)
            .expect("every status is in TrackingStatus::ALL");
        self.tracking[at]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_tracking_words_are_the_domains() {
        for status in TrackingStatus::ALL {
            assert_eq!(words("en").tracking_status(*status), status.for_shoppers());
        }
        assert_eq!(
            words("de-AT").tracking_status(TrackingStatus::Delivered),
            "Zugestellt"
        );
    }
}
