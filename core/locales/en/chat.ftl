# Chat replies: what the bot answers to commands, buttons and forms.

unknown-command = Unknown command.
interaction-unsupported = This interaction is not supported.
store-failed = Something went wrong on our side; please try again in a minute.

## A bad option: "Option `minutes` must be a whole number."

option-problem = Option `{ $option }` { $problem }.
option-missing = is required
option-unknown = is not an option of this command
option-out-of-range = must be between { $min } and { $max }, got { $got }
option-length = must be { $min } to { $max } characters long
option-not-a-choice = must be one of { $choices }
kind-integer = must be a whole number
kind-string = must be text
kind-boolean = must be true or false
kind-user = must be a member
kind-subcommand = must be a subcommand
option-unknown-subcommand = unknown subcommand
option-platform = must be webex or zoom
option-needs = needs `{ $option }`
option-above-zero = must be more than zero
option-in-future = must be in the future
not-a-time = `{ $text }` is not a time: write 2026-12-10 09:00 (in { $zone }), or with an offset, such as 2026-12-10T09:00+01:00 or 2026-12-10T08:00Z
deadline-after-end = must not be after the session ends
attendee-names = first and last name are both needed
not-an-email = `{ $email }` is not an e-mail address

## /quote

quote-person = { -person-minutes-label }: { $minutes } × { $price } { $currency } = { $amount } { $currency }
quote-teleconference = { -teleconference-minutes-label }: { $minutes } × { $price } { $currency } = { $amount } { $currency }
quote-total = { -total-label }: { $amount } { $currency }
quote-over-budget = ⚠️ This session would take division { $division } { $over } { $currency } over its budget for { $month }.
quote-over-budget-blocked = This site does not let you pay for sessions over budget.
pay-refused-over-budget = Paying for this session is refused.
button-invalid = This button is no longer valid.
form-title = Change the quote
form-minutes = { label-minutes } (1–1440)
form-invalid = This form is no longer valid.
pay-off = Paying for sessions is turned off on this site; an administrator can turn it on with /admin.
pay-session = Pay { $amount } { $currency } to run this session (the estimate of { $estimate } { $currency } plus { $headroom } % headroom, held now; you are charged for the minutes used):

## /admin

admin-only = Only members with the Manage Server permission may use /admin.
switch-on = on
switch-off = off
admin-ecommerce = E-commerce: { $state }
admin-pay-per-use = Pay-per-use
admin-fee-based = Fee-based training
admin-feature = { $feature }: { $state }
admin-ecommerce-still-off = (e-commerce itself is still off)
admin-prices = Prices from now on: { $person } { $currency } per person-minute, { $teleconference } { $currency } per teleconference minute.
admin-country = Country: { $country }
admin-methods = Payment methods offered in { $country }: { $methods }
admin-methods-none = none
admin-method-not-configured = names `{ $method }`, which is not configured on this server (configured: { $configured })
admin-methods-empty = must name at least one method, or `all`
admin-division = Division: { $id } ({ $name })
admin-host = Host: { $email } ({ $division })
admin-linked = <@{ $member }> now acts as host { $email }.
admin-budget = Budget: { $division } { $month }: { $amount } { $currency }
admin-over-budget-warn = Over budget: a session over its division's budget is warned about in the quote
admin-over-budget-block = Over budget: paying for a session over its division's budget is refused
admin-exempt = Exempt from paying before a start { $who }: { $state }

## /report

report-only-admins = Only members with the Manage Server permission may read reports.
report-no-division = no division `{ $division }`
report-heading = **{ $name }** ({ $id }), { $from } to { $to }:

## /session

platform-refused = { $platform } did not accept the request: { $error }
platform-not-set-up = Sessions on { $platform } cannot be managed from chat here: { $why }.
session-not-found = No session { $platform }/{ $meeting } was scheduled through tollbooth for you; schedule one with /session schedule.
fees-off = Fees are turned off on this site; an administrator can turn fee-based training on with /admin.
# $capacity is a number, or "-" when there is no limit.
fee-line =
    Fee { $amount } { $currency }, { $capacity ->
        [one] { $capacity } seat
       *[other] { $capacity } seats
    }. Attendees register with `/register session:{ $session }`.
session-scheduled = Scheduled **{ $title }** on { $platform } for { $at }, { count-minutes }: meeting `{ $meeting }`.
pay-before-start = Pay before you start: /quote and *Pay*, then /session start gives the start link.
session-was-cancelled = That session was cancelled.
start-unpaid = This session is not paid for yet: use /quote and *Pay*, then ask for the start link again.
start-here = Start **{ $title }** here:
button-start = Start
session-cancelled =
    Cancelled **{ $title }**: { $refunds ->
        [one] { $refunds } paid registration is being refunded
       *[other] { $refunds } paid registrations are being refunded
    }, { $closed ->
        [one] { $closed } unpaid one closed
       *[other] { $closed } unpaid ones closed
    }; the meeting is being deleted on { $platform }.
session-unknown = No session { $platform }/{ $meeting } is known.
state-running = running
state-ended = ended
state-blocked = blocked (started unpaid)
status-heading = **Session { $platform }/{ $meeting }**: { $state }, started { $started }
status-usage =
    { $connections ->
        [one] { $connections } connection
       *[other] { $connections } connections
    }; person-minutes { $person } = { $person_amount } { $currency }; teleconference minutes { $teleconference } = { $teleconference_amount } { $currency }
status-total = Total so far: { $amount } { $currency }
status-paid = Paid: { $authorised } { $currency } authorised ({ $state }), reference { $reference }
status-captured = captured { $captured } { $currency }, outstanding { $outstanding } { $currency }

## /register and /registrations

no-fee-session = No session with a fee has the id `{ $named }`.
ambiguous-session = `{ $named }` is on both platforms: write webex/{ $meeting } or zoom/{ $meeting }.
cannot-register = You cannot register for **{ $title }**: { $why }.
email-taken = Someone else has already registered for **{ $title }** with the e-mail address { $email }. Register with your own e-mail address.
registration-off = Registration with a fee is turned off on this site.
already-registered = You are registered for **{ $title }** already; see /registrations.
pay-fee = Pay the fee of { $amount } { $currency } for **{ $title }** ({ $at }). Once it is paid you are registered and get the join link here.
registration-awaiting-payment = waiting for payment
registration-paid = paid, being registered
registration-approved = registered
registration-refunded = refunded
registration-cancelled-state = cancelled
registration-waiting = number { $place } on the waiting list
registration-offered = a seat is held for you until { $until }: pay with /register
waiting-list-join = Join the waiting list to be offered a seat when one is freed, in order of asking.
button-join-waiting-list = Join the waiting list
button-leave-waiting-list = Leave the list for { $title }
in-line = You are number { $place } on the waiting list for **{ $title }**. When a seat is freed you are told here, with a link that holds it for you for a while.
pay-offered = A seat in **{ $title }** ({ $at }) is held for you until { $until }. Pay the fee of { $amount } { $currency } by then to take it.
left-line = You have left the waiting list for **{ $title }**.
not-in-line = That registration is not on a waiting list any more.
no-registrations = You have no registrations. Register with /register.
register-code-pay = Pay { $total } { $currency } for **{ $title }** ({ $at }): the fee of { $fee } { $currency } less { $discount } { $currency } with the code `{ $code }`. Once it is paid you are registered and get the join link here.
register-code-admitted = The code `{ $code }` covers the whole fee of **{ $title }** ({ $at }): you are being registered without paying, and get the join link here.
register-code-refused = The code was not applied: { $why }. Register again with another code, or without one.

## /session code

code-scope-site = for every session
code-scope-session = for session { $session }
code-no-limit = no limit
code-no-expiry = no expiry
code-expires = expires { $at }
code-line = `{ $code }`: { $off } off { $scope }; used { $uses } of { $max }; { $expires }
code-added = Added the code { code-line }.
code-list-heading = Promotion codes:
code-list-empty = No promotion codes are live. Add one with /session code add.
code-removed = Removed the code `{ $code }`: it applies to no new order, and orders it was applied to keep their discount.
code-not-found = No live code `{ $code }` is yours to change.
code-exists = A live code `{ $code }` exists already: remove it first, or choose another.
code-percent-or-amount = give either a percentage or an amount, not both
code-site-wide-admin = Only a site administrator can make codes for every session; name your session with `platform` and `meeting`.
code-platform-meeting = give both `platform` and `meeting`, or neither for a code for every session

## Hosts who link themselves: /link

platform-name = { $platform ->
        [zoom] Zoom
       *[other] Webex
    }
link-consent = Sign in to { $platform } with your host account and allow tollbooth to read your e-mail address: your Discord account is then linked to that host. The button works for 10 minutes.
link-button = Sign in to { $platform }
link-not-configured = Linking through { $platform } is not set up on this server: ask an administrator to link you with /admin link.

## Times in the site's zone

time-skipped = `{ $text }` does not exist in { $zone }: the clocks skip that hour
time-ambiguous = `{ $text }` happens twice in { $zone }: write { $earlier } or { $later }

## /admin setup, status and timezone

admin-timezone = Time zone: { $zone }. Times typed in chat without an offset are read in it.
admin-timezone-unknown = `{ $zone }` is not an IANA time zone, such as Europe/Oslo or UTC
admin-set-up = The site is set up: e-commerce is on.
status-none = none
admin-status-heading = Site settings
admin-status =
    E-commerce: { $ecommerce }; pay-per-use: { $pay_per_use }; fee-based training: { $fee_based }
    Country: { $country }; currency: { $currency }; time zone: { $timezone }
    Prices: { $person } { $currency } per person-minute, { $teleconference } { $currency } per teleconference minute
    Over budget: { $over_budget }
    Payment methods offered in { $country }: { $methods }
    Default division: { $division }
    Divisions: { $divisions }
    Linked hosts: { $hosts }
setup-title = Set up the site
setup-currency-country = Currency and country (e.g. NOK NO)
setup-person-minute = Price per person-minute
setup-teleconference-minute = Price per teleconference minute
setup-features = Features (pay-per-use, fee-based)
setup-division = Default division (id and name)
setup-division-example = training Training
setup-not-currency-country = `{ $text }` is not a currency and a country, such as NOK NO
setup-not-division = `{ $text }` is not a division's id and name, such as training Training

## /registrations cancel and refund, /admin cancellation (issue 17)

registrations-none-paid = You hold no paid registration for `{ $named }`.
registrations-cancelled = Your registration for **{ $title }** is cancelled: { $amount } { $currency } is being refunded (cancellation fee { $fee } { $currency }).
registrations-released = Your seat for the session is cancelled. It was had without a payment, so nothing is refunded; the seat goes to the next person.
registrations-refunded = Refunding { $amount } { $currency } of registration { $id } (request `{ $request }`); { $left } { $currency } remains refundable.
registrations-refunded-freed = The seat is freed.
registrations-refunded-kept = The attendee keeps their seat.
registrations-refund-done = Request `{ $request }` was done already ({ $amount } { $currency }); nothing more is refunded.
admin-cancellation = Attendees may cancel until { $hours } hours before the start; the cancellation fee is { $fee } %.
admin-cancellation-off = Attendees may not cancel themselves; the cancellation fee is { $fee } %.
registrations-refunded-so-far = { $amount } { $currency } refunded
