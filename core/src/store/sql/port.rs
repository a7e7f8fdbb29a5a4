//! [`Tx`], the transactional port, on one SQL transaction: each method is one of the concept
//! files' queries, run on the transaction. `C` is a transaction tollbooth opened (a workflow's,
//! committed through [`Begun`]) or a connection inside one the store holds (applying
//! deliveries).

use std::collections::{HashMap, HashSet};
use std::ops::DerefMut;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Any, AnyConnection, Transaction};

use super::{
    SqlTx, invoices, outbox, pay_per_use, payments, promotion_codes, refunds, registrations,
    sessions, settlement, site,
};
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
use crate::payments::order::{Discount, Order, OrderId};
use crate::payments::payment::{Event, Payment, PaymentId, State};
use crate::platform::PlatformKind;
use crate::platform::control::Registrant;
use crate::pricing::{Cost, Prices};
use crate::settlement::rule::Metered;
use crate::settlement::{AdjustmentRecord, Settlement};
use crate::site::DivisionId;
use crate::store::{Begun, DecidedStart, PaidStart, StoreError, Tx};

#[async_trait]
impl<C> Tx for SqlTx<C>
where
    C: DerefMut<Target = AnyConnection> + Send,
{
    async fn save_transition(
        &mut self,
        before: &Payment,
        next: &Payment,
        event: &Event,
    ) -> Result<bool, StoreError> {
        payments::save_transition_on(&mut self.0, before, next, event).await
    }

    async fn order(&mut self, id: &OrderId) -> Result<Option<Order>, StoreError> {
        payments::load_order(&mut self.0, id).await
    }

    async fn insert_order(&mut self, order: &Order) -> Result<(), StoreError> {
        payments::insert_order(&mut self.0, order).await
    }

    async fn payment(&mut self, id: &PaymentId) -> Result<Option<Payment>, StoreError> {
        payments::load_payment(&mut self.0, id).await
    }

    async fn newest_payment_in(
        &mut self,
        order: &OrderId,
        state: State,
    ) -> Result<Option<Payment>, StoreError> {
        payments::newest_payment_in(&mut self.0, order, state).await
    }

    async fn other_payments_in(
        &mut self,
        order: &OrderId,
        except: &PaymentId,
        states: &[State],
    ) -> Result<u64, StoreError> {
        payments::other_payments_in(&mut self.0, order, except, states).await
    }

    async fn payments_in(&mut self, order: &OrderId, states: &[State]) -> Result<u64, StoreError> {
        payments::payments_in(&mut self.0, order, states).await
    }

    async fn pay_per_use_on(&mut self) -> Result<bool, StoreError> {
        pay_per_use::pay_per_use_on(&mut self.0).await
    }

    async fn exempt(&mut self, host: &Email) -> Result<bool, StoreError> {
        pay_per_use::exempt(&mut self.0, host).await
    }

    async fn division_of(&mut self, host: &Email) -> Result<Option<DivisionId>, StoreError> {
        pay_per_use::division_of(&mut self.0, host).await
    }

    async fn unused_session_orders(
        &mut self,
        payer: &Email,
        state: State,
    ) -> Result<Vec<Order>, StoreError> {
        pay_per_use::unused_session_orders(&mut self.0, payer, state).await
    }

    async fn newest_session_order_without(
        &mut self,
        payer: &Email,
        states: &[State],
    ) -> Result<Option<OrderId>, StoreError> {
        pay_per_use::newest_session_order_without(&mut self.0, payer, states).await
    }

    async fn outstanding_charges(&mut self, host: &Email) -> Result<Vec<Money>, StoreError> {
        pay_per_use::outstanding_charges(&mut self.0, host).await
    }

    async fn balance_orders_paid(
        &mut self,
        host: &Email,
        except: Option<&OrderId>,
        state: State,
    ) -> Result<Vec<Money>, StoreError> {
        pay_per_use::balance_orders_paid(&mut self.0, host, except, state).await
    }

    async fn host_recipient(&mut self, host: &Email) -> Result<Option<Recipient>, StoreError> {
        pay_per_use::host_recipient(&mut self.0, host).await
    }

    async fn prices_in_force(&mut self, at: DateTime<Utc>) -> Result<Prices, StoreError> {
        site::prices_in_force(&mut self.0, at).await
    }

    async fn session(
        &mut self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Option<Session>, StoreError> {
        sessions::load_session(&mut *self.0, platform, meeting_id).await
    }

    async fn connections(
        &mut self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Vec<Connection>, StoreError> {
        sessions::load_connections_of(&mut self.0, platform, meeting_id).await
    }

    async fn decided_starts(
        &mut self,
        sessions: &[&SessionKey],
    ) -> Result<HashSet<SessionKey>, StoreError> {
        pay_per_use::decided_starts(&mut self.0, sessions).await
    }

    async fn record_start_decisions(&mut self, decided: &[DecidedStart]) -> Result<(), StoreError> {
        pay_per_use::record_start_decisions(&mut self.0, decided).await
    }

    async fn record_paid_start(
        &mut self,
        order: &OrderId,
        platform: PlatformKind,
        meeting_id: &str,
        host: &Email,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        pay_per_use::record_paid_start(&mut self.0, order, platform, meeting_id, host, at).await
    }

    async fn uncharged_paid_starts(
        &mut self,
        sessions: &[&SessionKey],
    ) -> Result<HashMap<SessionKey, PaidStart>, StoreError> {
        pay_per_use::uncharged_paid_starts(&mut self.0, sessions).await
    }

    async fn insert_charge(
        &mut self,
        charge: &Charge,
        payment: &PaymentId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        pay_per_use::insert_charge(&mut self.0, charge, payment.as_str(), at).await
    }

    async fn charge_of_payment(
        &mut self,
        payment: &PaymentId,
    ) -> Result<Option<Charge>, StoreError> {
        pay_per_use::charge_of_payment(&mut self.0, payment).await
    }

    async fn resettle_charge(
        &mut self,
        order: &str,
        captured: Money,
        outstanding: Money,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        pay_per_use::resettle_charge(&mut self.0, order, captured, outstanding, at).await
    }

    async fn charge(&mut self, order: &OrderId) -> Result<Option<Charge>, StoreError> {
        settlement::charge_of_order(&mut self.0, order.as_str()).await
    }

    async fn rebill_charge(
        &mut self,
        order: &OrderId,
        cost: &Cost,
        outstanding: Money,
    ) -> Result<(), StoreError> {
        settlement::rebill_charge(&mut self.0, order.as_str(), cost, outstanding).await
    }

    async fn metered(
        &mut self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Vec<Metered>, StoreError> {
        settlement::metered(&mut self.0, platform, meeting_id).await
    }

    async fn open_settlements(
        &mut self,
        settlements: &[Settlement],
    ) -> Result<HashSet<SessionKey>, StoreError> {
        settlement::open_settlements(&mut self.0, settlements).await
    }

    async fn settlements(
        &mut self,
        sessions: &[&SessionKey],
    ) -> Result<HashMap<SessionKey, Settlement>, StoreError> {
        settlement::lock_settlements(&mut self.0, sessions).await
    }

    async fn save_settlement(&mut self, s: &Settlement) -> Result<(), StoreError> {
        settlement::save_settlement(&mut self.0, s).await
    }

    async fn late_data(
        &mut self,
        platform: PlatformKind,
        meeting_id: &str,
        due_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        settlement::late_data(&mut self.0, platform, meeting_id, due_at).await
    }

    async fn adjustments(&mut self, order: &OrderId) -> Result<Vec<AdjustmentRecord>, StoreError> {
        settlement::adjustments(&mut self.0, order.as_str()).await
    }

    async fn insert_adjustment(
        &mut self,
        order: &OrderId,
        seq: u32,
        a: &AdjustmentRecord,
    ) -> Result<(), StoreError> {
        settlement::insert_adjustment(&mut self.0, order.as_str(), seq, a).await
    }

    async fn registration(
        &mut self,
        id: &RegistrationId,
    ) -> Result<Option<Registration>, StoreError> {
        registrations::load_registration(&mut *self.0, id).await
    }

    async fn registration_by_order(
        &mut self,
        order: &OrderId,
    ) -> Result<Option<Registration>, StoreError> {
        registrations::registration_by_order(&mut self.0, order).await
    }

    async fn registrations_in(
        &mut self,
        platform: PlatformKind,
        meeting_id: &str,
        states: &[RegistrationState],
    ) -> Result<Vec<Registration>, StoreError> {
        registrations::registrations_in(&mut self.0, platform, meeting_id, states).await
    }

    async fn scheduled(
        &mut self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Option<ScheduledSession>, StoreError> {
        registrations::load_scheduled(&mut *self.0, platform, meeting_id).await
    }

    async fn lock_scheduled(
        &mut self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Option<ScheduledSession>, StoreError> {
        registrations::lock_session(&mut self.0, platform, meeting_id).await?;
        registrations::load_scheduled(&mut *self.0, platform, meeting_id).await
    }

    async fn cancel_scheduled(
        &mut self,
        platform: PlatformKind,
        meeting_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        registrations::mark_cancelled(&mut self.0, platform, meeting_id, at).await
    }

    async fn seats_held(
        &mut self,
        platform: PlatformKind,
        meeting_id: &str,
        now: DateTime<Utc>,
        except: Option<&RegistrationId>,
    ) -> Result<u32, StoreError> {
        registrations::seats_held(&mut self.0, platform, meeting_id, now, except).await
    }

    async fn first_in_line(
        &mut self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Option<Registration>, StoreError> {
        registrations::first_in_line(&mut self.0, platform, meeting_id).await
    }

    async fn stand_in_line(
        &mut self,
        id: &RegistrationId,
        since: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        registrations::stand_in_line(&mut self.0, id, since).await
    }

    async fn offer_seat(
        &mut self,
        id: &RegistrationId,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        registrations::offer_seat(&mut self.0, id, until).await
    }

    async fn leave_line(&mut self, id: &RegistrationId) -> Result<(), StoreError> {
        registrations::leave_line(&mut self.0, id).await
    }

    async fn place_in_line(&mut self, registration: &Registration) -> Result<u32, StoreError> {
        registrations::place_in_line(&mut self.0, registration).await
    }

    async fn set_registration_state(
        &mut self,
        id: &RegistrationId,
        state: RegistrationState,
        payment: Option<&str>,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        registrations::set_state(&mut self.0, id, state, payment, reason).await
    }

    async fn set_registrant(
        &mut self,
        id: &RegistrationId,
        registrant: &Registrant,
        state: RegistrationState,
    ) -> Result<(), StoreError> {
        registrations::set_registrant(&mut self.0, id, registrant, state).await
    }

    async fn guest_seats(&mut self, id: &RegistrationId) -> Result<Vec<GuestSeat>, StoreError> {
        registrations::guest_seats(&mut *self.0, id).await
    }

    async fn set_guest_registrant(
        &mut self,
        id: &RegistrationId,
        seat: u32,
        registrant: &Registrant,
    ) -> Result<(), StoreError> {
        registrations::set_guest_registrant(&mut self.0, id, seat, registrant).await
    }

    async fn free_guest_seat(
        &mut self,
        id: &RegistrationId,
        seat: u32,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        registrations::free_guest_seat(&mut self.0, id, seat, at).await
    }

    async fn live_code(&mut self, code: &PromotionCode) -> Result<Option<Code>, StoreError> {
        promotion_codes::load_live(&mut *self.0, code).await
    }

    async fn take_code_use(&mut self, id: &CodeId) -> Result<bool, StoreError> {
        promotion_codes::take_use(&mut self.0, id).await
    }

    async fn give_back_code_use(&mut self, order: &OrderId) -> Result<(), StoreError> {
        promotion_codes::give_back_use(&mut self.0, order).await
    }

    async fn set_order_discount(
        &mut self,
        order: &OrderId,
        discount: &Discount,
        total: Money,
    ) -> Result<bool, StoreError> {
        promotion_codes::set_order_discount(&mut self.0, order, discount, total).await
    }

    async fn refunds_of(&mut self, payment: &PaymentId) -> Result<Vec<RefundRecord>, StoreError> {
        refunds::refunds_of(&mut self.0, payment).await
    }

    async fn insert_refund(&mut self, refund: &RefundRecord) -> Result<bool, StoreError> {
        refunds::insert_refund(&mut self.0, refund).await
    }

    async fn take_invoice_number(&mut self) -> Result<i64, StoreError> {
        invoices::take_number(&mut self.0).await
    }

    async fn insert_invoice(&mut self, invoice: &Invoice) -> Result<(), StoreError> {
        invoices::insert(&mut self.0, invoice).await
    }

    async fn invoice_of_payment(
        &mut self,
        payment: &PaymentId,
    ) -> Result<Option<Corrects>, StoreError> {
        invoices::invoice_of_payment(&mut self.0, payment).await
    }

    async fn buyer_vat_id(&mut self, order: &OrderId) -> Result<Option<VatId>, StoreError> {
        invoices::buyer_vat_id(&mut self.0, order).await
    }

    async fn enqueue(&mut self, key: &str, effect: &Effect) -> Result<bool, StoreError> {
        outbox::enqueue_on(&mut self.0, key, effect).await
    }
}

#[async_trait]
impl Begun for SqlTx<Transaction<'static, Any>> {
    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        self.0.commit().await?;
        Ok(())
    }
}
