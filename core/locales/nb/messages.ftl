# Norwegian Bokmål, key for key as en/messages.ftl.
#
# One word per concept, the seed's own where it has one (shared/seed): "Beregnet
# øktkostnad", personminutter, telekonferanseminutter, gebyr, registrering, divisjon, vert,
# deltaker, betal-per-bruk, gebyrbasert opplæring, nettstedsadministrator. Elsewhere: anslag
# (estimate), autorisere (authorise), belaste (charge, capture), utestående (outstanding),
# margin (headroom), betalingsmåte (payment method), betalingslenke (pay link).

-estimated-cost-label = Beregnet øktkostnad
-person-minutes-label = Personminutter
-teleconference-minutes-label = Telekonferanseminutter
-total-label = Totalt

## Felles ord

estimated-cost = { -estimated-cost-label }
person-minutes = { -person-minutes-label }
teleconference-minutes = { -teleconference-minutes-label }
total = { -total-label }
label-minutes = Minutter
label-computers = Datamaskiner
label-phones = Telefoner
button-change = Endre
button-pay = Betal
pay-now = Betal nå
pay-balance = Betal utestående
not-linked = Discord-kontoen din er ikke koblet til en vert ennå: kjør /link for å logge inn med vertskontoen din i Webex eller Zoom, eller be en administrator kjøre /admin link.
not-a-whole-number = `{ $text }` er ikke et heltall

## Antall

count-minutes =
    { $minutes ->
        [one] { $minutes } minutt
       *[other] { $minutes } minutter
    }
count-computers =
    { $computers ->
        [one] { $computers } datamaskin
       *[other] { $computers } datamaskiner
    }
count-phones =
    { $phones ->
        [one] { $phones } telefon
       *[other] { $phones } telefoner
    }
plan-summary = { count-minutes }, { count-computers }, { count-phones }
plan-out-of-range = { $field } må være mellom { $min } og { $max }, fikk { $got }

## Kvitteringer

receipt-title = Kvittering
receipt-session = Økt { $session }
receipt-person = { -person-minutes-label }: { $minutes } × { $price } = { $amount } { $currency }
receipt-teleconference = { -teleconference-minutes-label }: { $minutes } × { $price } = { $amount } { $currency }
receipt-total = { -total-label }: { $amount } { $currency }
receipt-charged = Belastet betalingen din: { $amount } { $currency }
receipt-outstanding = Utestående (over autorisasjonen): { $amount } { $currency }
receipt-reference = Betalingsreferanse: { $reference }
receipt-no-reference = ingen
receipt-adjustment-charge = Justering { $reference } ({ $reason }): { $amount } { $currency } mer, utestående
receipt-adjustment-refund = Justering { $reference } ({ $reason }): { $amount } { $currency } mindre, { $refund } { $currency } refundert

## Oppgjør: justeringer av en oppgjort økt

adjustment-reason-late-data = tilkoblinger ble meldt etter oppgjøret
adjustment-charge = Økten { $session } ble gjort opp på nytt fordi { $reason }: den kostet { $amount } { $currency } mer, { $total } { $currency } i alt. Forskjellen legges til det utestående beløpet ditt; betal det med lenken under før neste start.
adjustment-refund = Økten { $session } ble gjort opp på nytt fordi { $reason }: den kostet { $amount } { $currency } mindre, { $total } { $currency } i alt, og { $refund } { $currency } går tilbake til betalingen din.

## En divisjons forbruk (/report)

spend-line =
    { $date } { $host } { $session }: { $person ->
        [one] { $person } personminutt
       *[other] { $person } personminutter
    }, { $teleconference ->
        [one] { $teleconference } telekonferanseminutt
       *[other] { $teleconference } telekonferanseminutter
    }, { $amount } { $currency } (betaling { $reference })
spend-total =
    { -total-label }: { $amount } { $currency } ({ $sessions ->
        [one] { $sessions } økt
       *[other] { $sessions } økter
    })

## Budsjetter

over-budget-explain = Divisjonen { $division } har et budsjett på { $budget } { $currency } for { $month }, og denne økten ({ $estimate } { $currency }) ville ført den { $over } { $currency } over.

## Betal-per-bruk: stoppede starter og avviste belastninger

block-unpaid = ble startet uten en betalt autorisasjon
block-outstanding = verten skylder { $owed } { $currency } fra en tidligere økt
blocked-ended = { $platform }-møtet ditt ble avsluttet: det { $reason }.
blocked-late = { $platform }-møtet ditt var allerede over da tollbooth fikk vite at det startet: det { $reason }.
blocked-next = Betal med lenken nedenfor (anslaget kan endres der), og start møtet på nytt.
capture-refused = Vi fikk ikke belastet { $amount } { $currency } for økten { $session }: { $why }. Beløpet er nå utestående og betales før neste start.

## Gebyrbasert opplæring: registreringer

closed-no-fee = økten har ikke noe registreringsgebyr
closed-cancelled = økten er avlyst
closed-deadline = registreringen til økten er stengt
closed-full = økten er full
closed-platform-refused = plattformen avviste registreringen
fee-fixed = deltakere har registrert seg for { $session }; gebyret kan ikke lenger endres
registration-refused = Betalingen din for **{ $title }** kunne ikke godtas: { $why }. Hele beløpet refunderes.
registration-paid-twice = Du betalte to ganger for **{ $title }**; den andre betalingen refunderes i sin helhet.
registration-cancelled = **{ $title }** er avlyst av verten. Registreringsgebyret ditt refunderes i sin helhet.
registration-cancelled-free = **{ $title }** er avlyst av verten. Registreringen din, gratis med en rabattkode, er lukket; ingenting ble betalt.
registration-cancelled-subject = Avlyst: { $title }
registration-joined = Du er registrert for **{ $title }** ({ $at }).
registration-joined-webex = Webex sender deg også lenken på e-post.
registration-receipt = Kvittering: registrering { $id } for { $who }, { $fee } { $currency }, betalingsreferanse { $reference }.
registration-invoice = Faktura { $number }: { $url }
button-join = Bli med
seat-offered-subject = En plass på { $title }
seat-offered = En plass er ledig på **{ $title }** ({ $at }) og holdes av til deg til { $until }. Betal gebyret på { $amount } { $currency } innen da for å ta den; etter det tilbys den neste på ventelisten.
seat-offer-lapsed = Plassen som ble holdt av til deg på **{ $title }**, ble ikke betalt i tide og har gått videre til neste på ventelisten. Registrer deg på nytt for å stille deg sist på listen.
left-waiting-list = forlot ventelisten

## Rabattkoder: hvorfor en ikke brukes

code-malformed = `{ $code }` er ikke en rabattkode: en kode har 3 til 32 bokstaver, sifre, `-` eller `_`
code-bad-percent = `{ $text }` er ikke en prosentsats over 0 og høyst 100 (høyst to desimaler)
code-unknown = det finnes ingen rabattkode `{ $code }`
code-expired = rabattkoden `{ $code }` er utløpt
code-used-up = rabattkoden `{ $code }` er brukt opp
code-other-session = rabattkoden `{ $code }` gjelder en annen økt
code-other-currency = rabattkoden `{ $code }` er i en annen valuta enn gebyret
code-payment-under-way = en betaling for denne bestillingen er i gang eller fullført, så prisen kan ikke lenger endres; avbryt betalingen hos betalingstjenesten for å bruke en kode
code-applied-already = koden `{ $code }` er allerede brukt på denne bestillingen
code-closed = { $why }
code-order-closed = denne registreringen venter ikke lenger på betaling

## Hva en betalingstjenestes kasse sier at den gjelder

checkout-session = Økt { $session }: { plan-summary }
checkout-registration = Registrering for økten { $session }
checkout-balance = Utestående beløp for { $host }

## Avstemming: oppgjorte økter ved siden av plattformens egne tall (person-/telefonminutter)

reconcile-line = { $date } { $session } { $host } { $state }: fakturert { $billed }, plattformens oversikt { $platform }, rapport { $reported }, { $amount } { $currency }
reconcile-flagged = { $date } { $session } { $host } { $state }: fakturert { $billed }, plattformens oversikt { $platform }, rapport { $reported }, { $amount } { $currency } FLAGGET
reconcile-summary = { $sessions ->
        [one] { $sessions } oppgjort økt
       *[other] { $sessions } oppgjorte økter
    }, { $flagged } flagget
report-flagged = Avvik fra plattformens rapport (fakturert / plattformens oversikt / rapport, person-/telefonminutter):

## Receipts before the capture, and registering through a form (issue 16)

receipt-reference-pending = venter
register-form-title = Registrer deg
register-form-first-name = Fornavn
register-form-last-name = Etternavn
register-form-email = E-post
register-form-code = Rabattkode (valgfritt)

## E-postemner (tekstene er direktemeldingenes egne)

receipt-subject = Kvittering for økten { $session }
blocked-subject = { $platform }-møtet ditt ble stoppet: betaling trengs
adjustment-subject = Økten { $session } ble gjort opp på nytt
registration-joined-subject = Registrert: { $title }
registration-refund-subject = Refusjon: { $title }

## Refusjoner og avbestillinger av registreringer (issue 17)

cancellation-bad-hours = { $hours } er ikke et antall timer fra 0 til { $most }
cancellation-bad-fee = `{ $fee }` er ikke et avbestillingsgebyr: en prosent fra 0 til 100 med høyst to desimaler
refund-not-paid = Denne registreringen har ingen betaling å refundere: den er ubetalt, refundert eller avbestilt.
refund-not-allowed = Bare øktens vert eller en administrator for nettstedet kan refundere registreringene.
refund-no-registration = Det finnes ingen registrering `{ $id }`.
cancel-not-offered = Dette nettstedet lar ikke deltakere avbestille selv; spør øktens vert.
cancel-deadline-passed = Avbestillingen stengte { $deadline }; spør øktens vert om refusjon.
refund-more-than-remains = { $asked } { $currency } er mer enn det som gjenstår å refundere: { $left } { $currency }.
refund-bad-amount = `{ $asked }` er ikke et beløp å refundere i { $currency }: det må være mer enn null, med høyst valutaens desimaler.
refund-not-partial = { $gateway } kan ikke refundere deler av en betaling: der kan bare hele beløpet refunderes.
refund-reason-cancelled = avbestilt av deltakeren
refund-reason-refunded = refundert av verten
refund-told-cancelled = Registreringen din til **{ $title }** er avbestilt. { $amount } { $currency } blir refundert; et avbestillingsgebyr på { $fee } { $currency } ble holdt tilbake.
refund-told-whole = Verten refunderte { $amount } { $currency } av registreringsgebyret ditt for **{ $title }**; registreringen din er avbestilt.
refund-told-part = Verten refunderte { $amount } { $currency } av registreringsgebyret ditt for **{ $title }**; du beholder plassen din.

## Gruppeplasser: én betaler, flere plasser.
register-form-attendees = Deltakere ({ $seats }), én per linje, deg først
register-form-attendees-example = Ada Lovelace <ada@example.com>
    Grace Hopper, grace@example.com
group-seats-at-least-one = må være minst 1
group-bad-line = Linje { $line } (`{ $typed }`): { $why }.
group-line-form = skriv `Fornavn Etternavn <epost>` eller `Fornavn Etternavn, epost`
group-line-repeated = denne e-postadressen står på en tidligere linje
group-line-count = Du ba om { $seats } plasser, men oppga { $lines } deltakere: oppgi én per linje, deg først.
group-over-max = { $asked } plasser er flere enn de { $max } én registrering kan ta
group-over-left = { $asked } plasser ønsket, bare { $left } igjen
group-pay = Betalingen kjøper { $seats } plasser: hver deltaker får sin egen lenke til møtet.
refund-no-such-seat = Denne registreringen har ingen gjesteplass { $seat } som fortsatt holdes: plass 2 og oppover er gruppens gjester, og betalerens plass 1 følger bare hele registreringen.
refund-seat-or-amount = oppgi enten et beløp eller en gjesteplass (2 og oppover), ikke begge
registrations-seats = { $seats } plasser
refund-told-seat = Verten refunderte { $amount } { $currency } for plass { $seat } i gruppen din for **{ $title }**: den plassen er ledig, og de andre beholdes.
