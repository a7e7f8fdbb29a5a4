//! The gateway transport (`discord.mode = "gateway"`): serenity's client receives
//! interactions over the websocket and answers through REST, with the same command core as
//! the HTTP endpoint. It asks for no intents: slash commands need none, and privileged ones
//! (members, message content) would need Discord's approval for nothing.

use serenity::all::{ClientBuilder, Context, EventHandler, GatewayIntents, Http, Interaction};
use serenity::async_trait;

use crate::Bot;
use crate::reply::finish;

struct Handler {
    bot: Bot,
}

#[async_trait]
impl EventHandler for Handler {
    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let (id, token) = (interaction.id(), interaction.token().to_owned());
        let (first, later) = self.bot.handle(interaction).await.split();
        if let Err(e) = ctx.http.create_interaction_response(id, &token, &first, vec![]).await {
            tracing::warn!(error = %e, "could not answer an interaction");
            return;
        }
        if let Some(work) = later {
            finish(&ctx.http, &token, work).await;
        }
    }
}

/// Connects and runs until the connection fails for good. Shards as Discord recommends
/// (`GET /gateway/bot`), so a bot in many servers spreads over several connections. `http`
/// is [`crate::api::http`]'s client, so the gateway's REST calls go where the rest go.
pub async fn run(bot: Bot, http: Http) -> Result<(), serenity::Error> {
    let mut client = ClientBuilder::new_with_http(http, GatewayIntents::empty())
        .event_handler(Handler { bot })
        .await?;
    client.start_autosharded().await
}
