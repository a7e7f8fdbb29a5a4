//! `/admin …`: the site administrator's settings. Discord hides the command from members
//! without Manage Server (`default_member_permissions: "32"`), but a server owner can change
//! that per server, so the permission Discord sends with the interaction is checked here too.

use chrono::Utc;
use tollbooth_core::money::{Country, Currency, Money, parse_non_negative};
use tollbooth_core::pay_per_use::billing::Month;
use tollbooth_core::pay_per_use::enforcement::Exemption;
use tollbooth_core::payments::method::{self, Method};
use tollbooth_core::pricing::Prices;
use tollbooth_core::site::{Division, DivisionId, Host, HostEmail, OverBudgetPolicy};
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
        return Message::private(lang.pick(
            "Only members with the Manage Server permission may use /admin.",
            "Bare medlemmer med tillatelsen Administrer server kan bruke /admin.",
        ));
    }
    match apply(bot, caller, args).await {
        Ok(text) => Message::private(text),
        Err(Failure::Bad(bad)) => Message::private(bad.describe(lang)),
        // A refused value (a host in a division that does not exist) is the member's to fix.
        Err(Failure::Store(StoreError::Invalid(why))) => Message::private(why),
        Err(Failure::Store(e)) => store_failed(lang, &e),
    }
}

fn on_off(lang: Lang, on: bool) -> &'static str {
    match (lang, on) {
        (Lang::En, true) => "on",
        (Lang::En, false) => "off",
        (Lang::No, true) => "på",
        (Lang::No, false) => "av",
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
            format!("{}: {}", lang.pick("E-commerce", "Netthandel"), on_off(lang, on))
        }
        "feature" => {
            let on = args.bool("enabled")?;
            let feature = args.str("feature")?;
            let mut switches = switches(bot).await?;
            let name = match feature {
                "pay-per-use" => {
                    switches.pay_per_use_enabled = on;
                    lang.pick("Pay-per-use", "Betaling per bruk")
                }
                _ => {
                    switches.fee_based_enabled = on;
                    lang.pick("Fee-based training", "Kurs med avgift")
                }
            };
            store.set_switches(switches).await?;
            let mut text = format!("{name}: {}", on_off(lang, on));
            if on && !switches.ecommerce_enabled {
                text += lang.pick(
                    " (e-commerce itself is still off)",
                    " (netthandel er fortsatt slått av)",
                );
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
            format!("{}: {country}", lang.pick("Country", "Land"))
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
                lang.pick("none", "ingen").to_owned()
            } else {
                method::join(&offered)
            };
            match lang {
                Lang::En => format!("Payment methods offered in {}: {offered}", site.country),
                Lang::No => format!("Betalingsmåter som tilbys i {}: {offered}", site.country),
            }
        }
        "division" => {
            let id: DivisionId =
                args.str("id")?.parse().map_err(|e| BadOption::invalid("id", e))?;
            let name = args.str("name")?.to_owned();
            store.put_division(&Division { id: id.clone(), name: name.clone() }).await?;
            format!("{}: {id} ({name})", lang.pick("Division", "Avdeling"))
        }
        "host" => {
            let email: HostEmail =
                args.str("email")?.parse().map_err(|e| BadOption::invalid("email", e))?;
            let division = args
                .opt_str("division")
                .map(|d| d.parse::<DivisionId>().map_err(|e| BadOption::invalid("division", e)))
                .transpose()?;
            store.put_host(&Host { email: email.clone(), division: division.clone() }).await?;
            let division = division.map_or_else(|| "-".to_owned(), |d| d.to_string());
            format!("{}: {email} ({division})", lang.pick("Host", "Vert"))
        }
        "link" => {
            let member = args.user("member")?;
            let email: HostEmail =
                args.str("email")?.parse().map_err(|e| BadOption::invalid("email", e))?;
            store.link_discord_user(member, &email, caller.user_id).await?;
            match lang {
                Lang::En => format!("<@{member}> now acts as host {email}."),
                Lang::No => format!("<@{member}> opptrer nå som verten {email}."),
            }
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
            format!("{}: {division} {month}: {amount} {currency}", lang.pick("Budget", "Budsjett"))
        }
        "over-budget" => {
            let policy: OverBudgetPolicy =
                args.str("action")?.parse().map_err(|e| BadOption::invalid("action", e))?;
            store.set_over_budget(policy).await?;
            let what = match (lang, policy) {
                (Lang::En, OverBudgetPolicy::Warn) => {
                    "a session over its division's budget is warned about in the quote"
                }
                (Lang::En, OverBudgetPolicy::Block) => {
                    "paying for a session over its division's budget is refused"
                }
                (Lang::No, OverBudgetPolicy::Warn) => {
                    "en økt over avdelingens budsjett gir en advarsel i tilbudet"
                }
                (Lang::No, OverBudgetPolicy::Block) => {
                    "betaling for en økt over avdelingens budsjett avvises"
                }
            };
            format!("{}: {what}", lang.pick("Over budget", "Over budsjett"))
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
            format!(
                "{} {who}: {}",
                lang.pick("Exempt from paying before a start", "Unntatt fra å betale før start"),
                on_off(lang, on)
            )
        }
        other => return Err(BadOption::invalid(other, "unknown subcommand").into()),
    })
}

/// The methods named in `text`, each one that this server has a gateway for.
fn chosen(bot: &Bot, lang: Lang, text: &str) -> Result<Vec<Method>, BadOption> {
    let invalid = |why: String| BadOption::invalid("methods", why);
    let methods = method::parse_list(&text.to_ascii_lowercase()).map_err(invalid)?;
    if let Some(m) = methods.iter().find(|m| !bot.methods.contains(m)) {
        let configured = method::join(&bot.methods);
        return Err(invalid(match lang {
            Lang::En => {
                format!(
                    "names `{m}`, which is not configured on this server (configured: {configured})"
                )
            }
            Lang::No => {
                format!(
                    "nevner `{m}`, som ikke er satt opp på denne serveren (satt opp: {configured})"
                )
            }
        }));
    }
    if methods.is_empty() {
        return Err(invalid(
            lang.pick(
                "must name at least one method, or `all`",
                "må nevne minst én betalingsmåte, eller `all`",
            )
            .to_owned(),
        ));
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
    let cur = p.currency;
    match lang {
        Lang::En => format!(
            "Prices from now on: {} {cur} per person-minute, {} {cur} per teleconference minute.",
            p.person_minute, p.teleconference_minute
        ),
        Lang::No => format!(
            "Priser fra nå: {} {cur} per personminutt, {} {cur} per telefonminutt.",
            p.person_minute, p.teleconference_minute
        ),
    }
}
