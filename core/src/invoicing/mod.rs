//! Invoicing: every payment that takes money and every refund gets a document with a number
//! from the site's gap-free series, the seller's and buyer's details, its lines and their VAT.
//!
//! - `vat.rs`: what is charged for a price, and how a charged amount splits into net and VAT.
//! - `invoice.rs`: what moved on a payment's transition, and the document as issued.
//! - `view.rs`: a document as a reader sees it, in their language (the page and the PDF).
//! - `pdf.rs`: the PDF.
//! - `service.rs`: issuing, in the transaction that records the transition.
//!
//! Payments knows nothing of it: it is one of the features `crate::when_paid` composes.

pub mod invoice;
pub mod pdf;
pub mod service;
pub mod vat;
pub mod view;
