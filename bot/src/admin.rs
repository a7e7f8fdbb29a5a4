//! `/admin …`: the site administrator's settings. Discord hides the command from members
//! without Manage Server (`default_member_permissions: "32"`), but a server owner can change
//! that per server, so the permission Discord sends with the interaction is checked here too.

use chrono::Utc;
use serenity::all::{
    CreateActionRow, CreateInputText, CreateInteractionResponse, CreateModal, InputTextStyle,
    ModalInteraction,
};
use tollbooth_core::email::Email;
use tollbooth_core::fee_based::refunds::{BadTerms, CancellationTerms};
use tollbooth_core::messages::Args as TextArgs;
use tollbooth_core::money::{Country, Currency, Money, parse_non_negative};
use tollbooth_core::pay_per_use::billing::Month;
use tollbooth_core::pay_per_use::enforcement::Exemption;
use tollbooth_core::payments::method::{self, Method};
use tollbooth_core::pricing::Prices;
use tollbooth_core::site::{Division, DivisionId, Features, Host, OverBudgetPolicy, Setup};
use tollbooth_core::store::{PriceSource, StoreError, Switches};
use tollbooth_core::time::Tz;

use crate::command::{Args, BadOption, form_field};
use crate::lang::Lang;
use crate::reply::{Message, Reply};
use crate::{Bot, Caller, store_failed};

/// The `/admin setup` form and its fields; the prices are named as `/admin prices` names them.
pub const SETUP_FORM: &str = "admin:setup";
const CURRENCY_COUNTRY: &str = "currency_country";
const PERSON: &str = "person_minute";
const TELECONFERENCE: &str = "teleconference_minute";
const FEATURES: &str = "features";
const DIVISION: &str = "division";

/// What went wrong in one subcommand.
enum Failure {
    Bad(BadOption),
    Store(StoreError),
}

impl From<BadOption> for Failure {
    fn from(b: BadOption) -> Self {
        Failure::Bad(b)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

pub async fn run(bot: &Bot, caller: Caller, args: &Args) -> CreateInteractionResponse {
    let lang = caller.lang;
    if !caller.manages_guild {
        return Message::private(lang.text("admin-only")).respond();
    }
    let answer = match args.subcommand.as_deref() {
        Some("setup") => match setup_form(bot, lang).await {
            Ok(form) => return form,
            Err(e) => Err(e.into()),
        },
        _ => apply(bot, caller, args).await,
    };
    answered(lang, answer).respond()
}

fn answered(lang: Lang, answer: Result<String, Failure>) -> Message {
    match answer {
        Ok(text) => Message::private(text),
        Err(Failure::Bad(bad)) => Message::private(bad.describe(lang)),
        // A refused value (a host in a division that does not exist) is the member's to fix.
        Err(Failure::Store(StoreError::Invalid(why))) => Message::private(why),
        Err(Failure::Store(e)) => store_failed(lang, &e),
    }
}

fn on_off(lang: Lang, on: bool) -> String {
    match on {
        true => lang.text("switch-on"),
        false => lang.text("switch-off"),
    }
}

async fn apply(bot: &Bot, caller: Caller, args: &Args) -> Result<String, Failure> {
    let lang = caller.lang;
    let store = &bot.store;
    let now = Utc::now();
    Ok(match args.subcommand.as_deref().unwrap_or_default() {
        "ecommerce" => {
            let on = args.bool("enabled")?;
            let mut switches = switches(bot).await?;
            switches.ecommerce_enabled = on;
            store.set_switches(switches).await?;
            lang.text_with("admin-ecommerce", &TextArgs::new().str("state", on_off(lang, on)))
        }
        "feature" => {
            let on = args.bool("enabled")?;
            let feature = args.str("feature")?;
            let mut switches = switches(bot).await?;
            let name = match feature {
                "pay-per-use" => {
                    switches.pay_per_use_enabled = on;
                    lang.text("admin-pay-per-use")
                }
                _ => {
                    switches.fee_based_enabled = on;
                    lang.text("admin-fee-based")
                }
            };
            store.set_switches(switches).await?;
            let args = TextArgs::new().str("feature", name).str("state", on_off(lang, on));
            let mut text = lang.text_with("admin-feature", &args);
            if on && !switches.ecommerce_enabled {
                text.push(' ');
                text += &lang.text("admin-ecommerce-still-off");
            }
            text
        }
        "prices" => {
            let price = |name: &str| -> Result<_, BadOption> {
                let text = args.str(name)?;
                parse_non_negative(text).map_err(|e| BadOption::invalid(name, e))
            };
            let current = store.prices_at(now).await?;
            let prices = Prices {
                currency: current.currency,
                person_minute: price("person_minute")?,
                teleconference_minute: price("teleconference_minute")?,
            };
            store.set_prices(&prices, now, PriceSource::Admin).await?;
            describe_prices(lang, &prices)
        }
        "currency" => {
            let code = args.str("code")?.to_ascii_uppercase();
            let currency: Currency = code.parse().map_err(|e| BadOption::invalid("code", e))?;
            // The numbers stay; only their currency changes, as a new version of the list.
            let prices = Prices { currency, ..store.prices_at(now).await? };
            store.set_prices(&prices, now, PriceSource::Admin).await?;
            describe_prices(lang, &prices)
        }
        "country" => {
            let code = args.str("code")?.to_ascii_uppercase();
            let country: Country = code.parse().map_err(|e| BadOption::invalid("code", e))?;
            store.set_country(country).await?;
            lang.text_with("admin-country", &TextArgs::new().str("country", country))
        }
        "methods" => {
            let text = args.str("methods")?;
            // `all` forgets the choice, so methods added to the configuration later are offered.
            let chosen = if text.trim().eq_ignore_ascii_case("all") {
                None
            } else {
                Some(chosen(bot, lang, text)?)
            };
            store.set_payment_methods(chosen.as_deref()).await?;
            let site = store.site_settings().await?;
            let offered = site.offered_methods(&bot.methods);
            let offered = if offered.is_empty() {
                lang.text("admin-methods-none")
            } else {
                method::join(&offered)
            };
            let args = TextArgs::new().str("country", site.country).str("methods", offered);
            lang.text_with("admin-methods", &args)
        }
        "division" => {
            let id: DivisionId =
                args.str("id")?.parse().map_err(|e| BadOption::invalid("id", e))?;
            let name = args.str("name")?.to_owned();
            store.put_division(&Division { id: id.clone(), name: name.clone() }).await?;
            lang.text_with("admin-division", &TextArgs::new().str("id", id).str("name", name))
        }
        "host" => {
            let email: Email =
                args.str("email")?.parse().map_err(|e| BadOption::invalid("email", e))?;
            let division = args
                .opt_str("division")
                .map(|d| d.parse::<DivisionId>().map_err(|e| BadOption::invalid("division", e)))
                .transpose()?;
            store.put_host(&Host { email: email.clone(), division: division.clone() }).await?;
            let division = division.map_or_else(|| "-".to_owned(), |d| d.to_string());
            let args = TextArgs::new().str("email", email).str("division", division);
            lang.text_with("admin-host", &args)
        }
        "link" => {
            let member = args.user("member")?;
            let email: Email =
                args.str("email")?.parse().map_err(|e| BadOption::invalid("email", e))?;
            store.link_discord_user(member, &email, caller.user_id).await?;
            // A Discord id is past what a Fluent number holds exactly: it goes as text.
            let args = TextArgs::new().str("member", member).str("email", email);
            lang.text_with("admin-linked", &args)
        }
        "budget" => {
            let division: DivisionId =
                args.str("division")?.parse().map_err(|e| BadOption::invalid("division", e))?;
            let month: Month =
                args.str("month")?.parse().map_err(|e| BadOption::invalid("month", e))?;
            let currency = store.site_settings().await?.prices.currency;
            let amount = Money::parse_exact(args.str("amount")?, currency)
                .map_err(|e| BadOption::invalid("amount", e))?;
            store.set_budget(&division, month, amount).await?;
            let args = TextArgs::new()
                .str("division", division)
                .str("month", month)
                .str("amount", amount)
                .str("currency", currency);
            lang.text_with("admin-budget", &args)
        }
        "over-budget" => {
            let policy: OverBudgetPolicy =
                args.str("action")?.parse().map_err(|e| BadOption::invalid("action", e))?;
            store.set_over_budget(policy).await?;
            match policy {
                OverBudgetPolicy::Warn => lang.text("admin-over-budget-warn"),
                OverBudgetPolicy::Block => lang.text("admin-over-budget-block"),
            }
        }
        "exempt" => {
            let who = args.str("who")?;
            let on = args.bool("exempt")?;
            // An e-mail names a host; anything else must be a division id.
            let exemption = if who.contains('@') {
                Exemption::Host(who.parse().map_err(|e| BadOption::invalid("who", e))?)
            } else {
                Exemption::Division(who.parse().map_err(|e| BadOption::invalid("who", e))?)
            };
            store.set_exempt(&exemption, on).await?;
            let args = TextArgs::new().str("who", who).str("state", on_off(lang, on));
            lang.text_with("admin-exempt", &args)
        }
        "timezone" => {
            let zone = args.str("zone")?;
            let timezone: Tz = zone.parse().map_err(|_| {
                let why =
                    lang.text_with("admin-timezone-unknown", &TextArgs::new().str("zone", zone));
                BadOption::invalid("zone", why)
            })?;
            store.set_timezone(timezone).await?;
            lang.text_with("admin-timezone", &TextArgs::new().str("zone", timezone))
        }
        "cancellation" => {
            let fee = args.opt_str("fee").unwrap_or("0");
            let terms = CancellationTerms::new(args.opt_int("hours"), fee).map_err(|bad| {
                let option = if matches!(bad, BadTerms::Hours(_)) { "hours" } else { "fee" };
                BadOption::invalid(option, bad.said(lang))
            })?;
            store.set_cancellation(&terms).await?;
            cancellation(lang, &terms)
        }
        "status" => status(bot, lang).await?,
        other => {
            return Err(BadOption::invalid(other, lang.text("option-unknown-subcommand")).into());
        }
    })
}

/// The methods named in `text`, each one that this server has a gateway for.
fn chosen(bot: &Bot, lang: Lang, text: &str) -> Result<Vec<Method>, BadOption> {
    let invalid = |why: String| BadOption::invalid("methods", why);
    let methods = method::parse_list(&text.to_ascii_lowercase()).map_err(invalid)?;
    if let Some(m) = methods.iter().find(|m| !bot.methods.contains(m)) {
        let configured = method::join(&bot.methods);
        let args = TextArgs::new().str("method", m).str("configured", configured);
        return Err(invalid(lang.text_with("admin-method-not-configured", &args)));
    }
    if methods.is_empty() {
        return Err(invalid(lang.text("admin-methods-empty")));
    }
    Ok(methods)
}

async fn switches(bot: &Bot) -> Result<Switches, StoreError> {
    let site = bot.store.site_settings().await?;
    Ok(Switches {
        ecommerce_enabled: site.ecommerce_enabled,
        pay_per_use_enabled: site.pay_per_use_enabled,
        fee_based_enabled: site.fee_based_enabled,
    })
}

fn describe_prices(lang: Lang, p: &Prices) -> String {
    let args = TextArgs::new()
        .str("person", p.person_minute)
        .str("teleconference", p.teleconference_minute)
        .str("currency", p.currency);
    lang.text_with("admin-prices", &args)
}

/// The `/admin setup` form: one text input per field (Discord allows five), filled in with
/// what the site has now: submitted unchanged, it changes only the switches (and starts a new
/// version of the same prices).
async fn setup_form(bot: &Bot, lang: Lang) -> Result<CreateInteractionResponse, StoreError> {
    let site = bot.store.site_settings().await?;
    let division = match &site.default_division {
        Some(id) => bot.store.division(id).await?.map(|d| format!("{} {}", d.id, d.name)),
        None => None,
    };
    let features =
        Features { pay_per_use: site.pay_per_use_enabled, fee_based: site.fee_based_enabled };
    // A site that sells nothing yet is offered both.
    let features = if features == Features::default() {
        Features { pay_per_use: true, fee_based: true }
    } else {
        features
    };
    let p = &site.prices;
    let input = |field: &str, label: String, value: String| {
        CreateInputText::new(InputTextStyle::Short, label, field).value(value).max_length(100)
    };
    let rows = [
        input(
            CURRENCY_COUNTRY,
            lang.text("setup-currency-country"),
            format!("{} {}", p.currency, site.country),
        ),
        input(PERSON, lang.text("setup-person-minute"), p.person_minute.to_string()),
        input(
            TELECONFERENCE,
            lang.text("setup-teleconference-minute"),
            p.teleconference_minute.to_string(),
        ),
        input(FEATURES, lang.text("setup-features"), features.to_string()),
        input(DIVISION, lang.text("setup-division"), division.unwrap_or_default())
            .placeholder(lang.text("setup-division-example")),
    ]
    .into_iter()
    .map(CreateActionRow::InputText)
    .collect();
    Ok(CreateInteractionResponse::Modal(
        CreateModal::new(SETUP_FORM, lang.text("setup-title")).components(rows),
    ))
}

/// The submitted `/admin setup` form: every field checked first, then all of it applied in
/// one transaction, answered with `/admin status`.
pub async fn on_form(bot: &Bot, caller: Caller, modal: &ModalInteraction) -> Reply {
    let lang = caller.lang;
    // The form is no proof: anyone may send a signed submission of it.
    if !caller.manages_guild {
        return Reply::now(Message::private(lang.text("admin-only")).respond());
    }
    if modal.data.custom_id != SETUP_FORM {
        return Reply::now(Message::private(lang.text("form-invalid")).respond());
    }
    let answer = async {
        let setup = setup(lang, modal)?;
        bot.store.set_up(&setup, Utc::now()).await?;
        let status = status(bot, lang).await?;
        Ok(format!("{}\n\n{status}", lang.text("admin-set-up")))
    };
    Reply::now(answered(lang, answer.await).respond())
}

/// What the form asks for, each field checked by the parser its own subcommand uses.
fn setup(lang: Lang, modal: &ModalInteraction) -> Result<Setup, BadOption> {
    let place = form_field(modal, CURRENCY_COUNTRY);
    let (currency, country) = match place.split_whitespace().collect::<Vec<_>>()[..] {
        [currency, country] => (currency.to_ascii_uppercase(), country.to_ascii_uppercase()),
        _ => {
            let why =
                lang.text_with("setup-not-currency-country", &TextArgs::new().str("text", &place));
            return Err(BadOption::invalid(CURRENCY_COUNTRY, why));
        }
    };
    let currency: Currency = currency.parse().map_err(|e| BadOption::invalid("currency", e))?;
    let country: Country = country.parse().map_err(|e| BadOption::invalid("country", e))?;
    let price = |field: &str| {
        parse_non_negative(&form_field(modal, field)).map_err(|e| BadOption::invalid(field, e))
    };
    let prices = Prices {
        currency,
        person_minute: price(PERSON)?,
        teleconference_minute: price(TELECONFERENCE)?,
    };
    let features: Features =
        form_field(modal, FEATURES).parse().map_err(|e| BadOption::invalid(FEATURES, e))?;
    let division = form_field(modal, DIVISION);
    let named = division.split_once(char::is_whitespace).map(|(id, name)| (id, name.trim()));
    let Some((id, name)) = named.filter(|(_, name)| !name.is_empty()) else {
        let why = lang.text_with("setup-not-division", &TextArgs::new().str("text", &division));
        return Err(BadOption::invalid(DIVISION, why));
    };
    let id: DivisionId = id.parse().map_err(|e| BadOption::invalid(DIVISION, e))?;
    let default_division = Division { id, name: name.to_owned() };
    Ok(Setup { country, prices, features, default_division })
}

/// Everything an administrator set, what a pay page offers, the divisions and how many
/// hosts members act as.
async fn status(bot: &Bot, lang: Lang) -> Result<String, StoreError> {
    let store = &bot.store;
    let site = store.site_settings().await?;
    let offered = site.offered_methods(&bot.methods);
    let none = || lang.text("status-none");
    let methods = if offered.is_empty() { none() } else { method::join(&offered) };
    let divisions = store.divisions().await?;
    let divisions = if divisions.is_empty() {
        none()
    } else {
        divisions.iter().map(|d| format!("{} ({})", d.id, d.name)).collect::<Vec<_>>().join(", ")
    };
    let p = &site.prices;
    let args = TextArgs::new()
        .str("ecommerce", on_off(lang, site.ecommerce_enabled))
        .str("pay_per_use", on_off(lang, site.pay_per_use_enabled))
        .str("fee_based", on_off(lang, site.fee_based_enabled))
        .str("country", site.country)
        .str("currency", p.currency)
        .str("timezone", site.timezone)
        .str("person", p.person_minute)
        .str("teleconference", p.teleconference_minute)
        .str("over_budget", site.over_budget.as_str())
        .str("methods", methods)
        .str("division", site.default_division.map_or_else(none, |d| d.to_string()))
        .str("divisions", divisions)
        .num("hosts", store.linked_hosts().await?);
    Ok(format!(
        "**{}**\n{}\n{}",
        lang.text("admin-status-heading"),
        lang.text_with("admin-status", &args),
        cancellation(lang, &site.cancellation)
    ))
}

/// Until when attendees may cancel themselves, and for what fee.
fn cancellation(lang: Lang, terms: &CancellationTerms) -> String {
    let args = TextArgs::new().str("fee", terms.fee_percent);
    match terms.until_hours {
        Some(hours) => lang.text_with("admin-cancellation", &args.num("hours", hours)),
        None => lang.text_with("admin-cancellation-off", &args),
    }
}
