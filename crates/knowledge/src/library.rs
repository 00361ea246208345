//! The search index of the knowledge base: every article, ranked by BM25 (its title counting
//! three times its body), with each language's stemming and stop words, typos corrected
//! against the words the articles actually use, and the shop's synonyms added to the query.
//!
//! The index lives in memory (tantivy, one index per language) and is built from the store:
//! in full when the service starts and whenever the store's knowledge version moves (another
//! instance wrote, or an editor here did), and at once for an article this process wrote, so
//! that an editor finds their article the moment they saved it.

use concierge_domain::ids::ArticleId;
use concierge_domain::knowledge::Locale;
use concierge_store::articles::Article;
use concierge_store::{Store, StoreError};
use std::collections::HashMap;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, RwLock};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, RegexQuery, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, INDEXED, STORED,
    STRING,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    StopWordFilter, TextAnalyzer,
};
use tantivy::{Index, IndexReader, IndexWriter, TantivyDocument, Term};

/// How much a title match counts against a body match.
const TITLE_BOOST: f32 = 3.0;
/// How much a match in the article's category counts against a body match (as much: the
/// category says what the article is about as surely as its body does).
const TOPIC_BOOST: f32 = 1.0;
/// How much a synonym's match counts against the word the shopper typed.
const SYNONYM_BOOST: f32 = 0.6;
/// Memory for one language's index writer (tantivy's floor is 15 MB; it grows as needed).
const WRITER_BUDGET: usize = 15_000_000;
/// The most words of a query that count; the rest of a pasted essay is ignored.
const MAX_QUERY_WORDS: usize = 32;

/// An article found, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: ArticleId,
    pub slug: String,
    pub locale: String,
    pub title: String,
    pub category: Option<String>,
    pub summary: String,
    pub published: bool,
    pub score: f32,
}

/// A search.
#[derive(Debug, Clone)]
pub struct Search<'a> {
    pub text: &'a str,
    /// Only articles of this locale; `None` searches them all.
    pub locale: Option<&'a Locale>,
    pub published_only: bool,
    pub limit: usize,
    pub offset: usize,
}

/// The stemming language of a locale's language, when tantivy has one.
fn stemmer(language: &str) -> Option<Language> {
    Some(match language {
        "en" => Language::English,
        "de" => Language::German,
        "fr" => Language::French,
        "es" => Language::Spanish,
        "it" => Language::Italian,
        "nl" => Language::Dutch,
        "pt" => Language::Portuguese,
        "sv" => Language::Swedish,
        "no" | "nb" | "nn" => Language::Norwegian,
        "da" => Language::Danish,
        "fi" => Language::Finnish,
        "ru" => Language::Russian,
        "ro" => Language::Romanian,
        "hu" => Language::Hungarian,
        "tr" => Language::Turkish,
        "el" => Language::Greek,
        "ar" => Language::Arabic,
        "ta" => Language::Tamil,
        _ => return None,
    })
}

/// English words that carry no meaning in a shopper's question ("how do I …", "can you …"):
/// tantivy's own English list is Lucene's short one, which keeps them, and in a help center
/// of a few dozen articles they would decide the ranking.
const ENGLISH_STOP_WORDS: &[&str] = &[
    "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at",
    "be", "been", "being", "but", "by", "can", "could", "did", "do", "does", "doing", "done",
    "for", "from", "get", "got", "had", "has", "have", "having", "he", "hello", "her", "here",
    "hey", "hi", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "just", "me",
    "might", "must", "my", "myself", "of", "on", "or", "our", "please", "shall", "she", "should",
    "so", "some", "such", "than", "thank", "thanks", "that", "the", "their", "them", "then",
    "there", "these", "they", "this", "those", "to", "too", "us", "very", "want", "was", "we",
    "were", "what", "when", "where", "which", "who", "why", "will", "with", "would", "you", "your",
];

/// Words as the index keeps them: split, lower-cased, stop words dropped, accents folded,
/// stemmed — for the language's articles and for queries alike.
fn analyzer(language: &str) -> TextAnalyzer {
    let base = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser);
    let stop = match language {
        "en" => Some(StopWordFilter::remove(
            ENGLISH_STOP_WORDS.iter().map(|w| (*w).to_owned()),
        )),
        other => stemmer(other).and_then(StopWordFilter::new),
    };
    match (stemmer(language), stop) {
        (Some(lang), Some(stop)) => base
            .filter(stop)
            .filter(AsciiFoldingFilter)
            .filter(Stemmer::new(lang))
            .build(),
        (Some(lang), None) => base
            .filter(AsciiFoldingFilter)
            .filter(Stemmer::new(lang))
            .build(),
        (None, _) => base.filter(AsciiFoldingFilter).build(),
    }
}

/// Words as typed, for completing the last one: split, lower-cased, accents folded.
fn plain_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    locale: Field,
    published: Field,
    category: Field,
    title: Field,
    body: Field,
    /// The name and description of the article's category: what the article is about, in
    /// the editors' words ("Shipping & delivery: delivery times and costs, tracking").
    topic: Field,
    /// The title's words unstemmed, for completing a word as it is typed.
    title_words: Field,
    slug: Field,
    summary: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("words")
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    let words = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("plain")
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        locale: b.add_text_field("locale", STRING | STORED),
        published: b.add_u64_field("published", INDEXED | STORED),
        category: b.add_text_field("category", STRING | STORED),
        title: b.add_text_field("title", text.clone()),
        body: b.add_text_field("body", text.clone()),
        topic: b.add_text_field("topic", text),
        title_words: b.add_text_field("title_words", words),
        slug: b.add_text_field("slug", STORED),
        summary: b.add_text_field("summary", STORED),
    };
    (b.build(), fields)
}

/// The words a language's articles use, with how many articles use each: what a mistyped
/// query word is corrected to.
#[derive(Default)]
struct Vocabulary {
    doc_freq: HashMap<String, u32>,
}

impl Vocabulary {
    fn add(&mut self, words: &[String]) {
        let mut seen: Vec<&String> = words.iter().collect();
        seen.sort();
        seen.dedup();
        for w in seen {
            *self.doc_freq.entry(w.clone()).or_default() += 1;
        }
    }

    /// The word the articles use that `word` most likely meant: within one edit (two for
    /// long words), the closest, then the most used. Short words are not corrected: too many
    /// are a letter apart.
    fn correct(&self, word: &str) -> Option<&str> {
        let len = word.chars().count();
        let max = match len {
            0..=3 => return None,
            4..=7 => 1,
            _ => 2,
        };
        let mut best: Option<(usize, u32, &str)> = None;
        for (term, &freq) in &self.doc_freq {
            let tl = term.chars().count();
            if tl.abs_diff(len) > max {
                continue;
            }
            let d = edit_distance(word, term, max);
            if d > max {
                continue;
            }
            let better = match best {
                None => true,
                Some((bd, bf, bt)) => {
                    (d, std::cmp::Reverse(freq), term.as_str()) < (bd, std::cmp::Reverse(bf), bt)
                }
            };
            if better {
                best = Some((d, freq, term));
            }
        }
        best.map(|(_, _, t)| t)
    }
}

/// Optimal-string-alignment distance (an insertion, deletion, substitution or swap of two
/// neighbours is one edit), giving up past `max`.
fn edit_distance(a: &str, b: &str, max: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev2 = vec![0usize; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0usize; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return max + 1;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// One language's articles.
struct Shelf {
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    language: String,
    vocabulary: RwLock<Vocabulary>,
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::Unavailable("the search index is broken: a writer panicked".into())
}

fn index_error(e: tantivy::TantivyError) -> StoreError {
    StoreError::Unavailable(format!("the search index failed: {e}"))
}

fn language_of(locale: &str) -> String {
    locale
        .split('-')
        .next()
        .unwrap_or(locale)
        .to_ascii_lowercase()
}

impl Shelf {
    fn new(language: &str, schema: &Schema) -> Result<Shelf, StoreError> {
        let index = Index::create_in_ram(schema.clone());
        index.tokenizers().register("words", analyzer(language));
        index.tokenizers().register("plain", plain_analyzer());
        let writer = index
            .writer_with_num_threads(1, WRITER_BUDGET)
            .map_err(index_error)?;
        let reader = index
            .reader_builder()
            .reload_policy(tantivy::ReloadPolicy::Manual)
            .try_into()
            .map_err(index_error)?;
        Ok(Shelf {
            reader,
            writer: Mutex::new(writer),
            language: language.to_owned(),
            vocabulary: RwLock::default(),
        })
    }

    /// Queues an article's document (replacing any older one); `commit` makes it seen.
    fn put(&self, f: &Fields, a: &Article, topic: Option<&str>) -> Result<(), StoreError> {
        let body = crate::markdown::plain_text(&a.body_markdown);
        let summary = a
            .summary
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| crate::markdown::summary(&a.body_markdown, 200));
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, a.id.as_str());
        doc.add_text(f.locale, &a.locale);
        doc.add_u64(f.published, u64::from(a.published));
        if let Some(c) = &a.category {
            doc.add_text(f.category, c);
        }
        doc.add_text(f.title, &a.title);
        doc.add_text(f.title_words, &a.title);
        doc.add_text(f.body, &body);
        if let Some(topic) = topic {
            doc.add_text(f.topic, topic);
        }
        doc.add_text(f.slug, &a.slug);
        doc.add_text(f.summary, &summary);
        let mut analyzer = analyzer(&self.language);
        let mut words = tokens(&mut analyzer, &a.title);
        words.extend(tokens(&mut analyzer, &body));
        self.vocabulary.write().map_err(poisoned)?.add(&words);
        let writer = self.writer.lock().map_err(poisoned)?;
        writer.delete_term(Term::from_field_text(f.id, a.id.as_str()));
        writer.add_document(doc).map_err(index_error)?;
        Ok(())
    }

    fn remove(&self, f: &Fields, id: &ArticleId) -> Result<(), StoreError> {
        let writer = self.writer.lock().map_err(poisoned)?;
        writer.delete_term(Term::from_field_text(f.id, id.as_str()));
        Ok(())
    }

    fn commit(&self) -> Result<(), StoreError> {
        self.writer
            .lock()
            .map_err(poisoned)?
            .commit()
            .map_err(index_error)?;
        self.reader.reload().map_err(index_error)
    }
}

/// What each category is about, by slug: its name and description.
struct Topics(HashMap<String, String>);

impl Topics {
    async fn load(store: &Store) -> Result<Topics, StoreError> {
        Ok(Topics(
            store
                .categories()
                .await?
                .into_iter()
                .map(|c| {
                    let about = match &c.description {
                        Some(d) => format!("{}. {d}", c.name),
                        None => c.name.clone(),
                    };
                    (c.slug, about)
                })
                .collect(),
        ))
    }

    fn of(&self, a: &Article) -> Option<&str> {
        a.category
            .as_ref()
            .and_then(|c| self.0.get(c))
            .map(String::as_str)
    }
}

/// Every language's shelf, and the fields they share.
struct Shelves {
    fields: Fields,
    schema: Schema,
    by_language: HashMap<String, Shelf>,
}

impl Shelves {
    fn empty() -> Shelves {
        let (schema, fields) = schema();
        Shelves {
            fields,
            schema,
            by_language: HashMap::new(),
        }
    }

    fn build(articles: &[Article], topics: &Topics) -> Result<Shelves, StoreError> {
        let mut shelves = Shelves::empty();
        for a in articles {
            let language = language_of(&a.locale);
            if !shelves.by_language.contains_key(&language) {
                let shelf = Shelf::new(&language, &shelves.schema)?;
                shelves.by_language.insert(language.clone(), shelf);
            }
            shelves.by_language[&language].put(&shelves.fields, a, topics.of(a))?;
        }
        for shelf in shelves.by_language.values() {
            shelf.commit()?;
        }
        Ok(shelves)
    }
}

/// The search index of the knowledge base. Share it behind an `Arc`.
pub struct Library {
    store: Store,
    shelves: RwLock<Arc<Shelves>>,
    synonyms: RwLock<Arc<Vec<Vec<String>>>>,
    /// The locales with a published article, in order: the help center's languages, asked
    /// on every page, so kept here rather than read from the articles each time.
    locales: RwLock<Arc<Vec<String>>>,
    /// The store's knowledge version the index was built from; held while the index changes,
    /// so a rebuild and an update never cross.
    built_from: tokio::sync::Mutex<Option<String>>,
}

impl Library {
    /// Builds the index from the store's articles.
    pub async fn open(store: Store) -> Result<Library, StoreError> {
        let library = Library {
            store,
            shelves: RwLock::new(Arc::new(Shelves::empty())),
            synonyms: RwLock::default(),
            locales: RwLock::default(),
            built_from: tokio::sync::Mutex::new(None),
        };
        library.refresh().await?;
        Ok(library)
    }

    /// Rebuilds the index if the store's articles or synonyms changed since it was built;
    /// returns whether it did. Searches go on against the old index meanwhile.
    pub async fn refresh(&self) -> Result<bool, StoreError> {
        let mut built_from = self.built_from.lock().await;
        let version = self.store.knowledge_version().await?;
        if built_from.as_deref() == Some(version.as_str()) {
            return Ok(false);
        }
        let articles = self.store.all_articles().await?;
        let synonyms: Vec<Vec<String>> = self
            .store
            .synonyms()
            .await?
            .into_iter()
            .map(|g| g.terms)
            .collect();
        let topics = Topics::load(&self.store).await?;
        let mut locales: Vec<String> = articles
            .iter()
            .filter(|a| a.published)
            .map(|a| a.locale.clone())
            .collect();
        locales.sort();
        locales.dedup();
        let shelves = tokio::task::spawn_blocking(move || Shelves::build(&articles, &topics))
            .await
            .map_err(|e| StoreError::Unavailable(format!("the index builder stopped: {e}")))??;
        *self.shelves.write().map_err(poisoned)? = Arc::new(shelves);
        *self.synonyms.write().map_err(poisoned)? = Arc::new(synonyms);
        *self.locales.write().map_err(poisoned)? = Arc::new(locales);
        *built_from = Some(version);
        Ok(true)
    }

    /// Brings one article up to date at once, after this process wrote it (a deleted one
    /// leaves the index). The next `refresh` rebuilds all the same, for what others wrote.
    pub async fn updated(&self, id: &ArticleId) -> Result<(), StoreError> {
        let _building = self.built_from.lock().await;
        let article = match self.store.article(id).await {
            Ok(a) => Some(a),
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        let shelves = Arc::clone(&*self.shelves.read().map_err(poisoned)?);
        let new_language = article
            .as_ref()
            .map(|a| language_of(&a.locale))
            .filter(|l| !shelves.by_language.contains_key(l));
        if new_language.is_some() {
            // A first article in a language: its shelf comes with a rebuild.
            drop(_building);
            *self.built_from.lock().await = None;
            return self.refresh().await.map(drop);
        }
        let id = id.clone();
        let topics = Topics::load(&self.store).await?;
        // A published article adds its locale; anything else may have taken a locale's last
        // published article away, which only the store can tell.
        let locales = match &article {
            Some(a) if a.published => {
                let mut locales = (**self.locales.read().map_err(poisoned)?).clone();
                if let Err(at) = locales.binary_search(&a.locale) {
                    locales.insert(at, a.locale.clone());
                }
                locales
            }
            _ => self.store.published_locales().await?,
        };
        *self.locales.write().map_err(poisoned)? = Arc::new(locales);
        tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
            for shelf in shelves.by_language.values() {
                shelf.remove(&shelves.fields, &id)?;
            }
            if let Some(a) = &article {
                shelves.by_language[&language_of(&a.locale)].put(
                    &shelves.fields,
                    a,
                    topics.of(a),
                )?;
            }
            for shelf in shelves.by_language.values() {
                shelf.commit()?;
            }
            Ok(())
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("the index writer stopped: {e}")))?
    }

    /// Refreshes every `every` until `stop` ends: what other instances wrote, and synonyms.
    pub async fn keep_fresh(
        self: Arc<Self>,
        every: std::time::Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                changed = stop.changed() => if changed.is_err() || *stop.borrow() { return },
            }
            if let Err(e) = self.refresh().await {
                tracing::warn!(error = %e, "the knowledge index could not be refreshed");
            }
        }
    }

    /// The locales that have a published article, in order.
    pub fn published_locales(&self) -> Result<Arc<Vec<String>>, StoreError> {
        Ok(Arc::clone(&*self.locales.read().map_err(poisoned)?))
    }

    /// Articles matching a query, best first.
    pub fn search(&self, search: &Search) -> Result<Vec<Hit>, StoreError> {
        self.find(search, false)
    }

    /// Articles matching a query whose last word is still being typed (search as you type):
    /// the last word also matches title words that start with it.
    pub fn suggest(&self, search: &Search) -> Result<Vec<Hit>, StoreError> {
        self.find(search, true)
    }

    fn find(&self, search: &Search, completing: bool) -> Result<Vec<Hit>, StoreError> {
        let shelves = Arc::clone(&*self.shelves.read().map_err(poisoned)?);
        let synonyms = Arc::clone(&*self.synonyms.read().map_err(poisoned)?);
        let f = shelves.fields;
        let wanted = search.locale.map(|l| l.language().to_ascii_lowercase());
        let mut hits = Vec::new();
        for shelf in shelves.by_language.values() {
            if wanted.as_ref().is_some_and(|w| *w != shelf.language) {
                continue;
            }
            let searcher = shelf.reader.searcher();
            let Some(query) = build_query(shelf, &f, &searcher, search, &synonyms, completing)?
            else {
                continue;
            };
            let top = searcher
                .search(
                    &query,
                    &TopDocs::with_limit(search.limit + search.offset).order_by_score(),
                )
                .map_err(index_error)?;
            for (score, address) in top {
                let doc: TantivyDocument = searcher.doc(address).map_err(index_error)?;
                let text = |field: Field| {
                    doc.get_first(field)
                        .and_then(|v| v.as_str())
                        .unwrap_or("")
                        .to_owned()
                };
                hits.push(Hit {
                    id: ArticleId::from_trusted(text(f.id)),
                    slug: text(f.slug),
                    locale: text(f.locale),
                    title: text(f.title),
                    category: Some(text(f.category)).filter(|c| !c.is_empty()),
                    summary: text(f.summary),
                    published: doc.get_first(f.published).and_then(|v| v.as_u64()) == Some(1),
                    score,
                });
            }
        }
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.title.cmp(&b.title))
        });
        Ok(hits
            .into_iter()
            .skip(search.offset)
            .take(search.limit)
            .collect())
    }
}

/// A word's match in the title (counting `TITLE_BOOST` times) or the body, weighted.
fn word_clause(f: &Fields, word: &str, weight: f32) -> Box<dyn Query> {
    let term = |field| {
        Box::new(TermQuery::new(
            Term::from_field_text(field, word),
            IndexRecordOption::WithFreqs,
        )) as Box<dyn Query>
    };
    Box::new(BooleanQuery::new(vec![
        (
            Occur::Should,
            Box::new(BoostQuery::new(term(f.title), TITLE_BOOST * weight)),
        ),
        (
            Occur::Should,
            Box::new(BoostQuery::new(term(f.body), weight)),
        ),
        (
            Occur::Should,
            Box::new(BoostQuery::new(term(f.topic), TOPIC_BOOST * weight)),
        ),
    ]))
}

fn contains_run(haystack: &[String], needle: &[String]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The query for a search on one shelf, or `None` when it holds no word to look for.
fn build_query(
    shelf: &Shelf,
    f: &Fields,
    searcher: &tantivy::Searcher,
    search: &Search,
    synonyms: &[Vec<String>],
    completing: bool,
) -> Result<Option<Box<dyn Query>>, StoreError> {
    let text: String = search
        .text
        .split_whitespace()
        .take(MAX_QUERY_WORDS)
        .collect::<Vec<_>>()
        .join(" ");
    let mut analyzer = analyzer(&shelf.language);
    // The word being typed, when completing: matched as a prefix, not as a word.
    let (text, partial) = match (completing, search.text.ends_with(char::is_whitespace)) {
        (true, false) => match text.rsplit_once(' ') {
            Some((head, last)) => (head.to_owned(), Some(last.to_owned())),
            None => (String::new(), Some(text.clone())),
        },
        _ => (text, None),
    };
    let vocabulary = shelf.vocabulary.read().map_err(poisoned)?;
    let known = |w: &str| -> Result<bool, StoreError> {
        let in_title = searcher
            .doc_freq(&Term::from_field_text(f.title, w))
            .map_err(index_error)?;
        let in_body = searcher
            .doc_freq(&Term::from_field_text(f.body, w))
            .map_err(index_error)?;
        Ok(in_title + in_body > 0)
    };
    let mut words = Vec::new();
    for w in tokens(&mut analyzer, &text) {
        let w = if known(&w)? {
            w
        } else {
            vocabulary.correct(&w).map_or(w, str::to_owned)
        };
        words.push(w);
    }
    let mut seen: HashSet<String> = HashSet::new();
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for w in &words {
        if seen.insert(w.clone()) {
            clauses.push((Occur::Should, word_clause(f, w, 1.0)));
        }
    }
    for group in synonyms {
        let forms: Vec<Vec<String>> = group.iter().map(|t| tokens(&mut analyzer, t)).collect();
        if !forms.iter().any(|form| contains_run(&words, form)) {
            continue;
        }
        for w in forms.iter().flatten() {
            if seen.insert(w.clone()) {
                clauses.push((Occur::Should, word_clause(f, w, SYNONYM_BOOST)));
            }
        }
    }
    if let Some(partial) = partial {
        let mut plain = plain_analyzer();
        if let Some(prefix) = tokens(&mut plain, &partial)
            .pop()
            .filter(|p| p.chars().count() >= 2)
        {
            // The prefix's characters are letters and digits (the tokenizer split on the
            // rest), so it needs no escaping in a pattern.
            let pattern = format!("{prefix}.*");
            if prefix.chars().all(char::is_alphanumeric) {
                let regex =
                    RegexQuery::from_pattern(&pattern, f.title_words).map_err(index_error)?;
                clauses.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(regex), TITLE_BOOST)),
                ));
            }
            // The typed part as a whole word counts too ("ship" completes to "shipping").
            for w in tokens(&mut analyzer, &partial) {
                if seen.insert(w.clone()) {
                    clauses.push((Occur::Should, word_clause(f, &w, 1.0)));
                }
            }
        }
    }
    if clauses.is_empty() {
        return Ok(None);
    }
    let mut must: Vec<(Occur, Box<dyn Query>)> =
        vec![(Occur::Must, Box::new(BooleanQuery::new(clauses)))];
    if search.published_only {
        must.push((
            Occur::Must,
            Box::new(TermQuery::new(
                Term::from_field_u64(f.published, 1),
                IndexRecordOption::Basic,
            )),
        ));
    }
    if let Some(locale) = search.locale {
        must.push((
            Occur::Must,
            Box::new(TermQuery::new(
                Term::from_field_text(f.locale, locale.as_str()),
                IndexRecordOption::Basic,
            )),
        ));
    }
    Ok(Some(Box::new(BooleanQuery::new(must))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_swaps_as_one() {
        assert_eq!(edit_distance("refund", "refund", 2), 0);
        assert_eq!(edit_distance("refnud", "refund", 2), 1);
        assert_eq!(edit_distance("shiping", "shipping", 2), 1);
        assert_eq!(edit_distance("parcel", "cancel", 1), 2);
    }

    #[test]
    fn mistyped_words_become_the_words_articles_use() {
        let mut v = Vocabulary::default();
        v.add(&["refund".into(), "return".into(), "shipment".into()]);
        v.add(&["refund".into()]);
        assert_eq!(v.correct("refnud"), Some("refund"));
        assert_eq!(v.correct("shipmnet"), Some("shipment"));
        assert_eq!(v.correct("xyzzy"), None);
        assert_eq!(v.correct("ref"), None, "short words are not guessed at");
    }

    #[test]
    fn queries_and_articles_share_their_analysis() {
        let mut en = analyzer("en");
        assert_eq!(
            tokens(&mut en, "How do I return my Shoes?"),
            ["return", "shoe"]
        );
        assert_eq!(tokens(&mut en, "Crème brûlée"), ["creme", "brule"]);
        let mut unknown = analyzer("xx");
        assert_eq!(tokens(&mut unknown, "Ça va"), ["ca", "va"]);
    }
}
