-- Invoices and credit notes (issue 17, D-225): one gap-free number series per site. The
-- number is taken from the counter row in the transaction that records the payment's money
-- (a sale, a capture) or a refund, so that a rolled-back transaction gives its number back and
-- a committed one never reuses it. Each document is issued once per payment transition
-- (payment, version) and kept as issued (`document`, JSON): later changes to the seller's
-- details or the VAT rate do not change an issued invoice.
CREATE TABLE invoice_counter (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_number BIGINT NOT NULL CHECK (last_number >= 0)
);
INSERT INTO invoice_counter (id, last_number) VALUES (1, 0);

CREATE TABLE invoices (
    number BIGINT PRIMARY KEY CHECK (number > 0),
    kind TEXT NOT NULL CHECK (kind IN ('invoice', 'credit-note')),
    order_id TEXT NOT NULL REFERENCES orders (id),
    payment_id TEXT NOT NULL REFERENCES payments (id),
    payment_version BIGINT NOT NULL,
    corrects BIGINT REFERENCES invoices (number),
    issued_at BIGINT NOT NULL,
    document TEXT NOT NULL,
    UNIQUE (payment_id, payment_version)
);
CREATE INDEX invoices_by_order ON invoices (order_id);
CREATE INDEX invoices_by_payment ON invoices (payment_id, kind);

-- The buyer's VAT id, given on the pay page (optional), printed on the invoice.
ALTER TABLE orders ADD COLUMN buyer_vat_id TEXT;
