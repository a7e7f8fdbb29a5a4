//! `/quote minutes computers [phones]`: the *Estimated session cost* with the site's prices,
//! the same figures as `tollbooth quote`, with *Change* (a form to adjust the plan and quote
//! again) and *Pay* (an order and an ephemeral pay-link button).

use chrono::{Duration, Utc};
use serenity::all::{
    ButtonStyle, ComponentInteraction, CreateActionRow, CreateButton, CreateInputText,
    CreateInteractionResponse, CreateModal, InputTextStyle, ModalInteraction,
};
use tollbooth_core::messages::Args as TextArgs;
use tollbooth_core::money::Money;
use tollbooth_core::pay_per_use::budget::{self, OverBudget};
use tollbooth_core::payments::order::{Binding, Order};
use tollbooth_core::pricing::{Estimate, SessionPlan};
use tollbooth_core::site::OverBudgetPolicy;
use tollbooth_core::store::StoreError;

use crate::command::{Args, BadOption, typed};
use crate::lang::Lang;
use crate::reply::{Message, Reply};
use crate::{Bot, Caller, store_failed};

/// Custom ids carry the plan, so a button works without any state kept between clicks:
/// `quote:pay:60:10:3`, `quote:change:60:10:3`; the form is `quote:form`.
const PAY: &str = "quote:pay";
const CHANGE: &str = "quote:change";
const FORM: &str = "quote:form";
const FIELDS: [&str; 3] = ["minutes", "computers", "phones"];

pub async fn run(bot: &Bot, caller: Caller, args: &Args) -> Message {
    let plan = (|| {
        let minutes = args.int("minutes")?;
        let computers = args.int("computers")?;
        let phones = args.opt_int("phones").unwrap_or(0);
        plan(caller.lang, minutes.into(), computers.into(), phones.into())
    })();
    match plan {
        Ok(plan) => quote(bot, caller, plan).await,
        Err(bad) => Message::private(bad.describe(caller.lang)),
    }
}

/// The domain's check, with the option it names.
pub fn plan(
    lang: Lang,
    minutes: i128,
    computers: i128,
    phones: i128,
) -> Result<SessionPlan, BadOption> {
    SessionPlan::new(minutes, computers, phones).map_err(|e| {
        let tollbooth_core::pricing::EstimateError::OutOfRange { name, min, max, got } = e;
        let args =
            TextArgs::new().str("field", name).str("min", min).str("max", max).str("got", got);
        BadOption::invalid(name, lang.text_with("plan-out-of-range", &args))
    })
}

async fn estimate(bot: &Bot, lang: Lang, plan: SessionPlan) -> Result<Estimate, Message> {
    let prices = bot.store.prices_at(Utc::now()).await.map_err(|e| store_failed(lang, &e))?;
    Estimate::new(plan, &prices).map_err(|e| Message::private(e.to_string()))
}

async fn quote(bot: &Bot, caller: Caller, plan: SessionPlan) -> Message {
    let lang = caller.lang;
    match estimate(bot, lang, plan).await {
        Ok(estimate) => with_budget_warning(bot, caller, &estimate, render(lang, &estimate))
            .await
            .buttons(vec![
                CreateButton::new(custom_id(CHANGE, plan))
                    .label(lang.text("button-change"))
                    .style(ButtonStyle::Secondary),
                CreateButton::new(custom_id(PAY, plan))
                    .label(lang.text("button-pay"))
                    .style(ButtonStyle::Success),
            ]),
        Err(message) => message,
    }
}

/// Adds a warning when the caller hosts for a division that this session would take over its
/// budget for the month, saying whether the site then refuses to let them pay.
async fn with_budget_warning(
    bot: &Bot,
    caller: Caller,
    estimate: &Estimate,
    message: Message,
) -> Message {
    let check = async {
        let policy = bot.store.site_settings().await?.over_budget;
        Ok::<_, StoreError>(over_budget_by(bot, caller, estimate).await?.map(|o| (o, policy)))
    };
    match check.await {
        Ok(Some((o, policy))) => {
            let args = TextArgs::new()
                .str("division", &o.division)
                .str("over", o.over)
                .str("currency", o.over.currency())
                .str("month", o.month);
            let mut message = message;
            message.text.push('\n');
            message.text.push_str(&caller.lang.text_with("quote-over-budget", &args));
            if policy == OverBudgetPolicy::Block {
                message.text.push(' ');
                message.text.push_str(&caller.lang.text("quote-over-budget-blocked"));
            }
            message
        }
        Ok(None) => message,
        Err(e) => {
            tracing::warn!(error = %e, "budget check failed; quote shown without it");
            message
        }
    }
}

async fn over_budget_by(
    bot: &Bot,
    caller: Caller,
    estimate: &Estimate,
) -> Result<Option<OverBudget>, StoreError> {
    let Some(host) = bot.store.linked_host(caller.user_id).await? else { return Ok(None) };
    budget::over_budget(bot.store.as_ref(), &host, estimate.cost.total, Utc::now()).await
}

/// Why *Pay* is refused for a session over its division's budget, with the figures.
fn over_budget_refusal(lang: Lang, o: &OverBudget, estimate: Money) -> String {
    format!("{} {}", lang.text("pay-refused-over-budget"), o.explain(lang, estimate))
}

/// The lines of `tollbooth quote`, in the member's language.
pub fn render(lang: Lang, e: &Estimate) -> Message {
    let c = &e.cost;
    let cur = c.currency;
    let p = &e.plan;
    let plan = TextArgs::new()
        .num("minutes", p.minutes)
        .num("computers", p.computers)
        .num("phones", p.phones);
    let priced = |l: &tollbooth_core::pricing::CostLine| {
        TextArgs::new()
            .str("minutes", l.minutes)
            .str("price", l.price_per_minute)
            .str("amount", l.amount)
            .str("currency", cur)
    };
    let total = TextArgs::new().str("amount", c.total).str("currency", cur);
    let text = format!(
        "**{}**\n{}\n{}\n{}\n**{}**",
        lang.text("estimated-cost"),
        lang.text_with("plan-summary", &plan),
        lang.text_with("quote-person", &priced(&c.person)),
        lang.text_with("quote-teleconference", &priced(&c.teleconference)),
        lang.text_with("quote-total", &total),
    );
    Message::public(text)
}

fn custom_id(action: &str, p: SessionPlan) -> String {
    format!("{action}:{}:{}:{}", p.minutes, p.computers, p.phones)
}

/// The plan in a button's custom id; `None` for ids that are not ours or were tampered with.
fn plan_in(custom_id: &str, action: &str) -> Option<SessionPlan> {
    let rest = custom_id.strip_prefix(action)?.strip_prefix(':')?;
    let mut numbers = rest.split(':').map(|n| n.parse::<i128>().ok());
    let (m, c, p) = (numbers.next()??, numbers.next()??, numbers.next()??);
    SessionPlan::new(m, c, p).ok()
}

pub async fn on_button(bot: &Bot, caller: Caller, component: &ComponentInteraction) -> Reply {
    let id = &component.data.custom_id;
    if let Some(plan) = plan_in(id, CHANGE) {
        return Reply::now(form(caller.lang, plan));
    }
    if let Some(plan) = plan_in(id, PAY) {
        let change_url = component.message.link();
        // Not bound to a meeting; the quote message identifies what was paid for.
        let message = change_url.rsplit('/').next().unwrap_or_default().to_owned();
        let quote = Binding::Quote { message };
        return Reply::now(pay(bot, caller, plan, quote, Some(change_url)).await.respond());
    }
    let text = caller.lang.text("button-invalid");
    Reply::now(Message::private(text).respond())
}

/// The *Change* form, filled in with the plan being changed.
fn form(lang: Lang, plan: SessionPlan) -> CreateInteractionResponse {
    let labels =
        [lang.text("form-minutes"), lang.text("label-computers"), lang.text("label-phones")];
    let values = [plan.minutes, plan.computers, plan.phones];
    let rows = FIELDS
        .iter()
        .zip(labels)
        .zip(values)
        .map(|((field, label), value)| {
            CreateActionRow::InputText(
                CreateInputText::new(InputTextStyle::Short, label, *field)
                    .value(value.to_string())
                    .min_length(1)
                    .max_length(6),
            )
        })
        .collect();
    CreateInteractionResponse::Modal(
        CreateModal::new(FORM, lang.text("form-title")).components(rows),
    )
}

/// The submitted *Change* form: the quote message is replaced by the new quote.
pub async fn on_form(bot: &Bot, caller: Caller, modal: &ModalInteraction) -> Reply {
    if modal.data.custom_id != FORM {
        let text = caller.lang.text("form-invalid");
        return Reply::now(Message::private(text).respond());
    }
    let field = |name: &str| -> Result<i128, BadOption> {
        let text = typed(modal, name);
        text.parse().map_err(|_| {
            let args = TextArgs::new().str("text", &text);
            BadOption::invalid(name, caller.lang.text_with("not-a-whole-number", &args))
        })
    };
    let plan = (|| plan(caller.lang, field("minutes")?, field("computers")?, field("phones")?))();
    match plan {
        Ok(plan) => Reply::now(quote(bot, caller, plan).await.update()),
        Err(bad) => Reply::now(Message::private(bad.describe(caller.lang)).respond()),
    }
}

/// *Pay*: an order for the host the member is linked to, answered with an ephemeral link
/// button to the pay page. The order fixes the amount, so later price changes do not move it.
/// `bound_to` is the meeting it pays a start of (`webex/…`), or the quote it came from, which
/// pays for the host's next start, whichever meeting it is (see `enforcement::binds`).
pub async fn pay(
    bot: &Bot,
    caller: Caller,
    plan: SessionPlan,
    bound_to: Binding,
    change_url: Option<String>,
) -> Message {
    let lang = caller.lang;
    let site = match bot.store.site_settings().await {
        Ok(site) => site,
        Err(e) => return store_failed(lang, &e),
    };
    if !(site.ecommerce_enabled && site.pay_per_use_enabled) {
        return Message::private(lang.text("pay-off"));
    }
    let host = match bot.store.linked_host(caller.user_id).await {
        Ok(Some(host)) => host,
        Ok(None) => return Message::private(lang.text("not-linked")),
        Err(e) => return store_failed(lang, &e),
    };
    let estimate = match estimate(bot, lang, plan).await {
        Ok(estimate) => estimate,
        Err(message) => return message,
    };
    if site.over_budget == OverBudgetPolicy::Block {
        match budget::over_budget(bot.store.as_ref(), &host, estimate.cost.total, Utc::now()).await
        {
            Ok(None) => {}
            Ok(Some(o)) => {
                return Message::private(over_budget_refusal(lang, &o, estimate.cost.total));
            }
            Err(e) => return store_failed(lang, &e),
        }
    }
    let order = Order::for_session(bound_to, host.to_string(), &estimate, site.prices, change_url)
        .with_headroom(bot.headroom_percent);
    if let Err(e) = bot.store.create_order(&order).await {
        return store_failed(lang, &e);
    }
    let token = bot.pay_links.sign(&order.id, Utc::now() + Duration::hours(bot.pay_link_hours));
    let url = bot.pay_url(&token, lang);
    let cur = order.amount.currency();
    let args = TextArgs::new()
        .str("amount", order.amount)
        .str("currency", cur)
        .str("estimate", estimate.cost.total)
        .str("headroom", bot.headroom_percent);
    Message::private(lang.text_with("pay-session", &args))
        .buttons(vec![CreateButton::new_link(url.as_str()).label(lang.text("pay-now"))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_ids_carry_a_valid_plan_only() {
        let plan = SessionPlan::new(60, 10, 3).unwrap();
        assert_eq!(custom_id(PAY, plan), "quote:pay:60:10:3");
        assert_eq!(plan_in("quote:pay:60:10:3", PAY), Some(plan));
        assert_eq!(plan_in("quote:pay:60:10:3", CHANGE), None);
        assert_eq!(plan_in("quote:pay:0:10:3", PAY), None);
        assert_eq!(plan_in("quote:pay:60:x:3", PAY), None);
        assert_eq!(plan_in("quote:pay:60", PAY), None);
    }
}
