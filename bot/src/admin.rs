//! `/admin …`: the site administrator's settings. Discord hides the command from members
//! without Manage Server (`default_member_permissions: "32"`), but a server owner can change
//! that per server, so the permission Discord sends with the interaction is checked here too.

use chrono::Utc;
use tollbooth_core::email::Email;
use tollbooth_core::messages::Args as TextArgs;
use tollbooth_core::money::{Country, Currency, Money, parse_non_negative};
use tollbooth_core::pay_per_use::billing::Month;
use tollbooth_core::pay_per_use::enforcement::Exemption;
use tollbooth_core::payments::method::{self, Method};
use tollbooth_core::pricing::Prices;
use tollbooth_core::site::{Division, DivisionId, Host, OverBudgetPolicy};
use tollbooth_core::store::{PriceSource, StoreError, Switches};

use crate::command::{Args, BadOption};
use crate::lang::Lang;
use crate::reply::Message;
use crate::{Bot, Caller, store_failed};

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

pub async fn run(bot: &Bot, caller: Caller, args: &Args) -> Message {
    let lang = caller.lang;
    if !caller.manages_guild {
        return Message::private(lang.text("admin-only"));
    }
    match apply(bot, caller, args).await {
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
