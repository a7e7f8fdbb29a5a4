//! `/register session first_name last_name email` and `/registrations`: an attendee's
//! registrations for sessions with a fee. Everything is ephemeral: an attendee never sees
//! another attendee's data or pay link. Without the names, `/register` opens a form that asks
//! for them; its submission registers the same way. The `session` option suggests the
//! sessions open for registration as the attendee types.

use chrono::{Duration, Utc};
use serenity::all::{
    CommandInteraction, CreateActionRow, CreateAutocompleteResponse, CreateButton, CreateInputText,
    CreateInteractionResponse, CreateModal, InputTextStyle, ModalInteraction,
};
use tollbooth_core::fee_based::codes::{self, PromotionCode};
use tollbooth_core::fee_based::refunds;
use tollbooth_core::fee_based::registration::{
    self, Registration, RegistrationState, ScheduledSession,
};
use tollbooth_core::fee_based::service::{self, CodeApplied, NotApplied};
use tollbooth_core::messages::Args as TextArgs;
use tollbooth_core::payments::order::Order;
use tollbooth_core::payments::payment::PaymentId;
use tollbooth_core::platform::PlatformKind;
use tollbooth_core::store::{Registered, StoreError};
use tollbooth_core::time;

use crate::command::{Args, BadOption, form_field};
use crate::lang::Lang;
use crate::reply::{Message, Reply};
use crate::{Bot, Caller, store_failed};

/// The form's custom id: `register:form:zoom/85746065432`, naming the session it registers for.
const FORM: &str = "register:form:";
/// The attendee's fields, in the form as in the command's options.
const FIELDS: [&str; 3] = ["first_name", "last_name", "email"];
/// Discord shows at most 25 suggestions, each named in at most 100 characters.
const SUGGESTIONS: u32 = 25;
const SUGGESTION_CHARS: usize = 100;

/// What registering needs, from the command's options or from its form.
struct Given {
    session: String,
    first_name: String,
    last_name: String,
    email: String,
    /// A promotion code, as typed.
    code: Option<String>,
}

/// The form's field for an optional promotion code, named as the command's option.
const CODE: &str = "code";

pub async fn register(bot: &Bot, caller: Caller, args: &Args) -> Reply {
    let named = match args.str("session") {
        Ok(named) => named,
        Err(b) => return Reply::now(bad(caller.lang, b).respond()),
    };
    let [first_name, last_name, email] = FIELDS.map(|f| args.opt_str(f));
    let code = args.opt_str(CODE);
    match (first_name, last_name, email) {
        (Some(first_name), Some(last_name), Some(email)) => complete(
            bot,
            caller,
            Given {
                session: named.to_owned(),
                first_name: first_name.to_owned(),
                last_name: last_name.to_owned(),
                email: email.to_owned(),
                code: code.map(str::to_owned),
            },
        ),
        given => Reply::now(form(bot, caller.lang, named, [given.0, given.1, given.2], code).await),
    }
}

/// The form asking for the attendee's names, filled in with what they gave; for a session
/// found first, so that a wrong one is said before anything is typed.
async fn form(
    bot: &Bot,
    lang: Lang,
    named: &str,
    given: [Option<&str>; 3],
    code: Option<&str>,
) -> CreateInteractionResponse {
    let session = match registration_on(bot, lang).await {
        Ok(()) => find(bot, lang, named).await,
        Err(message) => Err(message),
    };
    let session = match session {
        Ok(session) => session,
        Err(message) => return message.respond(),
    };
    let labels = [
        lang.text("register-form-first-name"),
        lang.text("register-form-last-name"),
        lang.text("register-form-email"),
    ];
    let lengths = [(1, 100), (1, 100), (3, 254)];
    let mut rows: Vec<CreateActionRow> = FIELDS
        .iter()
        .zip(labels)
        .zip(lengths)
        .zip(given)
        .map(|(((field, label), (min, max)), value)| {
            let input = CreateInputText::new(InputTextStyle::Short, label, *field)
                .min_length(min)
                .max_length(max);
            CreateActionRow::InputText(match value {
                Some(value) => input.value(value),
                None => input,
            })
        })
        .collect();
    let (min, max) = codes::CODE_CHARS;
    let code_input =
        CreateInputText::new(InputTextStyle::Short, lang.text("register-form-code"), CODE)
            .required(false)
            .min_length(u16::try_from(min).unwrap_or(u16::MAX))
            .max_length(u16::try_from(max).unwrap_or(u16::MAX));
    rows.push(CreateActionRow::InputText(match code {
        Some(code) => code_input.value(code),
        None => code_input,
    }));
    let title = lang.text("register-form-title");
    CreateInteractionResponse::Modal(
        CreateModal::new(format!("{FORM}{}", session.key()), title).components(rows),
    )
}

/// Whether a submitted form is the registration form.
pub fn is_form(custom_id: &str) -> bool {
    custom_id.starts_with(FORM)
}

/// The submitted form: registers as `/register` with the names does.
pub fn on_form(bot: &Bot, caller: Caller, modal: &ModalInteraction) -> Reply {
    let session = modal.data.custom_id.strip_prefix(FORM).unwrap_or_default().to_owned();
    let [first_name, last_name, email] = FIELDS.map(|f| form_field(modal, f));
    let code = Some(form_field(modal, CODE)).filter(|c| !c.is_empty());
    complete(bot, caller, Given { session, first_name, last_name, email, code })
}

/// The sessions open for registration whose title or id contains what the attendee typed,
/// from one query: Discord waits 3 seconds for them.
pub async fn suggest(bot: &Bot, command: &CommandInteraction) -> Reply {
    let typed = command.data.autocomplete().map(|o| o.value.to_owned()).unwrap_or_default();
    let found = bot.store.open_for_registration(&typed, Utc::now(), SUGGESTIONS).await;
    let sessions = found.unwrap_or_else(|error| {
        tracing::warn!(%error, "no suggestions: the store failed");
        Vec::new()
    });
    let choices = sessions.iter().fold(CreateAutocompleteResponse::new(), |choices, s| {
        let name = format!("{} ({} UTC)", s.title, s.starts_at.format("%Y-%m-%d %H:%M"));
        let name: String = name.chars().take(SUGGESTION_CHARS).collect();
        choices.add_string_choice(name, s.key())
    });
    Reply::now(CreateInteractionResponse::Autocomplete(choices))
}

fn complete(bot: &Bot, caller: Caller, given: Given) -> Reply {
    let bot = bot.clone();
    Reply::Later {
        ephemeral: true,
        work: Box::pin(async move {
            run_register(&bot, caller, &given).await.unwrap_or_else(|message| message)
        }),
    }
}

/// `/registrations list | cancel | refund`; `interaction` is the interaction's id, a refund's
/// request id when none is given.
pub fn registrations(bot: &Bot, caller: Caller, args: &Args, interaction: u64) -> Reply {
    let (bot, args) = (bot.clone(), args.clone());
    Reply::Later {
        ephemeral: true,
        work: Box::pin(async move {
            match args.subcommand.as_deref() {
                Some("cancel") => crate::refunds::cancel(&bot, caller, &args).await,
                Some("refund") => crate::refunds::refund(&bot, caller, &args, interaction).await,
                _ => list(&bot, caller).await,
            }
        }),
    }
}

fn bad(lang: Lang, bad: BadOption) -> Message {
    Message::private(bad.describe(lang))
}

/// The session an attendee names: `webex/…`, `zoom/…`, or a meeting id that only one
/// platform has.
async fn find(bot: &Bot, lang: Lang, named: &str) -> Result<ScheduledSession, Message> {
    let (platform, meeting) = match named.split_once('/') {
        Some((p, m)) if p.parse::<PlatformKind>().is_ok() => (p.parse().ok(), m),
        _ => (None, named),
    };
    let mut found =
        bot.store.scheduled_by_meeting(meeting).await.map_err(|e| store_failed(lang, &e))?;
    found.retain(|s| platform.is_none_or(|p| s.platform == p) && s.fee.is_some());
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => {
            let args = TextArgs::new().str("named", named);
            Err(Message::private(lang.text_with("no-fee-session", &args)))
        }
        _ => {
            let args = TextArgs::new().str("named", named).str("meeting", meeting);
            Err(Message::private(lang.text_with("ambiguous-session", &args)))
        }
    }
}

fn closed_text(lang: Lang, session: &ScheduledSession, closed: registration::Closed) -> Message {
    let args = TextArgs::new().str("title", &session.title).str("why", closed.said(lang));
    Message::private(lang.text_with("cannot-register", &args))
}

/// The platform knows registrants by e-mail, so an address someone else registered with would
/// make their seat and join link this attendee's.
fn email_taken(lang: Lang, session: &ScheduledSession, email: &str) -> Message {
    let args = TextArgs::new().str("title", &session.title).str("email", email);
    Message::private(lang.text_with("email-taken", &args))
}

async fn registration_on(bot: &Bot, lang: Lang) -> Result<(), Message> {
    let site = bot.store.site_settings().await.map_err(|e| store_failed(lang, &e))?;
    if !(site.ecommerce_enabled && site.fee_based_enabled) {
        return Err(Message::private(lang.text("registration-off")));
    }
    Ok(())
}

async fn run_register(bot: &Bot, caller: Caller, given: &Given) -> Result<Message, Message> {
    let lang = caller.lang;
    registration_on(bot, lang).await?;
    let attendee = registration::attendee(&given.first_name, &given.last_name, &given.email)
        .map_err(|why| bad(lang, BadOption::invalid("email", why.said(lang))))?;
    let code = given
        .code
        .as_deref()
        .map(str::parse::<PromotionCode>)
        .transpose()
        .map_err(|e| bad(lang, BadOption::invalid(CODE, e.said(lang))))?;
    let session = find(bot, lang, &given.session).await?;
    let taken = bot
        .store
        .seats_taken(session.platform, &session.meeting_id)
        .await
        .map_err(|e| store_failed(lang, &e))?;
    let fee = session.open_for(taken, Utc::now()).map_err(|c| closed_text(lang, &session, c))?;
    // What the attendee pays: the fee, with VAT when the site enters prices without it.
    let charged = bot.vat.charge_for(fee.amount);
    let order = Order::for_registration(session.key(), attendee.email.clone(), charged);
    let new =
        Registration::new(&session, caller.user_id, attendee, order.id.clone()).in_language(lang);
    let registration = match bot.store.register(&new, &order).await {
        Ok(Registered::New(r) | Registered::Existing(r)) => r,
        Err(StoreError::EmailTaken { email, .. }) => {
            return Err(email_taken(lang, &session, &email));
        }
        Err(e) => return Err(store_failed(lang, &e)),
    };
    if registration.state != RegistrationState::AwaitingPayment {
        let args = TextArgs::new().str("title", &session.title);
        return Ok(Message::private(lang.text_with("already-registered", &args)));
    }
    let at = time::markup(session.starts_at);
    if let Some(code) = &code {
        let applied = service::apply_code(
            bot.store.as_ref(),
            &registration.order_id,
            code,
            Utc::now(),
            bot.reach,
        )
        .await
        .map_err(|e| store_failed(lang, &e))?;
        match applied {
            Ok(CodeApplied::Admitted(_)) => {
                let args =
                    TextArgs::new().str("code", code).str("title", &session.title).str("at", at);
                return Ok(Message::private(lang.text_with("register-code-admitted", &args)));
            }
            Ok(CodeApplied::ToPay(_)) => {}
            // Registering again with the code the order has already.
            Err(NotApplied::HasCode(applied)) if applied == *code => {}
            Err(why) => {
                let args = TextArgs::new().str("why", why.said(lang));
                return Err(Message::private(lang.text_with("register-code-refused", &args)));
            }
        }
    }
    // What the order asks for now, with any code applied here or on the pay page.
    let order = bot
        .store
        .order(&registration.order_id)
        .await
        .map_err(|e| store_failed(lang, &e))?
        .ok_or_else(|| {
            store_failed(lang, &StoreError::NotFound(registration.order_id.to_string()))
        })?;
    let priced = service::priced(&order);
    let token = bot
        .pay_links
        .sign(&registration.order_id, Utc::now() + Duration::hours(bot.pay_link_hours));
    let url = bot.pay_url(&token, lang);
    let currency = priced.total.currency();
    let text = match &order.discount {
        Some(discount) => {
            let args = TextArgs::new()
                .str("total", priced.total)
                .str("fee", priced.fee)
                .str("discount", priced.discount)
                .str("code", &discount.code)
                .str("currency", currency)
                .str("title", &session.title)
                .str("at", at);
            lang.text_with("register-code-pay", &args)
        }
        None => {
            let args = TextArgs::new()
                .str("amount", priced.total)
                .str("currency", currency)
                .str("title", &session.title)
                .str("at", at);
            lang.text_with("pay-fee", &args)
        }
    };
    Ok(Message::private(text)
        .buttons(vec![CreateButton::new_link(url.as_str()).label(lang.text("pay-now"))]))
}

fn state_text(lang: Lang, state: RegistrationState) -> String {
    match state {
        RegistrationState::AwaitingPayment => lang.text("registration-awaiting-payment"),
        RegistrationState::Paid => lang.text("registration-paid"),
        RegistrationState::Approved => lang.text("registration-approved"),
        RegistrationState::Refunded => lang.text("registration-refunded"),
        RegistrationState::Cancelled => lang.text("registration-cancelled-state"),
    }
}

async fn list(bot: &Bot, caller: Caller) -> Message {
    let lang = caller.lang;
    let found = match bot.store.registrations_of(caller.user_id).await {
        Ok(found) => found,
        Err(e) => return store_failed(lang, &e),
    };
    if found.is_empty() {
        return Message::private(lang.text("no-registrations"));
    }
    let mut lines = Vec::new();
    for (r, s) in &found {
        // What was refunded so far, as decided: the figure every refund answer gave.
        let refunds = match r.payment_id.as_deref().map(str::parse::<PaymentId>) {
            Some(Ok(paid)) => match bot.store.refunds_of(&paid).await {
                Ok(refunds) => refunds,
                Err(e) => return store_failed(lang, &e),
            },
            _ => Vec::new(),
        };
        lines.push({
            let mut line = format!(
                "• **{}** ({}, {}): {}",
                s.title,
                s.key(),
                time::markup(s.starts_at),
                state_text(lang, r.state)
            );
            if r.state == RegistrationState::Approved {
                line.push_str(&format!(" — {}", r.join_url.as_deref().unwrap_or(&s.join_url)));
            }
            if let Some(reason) =
                r.reason.as_deref().filter(|_| r.state == RegistrationState::Refunded)
            {
                line.push_str(&format!(" ({reason})"));
            }
            if let Some(given) = refunds::given_back(&refunds) {
                let args = TextArgs::new().str("amount", given).str("currency", given.currency());
                line.push_str(&format!(
                    " — {}",
                    lang.text_with("registrations-refunded-so-far", &args)
                ));
            }
            line
        });
    }
    Message::private(lines.join("\n"))
}
