//! An invoice or credit note as its reader sees it, in their language: what the page and the
//! PDF both show, so the two never say different things.

use crate::invoicing::invoice::{Invoice, Item, Kind, Party};
use crate::invoicing::vat::Pricing;
use crate::lang::Lang;
use crate::messages::Args;
use crate::money::Money;

/// One row of the table: description, net, VAT, amount.
pub type Row = [String; 4];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View {
    /// `Invoice TB-000001` or `Credit note TB-000002`.
    pub title: String,
    /// Labelled facts: the number, the date, the payment's reference, the invoice corrected.
    pub facts: Vec<(String, String)>,
    pub seller_heading: String,
    pub seller: Vec<String>,
    pub buyer_heading: String,
    pub buyer: Vec<String>,
    pub headings: Row,
    pub rows: Vec<Row>,
    pub total: Row,
    /// Whether prices include VAT or it was added.
    pub note: String,
}

fn shown(amount: Money) -> String {
    format!("{amount} {}", amount.currency())
}

fn party(p: &Party, lang: Lang) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    lines.extend(p.name.iter().cloned());
    if let Some(address) = &p.address {
        lines.extend(address.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned));
    }
    lines.extend(p.email.iter().cloned());
    if let Some(id) = &p.vat_id {
        lines.push(lang.text_with("invoice-vat-id", &Args::new().str("id", id)));
    }
    lines
}

fn describe(item: &Item, lang: Lang) -> String {
    match item {
        Item::Registration { session } => {
            lang.text_with("invoice-item-registration", &Args::new().str("session", session))
        }
        Item::Session { session } => {
            lang.text_with("invoice-item-session", &Args::new().str("session", session))
        }
        Item::Balance => lang.text("invoice-item-balance"),
        Item::Refund { of: Some(number) } => {
            lang.text_with("invoice-item-refund", &Args::new().str("number", number))
        }
        Item::Refund { of: None } => lang.text("invoice-item-refund-alone"),
        Item::Seats { session, seats } => {
            let args = Args::new().str("session", session).num("seats", *seats);
            lang.text_with("invoice-item-seats", &args)
        }
        Item::Discount { code } => {
            lang.text_with("invoice-item-discount", &Args::new().str("code", code))
        }
    }
}

/// What a document is called: `Invoice TB-000001`, `Credit note TB-000002`.
pub fn title(invoice: &Invoice, lang: Lang) -> String {
    let number = Args::new().str("number", &invoice.label);
    match invoice.kind {
        Kind::Invoice => lang.text_with("invoice-title", &number),
        Kind::CreditNote => lang.text_with("credit-note-title", &number),
    }
}

impl View {
    pub fn of(invoice: &Invoice, lang: Lang) -> View {
        let title = title(invoice, lang);
        let total = match invoice.kind {
            Kind::Invoice => lang.text("invoice-total"),
            Kind::CreditNote => lang.text("invoice-refunded-total"),
        };
        let mut facts = vec![
            (lang.text("invoice-number"), invoice.label.clone()),
            (lang.text("invoice-date"), invoice.issued_at.format("%Y-%m-%d").to_string()),
        ];
        if let Some(corrects) = &invoice.corrects {
            facts.push((lang.text("invoice-corrects"), corrects.label.clone()));
        }
        if let Some(reference) = &invoice.reference {
            facts.push((lang.text("invoice-reference"), reference.clone()));
        }
        let rate = Args::new().str("rate", invoice.vat_rate);
        let rows = invoice
            .lines
            .iter()
            .map(|line| {
                let s = invoice.split(line);
                [describe(&line.item, lang), shown(s.net), shown(s.vat), shown(s.gross)]
            })
            .collect();
        let t = invoice.totals();
        View {
            title,
            facts,
            seller_heading: lang.text("invoice-seller"),
            seller: party(&invoice.seller, lang),
            buyer_heading: lang.text("invoice-buyer"),
            buyer: party(&invoice.buyer, lang),
            headings: [
                lang.text("invoice-description"),
                lang.text("invoice-net"),
                lang.text_with("invoice-vat", &rate),
                lang.text("invoice-gross"),
            ],
            rows,
            total: [total, shown(t.net), shown(t.vat), shown(t.gross)],
            note: match invoice.pricing {
                Pricing::Inclusive => lang.text("invoice-prices-include-vat"),
                Pricing::Exclusive => lang.text("invoice-vat-added"),
            },
        }
    }
}
