//! What shoppers do in the help center — visits, article views, searches, votes — and what
//! comes of it: popular articles, content gaps (searches that found nothing) and deflection
//! (visits that did not end in a conversation within a day).

use crate::args::Batch;
use crate::{on_engine, on_tx, At, Store, StoreError};
use chrono::{DateTime, Duration, Utc};
use concierge_domain::ids::{ArticleId, ConversationId};
use std::collections::HashMap;

/// Something a shopper did in the help center. Visits are a cookie's id, when the shopper
/// keeps cookies.
#[derive(Debug, Clone)]
pub enum HelpEvent {
    View {
        visit: Option<String>,
        article: ArticleId,
        at: DateTime<Utc>,
    },
    Search {
        visit: Option<String>,
        query: String,
        results: i64,
        at: DateTime<Utc>,
    },
}

/// What a visit looked at before it asked for help: what the agent sees first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VisitTrail {
    pub searches: Vec<String>,
    /// Articles viewed, first view first, each once: (id, title).
    pub articles: Vec<(ArticleId, String)>,
}

/// The help center's figures over a period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HelpStats {
    pub visits: i64,
    /// Visits of the period old enough to judge (started over a day ago) …
    pub judged_visits: i64,
    /// … and of those, the ones that opened no conversation within a day.
    pub deflected_visits: i64,
    pub searches: i64,
    pub searches_without_results: i64,
    pub views: i64,
    pub helpful: i64,
    pub not_helpful: i64,
}

impl HelpStats {
    /// The share of judged visits that did not need a conversation; `None` before any.
    pub fn deflection(&self) -> Option<f64> {
        (self.judged_visits > 0).then(|| self.deflected_visits as f64 / self.judged_visits as f64)
    }
}

/// A search shoppers made that found nothing: what the help center is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentGap {
    pub query: String,
    pub searches: i64,
    pub last_at: DateTime<Utc>,
}

/// One article's figures over a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleStats {
    pub id: ArticleId,
    pub title: String,
    pub views: i64,
    pub helpful: i64,
    pub not_helpful: i64,
}

/// A shopper's vote on an article.
#[derive(Debug, Clone)]
pub struct Feedback {
    pub article: ArticleId,
    pub visit: Option<String>,
    pub helpful: bool,
    pub comment: Option<String>,
}

/// A vote as an admin reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vote {
    pub helpful: bool,
    pub comment: Option<String>,
    pub at: DateTime<Utc>,
}

/// How long after a visit starts a conversation still counts as its outcome.
pub fn deflection_window() -> Duration {
    Duration::hours(24)
}

fn visit_upsert(batch: &mut Batch, visit: &str, at: DateTime<Utc>) {
    batch
        .add(
            "INSERT INTO help_visits (id, started_at, last_seen_at) VALUES ($1, $2, $2) \
             ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at",
        )
        .text(visit)
        .time(at);
}

impl Store {
    /// Records help-center events, several at once (they are buffered in memory and flushed
    /// together, as they are many and each alone is worth little). Views of articles deleted
    /// meanwhile are dropped.
    pub async fn record_help(&self, events: &[HelpEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut batch = Batch::default();
        for e in events {
            match e {
                HelpEvent::View { visit, article, at } => {
                    if let Some(v) = visit {
                        visit_upsert(&mut batch, v, *at);
                    }
                    batch
                        .add(
                            "INSERT INTO help_views (visit_id, article_id, created_at) \
                             SELECT $1, id, $3 FROM articles WHERE id = $2",
                        )
                        .opt_text(visit.as_deref())
                        .text(article.as_str())
                        .time(*at);
                }
                HelpEvent::Search {
                    visit,
                    query,
                    results,
                    at,
                } => {
                    if let Some(v) = visit {
                        visit_upsert(&mut batch, v, *at);
                    }
                    batch
                        .add(
                            "INSERT INTO help_searches (id, visit_id, query, results, created_at) VALUES ($1, $2, $3, $4, $5)",
                        )
                        .text(format!("hs_{}", uuid::Uuid::now_v7().simple()))
                        .opt_text(visit.as_deref())
                        .text(query.as_str())
                        .int(*results)
                        .time(*at);
                }
            }
        }
        let tx = self.begin().await?;
        tx.commit_with(batch).await
    }

    /// Records a shopper's vote (and comment) on an article; a visit's later vote on the same
    /// article replaces its earlier one.
    pub async fn record_feedback(&self, feedback: &Feedback) -> Result<(), StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let exists: i64 = on_tx!(read &mut tx, |conn, pg| sqlx::query_scalar(
            "SELECT count(*) FROM articles WHERE id = $1"
        )
        .bind(feedback.article.as_str())
        .fetch_one(conn)
        .await?);
        if exists == 0 {
            return Err(StoreError::NotFound("article"));
        }
        let mut batch = Batch::default();
        if let Some(v) = &feedback.visit {
            visit_upsert(&mut batch, v, now);
            // A visit has one vote per article: voting again (or a double click) replaces it.
            batch
                .add("DELETE FROM article_feedback WHERE article_id = $1 AND visit_id = $2")
                .text(feedback.article.as_str())
                .text(v);
        }
        batch
            .add(
                "INSERT INTO article_feedback (id, article_id, visit_id, helpful, comment, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .text(format!("fb_{}", uuid::Uuid::now_v7().simple()))
            .text(feedback.article.as_str())
            .opt_text(feedback.visit.as_deref())
            .bool(feedback.helpful)
            .opt_text(feedback.comment.as_deref())
            .time(now);
        tx.commit_with(batch).await
    }

    /// What a visit searched for and read, for the conversation it opens.
    pub async fn visit_trail(&self, visit: &str) -> Result<VisitTrail, StoreError> {
        let searches: Vec<String> = on_engine!(self, |pool, pg| sqlx::query_scalar(
            "SELECT query FROM help_searches WHERE visit_id = $1 ORDER BY created_at LIMIT 50"
        )
        .bind(visit)
        .fetch_all(pool)
        .await?);
        let views: Vec<(String, String)> = on_engine!(self, |pool, pg| sqlx::query_as(
            "SELECT a.id, a.title FROM help_views v JOIN articles a ON a.id = v.article_id \
             WHERE v.visit_id = $1 ORDER BY v.created_at LIMIT 200"
        )
        .bind(visit)
        .fetch_all(pool)
        .await?);
        let mut trail = VisitTrail::default();
        for q in searches {
            if !trail.searches.contains(&q) {
                trail.searches.push(q);
            }
        }
        for (id, title) in views {
            if !trail.articles.iter().any(|(a, _)| a.as_str() == id) {
                trail.articles.push((ArticleId::from_trusted(id), title));
            }
        }
        Ok(trail)
    }

    /// Records that a visit asked for help at `at` and opened `conversation` (the first one
    /// counts).
    pub async fn visit_contacted(
        &self,
        visit: &str,
        conversation: &ConversationId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let now = at;
        let mut batch = Batch::default();
        visit_upsert(&mut batch, visit, now);
        batch
            .add(
                "UPDATE help_visits SET conversation_id = coalesce(conversation_id, $2), \
                 contacted_at = coalesce(contacted_at, $3) WHERE id = $1",
            )
            .text(visit)
            .text(conversation.as_str())
            .time(now);
        let tx = self.begin().await?;
        tx.commit_with(batch).await
    }

    /// The most viewed published articles of a locale since `since`, most first.
    pub async fn popular_articles(
        &self,
        locale: &str,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ArticleId>, StoreError> {
        let ids: Vec<String> = on_engine!(self, |pool, pg| sqlx::query_scalar(
            "SELECT a.id FROM help_views v JOIN articles a ON a.id = v.article_id \
             WHERE a.locale = $1 AND a.published = TRUE AND v.created_at >= $2 \
             GROUP BY a.id ORDER BY count(*) DESC, a.id LIMIT $3"
        )
        .bind(locale)
        .bind(At(since))
        .bind(limit)
        .fetch_all(pool)
        .await?);
        Ok(ids.into_iter().map(ArticleId::from_trusted).collect())
    }

    /// The help center's figures for what happened between `since` and `until`.
    pub async fn help_stats(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<HelpStats, StoreError> {
        let judged_until = until.min(Utc::now() - deflection_window());
        let row: (i64, i64, i64, i64, i64, i64, i64, i64) = on_engine!(self, |pool, pg| {
            sqlx::query_as(
            "SELECT \
             (SELECT count(*) FROM help_visits WHERE started_at >= $1 AND started_at < $2), \
             (SELECT count(*) FROM help_visits WHERE started_at >= $1 AND started_at < $3), \
             (SELECT count(*) FROM help_visits WHERE started_at >= $1 AND started_at < $3 \
                AND (contacted_at IS NULL OR contacted_at > started_at + $4)), \
             (SELECT count(*) FROM help_searches WHERE created_at >= $1 AND created_at < $2), \
             (SELECT count(*) FROM help_searches WHERE created_at >= $1 AND created_at < $2 AND results = 0), \
             (SELECT count(*) FROM help_views WHERE created_at >= $1 AND created_at < $2), \
             (SELECT count(*) FROM article_feedback WHERE created_at >= $1 AND created_at < $2 AND helpful = TRUE), \
             (SELECT count(*) FROM article_feedback WHERE created_at >= $1 AND created_at < $2 AND helpful = FALSE)"
        )
        .bind(At(since))
        .bind(At(until))
        .bind(At(judged_until))
        .bind(Window)
        .fetch_one(pool)
        .await?
        });
        Ok(HelpStats {
            visits: row.0,
            judged_visits: row.1,
            deflected_visits: row.2,
            searches: row.3,
            searches_without_results: row.4,
            views: row.5,
            helpful: row.6,
            not_helpful: row.7,
        })
    }

    /// Searches that found nothing between `since` and `until`, the most frequent first (the
    /// same words in any case count as one).
    pub async fn content_gaps(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ContentGap>, StoreError> {
        let rows: Vec<(String, i64, At)> = on_engine!(self, |pool, pg| sqlx::query_as(
            "SELECT lower(query), count(*), max(created_at) FROM help_searches \
             WHERE results = 0 AND created_at >= $1 AND created_at < $2 GROUP BY lower(query) \
             ORDER BY count(*) DESC, max(created_at) DESC LIMIT $3"
        )
        .bind(At(since))
        .bind(At(until))
        .bind(limit)
        .fetch_all(pool)
        .await?);
        Ok(rows
            .into_iter()
            .map(|(query, searches, last)| ContentGap {
                query,
                searches,
                last_at: last.0,
            })
            .collect())
    }

    /// An article's latest votes that came with a comment, newest first: what readers said.
    pub async fn article_comments(
        &self,
        article: &ArticleId,
        limit: i64,
    ) -> Result<Vec<Vote>, StoreError> {
        let rows: Vec<(bool, Option<String>, At)> = on_engine!(self, |pool, pg| sqlx::query_as(
            "SELECT helpful, comment, created_at FROM article_feedback \
             WHERE article_id = $1 AND comment IS NOT NULL ORDER BY created_at DESC LIMIT $2"
        )
        .bind(article.as_str())
        .bind(limit)
        .fetch_all(pool)
        .await?);
        Ok(rows
            .into_iter()
            .map(|(helpful, comment, at)| Vote {
                helpful,
                comment,
                at: at.0,
            })
            .collect())
    }

    /// Views and votes of each article between `since` and `until`, the most viewed first.
    pub async fn article_stats(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<ArticleStats>, StoreError> {
        let rows: Vec<(String, String, i64)> = on_engine!(self, |pool, pg| {
            sqlx::query_as(
            "SELECT a.id, a.title, (SELECT count(*) FROM help_views v WHERE v.article_id = a.id \
             AND v.created_at >= $1 AND v.created_at < $2) FROM articles a"
        )
        .bind(At(since))
        .bind(At(until))
        .fetch_all(pool)
        .await?
        });
        let votes: Vec<(String, bool, i64)> = on_engine!(self, |pool, pg| {
            sqlx::query_as(
            "SELECT article_id, helpful, count(*) FROM article_feedback WHERE created_at >= $1 \
             AND created_at < $2 GROUP BY article_id, helpful"
        )
        .bind(At(since))
        .bind(At(until))
        .fetch_all(pool)
        .await?
        });
        let mut by_article: HashMap<String, (i64, i64)> = HashMap::new();
        for (id, helpful, n) in votes {
            let e = by_article.entry(id).or_default();
            if helpful {
                e.0 += n;
            } else {
                e.1 += n;
            }
        }
        let mut out: Vec<ArticleStats> = rows
            .into_iter()
            .map(|(id, title, views)| {
                let (helpful, not_helpful) = by_article.get(&id).copied().unwrap_or_default();
                ArticleStats {
                    id: ArticleId::from_trusted(id),
                    title,
                    views,
                    helpful,
                    not_helpful,
                }
            })
            .collect();
        out.sort_by(|a, b| b.views.cmp(&a.views).then_with(|| a.title.cmp(&b.title)));
        Ok(out)
    }
}

/// The deflection window as each engine adds it to a timestamp: microseconds on SQLite
/// (timestamps are integers there), an interval on PostgreSQL.
struct Window;

impl sqlx::Type<sqlx::Sqlite> for Window {
    fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
        <i64 as sqlx::Type<sqlx::Sqlite>>::type_info()
    }
}

impl<'q> sqlx::Encode<'q, sqlx::Sqlite> for Window {
    fn encode_by_ref(
        &self,
        buf: &mut <sqlx::Sqlite as sqlx::Database>::ArgumentBuffer<'q>,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        let micros = deflection_window().num_microseconds().unwrap_or(i64::MAX);
        <i64 as sqlx::Encode<sqlx::Sqlite>>::encode(micros, buf)
    }
}

impl sqlx::Type<sqlx::Postgres> for Window {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <sqlx::postgres::types::PgInterval as sqlx::Type<sqlx::Postgres>>::type_info()
    }
}

impl sqlx::Encode<'_, sqlx::Postgres> for Window {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        let interval = sqlx::postgres::types::PgInterval {
            months: 0,
            days: 0,
            microseconds: deflection_window().num_microseconds().unwrap_or(i64::MAX),
        };
        interval.encode_by_ref(buf)
    }
}
