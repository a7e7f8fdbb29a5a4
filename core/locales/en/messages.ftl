# Shared words and the direct messages tollbooth sends on its own (blocked starts, receipts,
# registrations), plus the texts the domain hands to chat and pages.
#
# Terms (names starting with "-") hold the words of one concept, so that chat, pages and
# messages say it the same way; code reads messages only.

-estimated-cost-label = Estimated session cost
-person-minutes-label = Person-minutes
-teleconference-minutes-label = Teleconference minutes
-total-label = Total

## Shared words

estimated-cost = { -estimated-cost-label }
person-minutes = { -person-minutes-label }
teleconference-minutes = { -teleconference-minutes-label }
total = { -total-label }
label-minutes = Minutes
label-computers = Computers
label-phones = Phones
button-change = Change
button-pay = Pay
pay-now = Pay now
pay-balance = Pay balance
not-linked = Your Discord account is not linked to a host yet: run /link to sign in with your Webex or Zoom host account, or ask an administrator to run /admin link.
not-a-whole-number = `{ $text }` is not a whole number

## Counts: $minutes, $computers, $phones are numbers, so the plural follows them.

count-minutes =
    { $minutes ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    }
count-computers =
    { $computers ->
        [one] { $computers } computer
       *[other] { $computers } computers
    }
count-phones =
    { $phones ->
        [one] { $phones } phone
       *[other] { $phones } phones
    }
# A session plan: in the quote, on the pay page and at the gateway.
plan-summary = { count-minutes }, { count-computers }, { count-phones }
# A plan refused: "minutes must be between 1 and 1440, got 0".
plan-out-of-range = { $field } must be between { $min } and { $max }, got { $got }

## Receipts of paid sessions, in chat and on the receipt page

receipt-title = Receipt
receipt-session = Session { $session }
receipt-person = { -person-minutes-label }: { $minutes } × { $price } = { $amount } { $currency }
receipt-teleconference = { -teleconference-minutes-label }: { $minutes } × { $price } = { $amount } { $currency }
receipt-total = { -total-label }: { $amount } { $currency }
receipt-charged = Charged to your payment: { $amount } { $currency }
receipt-outstanding = Outstanding (above the authorisation): { $amount } { $currency }
receipt-reference = Payment reference: { $reference }
receipt-no-reference = none
receipt-adjustment-charge = Adjustment { $reference } ({ $reason }): { $amount } { $currency } more, owed
receipt-adjustment-refund = Adjustment { $reference } ({ $reason }): { $amount } { $currency } less, { $refund } { $currency } refunded

## Settlement: adjustments of a settled session

adjustment-reason-late-data = connections were reported after it was settled
adjustment-charge = Your session { $session } was settled again because { $reason }: it cost { $amount } { $currency } more, { $total } { $currency } in all. The difference is added to your outstanding balance; pay it with the link below before your next start.
adjustment-refund = Your session { $session } was settled again because { $reason }: it cost { $amount } { $currency } less, { $total } { $currency } in all, and { $refund } { $currency } goes back to your payment.

## A division's spend (/report)

spend-line =
    { $date } { $host } { $session }: { $person ->
        [one] { $person } person-minute
       *[other] { $person } person-minutes
    }, { $teleconference ->
        [one] { $teleconference } teleconference minute
       *[other] { $teleconference } teleconference minutes
    }, { $amount } { $currency } (payment { $reference })
spend-total =
    { -total-label }: { $amount } { $currency } ({ $sessions ->
        [one] { $sessions } session
       *[other] { $sessions } sessions
    })

## Budgets

over-budget-explain = Division { $division } has a budget of { $budget } { $currency } for { $month }, and this session ({ $estimate } { $currency }) would take it { $over } { $currency } over.

## Pay-per-use: blocked starts and refused captures

block-unpaid = started without a paid authorisation
block-outstanding = the host owes { $owed } { $currency } from an earlier session
blocked-ended = Your { $platform } meeting was ended: it { $reason }.
blocked-late = Your { $platform } meeting had already ended when tollbooth heard it start: it { $reason }.
blocked-next = Pay with the link below (the estimate can be changed there), then start the meeting again.
capture-refused = We could not collect { $amount } { $currency } for your session { $session }: { $why }. It is now your outstanding balance, to be paid before your next start.

## Fee-based training: registrations

closed-no-fee = the session has no registration fee
closed-cancelled = the session was cancelled
closed-deadline = registration for the session has closed
closed-full = the session is full
closed-platform-refused = the platform refused the registration
fee-fixed = attendees have registered for { $session }; its fee can no longer change
registration-refused = Your payment for **{ $title }** could not be honoured: { $why }. It is being refunded in full.
registration-paid-twice = You paid twice for **{ $title }**; the second payment is being refunded in full.
registration-cancelled = **{ $title }** was cancelled by its host. Your registration fee is being refunded in full.
registration-cancelled-free = **{ $title }** was cancelled by its host. Your registration, free with a promotion code, is closed; nothing was paid.
registration-cancelled-subject = Cancelled: { $title }
registration-joined = You are registered for **{ $title }** ({ $at }).
registration-joined-webex = Webex also e-mails you the link.
registration-receipt = Receipt: registration { $id } for { $who }, { $fee } { $currency }, payment reference { $reference }.
registration-invoice = Invoice { $number }: { $url }
button-join = Join
seat-offered-subject = A seat for { $title }
seat-offered = A seat is free in **{ $title }** ({ $at }) and is held for you until { $until }. Pay the fee of { $amount } { $currency } by then to take it; after that it is offered to the next person on the waiting list.
seat-offer-lapsed = The seat held for you in **{ $title }** was not paid for in time and has gone to the next person on the waiting list. Register again to join the end of the list.
left-waiting-list = left the waiting list

## Promotion codes: why one is not applied

code-malformed = `{ $code }` is not a promotion code: a code has 3 to 32 letters, digits, `-` or `_`
code-bad-percent = `{ $text }` is not a percentage above 0 and at most 100 (at most two decimals)
code-unknown = there is no promotion code `{ $code }`
code-expired = the promotion code `{ $code }` has expired
code-used-up = the promotion code `{ $code }` is used up
code-other-session = the promotion code `{ $code }` is for another session
code-other-currency = the promotion code `{ $code }` is in another currency than the fee
code-payment-under-way = a payment of this order is under way or done, so its price can no longer change; cancel the payment at the payment service to use a code
code-applied-already = the code `{ $code }` is applied to this order already
code-closed = { $why }
code-order-closed = this registration is no longer waiting for payment

## What a gateway's checkout says it is for

checkout-session = Session { $session }: { plan-summary }
checkout-registration = Registration for session { $session }
checkout-balance = Outstanding balance of { $host }

## Reconciliation: settled sessions beside the platforms' own figures (person/teleconference minutes)

reconcile-line = { $date } { $session } { $host } { $state }: billed { $billed }, platform record { $platform }, report { $reported }, { $amount } { $currency }
reconcile-flagged = { $date } { $session } { $host } { $state }: billed { $billed }, platform record { $platform }, report { $reported }, { $amount } { $currency } FLAGGED
reconcile-summary = { $sessions ->
        [one] { $sessions } settled session
       *[other] { $sessions } settled sessions
    }, { $flagged } flagged
report-flagged = Differing from the platform's report (billed / platform record / report, person/teleconference minutes):

## Receipts before the capture, and registering through a form (issue 16)

receipt-reference-pending = pending
register-form-title = Register
register-form-first-name = First name
register-form-last-name = Last name
register-form-email = E-mail
register-form-code = Promotion code (optional)

## E-mail subjects (the texts are the direct messages' own)

receipt-subject = Receipt for session { $session }
blocked-subject = Your { $platform } meeting was stopped: payment needed
adjustment-subject = Your session { $session } was settled again
registration-joined-subject = Registered: { $title }
registration-refund-subject = Refund: { $title }

## Refunds and cancellations of registrations (issue 17)

cancellation-bad-hours = { $hours } is not a number of hours from 0 to { $most }
cancellation-bad-fee = `{ $fee }` is not a cancellation fee: a percentage from 0 to 100 with at most two decimals
refund-not-paid = This registration holds no payment to refund: it is unpaid, refunded or cancelled.
refund-not-allowed = Only the session's host or a site administrator may refund its registrations.
refund-no-registration = There is no registration `{ $id }`.
cancel-not-offered = This site does not let attendees cancel themselves; ask the session's host.
cancel-deadline-passed = Cancelling closed at { $deadline }; ask the session's host for a refund.
refund-more-than-remains = { $asked } { $currency } is more than remains refundable: { $left } { $currency }.
refund-bad-amount = `{ $asked }` is not an amount to refund in { $currency }: it must be more than zero, with at most the currency's decimals.
refund-not-partial = { $gateway } cannot refund part of a payment: only the whole amount can be refunded there.
refund-reason-cancelled = cancelled by the attendee
refund-reason-refunded = refunded by the host
refund-told-cancelled = Your registration for **{ $title }** is cancelled. { $amount } { $currency } is being refunded; a cancellation fee of { $fee } { $currency } was kept.
refund-told-whole = The host refunded { $amount } { $currency } of your registration fee for **{ $title }**; your registration is cancelled.
refund-told-part = The host refunded { $amount } { $currency } of your registration fee for **{ $title }**; you keep your seat.

## Group seats: one payer, several seats.
register-form-attendees = Attendees ({ $seats }), one a line, you first
register-form-attendees-example = Ada Lovelace <ada@example.com>
    Grace Hopper, grace@example.com
group-seats-at-least-one = must be at least 1
group-bad-line = Line { $line } (`{ $typed }`): { $why }.
group-line-form = write `First Last <email>` or `First Last, email`
group-line-repeated = this e-mail address is on an earlier line
group-line-count = You asked for { $seats } seats but gave { $lines } attendees: give one a line, yours first.
group-over-max = { $asked } seats is more than the { $max } one registration may take
group-over-left = { $asked } seats asked for, only { $left } left
group-pay = The payment buys { $seats } seats: each attendee gets their own join link.
refund-no-such-seat = This registration has no guest's seat { $seat } still held: seats 2 and on are a group's guests, and the payer's seat 1 goes only with the whole registration.
refund-seat-or-amount = give either an amount or a guest's seat (2 and on), not both
registrations-seats = { $seats } seats
refund-told-seat = The host refunded { $amount } { $currency } for seat { $seat } of your group for **{ $title }**: that seat is freed, and the others are kept.
