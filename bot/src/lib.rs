//! The chat bot: one command core that turns a serenity [`Interaction`] into a [`Reply`],
//! whichever way it came (the HTTP interactions endpoint in `tollbooth-webhook`, or the
//! gateway runner here), plus the Discord REST client and command registration.
//!
//! Handlers are thin: they read typed arguments ([`command::Args`], checked against
//! `manifest.json`), call the domain and the store in `tollbooth-core`, and render a message.

pub mod admin;
pub mod api;
pub mod attendee;
pub mod codes;
pub mod command;
pub mod gateway;
pub mod lang;
pub mod link;
pub mod quote;
pub mod refunds;
pub mod reply;
pub mod report;
pub mod schedule;
pub mod session;

use std::sync::Arc;

use serenity::all::{
    CommandInteraction, CreateAutocompleteResponse, CreateInteractionResponse, Interaction, Member,
    Permissions,
};
use tollbooth_core::fee_based::service::Offers;
use tollbooth_core::invoicing::vat::Vat;
use tollbooth_core::linking::Linking;
use tollbooth_core::manifest::{self, Manifest};
use tollbooth_core::payments::gateway::PartialRefunds;
use tollbooth_core::payments::method::Method;
use tollbooth_core::payments::paylink::PayLinks;
use tollbooth_core::platform::Platforms;
use tollbooth_core::reach::Channels;
use tollbooth_core::store::{Store, StoreError};
use url::Url;

use crate::command::Args;
use crate::lang::Lang;
use crate::reply::{Message, Reply};

/// What the handlers need; cheap to clone into deferred work.
#[derive(Clone)]
pub struct Bot {
    pub store: Arc<dyn Store>,
    pub pay_links: PayLinks,
    /// Base of the links the bot hands out, with a trailing slash.
    pub public_url: Url,
    /// The configured payment methods: the gateways this server has, which `/admin methods`
    /// chooses among.
    pub methods: Vec<Method>,
    pub pay_link_hours: i64,
    /// What pay-per-use authorisations hold above the estimate, in percent.
    pub headroom_percent: u32,
    /// Where meetings are scheduled and cancelled.
    pub platforms: Platforms,
    /// The platforms' OAuth consent that `/link` leads to.
    pub linking: Linking,
    pub reach: Channels,
    /// Which gateways refund partially, which a refund asked in chat is checked against.
    pub partial_refunds: PartialRefunds,
    /// The site's VAT: a fee entered without VAT is charged with it.
    pub vat: Vat,
    /// How seats freed for the waiting list are offered (leaving it frees one).
    pub offers: Offers,
    /// The most seats one `/register seats:N` takes.
    pub max_seats: u32,
    commands: Arc<manifest::Discord>,
}

/// What the bot works with, given once.
pub struct Dependencies {
    pub store: Arc<dyn Store>,
    pub pay_links: PayLinks,
    /// Base of the links the bot hands out, with a trailing slash.
    pub public_url: Url,
    /// The configured payment methods.
    pub methods: Vec<Method>,
    /// How long a pay link works.
    pub pay_link_hours: u64,
    /// What pay-per-use authorisations hold above the estimate, in percent.
    pub headroom_percent: u32,
    /// Where meetings are scheduled and cancelled.
    pub platforms: Platforms,
    /// The platforms' OAuth consent that `/link` leads to.
    pub linking: Linking,
    /// The channels beyond Discord that attendees are told of refunds on.
    pub reach: Channels,
    /// Which configured gateways refund partially.
    pub partial_refunds: PartialRefunds,
    /// The site's VAT: a fee entered without VAT is charged with it.
    pub vat: Vat,
    /// How seats freed for the waiting list are offered.
    pub offers: Offers,
    /// The most seats one `/register seats:N` takes (`registration.max_seats`).
    pub max_seats: u32,
}

/// Who is asking, in which language, and whether Discord says they may manage the server.
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    pub user_id: u64,
    pub lang: Lang,
    /// Manage Server (or Administrator) in the guild the interaction came from; never in DMs.
    pub manages_guild: bool,
}

impl Caller {
    fn new(user_id: u64, locale: &str, member: Option<&Member>) -> Caller {
        // The permissions Discord computed for this member in this channel, sent with every
        // guild interaction: the server's own check, whatever the command's visibility says.
        let manages_guild = member
            .and_then(|m| m.permissions)
            .is_some_and(|p| p.contains(Permissions::MANAGE_GUILD) || p.administrator());
        Caller { user_id, lang: Lang::from_locale(locale), manages_guild }
    }
}

impl Bot {
    pub fn new(deps: Dependencies) -> Bot {
        let Dependencies {
            store,
            pay_links,
            public_url,
            methods,
            pay_link_hours,
            headroom_percent,
            platforms,
            linking,
            reach,
            partial_refunds,
            vat,
            offers,
            max_seats,
        } = deps;
        Bot {
            store,
            pay_links,
            public_url,
            methods,
            pay_link_hours: i64::try_from(pay_link_hours).unwrap_or(i64::MAX),
            headroom_percent,
            platforms,
            linking,
            reach,
            partial_refunds,
            vat,
            offers,
            max_seats,
            commands: Arc::new(Manifest::built_in().discord),
        }
    }

    /// Answers one interaction. Never panics on input: bad input becomes an ephemeral message.
    pub async fn handle(&self, interaction: Interaction) -> Reply {
        match interaction {
            Interaction::Ping(_) => Reply::now(CreateInteractionResponse::Pong),
            Interaction::Command(command) => self.command(&command).await,
            Interaction::Component(component) => {
                let caller = Caller::new(
                    component.user.id.get(),
                    &component.locale,
                    component.member.as_ref(),
                );
                match component.data.custom_id.as_str() {
                    id if attendee::is_waiting_button(id) => attendee::on_button(self, caller, id),
                    _ => quote::on_button(self, caller, &component).await,
                }
            }
            Interaction::Modal(modal) => {
                let caller = Caller::new(modal.user.id.get(), &modal.locale, modal.member.as_ref());
                match modal.data.custom_id.as_str() {
                    admin::SETUP_FORM => admin::on_form(self, caller, &modal).await,
                    id if attendee::is_form(id) => attendee::on_form(self, caller, &modal),
                    _ => quote::on_form(self, caller, &modal).await,
                }
            }
            // Only `/register` suggests values (its `session` option).
            Interaction::Autocomplete(command) if command.data.name == "register" => {
                attendee::suggest(self, &command).await
            }
            Interaction::Autocomplete(_) => Reply::now(CreateInteractionResponse::Autocomplete(
                CreateAutocompleteResponse::new(),
            )),
            // Anything newer is not understood.
            _ => Reply::now(
                Message::private(Lang::default().text("interaction-unsupported")).respond(),
            ),
        }
    }

    /// Keeps the caller's language for the messages sent to them later (a blocked start, a
    /// receipt); failing to costs only that, so the command goes on.
    async fn remember_lang(&self, caller: Caller) {
        if let Err(error) = self.store.remember_lang(caller.user_id, caller.lang).await {
            tracing::warn!(%error, "could not remember the caller's language");
        }
    }

    async fn command(&self, command: &CommandInteraction) -> Reply {
        let caller = Caller::new(command.user.id.get(), &command.locale, command.member.as_deref());
        self.remember_lang(caller).await;
        let unknown =
            || Reply::now(Message::private(caller.lang.text("unknown-command")).respond());
        let Some(spec) = self.commands.command(&command.data.name) else {
            return unknown();
        };
        let args = match Args::parse(spec, &command.data) {
            Ok(args) => args,
            Err(bad) => return Reply::now(Message::private(bad.describe(caller.lang)).respond()),
        };
        match spec.name.as_str() {
            "quote" => Reply::now(quote::run(self, caller, &args).await.respond()),
            "admin" => Reply::now(admin::run(self, caller, &args).await),
            "session" => session::run(self, caller, &args),
            "report" => report::run(self, caller, &args),
            "register" => attendee::register(self, caller, &args).await,
            "registrations" => attendee::registrations(self, caller, &args, command.id.get()),
            "link" => Reply::now(link::run(self, caller, &args).respond()),
            _ => unknown(),
        }
    }

    /// An absolute URL under the public base URL.
    pub fn url(&self, path: &str) -> Url {
        self.public_url.join(path).expect("a relative path joins any base URL")
    }

    /// The pay page of a signed order token, in the member's language: the page then speaks
    /// it whatever the browser prefers.
    pub fn pay_url(&self, token: &str, lang: Lang) -> Url {
        let mut url = self.url(&format!("pay/{token}"));
        url.query_pairs_mut().append_pair("lang", lang.code());
        url
    }
}

/// What a member sees when the database failed; the details go to the log only.
pub fn store_failed(lang: Lang, error: &StoreError) -> Message {
    tracing::warn!(error = %error, "chat command failed on the store");
    Message::private(lang.text("store-failed"))
}
