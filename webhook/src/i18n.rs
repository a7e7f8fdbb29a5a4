//! The texts of the pages, in English and Norwegian (`no`).

use axum::http::HeaderMap;
use axum::http::header::ACCEPT_LANGUAGE;
use tollbooth_core::money::Money;
use tollbooth_core::pay_per_use::budget::OverBudget;
use tollbooth_core::payments::method::Method;

pub use tollbooth_core::lang::Lang;

/// What pages add to the domain's [`Lang`]: choosing it from a request, and the page texts.
pub trait Localised: Sized {
    /// `?lang=` wins; then the first language of `Accept-Language` that we speak; else English.
    fn detect(query: Option<&str>, headers: &HeaderMap) -> Self;

    fn texts(self) -> &'static Texts;

    /// Why a session over its division's budget cannot be paid for, with the figures.
    fn over_budget(self, o: &OverBudget, estimate: Money) -> String;
}

impl Localised for Lang {
    fn detect(query: Option<&str>, headers: &HeaderMap) -> Lang {
        if let Some(lang) = query.and_then(Lang::parse) {
            return lang;
        }
        headers
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .into_iter()
            .flat_map(|v| v.split(','))
            .filter_map(|tag| Lang::parse(tag.split(';').next().unwrap_or_default()))
            .next()
            .unwrap_or(Lang::En)
    }

    fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::No => &NO,
        }
    }

    fn over_budget(self, o: &OverBudget, estimate: Money) -> String {
        let rule = self.pick(
            "This site does not allow sessions over budget; nothing was charged.",
            "Dette nettstedet tillater ikke økter over budsjett; ingenting er belastet.",
        );
        format!("{} {rule}", o.explain(self, estimate))
    }
}

pub struct Texts {
    pub pay_title: &'static str,
    pub estimated_cost: &'static str,
    pub minutes: &'static str,
    pub computers: &'static str,
    pub phones: &'static str,
    pub person_minutes: &'static str,
    pub teleconference_minutes: &'static str,
    pub price_per_minute: &'static str,
    pub amount: &'static str,
    pub total: &'static str,
    pub session_fee: &'static str,
    pub outstanding_balance: &'static str,
    pub change: &'static str,
    pub plan_title: &'static str,
    pub plan_submit: &'static str,
    pub choose_method: &'static str,
    pub authorise_note: &'static str,
    /// The row under an estimate with what is reserved: the estimate plus headroom.
    pub reserved: &'static str,
    pub no_methods: &'static str,
    pub already_paid: &'static str,
    pub expired_title: &'static str,
    pub closed_title: &'static str,
    pub closed_body: &'static str,
    pub settled_title: &'static str,
    pub settled_body: &'static str,
    pub expired_body: &'static str,
    pub invalid_title: &'static str,
    pub invalid_body: &'static str,
    pub authorised_title: &'static str,
    pub authorised_body: &'static str,
    pub paid_title: &'static str,
    pub paid_body: &'static str,
    pub declined_title: &'static str,
    pub over_budget_title: &'static str,
    pub declined_body: &'static str,
    pub pending_title: &'static str,
    pub pending_body: &'static str,
    pub cancelled_title: &'static str,
    pub cancelled_body: &'static str,
    pub unavailable_title: &'static str,
    pub unavailable_body: &'static str,
    pub try_again: &'static str,
    pub test_mode: &'static str,
    pub test_mode_body: &'static str,
    pub approve: &'static str,
    pub decline: &'static str,
    pub cancel: &'static str,
    pub method_sandbox: &'static str,
    pub method_card: &'static str,
    pub method_stripe: &'static str,
    pub method_paypal: &'static str,
    pub method_express_checkout: &'static str,
    pub method_website_payments_pro: &'static str,
}

impl Texts {
    pub fn method(&self, method: Method) -> &'static str {
        match method {
            Method::Sandbox => self.method_sandbox,
            Method::Payflow => self.method_card,
            Method::Stripe => self.method_stripe,
            Method::Paypal => self.method_paypal,
            Method::ExpressCheckout => self.method_express_checkout,
            Method::WebsitePaymentsPro => self.method_website_payments_pro,
        }
    }
}

static EN: Texts = Texts {
    pay_title: "Pay",
    estimated_cost: "Estimated session cost",
    minutes: "minutes",
    computers: "computers",
    phones: "phones",
    person_minutes: "Person-minutes",
    teleconference_minutes: "Teleconference minutes",
    price_per_minute: "Price per minute",
    amount: "Amount",
    total: "Total",
    session_fee: "Session fee",
    outstanding_balance: "Outstanding balance",
    change: "Change",
    plan_title: "Change the estimate",
    plan_submit: "Show the new estimate",
    choose_method: "Choose how to pay",
    authorise_note: "The reserved amount is held on your card now. When the session ends you pay for the minutes actually used; anything above the reserved amount is owed before your next session.",
    reserved: "Reserved now (estimate plus headroom)",
    no_methods: "No payment method is available for this site's country. Please contact the site administrator.",
    already_paid: "This order is paid. Thank you!",
    expired_title: "This pay link has expired",
    closed_title: "Registration is closed",
    closed_body: "This session no longer takes registrations: it is full, was cancelled or is past its registration deadline. Nothing was charged.",
    settled_title: "Nothing is owed",
    settled_body: "This balance has been paid already. Nothing was charged.",
    expired_body: "Pay links work for a limited time, and this one is too old. Nothing was charged. Ask for a new link in chat (for example with /quote) and pay from there.",
    invalid_title: "This is not a valid pay link",
    invalid_body: "The link is incomplete or was changed. Check that you copied all of it, or ask for a new one in chat.",
    authorised_title: "Payment authorised",
    authorised_body: "The amount is reserved on your card. When the session ends you are charged for the minutes actually used, never more than this. You may close this page.",
    paid_title: "Payment received",
    paid_body: "Thank you, your payment was received. You may close this page.",
    declined_title: "Payment declined",
    over_budget_title: "Over the division's budget",
    declined_body: "The payment was declined and nothing was charged. You can try again with another card or method.",
    pending_title: "Waiting for confirmation",
    pending_body: "We have not heard back from the payment service yet. Reload this page in a minute; you do not need to pay again.",
    cancelled_title: "Payment cancelled",
    cancelled_body: "You cancelled the payment and nothing was charged.",
    unavailable_title: "Payment service unavailable",
    unavailable_body: "We could not reach the payment service. Nothing was charged. Please try again in a few minutes.",
    try_again: "Try again",
    test_mode: "TEST MODE",
    test_mode_body: "This is tollbooth's sandbox checkout. No card is asked for and no real money moves.",
    approve: "Approve payment",
    decline: "Decline payment",
    cancel: "Cancel and go back",
    method_sandbox: "Test payment (sandbox)",
    method_card: "Credit or debit card",
    method_stripe: "Card (Stripe)",
    method_paypal: "PayPal",
    method_express_checkout: "PayPal Express Checkout",
    method_website_payments_pro: "PayPal Website Payments Pro",
};

static NO: Texts = Texts {
    pay_title: "Betal",
    estimated_cost: "Estimert kostnad for økten",
    minutes: "minutter",
    computers: "datamaskiner",
    phones: "telefoner",
    person_minutes: "Personminutter",
    teleconference_minutes: "Telekonferanseminutter",
    price_per_minute: "Pris per minutt",
    amount: "Beløp",
    total: "Totalt",
    session_fee: "Kursavgift",
    outstanding_balance: "Utestående beløp",
    change: "Endre",
    plan_title: "Endre estimatet",
    plan_submit: "Vis det nye estimatet",
    choose_method: "Velg betalingsmåte",
    authorise_note: "Det reserverte beløpet holdes av på kortet ditt nå. Når økten er slutt, betaler du for minuttene som faktisk ble brukt; det som går over det reserverte beløpet, må betales før neste økt.",
    reserved: "Reserveres nå (anslag pluss margin)",
    no_methods: "Ingen betalingsmåte er tilgjengelig for dette nettstedets land. Kontakt administratoren.",
    already_paid: "Denne bestillingen er betalt. Takk!",
    expired_title: "Denne betalingslenken er utløpt",
    closed_title: "Påmeldingen er stengt",
    closed_body: "Denne økten tar ikke imot flere påmeldinger: den er full, avlyst eller forbi påmeldingsfristen. Ingenting er belastet.",
    settled_title: "Ingenting utestående",
    settled_body: "Denne saldoen er allerede betalt. Ingenting er belastet.",
    expired_body: "Betalingslenker virker bare en begrenset tid, og denne er for gammel. Ingenting er belastet. Be om en ny lenke i chatten (for eksempel med /quote) og betal derfra.",
    invalid_title: "Dette er ikke en gyldig betalingslenke",
    invalid_body: "Lenken er ufullstendig eller endret. Sjekk at du kopierte hele lenken, eller be om en ny i chatten.",
    authorised_title: "Betalingen er godkjent",
    authorised_body: "Beløpet er reservert på kortet ditt. Når økten er slutt, belastes du for minuttene som faktisk ble brukt, aldri mer enn dette. Du kan lukke denne siden.",
    paid_title: "Betalingen er mottatt",
    paid_body: "Takk, betalingen din er mottatt. Du kan lukke denne siden.",
    declined_title: "Betalingen ble avvist",
    over_budget_title: "Over avdelingens budsjett",
    declined_body: "Betalingen ble avvist, og ingenting er belastet. Du kan prøve igjen med et annet kort eller en annen betalingsmåte.",
    pending_title: "Venter på bekreftelse",
    pending_body: "Vi har ikke fått svar fra betalingstjenesten ennå. Last inn siden på nytt om et minutt; du trenger ikke betale igjen.",
    cancelled_title: "Betalingen er avbrutt",
    cancelled_body: "Du avbrøt betalingen, og ingenting er belastet.",
    unavailable_title: "Betalingstjenesten er utilgjengelig",
    unavailable_body: "Vi fikk ikke kontakt med betalingstjenesten. Ingenting er belastet. Prøv igjen om noen minutter.",
    try_again: "Prøv igjen",
    test_mode: "TESTMODUS",
    test_mode_body: "Dette er tollbooths testkasse (sandkasse). Det spørres ikke etter kort, og ingen ekte penger flyttes.",
    approve: "Godkjenn betalingen",
    decline: "Avvis betalingen",
    cancel: "Avbryt og gå tilbake",
    method_sandbox: "Testbetaling (sandkasse)",
    method_card: "Kreditt- eller debetkort",
    method_stripe: "Kort (Stripe)",
    method_paypal: "PayPal",
    method_express_checkout: "PayPal Express Checkout",
    method_website_payments_pro: "PayPal Website Payments Pro",
};

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn query_then_accept_language_then_english() {
        let mut headers = HeaderMap::new();
        assert_eq!(Lang::detect(None, &headers), Lang::En);
        headers.insert(ACCEPT_LANGUAGE, HeaderValue::from_static("de-DE, nb-NO;q=0.8, en;q=0.5"));
        assert_eq!(Lang::detect(None, &headers), Lang::No);
        assert_eq!(Lang::detect(Some("en"), &headers), Lang::En);
        assert_eq!(Lang::detect(Some("no"), &HeaderMap::new()), Lang::No);
        assert_eq!(Lang::detect(Some("xx"), &HeaderMap::new()), Lang::En);
    }
}
