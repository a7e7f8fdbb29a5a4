//! `/register session first_name last_name email` and `/registrations`: an attendee's
//! registrations for sessions with a fee. Everything is ephemeral: an attendee never sees
//! another attendee's data or pay link. Without the names, `/register` opens a form that asks
//! for them; its submission registers the same way. The `session` option suggests the
//! sessions open for registration as the attendee types. A full session offers its waiting
//! list (a button under the answer); `/registrations` says the place in line, with a button
//! to leave it. `/register seats:N` (N > 1) opens a form with one attendee a line, the payer's
//! seat first, and registers them as one group with one order.

use chrono::{Duration, Utc};
use serenity::all::{
    CommandInteraction, CreateActionRow, CreateAutocompleteResponse, CreateButton, CreateInputText,
    CreateInteractionResponse, CreateModal, InputTextStyle, ModalInteraction,
};
use tollbooth_core::fee_based::codes::{self, PromotionCode};
use tollbooth_core::fee_based::group;
use tollbooth_core::fee_based::refunds;
use tollbooth_core::fee_based::registration::{
    Closed, Registration, RegistrationId, RegistrationState, ScheduledSession,
};
use tollbooth_core::fee_based::service::{self, Asking, Left, Registering};
use tollbooth_core::fee_based::waiting::{self, Line};
use tollbooth_core::messages::Args as TextArgs;
use tollbooth_core::payments::payment::PaymentId;
use tollbooth_core::platform::control::Attendee;
use tollbooth_core::store::StoreError;
use tollbooth_core::time;

use crate::command::{Args, BadOption, form_field};
use crate::lang::Lang;
use crate::reply::{Message, Reply};
use crate::{Bot, Caller, store_failed};

/// The form's custom id: `register:form:zoom/85746065432`, naming the session it registers for.
const FORM: &str = "register:form:";
/// A group's form: `register:group:3:zoom/85746065432`, naming the seats and the session.
const GROUP_FORM: &str = "register:group:";
/// The group form's field: one attendee a line.
const ATTENDEES: &str = "attendees";
/// Discord's longest text input: room for 25 lines of name and address.
const ATTENDEES_CHARS: u16 = 4000;
/// The waiting list's buttons: `waiting:join:reg_…` and `waiting:leave:reg_…`, naming the
/// registration (the server checks it is the presser's).
const JOIN: &str = "waiting:join:";
const LEAVE: &str = "waiting:leave:";
/// Discord shows at most 5 buttons in a row, and 5 rows.
const LEAVE_BUTTONS: usize = 5;
/// Discord cuts a button's label at 80 characters.
const BUTTON_LABEL_CHARS: usize = 80;
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
    /// A group's other attendees (seats 2 and on).
    guests: Vec<Attendee>,
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
    match args.opt_int("seats") {
        Some(seats) if seats < 1 => {
            let why = caller.lang.text("group-seats-at-least-one");
            return Reply::now(bad(caller.lang, BadOption::invalid("seats", why)).respond());
        }
        Some(seats) if seats > 1 => {
            let payer = match (first_name, last_name, email) {
                (Some(f), Some(l), Some(e)) => Some(format!("{f} {l} <{e}>")),
                _ => None,
            };
            return Reply::now(group_form(bot, caller.lang, named, seats, payer, code).await);
        }
        _ => {}
    }
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
                guests: Vec::new(),
            },
        ),
        given => Reply::now(form(bot, caller.lang, named, [given.0, given.1, given.2], code).await),
    }
}

/// The session a form registers for, or the answer that says why there is none.
async fn session_to_register(
    bot: &Bot,
    lang: Lang,
    named: &str,
) -> Result<ScheduledSession, CreateInteractionResponse> {
    match service::session_to_register(bot.store.as_ref(), named).await {
        Ok(Ok(session)) => Ok(session),
        Ok(Err(refused)) => Err(said(bot, lang, refused).respond()),
        Err(e) => Err(store_failed(lang, &e).respond()),
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
    let session = match session_to_register(bot, lang, named).await {
        Ok(session) => session,
        Err(answer) => return answer,
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
    rows.push(code_row(lang, code));
    let title = lang.text("register-form-title");
    CreateInteractionResponse::Modal(
        CreateModal::new(format!("{FORM}{}", session.key()), title).components(rows),
    )
}

/// The forms' optional promotion code field, filled in with the one given.
fn code_row(lang: Lang, code: Option<&str>) -> CreateActionRow {
    let (min, max) = codes::CODE_CHARS;
    let code_input =
        CreateInputText::new(InputTextStyle::Short, lang.text("register-form-code"), CODE)
            .required(false)
            .min_length(u16::try_from(min).unwrap_or(u16::MAX))
            .max_length(u16::try_from(max).unwrap_or(u16::MAX));
    CreateActionRow::InputText(match code {
        Some(code) => code_input.value(code),
        None => code_input,
    })
}

/// The form asking for a group's `seats` attendees, one a line (a Discord form holds at most
/// five fields, so one paragraph rather than a field per attendee), the payer's line filled
/// in when the command named them; for a session found first.
async fn group_form(
    bot: &Bot,
    lang: Lang,
    named: &str,
    seats: i64,
    payer: Option<String>,
    code: Option<&str>,
) -> CreateInteractionResponse {
    let session = match session_to_register(bot, lang, named).await {
        Ok(session) => session,
        Err(answer) => return answer,
    };
    // Refused before anyone types the attendees; the seats left are counted on submitting.
    let asked = u32::try_from(seats).unwrap_or(u32::MAX);
    if let Err(why) = group::check_seats(asked, bot.max_seats, None) {
        return said(bot, lang, Registering::TooManySeats { session, why }).respond();
    }
    let label = lang.text_with("register-form-attendees", &TextArgs::new().num("seats", seats));
    let label: String = label.chars().take(FORM_LABEL_CHARS).collect();
    let input = CreateInputText::new(InputTextStyle::Paragraph, label, ATTENDEES)
        .placeholder(lang.text("register-form-attendees-example"))
        .min_length(3)
        .max_length(ATTENDEES_CHARS);
    let rows = vec![
        CreateActionRow::InputText(match payer {
            Some(payer) => input.value(payer),
            None => input,
        }),
        code_row(lang, code),
    ];
    let title = lang.text("register-form-title");
    let id = format!("{GROUP_FORM}{seats}:{}", session.key());
    CreateInteractionResponse::Modal(CreateModal::new(id, title).components(rows))
}

/// Discord cuts a form field's label at 45 characters.
const FORM_LABEL_CHARS: usize = 45;

/// Whether a submitted form is one of the registration forms.
pub fn is_form(custom_id: &str) -> bool {
    custom_id.starts_with(FORM) || custom_id.starts_with(GROUP_FORM)
}

/// The submitted form: registers as `/register` with the names does; a group's registers its
/// attendees, the first line being the payer's seat.
pub fn on_form(bot: &Bot, caller: Caller, modal: &ModalInteraction) -> Reply {
    let code = Some(form_field(modal, CODE)).filter(|c| !c.is_empty());
    if let Some(group) = modal.data.custom_id.strip_prefix(GROUP_FORM) {
        let (seats, session) = group.split_once(':').unwrap_or_default();
        return match group_given(caller.lang, seats, session, &form_field(modal, ATTENDEES)) {
            Ok(given) => complete(bot, caller, Given { code, ..given }),
            Err(said) => Reply::now(said.respond()),
        };
    }
    let session = modal.data.custom_id.strip_prefix(FORM).unwrap_or_default().to_owned();
    let [first_name, last_name, email] = FIELDS.map(|f| form_field(modal, f));
    complete(bot, caller, Given { session, first_name, last_name, email, code, guests: Vec::new() })
}

/// A group's registration from its form: as many attendee lines as seats asked for, each
/// read by [`group::attendees`]; else what is wrong, naming the line.
fn group_given(lang: Lang, seats: &str, session: &str, typed: &str) -> Result<Given, Message> {
    let mut attendees = group::attendees(typed).map_err(|bad| Message::private(bad.said(lang)))?;
    if seats.parse::<usize>().ok() != Some(attendees.len()) {
        let args = TextArgs::new().str("seats", seats).num("lines", attendees.len());
        return Err(Message::private(lang.text_with("group-line-count", &args)));
    }
    let payer = attendees.remove(0);
    Ok(Given {
        session: session.to_owned(),
        first_name: payer.first_name,
        last_name: payer.last_name,
        email: payer.email,
        code: None,
        guests: attendees,
    })
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
        work: Box::pin(async move { run_register(&bot, caller, &given).await }),
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

/// What `/register` decided, said to the attendee: the pay link, or why not.
fn said(bot: &Bot, lang: Lang, decided: Registering) -> Message {
    let text = match decided {
        Registering::Off => lang.text("registration-off"),
        Registering::Unknown { named } => {
            lang.text_with("no-fee-session", &TextArgs::new().str("named", named))
        }
        Registering::Ambiguous { named, meeting } => {
            let args = TextArgs::new().str("named", named).str("meeting", meeting);
            lang.text_with("ambiguous-session", &args)
        }
        Registering::BadAttendee(why) => {
            return bad(lang, BadOption::invalid("email", why.said(lang)));
        }
        Registering::TooManySeats { session, why } => {
            let args = TextArgs::new().str("title", &session.title).str("why", why.said(lang));
            lang.text_with("cannot-register", &args)
        }
        Registering::Closed { session, why } => {
            let args = TextArgs::new().str("title", &session.title).str("why", why.said(lang));
            lang.text_with("cannot-register", &args)
        }
        // The platform knows registrants by e-mail, so an address someone else registered
        // with would make their seat and join link this attendee's.
        Registering::EmailTaken { session, email } => {
            let args = TextArgs::new().str("title", &session.title).str("email", email);
            lang.text_with("email-taken", &args)
        }
        Registering::Already { session } => {
            lang.text_with("already-registered", &TextArgs::new().str("title", &session.title))
        }
        Registering::Full { session, registration } => {
            let why = Closed::Full.said(lang);
            let args = TextArgs::new().str("title", &session.title).str("why", why);
            let text = format!(
                "{} {}",
                lang.text_with("cannot-register", &args),
                lang.text("waiting-list-join")
            );
            let join = CreateButton::new(format!("{JOIN}{}", registration.id))
                .label(lang.text("button-join-waiting-list"));
            return Message::private(text).buttons(vec![join]);
        }
        Registering::InLine { session, place } => {
            let args = TextArgs::new().str("title", &session.title).num("place", place);
            lang.text_with("in-line", &args)
        }
        Registering::Pay { session, registration, priced, code, held_until } => {
            let until =
                held_until.unwrap_or_else(|| Utc::now() + Duration::hours(bot.pay_link_hours));
            let token = bot.pay_links.sign(&registration.order_id, until);
            let url = bot.pay_url(&token, lang);
            let args = TextArgs::new()
                .str("amount", priced.total)
                .str("total", priced.total)
                .str("fee", priced.fee)
                .str("discount", priced.discount)
                .str("currency", priced.total.currency())
                .str("title", &session.title)
                .str("at", time::markup(session.starts_at))
                .str("until", time::markup(until));
            let seats = registration.seats;
            let mut text = match (held_until, code) {
                (Some(_), _) => lang.text_with("pay-offered", &args),
                (None, Some(code)) => lang.text_with("register-code-pay", &args.str("code", code)),
                (None, None) => lang.text_with("pay-fee", &args),
            };
            if seats > 1 {
                text.push(' ');
                text.push_str(&lang.text_with("group-pay", &TextArgs::new().num("seats", seats)));
            }
            let pay = CreateButton::new_link(url.as_str()).label(lang.text("pay-now"));
            return Message::private(text).buttons(vec![pay]);
        }
        Registering::CodeRefused(why) => {
            lang.text_with("register-code-refused", &TextArgs::new().str("why", why.said(lang)))
        }
        Registering::AdmittedByCode { session, code } => {
            let args = TextArgs::new()
                .str("code", code)
                .str("title", &session.title)
                .str("at", time::markup(session.starts_at));
            lang.text_with("register-code-admitted", &args)
        }
    };
    Message::private(text)
}

async fn run_register(bot: &Bot, caller: Caller, given: &Given) -> Message {
    let lang = caller.lang;
    let code = match given.code.as_deref().map(str::parse::<PromotionCode>).transpose() {
        Ok(code) => code,
        Err(e) => return bad(lang, BadOption::invalid(CODE, e.said(lang))),
    };
    let asking = Asking {
        session: given.session.clone(),
        first_name: given.first_name.clone(),
        last_name: given.last_name.clone(),
        email: given.email.clone(),
        code,
        discord_user_id: caller.user_id,
        lang: caller.lang,
        guests: given.guests.clone(),
        max_seats: bot.max_seats,
    };
    match service::register(bot.store.as_ref(), &asking, &bot.vat, bot.reach, Utc::now()).await {
        Ok(decided) => said(bot, caller.lang, decided),
        Err(e) => store_failed(caller.lang, &e),
    }
}

/// Whether a pressed button is one of the waiting list's.
pub fn is_waiting_button(custom_id: &str) -> bool {
    custom_id.starts_with(JOIN) || custom_id.starts_with(LEAVE)
}

/// *Join the waiting list* or *Leave the list*, pressed by `caller`.
pub fn on_button(bot: &Bot, caller: Caller, custom_id: &str) -> Reply {
    let bot = bot.clone();
    let custom_id = custom_id.to_owned();
    Reply::Later {
        ephemeral: true,
        work: Box::pin(async move {
            let lang = caller.lang;
            let (join, id) = match custom_id.strip_prefix(JOIN) {
                Some(id) => (true, id),
                None => (false, custom_id.strip_prefix(LEAVE).unwrap_or_default()),
            };
            let Ok(id) = id.parse::<RegistrationId>() else {
                return Message::private(lang.text("button-invalid"));
            };
            let (store, now, user) = (bot.store.as_ref(), Utc::now(), caller.user_id);
            if join {
                return match service::join_waiting_list(store, &id, user, now, &bot.offers).await {
                    Ok(Some(decided)) => said(&bot, lang, decided),
                    Ok(None) => Message::private(lang.text("not-in-line")),
                    Err(e) => store_failed(lang, &e),
                };
            }
            match service::leave_waiting_list(store, &id, user, now, &bot.offers).await {
                Ok(Left::Done { title }) => Message::private(
                    lang.text_with("left-line", &TextArgs::new().str("title", title)),
                ),
                Ok(Left::NotInLine) => Message::private(lang.text("not-in-line")),
                Err(e) => store_failed(lang, &e),
            }
        }),
    }
}

/// A registration's state as the attendee reads it: unpaid ones say where they are in line.
async fn state_text(bot: &Bot, lang: Lang, r: &Registration) -> Result<String, StoreError> {
    Ok(match r.state {
        RegistrationState::AwaitingPayment => match waiting::line(r, Utc::now()) {
            Line::Waiting => {
                let place = bot.store.place_in_line(r).await?;
                lang.text_with("registration-waiting", &TextArgs::new().num("place", place))
            }
            Line::Offered { until } => lang.text_with(
                "registration-offered",
                &TextArgs::new().str("until", time::markup(until)),
            ),
            Line::Out | Line::Lapsed => lang.text("registration-awaiting-payment"),
        },
        state => state_label(lang, state),
    })
}

fn state_label(lang: Lang, state: RegistrationState) -> String {
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
    let mut leave = Vec::new();
    for (r, s) in &found {
        let state = match state_text(bot, lang, r).await {
            Ok(state) => state,
            Err(e) => return store_failed(lang, &e),
        };
        let mut line =
            format!("• **{}** ({}, {}): {state}", s.title, s.key(), time::markup(s.starts_at));
        if r.seats > 1 {
            let seats =
                lang.text_with("registrations-seats", &TextArgs::new().num("seats", r.seats));
            line.push_str(&format!(" — {seats}"));
        }
        if r.state == RegistrationState::Approved {
            line.push_str(&format!(" — {}", r.join_url.as_deref().unwrap_or(&s.join_url)));
        }
        if let Some(reason) = r.reason.as_deref().filter(|_| r.state == RegistrationState::Refunded)
        {
            line.push_str(&format!(" ({reason})"));
        }
        // What was refunded so far, as decided: the figure every refund answer gave.
        let refunds = match r.payment_id.as_deref().map(str::parse::<PaymentId>) {
            Some(Ok(paid)) => match bot.store.refunds_of(&paid).await {
                Ok(refunds) => refunds,
                Err(e) => return store_failed(lang, &e),
            },
            _ => Vec::new(),
        };
        if let Some(given) = refunds::given_back(&refunds) {
            let args = TextArgs::new().str("amount", given).str("currency", given.currency());
            line.push_str(&format!(
                " — {}",
                lang.text_with("registrations-refunded-so-far", &args)
            ));
        }
        lines.push(line);
        if waiting::line(r, Utc::now()) != Line::Out && leave.len() < LEAVE_BUTTONS {
            let label = lang
                .text_with("button-leave-waiting-list", &TextArgs::new().str("title", &s.title));
            let label: String = label.chars().take(BUTTON_LABEL_CHARS).collect();
            leave.push(CreateButton::new(format!("{LEAVE}{}", r.id)).label(label));
        }
    }
    let message = Message::private(lines.join("\n"));
    if leave.is_empty() { message } else { message.buttons(leave) }
}
