//! The chat bot: command parsing and handling independent of transport, the serenity
//! gateway runner, and command registration. Commands arrive with the chat-bot issue.
