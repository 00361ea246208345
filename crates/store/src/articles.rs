//! Knowledge-base articles and their search.

use crate::args::{bind_args, Args};
use crate::audit::{self, AuditEntry};
use crate::{on_engine, on_tx, search, At, Cursor, Page, PageRequest, Store, StoreError};
use chrono::{DateTime, Utc};
use concierge_domain::access::Actor;
use concierge_domain::ids::ArticleId;
use concierge_domain::knowledge::{Locale, Slug};
use serde_json::json;

/// An article to create. `body_html` is the sanitised rendering of `body_markdown`, made by
/// the caller (rendering is presentation, not storage).
#[derive(Debug, Clone)]
pub struct NewArticle {
    pub title: String,
    pub body_markdown: String,
    pub body_html: String,
    pub category: Option<String>,
    pub locale: Locale,
    pub published: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ArticlePatch {
    pub title: Option<String>,
    /// The new Markdown and its sanitised HTML, together.
    pub body: Option<(String, String)>,
    pub category: Option<Option<String>>,
    pub published: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct Article {
    pub id: ArticleId,
    pub slug: String,
    pub locale: String,
    pub title: String,
    pub body_markdown: String,
    pub body_html: String,
    pub category: Option<String>,
    pub published: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct ArticleFilter {
    /// Search words; results come best first.
    pub q: Option<String>,
    pub published_only: bool,
    pub category: Option<String>,
    pub locale: Option<Locale>,
}

#[derive(sqlx::FromRow)]
struct ArticleRow {
    id: String,
    slug: String,
    locale: String,
    title: String,
    body_markdown: String,
    body_html: String,
    category: Option<String>,
    published: bool,
    created_at: At,
    updated_at: At,
}

impl From<ArticleRow> for Article {
    fn from(r: ArticleRow) -> Self {
        Article {
            id: ArticleId::from_trusted(r.id),
            slug: r.slug,
            locale: r.locale,
            title: r.title,
            body_markdown: r.body_markdown,
            body_html: r.body_html,
            category: r.category,
            published: r.published,
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
        }
    }
}

const ARTICLE_COLUMNS: &str = "a.id, a.slug, a.locale, a.title, a.body_markdown, a.body_html, a.category, a.published, a.created_at, a.updated_at";

impl Store {
    /// Creates an article with a slug made from its title, numbered when already taken.
    pub async fn create_article(
        &self,
        new: NewArticle,
        actor: &Actor,
    ) -> Result<Article, StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let base = Slug::from_title(&new.title);
        let taken: Vec<String> = on_tx!(&mut tx, |conn, pg| {
            sqlx::query_scalar(
                "SELECT slug FROM articles WHERE locale = $1 AND (slug = $2 OR slug LIKE $3)",
            )
            .bind(new.locale.as_str())
            .bind(base.as_str())
            .bind(format!("{}-%", base.as_str()))
            .fetch_all(conn)
            .await?
        });
        let slug = std::iter::once(base.clone())
            .chain((2..).map(|n| base.with_suffix(n)))
            .find(|s| !taken.iter().any(|t| t == s.as_str()))
            .unwrap_or(base);
        let id = ArticleId::generate();
        on_tx!(&mut tx, |conn, pg| {
            sqlx::query(
                "INSERT INTO articles (id, slug, locale, title, body_markdown, body_html, category, published, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
            )
            .bind(id.as_str())
            .bind(slug.as_str())
            .bind(new.locale.as_str())
            .bind(&new.title)
            .bind(&new.body_markdown)
            .bind(&new.body_html)
            .bind(new.category.as_deref())
            .bind(new.published)
            .bind(At(now))
            .execute(conn)
            .await?.rows_affected()
        });
        audit::write(
            &mut tx,
            AuditEntry::new(
                actor,
                "article.created",
                "article",
                id.as_str(),
                json!({ "title": new.title }),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.article(&id).await
    }

    pub async fn article(&self, id: &ArticleId) -> Result<Article, StoreError> {
        let sql = format!("SELECT {ARTICLE_COLUMNS} FROM articles a WHERE a.id = $1");
        let row: Option<ArticleRow> = on_engine!(self, |pool, pg| sqlx::query_as(&sql)
            .bind(id.as_str())
            .fetch_optional(pool)
            .await?);
        row.map(Article::from)
            .ok_or(StoreError::NotFound("article"))
    }

    pub async fn article_by_slug(
        &self,
        locale: &Locale,
        slug: &Slug,
    ) -> Result<Article, StoreError> {
        let sql =
            format!("SELECT {ARTICLE_COLUMNS} FROM articles a WHERE a.locale = $1 AND a.slug = $2");
        let row: Option<ArticleRow> = on_engine!(self, |pool, pg| {
            sqlx::query_as(&sql)
                .bind(locale.as_str())
                .bind(slug.as_str())
                .fetch_optional(pool)
                .await?
        });
        row.map(Article::from)
            .ok_or(StoreError::NotFound("article"))
    }

    pub async fn update_article(
        &self,
        id: &ArticleId,
        patch: ArticlePatch,
        actor: &Actor,
    ) -> Result<Article, StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let (body_markdown, body_html) = patch.body.unzip();
        let n = on_tx!(&mut tx, |conn, pg| {
            sqlx::query(
                "UPDATE articles SET title = coalesce($2, title), body_markdown = coalesce($3, body_markdown), \
                 body_html = coalesce($4, body_html), category = CASE WHEN $5 THEN $6 ELSE category END, \
                 published = coalesce($7, published), updated_at = $8 WHERE id = $1",
            )
            .bind(id.as_str())
            .bind(patch.title.as_deref())
            .bind(body_markdown.as_deref())
            .bind(body_html.as_deref())
            .bind(patch.category.is_some())
            .bind(patch.category.clone().flatten())
            .bind(patch.published)
            .bind(At(now))
            .execute(conn)
            .await?
            .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound("article"));
        }
        audit::write(
            &mut tx,
            AuditEntry::new(actor, "article.updated", "article", id.as_str(), json!({})),
            now,
        )
        .await?;
        tx.commit().await?;
        self.article(id).await
    }

    pub async fn delete_article(&self, id: &ArticleId, actor: &Actor) -> Result<(), StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let n = on_tx!(&mut tx, |conn, pg| {
            sqlx::query("DELETE FROM articles WHERE id = $1")
                .bind(id.as_str())
                .execute(conn)
                .await?
                .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound("article"));
        }
        audit::write(
            &mut tx,
            AuditEntry::new(actor, "article.deleted", "article", id.as_str(), json!({})),
            now,
        )
        .await?;
        tx.commit().await
    }

    /// Articles: with `q`, best match first (title matches count more than body matches);
    /// without, newest first.
    pub async fn articles(
        &self,
        filter: &ArticleFilter,
        page: &PageRequest,
    ) -> Result<Page<Article>, StoreError> {
        let limit = page.limit();
        let pg = matches!(self.engine, crate::Engine::Postgres(_));
        let mut args = Args::default();
        let mut conditions = String::new();
        if filter.published_only {
            conditions += " AND a.published = TRUE";
        }
        if let Some(c) = &filter.category {
            conditions += &format!(" AND a.category = {}", args.text(c.as_str()));
        }
        if let Some(l) = &filter.locale {
            conditions += &format!(" AND a.locale = {}", args.text(l.as_str()));
        }
        let sql = match filter.q.as_deref() {
            Some(q) => {
                if !search::has_words(q) {
                    return Ok(Page {
                        items: vec![],
                        next_cursor: None,
                    });
                }
                let offset = match &page.cursor {
                    Some(Cursor::Offset(n)) => *n,
                    Some(_) => {
                        return Err(StoreError::conflict(
                            "cursor",
                            "this cursor belongs to another list",
                        ))
                    }
                    None => 0,
                };
                if pg {
                    let tsq = search::pg_tsquery(&args.text(q));
                    format!(
                        "SELECT {ARTICLE_COLUMNS} FROM articles a WHERE a.search @@ {tsq}{conditions} \
                         ORDER BY ts_rank(a.search, {tsq}) DESC, a.id DESC LIMIT {} OFFSET {}",
                        args.int(i64::from(limit) + 1),
                        args.int(i64::from(offset))
                    )
                } else {
                    let Some(fts) = search::fts5_query(q, search::LastWord::Prefix) else {
                        return Ok(Page {
                            items: vec![],
                            next_cursor: None,
                        });
                    };
                    // bm25 weights: a title match counts five times a body match.
                    format!(
                        "SELECT {ARTICLE_COLUMNS} FROM articles_fts f JOIN articles a ON a.seq = f.rowid \
                         WHERE articles_fts MATCH {}{conditions} ORDER BY bm25(articles_fts, 5.0, 1.0), a.id DESC LIMIT {} OFFSET {}",
                        args.text(fts),
                        args.int(i64::from(limit) + 1),
                        args.int(i64::from(offset))
                    )
                }
            }
            None => {
                if let Some(Cursor::AfterId(after)) = &page.cursor {
                    conditions += &format!(" AND a.id < {}", args.text(after.as_str()));
                }
                format!(
                    "SELECT {ARTICLE_COLUMNS} FROM articles a WHERE 1 = 1{conditions} ORDER BY a.id DESC LIMIT {}",
                    args.int(i64::from(limit) + 1)
                )
            }
        };
        let rows: Vec<ArticleRow> =
            on_engine!(self, |pool, pg| bind_args!(sqlx::query_as(&sql), args)
                .fetch_all(pool)
                .await?);
        let items: Vec<Article> = rows.into_iter().map(Article::from).collect();
        let offset = match &page.cursor {
            Some(Cursor::Offset(n)) => *n,
            _ => 0,
        };
        Ok(if filter.q.is_some() {
            Page::from_rows(items, limit, |_| Cursor::Offset(offset + limit))
        } else {
            Page::from_rows(items, limit, |a: &Article| {
                Cursor::AfterId(a.id.to_string())
            })
        })
    }
}
