//! `/registrations cancel session` (an attendee cancels their paid registration) and
//! `/registrations refund registration amount|seat [request]` (the session's host or a site
//! administrator gives back part or all of a registration's payment, or one guest's seat of a
//! group alone). The decisions, and the
//! permission check, are `fee_based::service`'s; this parses and renders.

use chrono::Utc;
use tollbooth_core::fee_based::refunds::{Asker, RefundRecord};
use tollbooth_core::fee_based::registration::RegistrationId;
use tollbooth_core::fee_based::service::{self, RefundOutcome, Refunds};
use tollbooth_core::messages::Args as TextArgs;
use tollbooth_core::money::Money;
use tollbooth_core::payments::payment::RequestId;
use tollbooth_core::store::StoreError;

use crate::command::{Args, BadOption};
use crate::reply::Message;
use crate::{Bot, Caller, store_failed};

fn refunds(bot: &Bot) -> Refunds {
    Refunds { partial: bot.partial_refunds.clone(), offers: bot.offers.clone() }
}

fn bad(caller: Caller, bad: BadOption) -> Message {
    Message::private(bad.describe(caller.lang))
}

/// The attendee cancels their paid registration for the session they name (`webex/…`,
/// `zoom/…` or the meeting id).
pub async fn cancel(bot: &Bot, caller: Caller, args: &Args) -> Message {
    let lang = caller.lang;
    let named = match args.str("session") {
        Ok(named) => named,
        Err(b) => return bad(caller, b),
    };
    let (mine, site) =
        match (bot.store.registrations_of(caller.user_id).await, bot.store.site_settings().await) {
            (Ok(mine), Ok(site)) => (mine, site),
            (Err(e), _) | (_, Err(e)) => return store_failed(lang, &e),
        };
    let found = mine
        .into_iter()
        .find(|(r, s)| r.state.holds_seat() && (s.key() == named || s.meeting_id == named));
    let Some((registration, session)) = found else {
        let args = TextArgs::new().str("named", named);
        return Message::private(lang.text_with("registrations-none-paid", &args));
    };
    let outcome = service::cancel_registration(
        bot.store.as_ref(),
        &refunds(bot),
        &registration.id,
        caller.user_id,
        &site.cancellation,
        Utc::now(),
    )
    .await;
    answer(caller, outcome, |refund, _, _| {
        let args = TextArgs::new()
            .str("title", &session.title)
            .str("amount", refund.amount)
            .str("fee", refund.fee)
            .str("currency", refund.amount.currency());
        lang.text_with("registrations-cancelled", &args)
    })
}

/// What a host's refund gives back.
enum GiveBack<'a> {
    /// An amount, as typed.
    Amount(&'a str),
    /// One guest's seat of a group, alone: its share.
    Seat(u32),
}

/// The host or an administrator refunds `amount` of a registration, once per request id: the
/// one given, or this interaction's, so that Discord delivering it twice refunds once.
pub async fn refund(bot: &Bot, caller: Caller, args: &Args, interaction: u64) -> Message {
    let lang = caller.lang;
    let parsed = (|| {
        let id: RegistrationId =
            args.str("registration")?.parse().map_err(|e| BadOption::invalid("registration", e))?;
        let request: RequestId = match args.opt_str("request") {
            Some(given) => given.parse().map_err(|e| BadOption::invalid("request", e))?,
            None => {
                interaction.to_string().parse().map_err(|e| BadOption::invalid("request", e))?
            }
        };
        // What to give back: an amount as typed, or one guest's seat's share.
        let what = match (args.opt_int("seat"), args.opt_str("amount")) {
            (Some(_), Some(_)) => {
                return Err(BadOption::invalid("seat", lang.text("refund-seat-or-amount")));
            }
            (Some(seat), None) => GiveBack::Seat(
                u32::try_from(seat)
                    .map_err(|_| BadOption::invalid("seat", lang.text("refund-seat-or-amount")))?,
            ),
            (None, _) => GiveBack::Amount(args.str("amount")?),
        };
        Ok::<_, BadOption>((id, what, request))
    })();
    let (id, what, request) = match parsed {
        Ok(parsed) => parsed,
        Err(b) => return bad(caller, b),
    };
    // Who asks is found here, on the server, whatever Discord showed the member.
    let asker = if caller.manages_guild {
        Asker::Admin { discord_user_id: caller.user_id }
    } else {
        match bot.store.linked_host(caller.user_id).await {
            Ok(host) => Asker::Member { discord_user_id: caller.user_id, host },
            Err(e) => return store_failed(lang, &e),
        }
    };
    let (store, refunds, now) = (bot.store.as_ref(), refunds(bot), Utc::now());
    let outcome = match what {
        GiveBack::Amount(amount) => {
            service::refund_registration(store, &refunds, &id, &asker, amount, request, now).await
        }
        GiveBack::Seat(seat) => {
            service::refund_seat(store, &refunds, &id, &asker, seat, request, now).await
        }
    };
    answer(caller, outcome, |refund, left, freed| {
        let args = TextArgs::new()
            .str("amount", refund.amount)
            .str("currency", refund.amount.currency())
            .str("id", &refund.registration)
            .str("request", &refund.request)
            .str("left", left);
        let seat = match freed {
            true => lang.text("registrations-refunded-freed"),
            false => lang.text("registrations-refunded-kept"),
        };
        format!("{} {seat}", lang.text_with("registrations-refunded", &args))
    })
}

/// What a refund asked for did: `decided` says a refund decided now; one done already and a
/// refusal are said alike for both commands.
fn answer(
    caller: Caller,
    outcome: Result<RefundOutcome, StoreError>,
    decided: impl FnOnce(RefundRecord, Money, bool) -> String,
) -> Message {
    let lang = caller.lang;
    match outcome {
        Err(e) => store_failed(lang, &e),
        Ok(RefundOutcome::Decided { refund, left, freed }) => {
            Message::private(decided(refund, left, freed))
        }
        Ok(RefundOutcome::AlreadyDone(done)) => {
            let args = TextArgs::new()
                .str("request", &done.request)
                .str("amount", done.amount)
                .str("currency", done.amount.currency());
            Message::private(lang.text_with("registrations-refund-done", &args))
        }
        Ok(RefundOutcome::Refused(refusal)) => Message::private(refusal.said(lang)),
        Ok(RefundOutcome::Released) => Message::private(lang.text("registrations-released")),
    }
}
