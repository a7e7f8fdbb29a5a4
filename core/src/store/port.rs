//! The transactional port: one write transaction through which a workflow reads what it
//! decides on and writes what it decided, with the effects it queues. The workflow's caller
//! opens it ([`super::Store::begin`]) and commits it ([`Begun::commit`]), or a store hands it
//! to a workflow inside a transaction of its own (applying deliveries); either way a decision
//! and its effects are kept together or not at all. Each method is one typed read or write:
//! the rules are the workflows', in the feature services.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::email::Email;
use crate::fee_based::codes::{Code, CodeId, PromotionCode};
use crate::fee_based::group::GuestSeat;
use crate::fee_based::refunds::RefundRecord;
use crate::fee_based::registration::{
    Registration, RegistrationId, RegistrationState, ScheduledSession,
};
use crate::invoicing::invoice::{Corrects, Invoice, VatId};
use crate::metering::Connection;
use crate::metering::service::SessionKey;
use crate::metering::session::Session;
use crate::money::Money;
use crate::outbox::{Effect, Recipient};
use crate::pay_per_use::billing::Charge;
use crate::pay_per_use::enforcement::StartDecision;
use crate::payments::order::{Discount, Order, OrderId};
use crate::payments::payment::{Event, Payment, PaymentId, State};
use crate::platform::PlatformKind;
use crate::platform::control::Registrant;
use crate::pricing::{Cost, Prices};
use crate::settlement::rule::Metered;
use crate::settlement::{AdjustmentRecord, Settlement};
use crate::site::DivisionId;

/// What was decided on a session's start, as recorded with the session.
#[derive(Clone, Debug)]
pub struct DecidedStart {
    pub session: SessionKey,
    pub decision: StartDecision,
    /// Why tollbooth stopped the session, when the decision blocked it (English).
    pub blocked_reason: Option<String>,
}

/// An order that paid for a session's start and was not charged yet.
#[derive(Clone, Debug)]
pub struct PaidStart {
    pub order: OrderId,
    pub host: Email,
    /// The prices the order was paid at, which the session is billed at.
    pub prices: Prices,
}

#[async_trait]
pub trait Tx: Send {
    // Payments.

    /// Saves `next` and the transition's record if the payment is still at `before`'s
    /// version; `false` when another writer applied something first (the caller rolls back,
    /// reloads and retries).
    async fn save_transition(
        &mut self,
        before: &Payment,
        next: &Payment,
        event: &Event,
    ) -> Result<bool, StoreError>;

    async fn order(&mut self, id: &OrderId) -> Result<Option<Order>, StoreError>;

    async fn insert_order(&mut self, order: &Order) -> Result<(), StoreError>;

    async fn payment(&mut self, id: &PaymentId) -> Result<Option<Payment>, StoreError>;

    /// The newest payment of `order` in `state`.
    async fn newest_payment_in(
        &mut self,
        order: &OrderId,
        state: State,
    ) -> Result<Option<Payment>, StoreError>;

    /// How many payments of `order` other than `except` are in one of `states`.
    async fn other_payments_in(
        &mut self,
        order: &OrderId,
        except: &PaymentId,
        states: &[State],
    ) -> Result<u64, StoreError>;

    /// How many payments of `order` are in one of `states`.
    async fn payments_in(&mut self, order: &OrderId, states: &[State]) -> Result<u64, StoreError>;

    // Pay-per-use.

    /// Whether the site has e-commerce and pay-per-use both turned on.
    async fn pay_per_use_on(&mut self) -> Result<bool, StoreError>;

    /// Whether `host`, or the division they are booked to, is exempt from paying first.
    async fn exempt(&mut self, host: &Email) -> Result<bool, StoreError>;

    async fn division_of(&mut self, host: &Email) -> Result<Option<DivisionId>, StoreError>;

    /// The session orders of `payer`, oldest first, with a payment in `state`, that paid for
    /// no start yet.
    async fn unused_session_orders(
        &mut self,
        payer: &Email,
        state: State,
    ) -> Result<Vec<Order>, StoreError>;

    /// The newest session order of `payer` with no payment in any of `states`.
    async fn newest_session_order_without(
        &mut self,
        payer: &Email,
        states: &[State],
    ) -> Result<Option<OrderId>, StoreError>;

    /// What is still outstanding on each of the host's charges.
    async fn outstanding_charges(&mut self, host: &Email) -> Result<Vec<Money>, StoreError>;

    /// The amounts of the host's balance orders, but `except`, with a payment in `state`.
    async fn balance_orders_paid(
        &mut self,
        host: &Email,
        except: Option<&OrderId>,
        state: State,
    ) -> Result<Vec<Money>, StoreError>;

    /// The Discord member linked to `host` most recently, who hears about their sessions.
    async fn host_recipient(&mut self, host: &Email) -> Result<Option<Recipient>, StoreError>;

    async fn prices_in_force(&mut self, at: DateTime<Utc>) -> Result<Prices, StoreError>;

    async fn session(
        &mut self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Option<Session>, StoreError>;

    async fn connections(
        &mut self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Vec<Connection>, StoreError>;

    /// Those of `sessions` whose start was decided already (a replayed `started` decides
    /// nothing).
    async fn decided_starts(
        &mut self,
        sessions: &[&SessionKey],
    ) -> Result<HashSet<SessionKey>, StoreError>;

    /// Records the decisions on starts, for a whole batch in one write.
    async fn record_start_decisions(&mut self, decided: &[DecidedStart]) -> Result<(), StoreError>;

    /// Records that `order` paid for this start, so that it pays for no other.
    async fn record_paid_start(
        &mut self,
        order: &OrderId,
        platform: PlatformKind,
        meeting_id: &str,
        host: &Email,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The orders that paid for the starts of `sessions` and were not charged yet.
    async fn uncharged_paid_starts(
        &mut self,
        sessions: &[&SessionKey],
    ) -> Result<HashMap<SessionKey, PaidStart>, StoreError>;

    /// The order that paid for the session's start, if it was not charged yet.
    async fn uncharged_paid_start(
        &mut self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Option<PaidStart>, StoreError> {
        let key = (platform, meeting_id.to_owned());
        Ok(self.uncharged_paid_starts(&[&key]).await?.remove(&key))
    }

    async fn insert_charge(
        &mut self,
        charge: &Charge,
        payment: &PaymentId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    async fn charge_of_payment(
        &mut self,
        payment: &PaymentId,
    ) -> Result<Option<Charge>, StoreError>;

    /// Sets what a charge captured and what it leaves outstanding once its capture was
    /// refused for good; `false` when that was done already.
    async fn resettle_charge(
        &mut self,
        order: &str,
        captured: Money,
        outstanding: Money,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    // Settlement.

    async fn charge(&mut self, order: &OrderId) -> Result<Option<Charge>, StoreError>;

    /// Sets a charge's cost and what it leaves owed after an adjustment.
    async fn rebill_charge(
        &mut self,
        order: &OrderId,
        cost: &Cost,
        outstanding: Money,
    ) -> Result<(), StoreError>;

    /// A session's connections with the participant and device keys webhooks gave them.
    async fn metered(
        &mut self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Vec<Metered>, StoreError>;

    /// Opens the settlements of sessions that have none, for a whole batch in one write;
    /// returns the sessions whose settlement it opened.
    async fn open_settlements(
        &mut self,
        settlements: &[Settlement],
    ) -> Result<HashSet<SessionKey>, StoreError>;

    /// The settlements of `sessions`, held for this transaction: nothing else writes them
    /// until the transaction ends.
    async fn settlements(
        &mut self,
        sessions: &[&SessionKey],
    ) -> Result<HashMap<SessionKey, Settlement>, StoreError>;

    /// A session's settlement, held for this transaction.
    async fn settlement(
        &mut self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Option<Settlement>, StoreError> {
        let key = (platform, meeting_id.to_owned());
        Ok(self.settlements(&[&key]).await?.remove(&key))
    }

    async fn save_settlement(&mut self, settlement: &Settlement) -> Result<(), StoreError>;

    /// Deliveries came for a settled session: it is looked at again at `due_at`.
    async fn late_data(
        &mut self,
        platform: PlatformKind,
        meeting_id: &str,
        due_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The adjustments of `order`'s charge, oldest first.
    async fn adjustments(&mut self, order: &OrderId) -> Result<Vec<AdjustmentRecord>, StoreError>;

    /// Records adjustment number `seq` of `order`'s charge.
    async fn insert_adjustment(
        &mut self,
        order: &OrderId,
        seq: u32,
        adjustment: &AdjustmentRecord,
    ) -> Result<(), StoreError>;

    // Fee-based.

    async fn registration(
        &mut self,
        id: &RegistrationId,
    ) -> Result<Option<Registration>, StoreError>;

    async fn registration_by_order(
        &mut self,
        order: &OrderId,
    ) -> Result<Option<Registration>, StoreError>;

    /// The session's registrations in one of `states`.
    async fn registrations_in(
        &mut self,
        platform: PlatformKind,
        meeting_id: &str,
        states: &[RegistrationState],
    ) -> Result<Vec<Registration>, StoreError>;

    async fn scheduled(
        &mut self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Option<ScheduledSession>, StoreError>;

    /// A scheduled session, locked until the transaction ends, so that concurrent payments
    /// count its seats one at a time.
    async fn lock_scheduled(
        &mut self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Option<ScheduledSession>, StoreError>;

    /// Marks the session cancelled at `at`; `false` when it was cancelled already.
    async fn cancel_scheduled(
        &mut self,
        platform: PlatformKind,
        meeting_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// The seats held at `now`: paid and approved registrations, and unpaid ones a freed seat
    /// is offered to until after `now`; but `except`'s own.
    async fn seats_held(
        &mut self,
        platform: PlatformKind,
        meeting_id: &str,
        now: DateTime<Utc>,
        except: Option<&RegistrationId>,
    ) -> Result<u32, StoreError>;

    /// The first on the session's waiting list who was offered no seat yet, in order of asking.
    async fn first_in_line(
        &mut self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Option<Registration>, StoreError>;

    /// Puts the registration at the end of its session's waiting list, as of `since`.
    async fn stand_in_line(
        &mut self,
        id: &RegistrationId,
        since: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Holds a seat for the registration until `until`.
    async fn offer_seat(
        &mut self,
        id: &RegistrationId,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Takes the registration off its session's waiting list (its offer ran out).
    async fn leave_line(&mut self, id: &RegistrationId) -> Result<(), StoreError>;

    /// Where the registration stands on its waiting list: 1 for the first of those waiting.
    async fn place_in_line(&mut self, registration: &Registration) -> Result<u32, StoreError>;

    async fn set_registration_state(
        &mut self,
        id: &RegistrationId,
        state: RegistrationState,
        payment: Option<&str>,
        reason: Option<&str>,
    ) -> Result<(), StoreError>;

    /// Keeps the platform's registrant (its id and personal join link) on the registration,
    /// which moves to `state`.
    async fn set_registrant(
        &mut self,
        id: &RegistrationId,
        registrant: &Registrant,
        state: RegistrationState,
    ) -> Result<(), StoreError>;

    /// A group registration's guests' seats, by seat number.
    async fn guest_seats(&mut self, id: &RegistrationId) -> Result<Vec<GuestSeat>, StoreError>;

    /// Keeps the platform's registrant on a guest's seat.
    async fn set_guest_registrant(
        &mut self,
        id: &RegistrationId,
        seat: u32,
        registrant: &Registrant,
    ) -> Result<(), StoreError>;

    /// Frees a guest's seat refunded alone at `at`: the registration holds one seat less.
    /// False when the registration has no such seat, or it was freed already.
    async fn free_guest_seat(
        &mut self,
        id: &RegistrationId,
        seat: u32,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    // Promotion codes.

    /// The live (not removed) code with this name.
    async fn live_code(&mut self, code: &PromotionCode) -> Result<Option<Code>, StoreError>;

    /// Takes one use of the code while one is left; `false` when none is.
    async fn take_code_use(&mut self, id: &CodeId) -> Result<bool, StoreError>;

    /// Gives back the use the code applied to `order` took, if a code was.
    async fn give_back_code_use(&mut self, order: &OrderId) -> Result<(), StoreError>;

    /// Records `discount` on an order that has no code yet, which then asks for `total`;
    /// `false` when it has one.
    async fn set_order_discount(
        &mut self,
        order: &OrderId,
        discount: &Discount,
        total: Money,
    ) -> Result<bool, StoreError>;

    // Refunds.

    /// The refunds decided for a registration's payment, oldest first.
    async fn refunds_of(&mut self, payment: &PaymentId) -> Result<Vec<RefundRecord>, StoreError>;

    /// Records a refund decided; `false` when its request was recorded already.
    async fn insert_refund(&mut self, refund: &RefundRecord) -> Result<bool, StoreError>;

    // Invoicing.

    /// The next number of the site's invoice series, taken from its counter row: held by this
    /// transaction until it ends, given back if it rolls back.
    async fn take_invoice_number(&mut self) -> Result<i64, StoreError>;

    /// Stores an issued invoice or credit note; refused when the payment's transition has one.
    async fn insert_invoice(&mut self, invoice: &Invoice) -> Result<(), StoreError>;

    /// The invoice issued for money `payment` took, which its credit notes correct.
    async fn invoice_of_payment(
        &mut self,
        payment: &PaymentId,
    ) -> Result<Option<Corrects>, StoreError>;

    /// The VAT id the buyer gave for `order`, if any.
    async fn buyer_vat_id(&mut self, order: &OrderId) -> Result<Option<VatId>, StoreError>;

    // Effects.

    /// Stores an effect under `key` for the outbox worker; `false` when one with that key is
    /// already stored (the decision was retried or duplicated).
    async fn enqueue(&mut self, key: &str, effect: &Effect) -> Result<bool, StoreError>;
}

/// A transaction a workflow opened: what it wrote is kept by [`Begun::commit`], and dropped
/// when it is dropped uncommitted.
#[async_trait]
pub trait Begun: Tx {
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}
