//! What a command answers, independent of how it travels: in the HTTP response body
//! (interactions endpoint) or through Discord's REST API (gateway). Slow work is answered
//! "thinking…" at once and finished later by editing that first answer.

use futures_util::future::BoxFuture;
use serenity::all::{
    CreateActionRow, CreateButton, CreateInteractionResponse, CreateInteractionResponseMessage,
    EditInteractionResponse, Http,
};

/// A message the bot shows.
#[derive(Clone, Debug, Default)]
pub struct Message {
    pub text: String,
    /// Seen only by the member who asked: pay links, errors, anything about one person.
    pub ephemeral: bool,
    pub components: Vec<CreateActionRow>,
}

impl Message {
    pub fn public(text: impl Into<String>) -> Message {
        Message { text: text.into(), ..Message::default() }
    }

    pub fn private(text: impl Into<String>) -> Message {
        Message { text: text.into(), ephemeral: true, ..Message::default() }
    }

    /// The same message with `text` and a blank line before its own text.
    pub fn prefixed(mut self, text: &str) -> Message {
        self.text = format!("{text}\n\n{}", self.text);
        self
    }

    /// Adds a row of buttons.
    pub fn buttons(mut self, buttons: Vec<CreateButton>) -> Message {
        self.components.push(CreateActionRow::Buttons(buttons));
        self
    }

    fn data(self) -> CreateInteractionResponseMessage {
        CreateInteractionResponseMessage::new()
            .content(self.text)
            .ephemeral(self.ephemeral)
            .components(self.components)
    }

    /// As a new message answering the interaction (callback type 4).
    pub fn respond(self) -> CreateInteractionResponse {
        CreateInteractionResponse::Message(self.data())
    }

    /// As a replacement of the message whose button or form was used (callback type 7).
    pub fn update(self) -> CreateInteractionResponse {
        CreateInteractionResponse::UpdateMessage(self.data())
    }

    /// As the edit that completes a deferred answer. Ephemerality was fixed by the deferral.
    pub fn edit(self) -> EditInteractionResponse {
        EditInteractionResponse::new().content(self.text).components(self.components)
    }
}

/// How an interaction is answered.
pub enum Reply {
    /// At once, within Discord's 3 seconds.
    Now(Box<CreateInteractionResponse>),
    /// "Thinking…" at once (callback type 5), then `work`'s message replaces it.
    Later { ephemeral: bool, work: BoxFuture<'static, Message> },
}

impl Reply {
    pub fn now(response: CreateInteractionResponse) -> Reply {
        Reply::Now(Box::new(response))
    }

    /// The answer to send now (the response itself, or the deferral) and the work that
    /// finishes a deferred one.
    pub fn split(self) -> (CreateInteractionResponse, Option<BoxFuture<'static, Message>>) {
        match self {
            Reply::Now(response) => (*response, None),
            Reply::Later { ephemeral, work } => (
                CreateInteractionResponse::Defer(
                    CreateInteractionResponseMessage::new().ephemeral(ephemeral),
                ),
                Some(work),
            ),
        }
    }
}

/// Finishes deferred work: edits the original answer through the interaction's webhook
/// (`PATCH /webhooks/{application}/{token}/messages/@original`). The token lives 15 minutes.
pub async fn finish(http: &Http, token: &str, work: BoxFuture<'static, Message>) {
    let message = work.await;
    if let Err(e) = http.edit_original_interaction_response(token, &message.edit(), vec![]).await {
        tracing::warn!(error = %e, "could not deliver a deferred answer");
    }
}
