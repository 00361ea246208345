-- The search index asks every few seconds whether the knowledge base changed (the newest
-- article edit among others): an index answers that without reading every article.
CREATE INDEX articles_updated ON articles(updated_at);
