//! The knowledge base's content: articles (with their translations and every slug they have
//! had), categories in their order, files used in articles, and the shop's synonyms.
//!
//! Searching articles is not done here: the service keeps its own index of them
//! (`concierge-knowledge`), fed from [`Store::all_articles`] and kept fresh by
//! [`Store::knowledge_version`].

use crate::args::{bind_args, Args};
use crate::audit::{self, AuditEntry};
use crate::{on_engine, on_tx, At, Cursor, Page, PageRequest, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use concierge_domain::access::Actor;
use concierge_domain::ids::{ArticleId, AttachmentId};
use concierge_domain::knowledge::{Locale, Slug, Synonyms};
use serde_json::json;

/// An article to create. `body_html` is the sanitised rendering of `body_markdown`, made by
/// the caller (rendering is presentation, not storage).
#[derive(Debug, Clone)]
pub struct NewArticle {
    pub title: String,
    pub body_markdown: String,
    pub body_html: String,
    /// Its category; one named for the first time is created.
    pub category: Option<Filing>,
    pub locale: Locale,
    pub published: bool,
    /// The slug to use; `None` makes one from the title (numbered when taken).
    pub slug: Option<Slug>,
    pub summary: Option<String>,
    /// Its place within its category (lower first).
    pub position: i64,
    /// The article this one translates: it joins that article's translations.
    pub translation_of: Option<ArticleId>,
}

/// The category an article is filed under: its slug, and the name it gets if it is new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filing {
    pub slug: Slug,
    pub name: String,
}

impl Filing {
    /// Files under a category named by an editor, by its name ("Shipping & delivery") or
    /// its slug (`shipping-delivery`): both lead to the same category.
    pub fn named(name: &str) -> Filing {
        Filing {
            slug: Slug::from_title(name),
            name: name.trim().to_owned(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ArticlePatch {
    pub title: Option<String>,
    /// The new Markdown and its sanitised HTML, together.
    pub body: Option<(String, String)>,
    pub category: Option<Option<Filing>>,
    pub published: Option<bool>,
    /// A new slug; the old one keeps leading to the article.
    pub slug: Option<Slug>,
    pub summary: Option<Option<String>>,
    pub position: Option<i64>,
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
    /// The article's translations (itself included) share this.
    pub translation_group: String,
    pub position: i64,
    pub summary: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Article {
    /// Where the help center shows it: other languages than English carry `?lang=`.
    pub fn help_url(&self) -> String {
        if self.locale == "en" {
            format!("/help/articles/{}", self.slug)
        } else {
            format!("/help/articles/{}?lang={}", self.slug, self.locale)
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ArticleFilter {
    pub published_only: bool,
    pub category: Option<String>,
    pub locale: Option<Locale>,
}

/// One language version of an article, for a language switcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translation {
    pub id: ArticleId,
    pub locale: String,
    pub slug: String,
    pub title: String,
    pub published: bool,
}

/// What a slug leads to.
#[derive(Debug, Clone)]
pub enum SlugTarget {
    /// The article's current slug.
    Current(Article),
    /// An old slug: the article now lives at its current one.
    Moved(Article),
}

/// A help-center category; articles name it by its slug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub slug: String,
    pub name: String,
    pub description: Option<String>,
    pub position: i64,
}

/// A file used in an article (an image, a video), public as the article is.
#[derive(Debug, Clone)]
pub struct ArticleFile {
    pub id: AttachmentId,
    pub article_id: ArticleId,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub storage_key: String,
}

/// A group of words the shop says mean the same.
#[derive(Debug, Clone)]
pub struct SynonymGroup {
    pub id: String,
    pub terms: Vec<String>,
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
    translation_group: Option<String>,
    position: i64,
    summary: Option<String>,
    created_at: At,
    updated_at: At,
}

impl From<ArticleRow> for Article {
    fn from(r: ArticleRow) -> Self {
        Article {
            translation_group: r.translation_group.unwrap_or_else(|| r.id.clone()),
            id: ArticleId::from_trusted(r.id),
            slug: r.slug,
            locale: r.locale,
            title: r.title,
            body_markdown: r.body_markdown,
            body_html: r.body_html,
            category: r.category,
            published: r.published,
            position: r.position,
            summary: r.summary,
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
        }
    }
}

const ARTICLE_COLUMNS: &str =
    "a.id, a.slug, a.locale, a.title, a.body_markdown, a.body_html, a.category, a.published, \
     a.translation_group, a.position, a.summary, a.created_at, a.updated_at";

/// Makes sure an article's category exists: one named for the first time is created, last
/// in the order.
async fn ensure_category(
    tx: &mut Tx,
    filing: &Filing,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_tx!(tx, |conn, pg| sqlx::query(
        "INSERT INTO categories (slug, name, position, created_at, updated_at) \
         SELECT $1, $2, coalesce(max(position), -1) + 1, $3, $3 FROM categories WHERE TRUE \
         ON CONFLICT (slug) DO NOTHING"
    )
    .bind(filing.slug.as_str())
    .bind(&filing.name)
    .bind(At(now))
    .execute(conn)
    .await?
    .rows_affected());
    Ok(())
}

/// Which article, if any, holds (or once held) a slug in a locale.
async fn slug_holder(tx: &mut Tx, locale: &str, slug: &str) -> Result<Option<String>, StoreError> {
    Ok(on_tx!(read tx, |conn, pg| sqlx::query_scalar(
        "SELECT article_id FROM article_slugs WHERE locale = $1 AND slug = $2"
    )
    .bind(locale)
    .bind(slug)
    .fetch_optional(conn)
    .await?))
}

impl Store {
    /// Creates an article. Its slug is the one asked for, or one made from its title and
    /// numbered when taken; a slug once used by another article of the locale is taken for
    /// good (it redirects there).
    pub async fn create_article(
        &self,
        new: NewArticle,
        actor: &Actor,
    ) -> Result<Article, StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        if let Some(c) = &new.category {
            ensure_category(&mut tx, c, now).await?;
        }
        let group = match &new.translation_of {
            None => None,
            Some(original) => {
                let row: Option<(Option<String>,)> = on_tx!(read &mut tx, |conn, pg| sqlx::query_as(
                    "SELECT translation_group FROM articles WHERE id = $1"
                )
                .bind(original.as_str())
                .fetch_optional(conn)
                .await?);
                let group = row
                    .ok_or_else(|| {
                        StoreError::reference(
                            "translation_of",
                            "translation_of does not name an existing article",
                        )
                    })?
                    .0
                    .unwrap_or_else(|| original.as_str().to_owned());
                let clash: i64 = on_tx!(read &mut tx, |conn, pg| sqlx::query_scalar(
                    "SELECT count(*) FROM articles WHERE translation_group = $1 AND locale = $2"
                )
                .bind(&group)
                .bind(new.locale.as_str())
                .fetch_one(conn)
                .await?);
                if clash > 0 {
                    return Err(StoreError::taken(
                        "locale",
                        "the article already has a translation in this locale",
                    ));
                }
                Some(group)
            }
        };
        let slug = match &new.slug {
            Some(slug) => {
                if slug_holder(&mut tx, new.locale.as_str(), slug.as_str())
                    .await?
                    .is_some()
                {
                    return Err(StoreError::taken(
                        "slug",
                        "another article of this locale has (or had) this slug",
                    ));
                }
                slug.clone()
            }
            None => {
                let base = Slug::from_title(&new.title);
                let taken: Vec<String> = on_tx!(read &mut tx, |conn, pg| sqlx::query_scalar(
                    "SELECT slug FROM article_slugs WHERE locale = $1 AND (slug = $2 OR slug LIKE $3)"
                )
                .bind(new.locale.as_str())
                .bind(base.as_str())
                .bind(format!("{}-%", base.as_str()))
                .fetch_all(conn)
                .await?);
                std::iter::once(base.clone())
                    .chain((2..).map(|n| base.with_suffix(n)))
                    .find(|s| !taken.iter().any(|t| t == s.as_str()))
                    .unwrap_or(base)
            }
        };
        let id = ArticleId::generate();
        let group = group.unwrap_or_else(|| id.as_str().to_owned());
        on_tx!(&mut tx, |conn, pg| {
            sqlx::query(
                "INSERT INTO articles (id, slug, locale, title, body_markdown, body_html, category, published, \
                 translation_group, position, summary, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
            )
            .bind(id.as_str())
            .bind(slug.as_str())
            .bind(new.locale.as_str())
            .bind(&new.title)
            .bind(&new.body_markdown)
            .bind(&new.body_html)
            .bind(new.category.as_ref().map(|c| c.slug.as_str()))
            .bind(new.published)
            .bind(&group)
            .bind(new.position)
            .bind(new.summary.as_deref())
            .bind(At(now))
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "INSERT INTO article_slugs (locale, slug, article_id, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(new.locale.as_str())
            .bind(slug.as_str())
            .bind(id.as_str())
            .bind(At(now))
            .execute(conn)
            .await?
            .rows_affected()
        });
        audit::write(
            &mut tx,
            AuditEntry::new(
                actor,
                "article.created",
                "article",
                id.as_str(),
                json!({ "title": new.title, "locale": new.locale.as_str() }),
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

    /// The article a slug of a locale leads to: by its current slug, or by one it had.
    pub async fn article_by_slug(
        &self,
        locale: &Locale,
        slug: &str,
    ) -> Result<SlugTarget, StoreError> {
        let sql = format!(
            "SELECT {ARTICLE_COLUMNS} FROM article_slugs s JOIN articles a ON a.id = s.article_id \
             WHERE s.locale = $1 AND s.slug = $2"
        );
        let row: Option<ArticleRow> = on_engine!(self, |pool, pg| sqlx::query_as(&sql)
            .bind(locale.as_str())
            .bind(slug)
            .fetch_optional(pool)
            .await?);
        let article = Article::from(row.ok_or(StoreError::NotFound("article"))?);
        Ok(if article.slug == slug {
            SlugTarget::Current(article)
        } else {
            SlugTarget::Moved(article)
        })
    }

    /// The locales with a published article: the help center's languages.
    pub async fn published_locales(&self) -> Result<Vec<String>, StoreError> {
        Ok(on_engine!(self, |pool, pg| sqlx::query_scalar(
            "SELECT DISTINCT locale FROM articles WHERE published = TRUE ORDER BY locale"
        )
        .fetch_all(pool)
        .await?))
    }

    /// The locales that have an article (or had one) under `slug`.
    pub async fn slug_locales(&self, slug: &str) -> Result<Vec<String>, StoreError> {
        Ok(on_engine!(self, |pool, pg| sqlx::query_scalar(
            "SELECT locale FROM article_slugs WHERE slug = $1 ORDER BY locale"
        )
        .bind(slug)
        .fetch_all(pool)
        .await?))
    }

    /// An article's language versions, itself included, by locale.
    pub async fn translations(&self, group: &str) -> Result<Vec<Translation>, StoreError> {
        let rows: Vec<(String, String, String, String, bool)> = on_engine!(self, |pool, pg| {
            sqlx::query_as(
                "SELECT id, locale, slug, title, published FROM articles WHERE translation_group = $1 ORDER BY locale"
            )
            .bind(group)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, locale, slug, title, published)| Translation {
                id: ArticleId::from_trusted(id),
                locale,
                slug,
                title,
                published,
            })
            .collect())
    }

    pub async fn update_article(
        &self,
        id: &ArticleId,
        patch: ArticlePatch,
        actor: &Actor,
    ) -> Result<Article, StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let current: Option<(String, String)> = on_tx!(read &mut tx, |conn, pg| sqlx::query_as(
            "SELECT locale, slug FROM articles WHERE id = $1"
        )
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?);
        let (locale, old_slug) = current.ok_or(StoreError::NotFound("article"))?;
        if let Some(Some(c)) = &patch.category {
            ensure_category(&mut tx, c, now).await?;
        }
        let new_slug = patch.slug.as_ref().filter(|s| s.as_str() != old_slug);
        if let Some(slug) = new_slug {
            match slug_holder(&mut tx, &locale, slug.as_str()).await? {
                Some(holder) if holder != id.as_str() => {
                    return Err(StoreError::taken(
                        "slug",
                        "another article of this locale has (or had) this slug",
                    ))
                }
                Some(_) => {}
                None => {
                    on_tx!(&mut tx, |conn, pg| {
                        sqlx::query(
                        "INSERT INTO article_slugs (locale, slug, article_id, created_at) VALUES ($1, $2, $3, $4)"
                    )
                    .bind(&locale)
                    .bind(slug.as_str())
                    .bind(id.as_str())
                    .bind(At(now))
                    .execute(conn)
                    .await?
                    .rows_affected()
                    });
                }
            }
        }
        let (body_markdown, body_html) = patch.body.unzip();
        on_tx!(&mut tx, |conn, pg| {
            sqlx::query(
                "UPDATE articles SET title = coalesce($2, title), body_markdown = coalesce($3, body_markdown), \
                 body_html = coalesce($4, body_html), category = CASE WHEN $5 THEN $6 ELSE category END, \
                 published = coalesce($7, published), slug = coalesce($8, slug), \
                 summary = CASE WHEN $9 THEN $10 ELSE summary END, position = coalesce($11, position), \
                 updated_at = $12 WHERE id = $1",
            )
            .bind(id.as_str())
            .bind(patch.title.as_deref())
            .bind(body_markdown.as_deref())
            .bind(body_html.as_deref())
            .bind(patch.category.is_some())
            .bind(patch.category.as_ref().and_then(|c| c.as_ref()).map(|c| c.slug.as_str()))
            .bind(patch.published)
            .bind(new_slug.map(Slug::as_str))
            .bind(patch.summary.is_some())
            .bind(patch.summary.clone().flatten())
            .bind(patch.position)
            .bind(At(now))
            .execute(conn)
            .await?
            .rows_affected()
        });
        audit::write(
            &mut tx,
            AuditEntry::new(
                actor,
                "article.updated",
                "article",
                id.as_str(),
                json!({ "slug": new_slug.map(Slug::as_str) }),
            ),
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

    /// Articles newest first, a page at a time.
    pub async fn articles(
        &self,
        filter: &ArticleFilter,
        page: &PageRequest,
    ) -> Result<Page<Article>, StoreError> {
        let limit = page.limit();
        let mut args = Args::default();
        let mut conditions = conditions(filter, &mut args);
        if let Some(Cursor::AfterId(after)) = &page.cursor {
            conditions += &format!(" AND a.id < {}", args.text(after.as_str()));
        }
        let sql = format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles a WHERE 1 = 1{conditions} ORDER BY a.id DESC LIMIT {}",
            args.int(i64::from(limit) + 1)
        );
        let rows: Vec<ArticleRow> =
            on_engine!(self, |pool, pg| bind_args!(sqlx::query_as(&sql), args)
                .fetch_all(pool)
                .await?);
        let items: Vec<Article> = rows.into_iter().map(Article::from).collect();
        Ok(Page::from_rows(items, limit, |a: &Article| {
            Cursor::AfterId(a.id.to_string())
        }))
    }

    /// Articles in help-center order: by their category's position, then their own, then
    /// title.
    pub async fn articles_in_order(
        &self,
        filter: &ArticleFilter,
    ) -> Result<Vec<Article>, StoreError> {
        let mut args = Args::default();
        let conditions = conditions(filter, &mut args);
        let sql = format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles a LEFT JOIN categories c ON c.slug = a.category \
             WHERE 1 = 1{conditions} ORDER BY coalesce(c.position, 1000000), a.category, a.position, a.title"
        );
        let rows: Vec<ArticleRow> =
            on_engine!(self, |pool, pg| bind_args!(sqlx::query_as(&sql), args)
                .fetch_all(pool)
                .await?);
        Ok(rows.into_iter().map(Article::from).collect())
    }

    /// Some articles by id (in no particular order; missing ones are left out).
    pub async fn articles_by_id(&self, ids: &[ArticleId]) -> Result<Vec<Article>, StoreError> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let mut args = Args::default();
        let list = args.texts(ids.iter().map(ArticleId::as_str));
        let sql = format!("SELECT {ARTICLE_COLUMNS} FROM articles a WHERE a.id IN ({list})");
        let rows: Vec<ArticleRow> =
            on_engine!(self, |pool, pg| bind_args!(sqlx::query_as(&sql), args)
                .fetch_all(pool)
                .await?);
        Ok(rows.into_iter().map(Article::from).collect())
    }

    /// Every article, for building the search index.
    pub async fn all_articles(&self) -> Result<Vec<Article>, StoreError> {
        self.articles_in_order(&ArticleFilter::default()).await
    }

    /// Changes whenever an article, a synonym or a category is written or deleted: an index
    /// built when it read one value is stale once it reads another.
    pub async fn knowledge_version(&self) -> Result<String, StoreError> {
        // Categories count too: their names and descriptions are searched with the articles.
        let row: (i64, Option<At>, i64, Option<At>, i64, Option<At>) =
            on_engine!(self, |pool, pg| sqlx::query_as(
                "SELECT (SELECT count(*) FROM articles), (SELECT max(updated_at) FROM articles), \
                 (SELECT count(*) FROM synonyms), (SELECT max(updated_at) FROM synonyms), \
                 (SELECT count(*) FROM categories), (SELECT max(updated_at) FROM categories)"
            )
            .fetch_one(pool)
            .await?);
        let micros = |t: Option<At>| t.map_or(0, |t| t.0.timestamp_micros());
        Ok(format!(
            "{}:{}:{}:{}:{}:{}",
            row.0,
            micros(row.1),
            row.2,
            micros(row.3),
            row.4,
            micros(row.5)
        ))
    }

    /// Categories in their order.
    pub async fn categories(&self) -> Result<Vec<Category>, StoreError> {
        let rows: Vec<(String, String, Option<String>, i64)> =
            on_engine!(self, |pool, pg| sqlx::query_as(
                "SELECT slug, name, description, position FROM categories ORDER BY position, name"
            )
            .fetch_all(pool)
            .await?);
        Ok(rows
            .into_iter()
            .map(|(slug, name, description, position)| Category {
                slug,
                name,
                description,
                position,
            })
            .collect())
    }

    /// Creates a category, or changes the one with that slug.
    pub async fn save_category(
        &self,
        category: &Category,
        actor: &Actor,
    ) -> Result<Category, StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |conn, pg| {
            sqlx::query(
            "INSERT INTO categories (slug, name, description, position, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (slug) DO UPDATE SET name = excluded.name, \
             description = excluded.description, position = excluded.position, updated_at = excluded.updated_at"
        )
        .bind(&category.slug)
        .bind(&category.name)
        .bind(category.description.as_deref())
        .bind(category.position)
        .bind(At(now))
        .execute(conn)
        .await?
        .rows_affected()
        });
        audit::write(
            &mut tx,
            AuditEntry::new(
                actor,
                "category.saved",
                "category",
                &category.slug,
                json!({ "name": category.name }),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(category.clone())
    }

    /// Deletes a category that no article uses.
    pub async fn delete_category(&self, slug: &str, actor: &Actor) -> Result<(), StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let used: i64 = on_tx!(read &mut tx, |conn, pg| sqlx::query_scalar(
            "SELECT count(*) FROM articles WHERE category = $1"
        )
        .bind(slug)
        .fetch_one(conn)
        .await?);
        if used > 0 {
            return Err(StoreError::conflict(
                "category",
                format!("{used} articles are in this category; move them first"),
            ));
        }
        let n = on_tx!(&mut tx, |conn, pg| sqlx::query(
            "DELETE FROM categories WHERE slug = $1"
        )
        .bind(slug)
        .execute(conn)
        .await?
        .rows_affected());
        if n == 0 {
            return Err(StoreError::NotFound("category"));
        }
        audit::write(
            &mut tx,
            AuditEntry::new(actor, "category.deleted", "category", slug, json!({})),
            now,
        )
        .await?;
        tx.commit().await
    }

    /// Records a file stored for an article.
    pub async fn add_article_file(&self, file: &ArticleFile) -> Result<(), StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |conn, pg| {
            sqlx::query(
            "INSERT INTO article_files (id, article_id, filename, content_type, size_bytes, storage_key, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )
        .bind(file.id.as_str())
        .bind(file.article_id.as_str())
        .bind(&file.filename)
        .bind(&file.content_type)
        .bind(file.size_bytes)
        .bind(&file.storage_key)
        .bind(At(now))
        .execute(conn)
        .await?
        .rows_affected()
        });
        tx.commit().await
    }

    pub async fn article_file(&self, id: &AttachmentId) -> Result<ArticleFile, StoreError> {
        let row: Option<(String, String, String, i64, String)> = on_engine!(self, |pool, pg| {
            sqlx::query_as(
                "SELECT article_id, filename, content_type, size_bytes, storage_key FROM article_files WHERE id = $1"
            )
            .bind(id.as_str())
            .fetch_optional(pool)
            .await?
        });
        let (article_id, filename, content_type, size_bytes, storage_key) =
            row.ok_or(StoreError::NotFound("file"))?;
        Ok(ArticleFile {
            id: id.clone(),
            article_id: ArticleId::from_trusted(article_id),
            filename,
            content_type,
            size_bytes,
            storage_key,
        })
    }

    /// The shop's synonym groups.
    pub async fn synonyms(&self) -> Result<Vec<SynonymGroup>, StoreError> {
        let rows: Vec<(String, String)> = on_engine!(self, |pool, pg| sqlx::query_as(
            "SELECT id, terms FROM synonyms ORDER BY created_at, id"
        )
        .fetch_all(pool)
        .await?);
        Ok(rows
            .into_iter()
            .map(|(id, terms)| SynonymGroup {
                id,
                terms: terms.split(',').map(str::to_owned).collect(),
            })
            .collect())
    }

    /// Creates a synonym group, or replaces the terms of the group `id`.
    pub async fn save_synonyms(
        &self,
        id: Option<&str>,
        terms: &Synonyms,
        actor: &Actor,
    ) -> Result<SynonymGroup, StoreError> {
        let now = At::now();
        let id = id.map_or_else(
            || format!("syn_{}", uuid::Uuid::now_v7().simple()),
            str::to_owned,
        );
        let joined = terms.terms().join(",");
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |conn, pg| {
            sqlx::query(
            "INSERT INTO synonyms (id, terms, created_at, updated_at) VALUES ($1, $2, $3, $3) \
             ON CONFLICT (id) DO UPDATE SET terms = excluded.terms, updated_at = excluded.updated_at"
        )
        .bind(&id)
        .bind(&joined)
        .bind(At(now))
        .execute(conn)
        .await?
        .rows_affected()
        });
        audit::write(
            &mut tx,
            AuditEntry::new(
                actor,
                "synonyms.saved",
                "synonyms",
                &id,
                json!({ "terms": joined }),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(SynonymGroup {
            id,
            terms: terms.terms().to_vec(),
        })
    }

    pub async fn delete_synonyms(&self, id: &str, actor: &Actor) -> Result<(), StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let n = on_tx!(&mut tx, |conn, pg| sqlx::query(
            "DELETE FROM synonyms WHERE id = $1"
        )
        .bind(id)
        .execute(conn)
        .await?
        .rows_affected());
        if n == 0 {
            return Err(StoreError::NotFound("synonyms"));
        }
        audit::write(
            &mut tx,
            AuditEntry::new(actor, "synonyms.deleted", "synonyms", id, json!({})),
            now,
        )
        .await?;
        tx.commit().await
    }
}

/// The `AND …` conditions of an article filter.
fn conditions(filter: &ArticleFilter, args: &mut Args) -> String {
    let mut out = String::new();
    if filter.published_only {
        out += " AND a.published = TRUE";
    }
    if let Some(c) = &filter.category {
        out += &format!(" AND a.category = {}", args.text(c.as_str()));
    }
    if let Some(l) = &filter.locale {
        out += &format!(" AND a.locale = {}", args.text(l.as_str()));
    }
    out
}
