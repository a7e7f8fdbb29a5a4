# Sidetekster, nøkkel for nøkkel som en/pages.ftl.

page-pay-title = Betal
price-per-minute = Pris per minutt
amount = Beløp
session-fee = Øktgebyr
outstanding-balance = Utestående beløp
plan-title = Endre anslaget
plan-submit = Vis det nye anslaget
plan-not-a-number = { $field }: { not-a-whole-number }
choose-method = Velg betalingsmåte
authorise-note = Det reserverte beløpet holdes av på kortet ditt nå. { reservation-rule }
reserved = Reserveres nå (anslag pluss margin)
no-methods = Ingen betalingsmåte er tilgjengelig for dette nettstedets land. Kontakt nettstedsadministratoren.
already-paid = Denne bestillingen er betalt. Takk!
label-fee = Gebyr
label-discount = Rabatt (kode { $code })
code-label = Rabattkode
code-apply = Bruk
code-not-applied-title = Koden ble ikke brukt
code-not-applied-body = Koden ble ikke brukt: { $why }.
code-free-title = Du er registrert
code-free-body = Koden { $code } dekker hele gebyret for { $title }: ingenting belastes. Du blir registrert, og får lenken i chatten.
nothing-to-pay = Ingenting gjenstår å betale: koden dekker hele gebyret.
back-to-pay = Tilbake til betalingssiden

## Hva som skjedde

expired-title = Denne betalingslenken er utløpt
expired-body = Betalingslenker virker bare en begrenset tid, og denne er for gammel. Ingenting er belastet. Be om en ny lenke i chatten (for eksempel med /quote) og betal derfra.
invalid-title = Dette er ikke en gyldig betalingslenke
invalid-body = Lenken er ufullstendig eller endret. Sjekk at du kopierte hele lenken, eller be om en ny i chatten.
closed-title = Registreringen er stengt
closed-body = Denne økten tar ikke imot flere registreringer: den er full, avlyst eller forbi registreringsfristen. Ingenting er belastet.
settled-title = Ingenting utestående
settled-body = Dette utestående beløpet er allerede betalt. Ingenting er belastet.
over-budget-title = Over divisjonens budsjett
over-budget-rule = Dette nettstedet tillater ikke økter over budsjett; ingenting er belastet.
authorised-title = Betalingen er autorisert
authorised-body = Beløpet er reservert på kortet ditt. { reservation-rule } Du kan lukke denne siden.
paid-title = Betalingen er mottatt
paid-body = Takk, betalingen din er mottatt. Du kan lukke denne siden.
declined-title = Betalingen ble avvist
declined-body = Betalingen ble avvist, og ingenting er belastet. Du kan prøve igjen med et annet kort eller en annen betalingsmåte.
pending-title = Venter på bekreftelse
pending-body = Vi har ikke fått svar fra betalingstjenesten ennå. Last inn siden på nytt om et minutt; du trenger ikke betale igjen.
cancelled-title = Betalingen er avbrutt
cancelled-body = Du avbrøt betalingen, og ingenting er belastet.
unavailable-title = Betalingstjenesten er utilgjengelig
unavailable-body = Vi fikk ikke kontakt med betalingstjenesten. Ingenting er belastet. Prøv igjen om noen minutter.
try-again = Prøv igjen

## Testkassen (sandkasse)

test-mode = TESTMODUS
test-mode-body = Dette er tollbooths testkasse (sandkasse). Det spørres ikke etter kort, og ingen ekte penger flyttes.
approve = Godkjenn betalingen
decline = Avvis betalingen
cancel = Avbryt og gå tilbake

## Betalingsmåter

method-sandbox = Testbetaling (sandkasse)
method-payflow = Kreditt- eller debetkort
method-stripe = Kort (Stripe)
method-paypal = PayPal
method-express-checkout = PayPal Express Checkout
method-website-payments-pro = PayPal Website Payments Pro

## Verter som kobler seg selv: siden innloggingen fra /link kommer tilbake til

linked-title = Koblet
linked-body = Discord-medlem { $member } opptrer nå som vert { $email } (divisjon { $division }). Du kan lukke denne siden og gå tilbake til Discord.
link-denied-title = Ikke koblet
link-denied-body = Du ga ikke tilgang, så ingenting ble endret. Kjør /link i Discord for å prøve igjen.
link-off-title = Kobling er ikke satt opp
link-invalid-title = Ikke en gyldig innloggingslenke
link-invalid-body = Denne siden ble åpnet uten en gyldig innlogging fra /link, så ingenting ble endret. Kjør /link i Discord for en ny lenke.
link-expired-title = Innloggingslenken er utløpt
link-expired-body = En innloggingslenke virker i 10 minutter, så ingenting ble endret. Kjør /link i Discord for en ny.
link-used-title = Innloggingslenken er allerede brukt
link-used-body = Denne innloggingen er allerede brukt, så ingenting ble endret. Kjør /link i Discord for en ny lenke.
link-failed-title = Innloggingen mislyktes
link-failed-body = { $platform } svarte ikke som ventet, så ingenting ble endret. Prøv /link igjen om noen minutter.
link-taken-title = Allerede koblet til et annet medlem
link-taken-body = Et annet Discord-medlem opptrer allerede som vert { $email }, så ingenting ble endret. Spør en administrator hvis denne kontoen er din.

## What a pay page sells, the reservation, refunds on return, and the front page (issue 16)

reservation-rule = Etter økten belastes du for minuttene plattformen registrerte, ikke anslaget. Det som går over det reserverte beløpet, skyldes også og må betales før neste økt; en korrigering etter økten kan refundere deler av beløpet eller legge til det som skyldes.
bought-session = Økt
bought-next-session = Din neste økt (et hvilket som helst møte du er vert for)
bought-when = Starter
bought-host = Vert
bought-division = Divisjon
bought-no-division = ingen
refund-title = Betalingen din refunderes
refund-refused-body = Betalingen din for { $title } kunne ikke godtas: { $why }. Den refunderes i sin helhet; du trenger ikke gjøre noe.
refund-second-body = Du hadde allerede betalt for { $title }, så denne andre betalingen refunderes i sin helhet. Registreringen din står ved lag.
refund-why-unknown = registrering var ikke lenger mulig
home-title = tollbooth
home-body = Denne serveren er tollbooth: den fakturerer opplæringsøkter på Webex og Zoom. Verter betaler for minuttene øktene bruker, og deltakere betaler registreringsgebyrer, gjennom lenker chat-boten gir dem. Det er ingenting å gjøre på denne siden; åpne lenken du fikk i chatten.

## Invoices and credit notes (issue 17)

invoice-title = Faktura { $number }
credit-note-title = Kreditnota { $number }
invoice-number = Nummer
invoice-date = Dato
invoice-seller = Selger
invoice-buyer = Kjøper
invoice-vat-id = MVA-nummer { $id }
invoice-reference = Betalingsreferanse
invoice-corrects = Krediterer faktura
invoice-item-registration = Registreringsgebyr: { $session }
invoice-item-session = Opplæringsøkt: { $session }
invoice-item-balance = Utestående saldo for tidligere økter
invoice-item-refund = Tilbakebetaling på faktura { $number }
invoice-item-refund-alone = Tilbakebetaling
invoice-item-seats = Registreringsgebyr: { $session }, { $seats ->
    [one] én plass
   *[other] { $seats } plasser
}
invoice-item-discount = Rabatt (kode { $code })
invoice-description = Beskrivelse
invoice-net = Netto
invoice-vat = MVA { $rate } %
invoice-gross = Beløp
invoice-total = Sum
invoice-refunded-total = Sum tilbakebetalt
invoice-prices-include-vat = Prisene er inkludert MVA.
invoice-vat-added = MVA kommer i tillegg til prisene.
receipt-invoices = Fakturaer og kreditnotaer
invoice-pdf = Last ned som PDF
invoice-others = Andre dokumenter for denne bestillingen
# The buyer's optional VAT id on the pay page, printed on the invoice.
buyer-vat-id = Ditt MVA-nummer (valgfritt, skrives på fakturaen)
