//! The demo shop seeds a believable help desk once, and never over existing data.

use concierge_domain::conversation::Channel;
use concierge_store::articles::ArticleFilter;
use concierge_store::commerce::OrderFilter;
use concierge_store::conversations::ConversationFilter;
use concierge_store::{PageRequest, PoolOptions, Store};

fn all() -> PageRequest {
    PageRequest {
        limit: Some(200),
        cursor: None,
    }
}

#[tokio::test]
async fn seeds_an_empty_database_once() {
    let dir = std::env::temp_dir().join(format!("concierge-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Store::connect(
        &format!("sqlite://{}/demo.db", dir.display()),
        &PoolOptions::default(),
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();

    let login = concierge_demo::seed_if_empty(&store)
        .await
        .unwrap()
        .expect("an empty database is seeded");
    assert_eq!(login.email, "alex@northwind.example");

    let conversations = store
        .conversations(&ConversationFilter::default(), &all())
        .await
        .unwrap();
    assert!(
        conversations.items.len() >= 90,
        "{} conversations",
        conversations.items.len()
    );
    for channel in [Channel::Email, Channel::Chat, Channel::Sms] {
        assert!(
            conversations.items.iter().any(|c| c.channel == channel),
            "no {channel} conversation"
        );
    }
    assert!(conversations.items.iter().all(|c| c.intent.is_some()));
    let orders = store.orders(&OrderFilter::default(), &all()).await.unwrap();
    assert_eq!(orders.items.len(), 200);
    assert!(orders
        .items
        .iter()
        .any(|o| o.shipments.iter().any(|s| s.events.len() >= 4)));
    let articles = store
        .articles(&ArticleFilter::default(), &all())
        .await
        .unwrap();
    assert!(articles.items.len() >= 20);
    assert!(articles
        .items
        .iter()
        .all(|a| !a.body_html.contains("<script")));
    assert_eq!(store.agents().await.unwrap().len(), 2);

    assert!(
        concierge_demo::seed_if_empty(&store)
            .await
            .unwrap()
            .is_none(),
        "a second run adds nothing"
    );
    assert_eq!(store.agents().await.unwrap().len(), 2);
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
