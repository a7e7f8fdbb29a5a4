# Page texts: the pay page, the pages a payer is sent back to, and the sandbox checkout.

page-pay-title = Pay
price-per-minute = Price per minute
amount = Amount
session-fee = Session fee
outstanding-balance = Outstanding balance
plan-title = Change the estimate
plan-submit = Show the new estimate
# A field of the change form that is not a number: "computers: `none` is not a whole number".
plan-not-a-number = { $field }: { not-a-whole-number }
choose-method = Choose how to pay
authorise-note = The reserved amount is held on your card now. { reservation-rule }
# The row under an estimate with what is reserved: the estimate plus headroom.
reserved = Reserved now (estimate plus headroom)
no-methods = No payment method is available for this site's country. Please contact the site administrator.
already-paid = This order is paid. Thank you!
label-fee = Fee
label-discount = Discount (code { $code })
code-label = Promotion code
code-apply = Apply
code-not-applied-title = Code not applied
code-not-applied-body = The code was not applied: { $why }.
code-free-title = You are registered
code-free-body = The code { $code } covers the whole fee of { $title }: nothing is charged. You are being registered, and get the join link in chat.
nothing-to-pay = Nothing is left to pay: the code covers the whole fee.
back-to-pay = Back to the pay page

## What happened

expired-title = This pay link has expired
expired-body = Pay links work for a limited time, and this one is too old. Nothing was charged. Ask for a new link in chat (for example with /quote) and pay from there.
invalid-title = This is not a valid pay link
invalid-body = The link is incomplete or was changed. Check that you copied all of it, or ask for a new one in chat.
closed-title = Registration is closed
closed-body = This session no longer takes registrations: it is full, was cancelled or is past its registration deadline. Nothing was charged.
settled-title = Nothing is owed
settled-body = This balance has been paid already. Nothing was charged.
over-budget-title = Over the division's budget
over-budget-rule = This site does not allow sessions over budget; nothing was charged.
authorised-title = Payment authorised
authorised-body = The amount is reserved on your card. { reservation-rule } You may close this page.
paid-title = Payment received
paid-body = Thank you, your payment was received. You may close this page.
declined-title = Payment declined
declined-body = The payment was declined and nothing was charged. You can try again with another card or method.
pending-title = Waiting for confirmation
pending-body = We have not heard back from the payment service yet. Reload this page in a minute; you do not need to pay again.
cancelled-title = Payment cancelled
cancelled-body = You cancelled the payment and nothing was charged.
unavailable-title = Payment service unavailable
unavailable-body = We could not reach the payment service. Nothing was charged. Please try again in a few minutes.
try-again = Try again

## The sandbox checkout

test-mode = TEST MODE
test-mode-body = This is tollbooth's sandbox checkout. No card is asked for and no real money moves.
approve = Approve payment
decline = Decline payment
cancel = Cancel and go back

## Payment methods

method-sandbox = Test payment (sandbox)
method-payflow = Credit or debit card
method-stripe = Card (Stripe)
method-paypal = PayPal
method-express-checkout = PayPal Express Checkout
method-website-payments-pro = PayPal Website Payments Pro

## Hosts who link themselves: the page /link's sign-in comes back to

linked-title = Linked
linked-body = Discord member { $member } now acts as host { $email } (division { $division }). You can close this page and go back to Discord.
link-denied-title = Not linked
link-denied-body = You did not allow access, so nothing changed. Run /link in Discord to try again.
link-off-title = Linking is not set up
link-invalid-title = Not a valid sign-in link
link-invalid-body = This page was opened without a valid sign-in from /link, so nothing changed. Run /link in Discord for a fresh link.
link-expired-title = Sign-in link expired
link-expired-body = A sign-in link works for 10 minutes, so nothing changed. Run /link in Discord for a fresh one.
link-used-title = Sign-in link already used
link-used-body = This sign-in was already used, so nothing changed. Run /link in Discord for a fresh link.
link-failed-title = Sign-in failed
link-failed-body = { $platform } did not answer as expected, so nothing changed. Try /link again in a few minutes.
link-taken-title = Already linked to another member
link-taken-body = Another Discord member already acts as host { $email }, so nothing changed. Ask an administrator if this account is yours.

## What a pay page sells, the reservation, refunds on return, and the front page (issue 16)

# What the pay page and the authorised page both say about the reserved amount: true however
# the session is settled and adjusted.
reservation-rule = After the session you are charged for the minutes the platform recorded, not the estimate. Anything above the reserved amount is owed as well, and must be paid before your next session; a correction after the session may refund part of the charge or add to what is owed.
bought-session = Session
bought-next-session = Your next session (any meeting you host)
bought-when = Starts
bought-host = Host
bought-division = Division
bought-no-division = none
refund-title = Your payment is being refunded
refund-refused-body = Your payment for { $title } could not be honoured: { $why }. It is being refunded in full; you do not need to do anything.
refund-second-body = You had already paid for { $title }, so this second payment is being refunded in full. Your registration stands.
refund-why-unknown = registration was no longer possible
home-title = tollbooth
home-body = This server is tollbooth: it bills training sessions held on Webex and Zoom. Hosts pay for the minutes their sessions use, and attendees pay registration fees, through links the chat bot hands out. There is nothing to do on this page; open the link you were given in chat.

## Invoices and credit notes (issue 17)

invoice-title = Invoice { $number }
credit-note-title = Credit note { $number }
invoice-number = Number
invoice-date = Date
invoice-seller = Seller
invoice-buyer = Buyer
invoice-vat-id = VAT id { $id }
invoice-reference = Payment reference
invoice-corrects = Corrects invoice
invoice-item-registration = Registration fee: { $session }
invoice-item-session = Training session: { $session }
invoice-item-balance = Outstanding balance for earlier sessions
invoice-item-refund = Refund on invoice { $number }
invoice-item-refund-alone = Refund
invoice-item-seats = Registration fees: { $session }, { $seats ->
    [one] one seat
   *[other] { $seats } seats
}
invoice-item-discount = Discount (code { $code })
invoice-description = Description
invoice-net = Net
invoice-vat = VAT { $rate } %
invoice-gross = Amount
invoice-total = Total
invoice-refunded-total = Total refunded
invoice-prices-include-vat = Prices include VAT.
invoice-vat-added = VAT is added to the prices.
receipt-invoices = Invoices and credit notes
invoice-pdf = Download as PDF
invoice-others = Other documents of this order
# The buyer's optional VAT id on the pay page, printed on the invoice.
buyer-vat-id = Your VAT id (optional, printed on the invoice)
