//! How a shopper feels, from what they wrote: VADER (a lexicon and rules for emphasis,
//! negation and intensity, Hutto & Gilbert 2014) gives a compound score from −1 to +1.
//! The assistant hands an angry shopper to a person rather than answering them itself.

/// At or below this compound score a message reads as angry, not merely unhappy that a
/// parcel is late or an order is wrong. Chosen on the 381 shopper messages of
/// `eval/shoppers.csv` and `training/dev.csv`: three reach it, all heated ("worst service
/// ever", "wtf"); at −0.6 plain requests to cancel or change an order ("ordered the wrong
/// charger by mistake") would too.
pub const UPSET: f64 = -0.7;

/// The compound sentiment of a message, from −1 (most negative) to +1 (most positive).
pub fn score(text: &str) -> f64 {
    thread_local! {
        // Building the analyser reads its lexicon; once per thread, not per message.
        static ANALYZER: vader_sentiment::SentimentIntensityAnalyzer<'static> =
            vader_sentiment::SentimentIntensityAnalyzer::new();
    }
    ANALYZER.with(|a| {
        a.polarity_scores(text)
            .get("compound")
            .copied()
            .unwrap_or(0.0)
    })
}

/// Whether a message reads as angry or upset.
pub fn upset(text: &str) -> bool {
    score(text) <= UPSET
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anger_reads_as_upset_and_a_plain_question_does_not() {
        assert!(upset(
            "This is ridiculous. Three weeks and still nothing, and nobody answers my emails. \
             Worst service ever, I'm furious!"
        ));
        assert!(!upset("Hi, where is my order #1042? Thanks!"));
        assert!(!upset("My parcel hasn't arrived yet, can you check?"));
        assert!(score("Thank you so much, that was really helpful!") > 0.5);
    }
}
