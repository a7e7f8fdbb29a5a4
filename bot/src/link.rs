//! `/link [platform]`: a host links their Discord account themselves, through their platform
//! account's OAuth consent; the link button leads there and the callback does the linking
//! (`tollbooth_core::linking`). `/admin link` stays for exceptions.

use chrono::Utc;
use serenity::all::CreateButton;
use tollbooth_core::messages::Args as TextArgs;
use tollbooth_core::platform::PlatformKind;

use crate::command::{Args, BadOption};
use crate::reply::Message;
use crate::{Bot, Caller};

pub fn run(bot: &Bot, caller: Caller, args: &Args) -> Message {
    let lang = caller.lang;
    let platform = match args.opt_str("platform").unwrap_or("webex").parse::<PlatformKind>() {
        Ok(platform) => platform,
        Err(e) => return Message::private(BadOption::invalid("platform", e).describe(lang)),
    };
    let name = lang.text_with("platform-name", &TextArgs::new().str("platform", platform));
    let text = TextArgs::new().str("platform", name);
    match bot.linking.consent_url(platform, caller.user_id, Utc::now()) {
        Some(url) => Message::private(lang.text_with("link-consent", &text)).buttons(vec![
            CreateButton::new_link(url.as_str()).label(lang.text_with("link-button", &text)),
        ]),
        None => Message::private(lang.text_with("link-not-configured", &text)),
    }
}
