//! The knowledge base's wire types: articles, categories, synonyms, files, and the help
//! center's figures.

use super::double_option;
use chrono::{DateTime, Utc};
use concierge_store::articles::{Article, ArticleFile, Category, SynonymGroup, Translation};
use concierge_store::help::{ArticleStats, ContentGap, HelpStats, Vote};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateArticle {
    pub title: String,
    pub body_markdown: String,
    /// A category, by name or slug; one named for the first time is created.
    pub category: Option<String>,
    /// Defaults to `en`.
    pub locale: Option<String>,
    /// Defaults to true.
    pub published: Option<bool>,
    /// Defaults to one made from the title.
    pub slug: Option<String>,
    /// What search results and search engines show; defaults to the first paragraph.
    pub summary: Option<String>,
    /// Its place in its category (lower first); defaults to 0.
    pub position: Option<i64>,
    /// The id of the article this one translates (into `locale`).
    pub translation_of: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateArticle {
    pub title: Option<String>,
    pub body_markdown: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub category: Option<Option<String>>,
    pub published: Option<bool>,
    /// A new slug; links to the old one keep working (they redirect).
    pub slug: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub summary: Option<Option<String>>,
    pub position: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ArticleQuery {
    /// Search words; results come best first (stemmed, forgiving of typos, with the shop's
    /// synonyms).
    pub q: Option<String>,
    pub category: Option<String>,
    #[param(schema_with = super::schema::locale_or_blank)]
    pub locale: Option<String>,
    /// `true` for published articles only.
    pub published: Option<bool>,
    /// Rows per page: default 50, at most 200.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    #[param(schema_with = super::schema::cursor)]
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ArticleOut {
    pub id: String,
    pub slug: String,
    pub locale: String,
    pub title: String,
    pub body_markdown: String,
    /// The Markdown rendered to sanitised HTML.
    pub body_html: String,
    /// The words alone, as a reader sees them: for pasting into a plain-text reply.
    pub body_text: String,
    /// The category's slug.
    pub category: Option<String>,
    pub published: bool,
    pub summary: Option<String>,
    pub position: i64,
    /// Shared by the article's translations.
    pub translation_group: String,
    /// Where the help center shows it.
    pub url: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Article> for ArticleOut {
    fn from(a: Article) -> Self {
        ArticleOut {
            url: a.help_url(),
            id: a.id.into_string(),
            slug: a.slug,
            locale: a.locale,
            title: a.title,
            body_text: concierge_knowledge::markdown::plain_text(&a.body_markdown),
            body_markdown: a.body_markdown,
            body_html: a.body_html,
            category: a.category,
            published: a.published,
            summary: a.summary,
            position: a.position,
            translation_group: a.translation_group,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TranslationOut {
    pub id: String,
    pub locale: String,
    pub slug: String,
    pub title: String,
    pub published: bool,
}

impl From<Translation> for TranslationOut {
    fn from(t: Translation) -> Self {
        TranslationOut {
            id: t.id.into_string(),
            locale: t.locale,
            slug: t.slug,
            title: t.title,
            published: t.published,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveCategory {
    pub name: String,
    pub description: Option<String>,
    /// Its place among the categories (lower first); defaults to 0.
    pub position: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct CategoryOut {
    pub slug: String,
    pub name: String,
    pub description: Option<String>,
    pub position: i64,
}

impl From<Category> for CategoryOut {
    fn from(c: Category) -> Self {
        CategoryOut {
            slug: c.slug,
            name: c.name,
            description: c.description,
            position: c.position,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveSynonyms {
    /// Two to twenty words or short phrases that mean the same here.
    pub terms: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SynonymsOut {
    pub id: String,
    pub terms: Vec<String>,
}

impl From<SynonymGroup> for SynonymsOut {
    fn from(g: SynonymGroup) -> Self {
        SynonymsOut {
            id: g.id,
            terms: g.terms,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ArticleFileOut {
    pub id: String,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// Where the help center serves it; use it in the article's Markdown.
    pub url: String,
}

impl From<ArticleFile> for ArticleFileOut {
    fn from(f: ArticleFile) -> Self {
        ArticleFileOut {
            url: format!("/help/files/{}/{}", f.id, f.filename),
            id: f.id.into_string(),
            filename: f.filename,
            content_type: f.content_type,
            size_bytes: f.size_bytes,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// The start of the period (RFC 3339); defaults to 30 days ago.
    pub since: Option<DateTime<Utc>>,
    /// Its end; defaults to now.
    pub until: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct HelpStatsOut {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Help-center visits that started in the period.
    pub visits: i64,
    /// Visits that started over a day before the period's end (so their outcome is known).
    pub judged_visits: i64,
    /// Of those, the ones that did not open a conversation within a day.
    pub deflected_visits: i64,
    /// `deflected_visits / judged_visits`; null before any.
    pub deflection: Option<f64>,
    pub searches: i64,
    pub searches_without_results: i64,
    pub article_views: i64,
    pub helpful_votes: i64,
    pub not_helpful_votes: i64,
}

impl HelpStatsOut {
    pub fn new(s: HelpStats, since: DateTime<Utc>, until: DateTime<Utc>) -> Self {
        HelpStatsOut {
            since,
            until,
            deflection: s.deflection(),
            visits: s.visits,
            judged_visits: s.judged_visits,
            deflected_visits: s.deflected_visits,
            searches: s.searches,
            searches_without_results: s.searches_without_results,
            article_views: s.views,
            helpful_votes: s.helpful,
            not_helpful_votes: s.not_helpful,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ContentGapOut {
    /// What shoppers searched for (lower case).
    pub query: String,
    pub searches: i64,
    pub last_at: DateTime<Utc>,
}

impl From<ContentGap> for ContentGapOut {
    fn from(g: ContentGap) -> Self {
        ContentGapOut {
            query: g.query,
            searches: g.searches,
            last_at: g.last_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ArticleStatsOut {
    pub id: String,
    pub title: String,
    pub views: i64,
    pub helpful_votes: i64,
    pub not_helpful_votes: i64,
}

impl From<ArticleStats> for ArticleStatsOut {
    fn from(a: ArticleStats) -> Self {
        ArticleStatsOut {
            id: a.id.into_string(),
            title: a.title,
            views: a.views,
            helpful_votes: a.helpful,
            not_helpful_votes: a.not_helpful,
        }
    }
}

/// Markdown to see as the help center will show it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewArticle {
    pub body_markdown: String,
}

/// An article body rendered and sanitised, exactly as it would be stored.
#[derive(Serialize, ToSchema)]
pub struct PreviewOut {
    pub html: String,
}

/// A reader's vote with what they wrote.
#[derive(Serialize, ToSchema)]
pub struct VoteOut {
    pub helpful: bool,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Vote> for VoteOut {
    fn from(v: Vote) -> Self {
        VoteOut {
            helpful: v.helpful,
            comment: v.comment,
            created_at: v.at,
        }
    }
}
