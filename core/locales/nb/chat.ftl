# Svar i chat, nøkkel for nøkkel som en/chat.ftl.

unknown-command = Ukjent kommando.
interaction-unsupported = Denne interaksjonen støttes ikke.
store-failed = Noe gikk galt hos oss; prøv igjen om et minutt.

## Et ugyldig valg

option-problem = Valget `{ $option }` { $problem }.
option-missing = må fylles ut
option-unknown = finnes ikke for denne kommandoen
option-out-of-range = må være mellom { $min } og { $max }, fikk { $got }
option-length = må være { $min } til { $max } tegn lang
option-not-a-choice = må være en av { $choices }
kind-integer = må være et heltall
kind-string = må være tekst
kind-boolean = må være sann eller usann
kind-user = må være et medlem
kind-subcommand = må være en underkommando
option-unknown-subcommand = ukjent underkommando
option-platform = må være webex eller zoom
option-needs = krever `{ $option }`
option-above-zero = må være mer enn null
option-in-future = må være fram i tid
not-a-time = `{ $text }` er ikke et tidspunkt: skriv 2026-12-10 09:00 (i { $zone }), eller med tidsforskyvning, som 2026-12-10T09:00+01:00 eller 2026-12-10T08:00Z
deadline-after-end = kan ikke være etter at økten slutter
attendee-names = både fornavn og etternavn trengs
not-an-email = `{ $email }` er ikke en e-postadresse

## /quote

quote-person = { -person-minutes-label }: { $minutes } × { $price } { $currency } = { $amount } { $currency }
quote-teleconference = { -teleconference-minutes-label }: { $minutes } × { $price } { $currency } = { $amount } { $currency }
quote-total = { -total-label }: { $amount } { $currency }
quote-over-budget = ⚠️ Denne økten ville ført divisjonen { $division } { $over } { $currency } over budsjettet for { $month }.
quote-over-budget-blocked = Dette nettstedet lar deg ikke betale for økter over budsjett.
pay-refused-over-budget = Betaling for denne økten er avvist.
button-invalid = Denne knappen virker ikke lenger.
form-title = Endre anslaget
form-minutes = { label-minutes } (1–1440)
form-invalid = Dette skjemaet virker ikke lenger.
pay-off = Betaling for økter er slått av på dette nettstedet; en administrator kan slå det på med /admin.
pay-session = Betal { $amount } { $currency } for å holde økten (anslaget på { $estimate } { $currency } pluss { $headroom } % margin, reservert nå; du belastes for minuttene som brukes):

## /admin

admin-only = Bare medlemmer med tillatelsen Administrer server kan bruke /admin.
switch-on = på
switch-off = av
admin-ecommerce = Netthandel: { $state }
admin-pay-per-use = Betal-per-bruk-opplæring
admin-fee-based = Gebyrbasert opplæring
admin-feature = { $feature }: { $state }
admin-ecommerce-still-off = (netthandel er fortsatt slått av)
admin-prices = Priser fra nå: { $person } { $currency } per personminutt, { $teleconference } { $currency } per telekonferanseminutt.
admin-country = Land: { $country }
admin-methods = Betalingsmåter som tilbys i { $country }: { $methods }
admin-methods-none = ingen
admin-method-not-configured = nevner `{ $method }`, som ikke er satt opp på denne serveren (satt opp: { $configured })
admin-methods-empty = må nevne minst én betalingsmåte, eller `all`
admin-division = Divisjon: { $id } ({ $name })
admin-host = Vert: { $email } ({ $division })
admin-linked = <@{ $member }> opptrer nå som verten { $email }.
admin-budget = Budsjett: { $division } { $month }: { $amount } { $currency }
admin-over-budget-warn = Over budsjett: en økt over divisjonens budsjett gir en advarsel i anslaget
admin-over-budget-block = Over budsjett: betaling for en økt over divisjonens budsjett avvises
admin-exempt = Unntatt fra å betale før start { $who }: { $state }

## /report

report-only-admins = Bare medlemmer med tillatelsen Administrer server kan lese rapporter.
report-no-division = ingen divisjon `{ $division }`
report-heading = **{ $name }** ({ $id }), { $from } til { $to }:

## /session

platform-refused = { $platform } godtok ikke forespørselen: { $error }
platform-not-set-up = Økter på { $platform } kan ikke styres fra chatten her: { $why }.
session-not-found = Ingen økt { $platform }/{ $meeting } er planlagt for deg gjennom tollbooth; planlegg en med /session schedule.
fees-off = Gebyrer er slått av; en administrator kan slå på gebyrbasert opplæring med /admin.
fee-line =
    Gebyr { $amount } { $currency }, { $capacity ->
        [one] { $capacity } plass
       *[other] { $capacity } plasser
    }. Deltakere registrerer seg med `/register session:{ $session }`.
session-scheduled = Planla **{ $title }** på { $platform } { $at }, { count-minutes }: møte `{ $meeting }`.
pay-before-start = Betal før start: /quote og *Betal*, så gir /session start startlenken.
session-was-cancelled = Den økten er avlyst.
start-unpaid = Økten er ikke betalt ennå: bruk /quote og *Betal*, og be om startlenken igjen.
start-here = Start **{ $title }** her:
button-start = Start
session-cancelled =
    Avlyste **{ $title }**: { $refunds ->
        [one] { $refunds } betalt registrering refunderes
       *[other] { $refunds } betalte registreringer refunderes
    }, { $closed ->
        [one] { $closed } ubetalt lukkes
       *[other] { $closed } ubetalte lukkes
    }; møtet slettes på { $platform }.
session-unknown = Økten { $platform }/{ $meeting } er ukjent.
state-running = pågår
state-ended = avsluttet
state-blocked = stoppet (startet uten betaling)
status-heading = **Økt { $platform }/{ $meeting }**: { $state }, startet { $started }
status-usage =
    { $connections ->
        [one] { $connections } tilkobling
       *[other] { $connections } tilkoblinger
    }; personminutter { $person } = { $person_amount } { $currency }; telekonferanseminutter { $teleconference } = { $teleconference_amount } { $currency }
status-total = Totalt så langt: { $amount } { $currency }
status-paid = Betalt: { $authorised } { $currency } autorisert ({ $state }), referanse { $reference }
status-captured = belastet { $captured } { $currency }, utestående { $outstanding } { $currency }

## /register og /registrations

no-fee-session = Ingen økt med gebyr har id-en `{ $named }`.
ambiguous-session = `{ $named }` finnes på begge plattformene: skriv webex/{ $meeting } eller zoom/{ $meeting }.
cannot-register = Du kan ikke registrere deg for **{ $title }**: { $why }.
email-taken = Noen andre har allerede registrert seg for **{ $title }** med e-postadressen { $email }. Registrer deg med din egen e-postadresse.
registration-off = Registrering med gebyr er slått av på dette nettstedet.
already-registered = Du er allerede registrert for **{ $title }**; se /registrations.
pay-fee = Betal gebyret på { $amount } { $currency } for **{ $title }** ({ $at }). Når det er betalt, er du registrert og får lenken her.
registration-awaiting-payment = venter på betaling
registration-paid = betalt, registreres
registration-approved = registrert
registration-refunded = refundert
registration-cancelled-state = avlyst
registration-waiting = nummer { $place } på ventelisten
registration-offered = en plass holdes av til deg til { $until }: betal med /register
waiting-list-join = Stå på ventelisten for å bli tilbudt en plass når en blir ledig, i den rekkefølgen dere spurte.
button-join-waiting-list = Stå på ventelisten
button-leave-waiting-list = Forlat listen for { $title }
in-line = Du er nummer { $place } på ventelisten for **{ $title }**. Når en plass blir ledig, får du beskjed her, med en lenke som holder den av til deg en stund.
pay-offered = En plass på **{ $title }** ({ $at }) holdes av til deg til { $until }. Betal gebyret på { $amount } { $currency } innen da for å ta den.
left-line = Du har forlatt ventelisten for **{ $title }**.
not-in-line = Den registreringen står ikke på noen venteliste lenger.
no-registrations = Du har ingen registreringer. Registrer deg med /register.
register-code-pay = Betal { $total } { $currency } for **{ $title }** ({ $at }): gebyret på { $fee } { $currency } minus { $discount } { $currency } med koden `{ $code }`. Når det er betalt, er du registrert og får lenken her.
register-code-admitted = Koden `{ $code }` dekker hele gebyret for **{ $title }** ({ $at }): du blir registrert uten å betale, og får lenken her.
register-code-refused = Koden ble ikke brukt: { $why }. Registrer deg på nytt med en annen kode, eller uten.

## /session code

code-scope-site = for alle økter
code-scope-session = for økten { $session }
code-no-limit = ingen grense
code-no-expiry = utløper ikke
code-expires = utløper { $at }
code-line = `{ $code }`: { $off } rabatt { $scope }; brukt { $uses } av { $max }; { $expires }
code-added = La til koden { code-line }.
code-list-heading = Rabattkoder:
code-list-empty = Ingen rabattkoder er i bruk. Legg til en med /session code add.
code-removed = Fjernet koden `{ $code }`: den gjelder ingen nye bestillinger, og bestillinger den er brukt på beholder rabatten.
code-not-found = Ingen aktiv kode `{ $code }` er din å endre.
code-exists = En aktiv kode `{ $code }` finnes allerede: fjern den først, eller velg en annen.
code-percent-or-amount = oppgi enten en prosentsats eller et beløp, ikke begge
code-site-wide-admin = Bare en administrator kan lage koder for alle økter; oppgi økten din med `platform` og `meeting`.
code-platform-meeting = oppgi både `platform` og `meeting`, eller ingen av dem for en kode for alle økter

## Verter som kobler seg selv: /link

platform-name = { $platform ->
        [zoom] Zoom
       *[other] Webex
    }
link-consent = Logg inn i { $platform } med vertskontoen din og la tollbooth lese e-postadressen din: da kobles Discord-kontoen din til den verten. Knappen virker i 10 minutter.
link-button = Logg inn i { $platform }
link-not-configured = Kobling gjennom { $platform } er ikke satt opp på denne serveren: be en administrator koble deg med /admin link.

## Tider i nettstedets tidssone

time-skipped = `{ $text }` finnes ikke i { $zone }: klokkene hopper over den timen
time-ambiguous = `{ $text }` skjer to ganger i { $zone }: skriv { $earlier } eller { $later }

## /admin oppsett, status og tidssone

admin-timezone = Tidssone: { $zone }. Tider skrevet i chat uten tidsforskyvning leses i den.
admin-timezone-unknown = `{ $zone }` er ikke en IANA-tidssone, som Europe/Oslo eller UTC
admin-set-up = Nettstedet er satt opp: netthandel er på.
status-none = ingen
admin-status-heading = Innstillinger
admin-status =
    Netthandel: { $ecommerce }; betal-per-bruk-opplæring: { $pay_per_use }; gebyrbasert opplæring: { $fee_based }
    Land: { $country }; valuta: { $currency }; tidssone: { $timezone }
    Priser: { $person } { $currency } per personminutt, { $teleconference } { $currency } per telekonferanseminutt
    Over budsjett: { $over_budget }
    Betalingsmåter som tilbys i { $country }: { $methods }
    Standarddivisjon: { $division }
    Divisjoner: { $divisions }
    Koblede verter: { $hosts }
setup-title = Sett opp nettstedet
setup-currency-country = Valuta og land (f.eks. NOK NO)
setup-person-minute = Pris per personminutt
setup-teleconference-minute = Pris per telekonferanseminutt
setup-features = Funksjoner (pay-per-use, fee-based)
setup-division = Standarddivisjon (id og navn)
setup-division-example = opplaering Opplæring
setup-not-currency-country = `{ $text }` er ikke en valuta og et land, som NOK NO
setup-not-division = `{ $text }` er ikke en divisjons id og navn, som opplaering Opplæring

## /registrations avbestill og refunder, /admin avbestilling (issue 17)

registrations-none-paid = Du har ingen betalt registrering til `{ $named }`.
registrations-cancelled = Registreringen din til **{ $title }** er avbestilt: { $amount } { $currency } blir refundert (avbestillingsgebyr { $fee } { $currency }).
registrations-released = Plassen din på økten er avbestilt. Den var uten betaling, så ingenting refunderes; plassen går til nestemann.
registrations-refunded = Refunderer { $amount } { $currency } av registrering { $id } (forespørsel `{ $request }`); { $left } { $currency } gjenstår å refundere.
registrations-refunded-freed = Plassen er ledig.
registrations-refunded-kept = Deltakeren beholder plassen.
registrations-refund-done = Forespørsel `{ $request }` er allerede utført ({ $amount } { $currency }); ingenting mer blir refundert.
admin-cancellation = Deltakere kan avbestille inntil { $hours } timer før start; avbestillingsgebyret er { $fee } %.
admin-cancellation-off = Deltakere kan ikke avbestille selv; avbestillingsgebyret er { $fee } %.
registrations-refunded-so-far = { $amount } { $currency } refundert
