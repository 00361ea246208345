-- The knowledge base and the help center: categories in order, translations, slugs that
-- keep working after they change, files in articles, and what shoppers do with the help
-- center (views, searches, votes, visits that did or did not end in a conversation).
-- Article search moves to the service's own index (crates/knowledge), so the database's
-- article index goes.

DROP INDEX articles_search;
ALTER TABLE articles DROP COLUMN search;

CREATE TABLE categories (
    slug        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT,
    position    BIGINT NOT NULL DEFAULT 0,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
INSERT INTO categories (slug, name, position, created_at, updated_at)
    SELECT lower(replace(trim(category), ' ', '-')), min(category), 0, min(created_at), min(created_at)
    FROM articles WHERE category IS NOT NULL GROUP BY lower(replace(trim(category), ' ', '-'));
-- Articles name their category by its slug from now on.
UPDATE articles SET category = lower(replace(trim(category), ' ', '-')) WHERE category IS NOT NULL;

-- Translations of one article share a group (the first one's id); `position` orders
-- articles within their category; `summary` is what search results and search engines show.
ALTER TABLE articles ADD COLUMN translation_group TEXT;
UPDATE articles SET translation_group = id;
ALTER TABLE articles ADD COLUMN position BIGINT NOT NULL DEFAULT 0;
ALTER TABLE articles ADD COLUMN summary TEXT;
CREATE INDEX articles_group ON articles(translation_group);
CREATE INDEX articles_category ON articles(category, position);

-- Every slug an article has had, so a link to an old one redirects to the article.
CREATE TABLE article_slugs (
    locale     TEXT NOT NULL,
    slug       TEXT NOT NULL,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (locale, slug)
);
INSERT INTO article_slugs (locale, slug, article_id, created_at)
    SELECT locale, slug, id, created_at FROM articles;

-- Images and videos used in articles: public, as the articles are.
CREATE TABLE article_files (
    id           TEXT PRIMARY KEY,
    article_id   TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes   BIGINT NOT NULL,
    storage_key  TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX article_files_article ON article_files(article_id);

-- A shopper's visit to the help center (a cookie). Deflection is the share of visits that
-- did not open a conversation within a day.
CREATE TABLE help_visits (
    id              TEXT PRIMARY KEY,
    started_at      TIMESTAMPTZ NOT NULL,
    last_seen_at    TIMESTAMPTZ NOT NULL,
    conversation_id TEXT REFERENCES conversations(id),
    contacted_at    TIMESTAMPTZ
);
CREATE INDEX help_visits_started ON help_visits(started_at);

CREATE TABLE help_searches (
    id         TEXT PRIMARY KEY,
    visit_id   TEXT REFERENCES help_visits(id) ON DELETE CASCADE,
    query      TEXT NOT NULL,
    results    BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX help_searches_visit ON help_searches(visit_id, created_at);
CREATE INDEX help_searches_gaps ON help_searches(results, created_at);

CREATE TABLE help_views (
    visit_id   TEXT REFERENCES help_visits(id) ON DELETE CASCADE,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX help_views_visit ON help_views(visit_id, created_at);
CREATE INDEX help_views_article ON help_views(article_id, created_at);

CREATE TABLE article_feedback (
    id         TEXT PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    visit_id   TEXT REFERENCES help_visits(id) ON DELETE SET NULL,
    helpful    BOOLEAN NOT NULL,
    comment    TEXT,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX article_feedback_article ON article_feedback(article_id, created_at);

-- Words the shop says mean the same (parcel, package, order): searches for one find the
-- others.
CREATE TABLE synonyms (
    id         TEXT PRIMARY KEY,
    terms      TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
