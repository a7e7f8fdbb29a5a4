//! `discord.mode = "gateway"` end to end: `tollbooth serve` connects to the Discord emulator's
//! gateway as serenity does (`GET /gateway/bot`, HELLO, IDENTIFY with the bot token, READY),
//! receives interactions as `INTERACTION_CREATE` dispatches, and answers them through REST with
//! the same command core as the HTTP endpoint: at once through the interaction callback, or
//! "thinking…" first and the answer later through the interaction's webhook (both backends).

use crate::common;
use crate::common::chat;
use crate::emulators;

use axum::http::Method;
use serde_json::json;
use tollbooth_core::store::{DiscordLinkStore, SiteStore, SqlStore, Switches};

use chat::{MEMBER, command, options, sub};
use common::{Db, Server, TempDir};
use emulators::discord::{APPLICATION_ID, DiscordEmulator, TOKEN};

on_both_backends!(
    interactions_over_the_gateway_are_answered_through_rest,
    a_gateway_that_refuses_the_token_leaves_the_http_side_serving,
);

const HOST_USER: u64 = 4242;

fn serve(db: &Db, dir: &TempDir, discord: &DiscordEmulator, token: &str) -> Server {
    Server::start(
        dir,
        &[
            ("TOLLBOOTH_DATABASE_URL", db.url.as_str()),
            ("TOLLBOOTH_DISCORD__MODE", "gateway"),
            ("TOLLBOOTH_DISCORD__TOKEN", token),
            ("TOLLBOOTH_DISCORD__APPLICATION_ID", APPLICATION_ID),
            ("TOLLBOOTH_DISCORD__API_BASE", discord.base.as_str()),
        ],
    )
}

async fn interactions_over_the_gateway_are_answered_through_rest(db: Db) {
    let (dir, discord) = (TempDir::new(), DiscordEmulator::start().await);
    let server = serve(&db, &dir, &discord, TOKEN);
    server.wait_healthy().await;
    let store = SqlStore::connect(&db.url).await.unwrap();
    store.link_discord_user(HOST_USER, &"host@example.com".parse().unwrap(), 1).await.unwrap();
    let switches =
        Switches { ecommerce_enabled: true, pay_per_use_enabled: true, fee_based_enabled: false };
    store.set_switches(switches).await.unwrap();

    // A quote is answered at once, through the interaction callback.
    let pairs = [("minutes", json!(60)), ("computers", json!(2))];
    let quote = command(HOST_USER, "gw-quote", "quote", options(&pairs), MEMBER);
    discord.dispatch_interaction(&quote).await;
    let answered = discord.wait_for(Method::POST, "/api/v10/interactions/1100/gw-quote/callback");
    let answer = answered.await.body.unwrap();
    assert_eq!(answer["type"], 4, "{answer}");
    let text = answer["data"]["content"].as_str().unwrap();
    assert!(text.contains("Estimated session cost"), "{text}");
    assert!(text.contains("Person-minutes: 120 × 0.12 USD = 14.40 USD"), "{text}");

    // Suggestions for `/register session` take the same way, as an autocomplete result.
    let focused = json!([{"name": "session", "type": 3, "value": "rust", "focused": true}]);
    let data = json!({"id": "55", "name": "register", "type": 1, "options": focused});
    let suggest = chat::interaction(HOST_USER, "gw-suggest", 4, data, "en-US", MEMBER);
    discord.dispatch_interaction(&suggest).await;
    let answered = discord.wait_for(Method::POST, "/api/v10/interactions/1100/gw-suggest/callback");
    let answer = answered.await.body.unwrap();
    assert_eq!((answer["type"].clone(), answer["data"]["choices"].clone()), (json!(8), json!([])));
    let identified = discord.state().identified.clone();
    assert_eq!(identified.len(), 1, "one shard: {identified:?}");
    assert_eq!(identified[0]["intents"], 0, "slash commands need no intents");

    // A deferred command: "thinking…" at once, then the answer replaces it.
    let mine = command(HOST_USER, "gw-mine", "registrations", sub("list", json!([])), MEMBER);
    discord.dispatch_interaction(&mine).await;
    let deferred = discord.wait_for(Method::POST, "/api/v10/interactions/1100/gw-mine/callback");
    let deferred = deferred.await.body.unwrap();
    assert_eq!(
        (deferred["type"].as_u64(), deferred["data"]["flags"].as_u64()),
        (Some(5), Some(64))
    );
    let edit = format!("/api/v10/webhooks/{APPLICATION_ID}/gw-mine/messages/@original");
    let edited = discord.wait_for(Method::PATCH, &edit).await.body.unwrap();
    assert!(edited["content"].as_str().unwrap().contains("You have no registrations"), "{edited}");
    assert_eq!(server.terminate().code(), Some(0));
}

async fn a_gateway_that_refuses_the_token_leaves_the_http_side_serving(db: Db) {
    let (dir, discord) = (TempDir::new(), DiscordEmulator::start().await);
    let server = serve(&db, &dir, &discord, "not-the-bot-token");
    server.wait_healthy().await;
    let asked = discord.wait_for(Method::GET, "/api/v10/gateway/bot").await;
    assert_eq!(asked.authorization.as_deref(), Some("Bot not-the-bot-token"));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(discord.state().identified.is_empty());
    let ready = reqwest::get(format!("{}/readyz", server.base)).await.unwrap();
    assert_eq!(ready.status(), 200, "pay pages and webhooks keep working");
    assert_eq!(server.terminate().code(), Some(0));
}
