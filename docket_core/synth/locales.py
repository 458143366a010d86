"""How each language prints an invoice: its labels (several per field), dates and amounts.

The generator's own wording, written independently of the capture engine's lexicon, so that an
evaluation on generated documents does not just read back the engine's own tables. Each label list
holds synonyms one document picks from; `{rate}` stands for the tax rate.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["LANGUAGES", "MONTH_NAMES", "Locale", "format_amount", "format_date", "format_money", "pick"]

MONTH_NAMES = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"),
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
           "November", "Dezember"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"),
    "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
           "oktober", "november", "december"),
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
           "noviembre", "diciembre"),
    "it": ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre",
           "ottobre", "novembre", "dicembre"),
}  # fmt: skip


@dataclass(frozen=True)
class Locale:
    """One language's labels and formats. `date_styles` and `amount_styles` name what `format_*` take."""

    code: str
    countries: tuple[str, ...]
    labels: dict[str, tuple[str, ...]]
    date_styles: tuple[str, ...]
    amount_styles: tuple[str, ...]


_EN = {
    "title": ("INVOICE", "Invoice", "Tax Invoice", "Commercial Invoice"),
    "invoice_number": ("Invoice No.", "Invoice Number", "Invoice #", "Inv. No.", "Invoice ID"),
    "issue_date": ("Invoice Date", "Date", "Date of Issue", "Issue Date"),
    "due_date": ("Due Date", "Payment Due", "Due by"),
    "seller": ("From", "Supplier", "Seller"),
    "buyer": ("Bill To", "Invoice To", "Customer", "Sold To"),
    "vat_id": ("VAT No.", "VAT Reg. No.", "VAT ID"),
    "net": ("Subtotal", "Net Total", "Total excl. VAT", "Net Amount"),
    "tax": ("VAT {rate}%", "VAT", "Tax ({rate}%)", "VAT @ {rate}%"),
    "gross": ("Total", "Total Due", "Amount Due", "Grand Total", "Balance Due", "Total incl. VAT"),
    "columns": ("Description", "Qty", "Unit Price", "Amount"),
    "page": ("Page {p} of {n}",),
    "currency": ("Currency",),
    "terms": ("Payment terms: {days} days net", "Please pay within {days} days."),
    "bank": ("Bank details", "Payment details"),
    "receipt_number": ("Receipt No.", "Bill No.", "Invoice No."),
    "receipt_total": ("TOTAL", "Total", "TOTAL DUE", "Total Amount"),
    "cash": ("CASH", "Cash"),
    "change": ("CHANGE", "Change"),
    "thanks": ("THANK YOU", "Thank you for shopping with us!", "Thank you. Please come again."),
    "carried": ("Carried forward",),
    "customer_number": ("Customer No.", "Account No."),
    "order_number": ("Order No.", "PO Number", "Your Ref."),
    "delivery_date": ("Delivery Date", "Date of Supply"),
    "paid": ("Paid", "Less deposit"),
    "amount_due": ("Amount Due", "Balance Due"),
    "gross_before_paid": ("Invoice Total", "Total incl. VAT"),
}
_DE = {
    "title": ("RECHNUNG", "Rechnung"),
    "invoice_number": ("Rechnungsnummer", "Rechnungs-Nr.", "Rechnung Nr.", "Beleg-Nr."),
    "issue_date": ("Rechnungsdatum", "Datum", "Belegdatum"),
    "due_date": ("Fällig am", "Zahlbar bis", "Fälligkeitsdatum"),
    "seller": ("Verkäufer", "Lieferant", "Rechnungssteller"),
    "buyer": ("Rechnungsempfänger", "Kunde", "Rechnung an"),
    "vat_id": ("USt-IdNr.", "USt-ID", "Umsatzsteuer-ID"),
    "net": ("Nettobetrag", "Summe netto", "Zwischensumme", "Gesamt netto"),
    "tax": ("MwSt. {rate} %", "zzgl. {rate} % USt.", "Umsatzsteuer {rate} %"),
    "gross": ("Gesamtbetrag", "Rechnungsbetrag", "Bruttobetrag", "Zu zahlen", "Endbetrag"),
    "columns": ("Bezeichnung", "Menge", "Einzelpreis", "Gesamt"),
    "page": ("Seite {p} von {n}",),
    "currency": ("Währung",),
    "terms": ("Zahlbar innerhalb von {days} Tagen ohne Abzug.", "Zahlungsziel: {days} Tage"),
    "bank": ("Bankverbindung",),
    "receipt_number": ("Bon-Nr.", "Beleg-Nr."),
    "receipt_total": ("SUMME", "Summe", "Gesamt", "ZU ZAHLEN"),
    "cash": ("BAR", "Bar"),
    "change": ("Rückgeld", "RÜCKGELD"),
    "thanks": ("Vielen Dank für Ihren Einkauf!", "DANKE"),
    "carried": ("Übertrag",),
    "customer_number": ("Kundennummer", "Kunden-Nr."),
    "order_number": ("Bestellnummer", "Auftrags-Nr.", "Ihre Bestellung"),
    "delivery_date": ("Lieferdatum", "Leistungsdatum"),
    "paid": ("Anzahlung", "bereits bezahlt"),
    "amount_due": ("Zahlbetrag", "Noch zu zahlen", "Restbetrag"),
    "gross_before_paid": ("Gesamtbetrag", "Rechnungsbetrag"),
}
_FR = {
    "title": ("FACTURE", "Facture"),
    "invoice_number": ("Facture n°", "N° de facture", "Numéro de facture", "Réf. facture"),
    "issue_date": ("Date de facture", "Date", "Date d'émission"),
    "due_date": ("Date d'échéance", "Échéance", "À payer avant le"),
    "seller": ("Vendeur", "Fournisseur", "Émetteur"),
    "buyer": ("Client", "Facturé à", "Destinataire"),
    "vat_id": ("N° TVA intracom.", "TVA intracommunautaire", "N° TVA"),
    "net": ("Total HT", "Montant HT", "Sous-total HT"),
    "tax": ("TVA {rate} %", "Total TVA", "Montant TVA ({rate} %)"),
    "gross": ("Total TTC", "Net à payer", "Montant TTC", "À payer"),
    "columns": ("Désignation", "Qté", "Prix unitaire HT", "Montant HT"),
    "page": ("Page {p} sur {n}", "Page {p}/{n}"),
    "currency": ("Devise",),
    "terms": ("Paiement à {days} jours.", "Conditions de paiement : {days} jours"),
    "bank": ("Coordonnées bancaires", "Règlement par virement"),
    "receipt_number": ("Ticket n°", "N° ticket"),
    "receipt_total": ("TOTAL", "Total TTC", "TOTAL À PAYER"),
    "cash": ("ESPÈCES", "Espèces"),
    "change": ("Rendu", "RENDU MONNAIE"),
    "thanks": ("Merci de votre visite !", "MERCI ET À BIENTÔT"),
    "carried": ("Report",),
    "customer_number": ("N° client", "Code client"),
    "order_number": ("N° de commande", "Votre référence"),
    "delivery_date": ("Date de livraison",),
    "paid": ("Acompte versé", "Déjà réglé"),
    "amount_due": ("Solde à payer", "Reste à payer"),
    "gross_before_paid": ("Total TTC", "Montant TTC"),
}
_NL = {
    "title": ("FACTUUR", "Factuur"),
    "invoice_number": ("Factuurnummer", "Factuurnr.", "Factuur nr."),
    "issue_date": ("Factuurdatum", "Datum"),
    "due_date": ("Vervaldatum", "Te betalen vóór", "Uiterste betaaldatum"),
    "seller": ("Leverancier", "Verkoper", "Van"),
    "buyer": ("Klant", "Factuuradres", "Aan"),
    "vat_id": ("Btw-nummer", "BTW nr.", "Btw-id"),
    "net": ("Subtotaal", "Totaal excl. btw", "Netto bedrag"),
    "tax": ("Btw {rate}%", "BTW {rate} %", "Totaal btw"),
    "gross": ("Totaal", "Totaal incl. btw", "Te betalen", "Totaalbedrag"),
    "columns": ("Omschrijving", "Aantal", "Prijs", "Bedrag"),
    "page": ("Pagina {p} van {n}",),
    "currency": ("Valuta",),
    "terms": ("Betaling binnen {days} dagen.", "Betalingstermijn: {days} dagen"),
    "bank": ("Bankgegevens",),
    "receipt_number": ("Bonnr.", "Kassabon"),
    "receipt_total": ("TOTAAL", "Totaal", "TE BETALEN"),
    "cash": ("CONTANT", "Contant"),
    "change": ("WISSELGELD", "Wisselgeld"),
    "thanks": ("Bedankt voor uw bezoek!", "TOT ZIENS"),
    "carried": ("Transport",),
    "customer_number": ("Klantnummer", "Debiteurnr."),
    "order_number": ("Ordernummer", "Uw referentie"),
    "delivery_date": ("Leverdatum",),
    "paid": ("Reeds betaald", "Aanbetaling"),
    "amount_due": ("Openstaand bedrag", "Nog te betalen"),
    "gross_before_paid": ("Totaal incl. btw", "Totaalbedrag"),
}
_ES = {
    "title": ("FACTURA", "Factura"),
    "invoice_number": ("Nº de factura", "Número de factura", "Factura nº", "Núm. factura"),
    "issue_date": ("Fecha de factura", "Fecha", "Fecha de emisión"),
    "due_date": ("Fecha de vencimiento", "Vencimiento"),
    "seller": ("Emisor", "Proveedor", "Vendedor"),
    "buyer": ("Cliente", "Facturar a", "Destinatario"),
    "vat_id": ("NIF", "CIF", "NIF-IVA"),
    "net": ("Base imponible", "Subtotal", "Importe neto"),
    "tax": ("IVA {rate}%", "IVA ({rate} %)", "Cuota IVA"),
    "gross": ("Total", "Total factura", "Importe total", "Total a pagar"),
    "columns": ("Descripción", "Cant.", "Precio unit.", "Importe"),
    "page": ("Página {p} de {n}",),
    "currency": ("Moneda",),
    "terms": ("Forma de pago: transferencia a {days} días",),
    "bank": ("Datos bancarios",),
    "receipt_number": ("Ticket nº", "Factura simplificada nº"),
    "receipt_total": ("TOTAL", "Total", "TOTAL A PAGAR"),
    "cash": ("EFECTIVO", "Efectivo"),
    "change": ("CAMBIO", "Cambio"),
    "thanks": ("¡Gracias por su visita!", "GRACIAS"),
    "carried": ("Suma y sigue",),
    "customer_number": ("Nº cliente", "Código cliente"),
    "order_number": ("Nº pedido", "Su referencia"),
    "delivery_date": ("Fecha de entrega",),
    "paid": ("Anticipo", "Pagado"),
    "amount_due": ("Pendiente de pago", "Total a pagar"),
    "gross_before_paid": ("Total factura", "Importe total"),
}
_IT = {
    "title": ("FATTURA", "Fattura"),
    "invoice_number": ("Fattura n.", "Numero fattura", "N. fattura", "Fattura nr."),
    "issue_date": ("Data fattura", "Data", "Data emissione"),
    "due_date": ("Scadenza", "Data scadenza", "Scadenza pagamento"),
    "seller": ("Cedente", "Fornitore", "Venditore"),
    "buyer": ("Cliente", "Cessionario", "Destinatario"),
    "vat_id": ("P.IVA", "Partita IVA", "P. IVA"),
    "net": ("Imponibile", "Totale imponibile", "Subtotale"),
    "tax": ("IVA {rate}%", "Totale IVA", "IVA ({rate}%)"),
    "gross": ("Totale", "Totale fattura", "Totale documento", "Netto a pagare", "Importo totale"),
    "columns": ("Descrizione", "Q.tà", "Prezzo unitario", "Importo"),
    "page": ("Pagina {p} di {n}",),
    "currency": ("Valuta",),
    "terms": ("Pagamento: bonifico a {days} giorni",),
    "bank": ("Coordinate bancarie",),
    "receipt_number": ("Scontrino n.", "Documento n."),
    "receipt_total": ("TOTALE", "Totale", "TOTALE COMPLESSIVO"),
    "cash": ("CONTANTI", "Contanti"),
    "change": ("RESTO", "Resto"),
    "thanks": ("Grazie e arrivederci", "GRAZIE"),
    "carried": ("Riporto",),
    "customer_number": ("Codice cliente", "Cod. cliente"),
    "order_number": ("Ordine n.", "Vs. riferimento"),
    "delivery_date": ("Data consegna", "Data DDT"),
    "paid": ("Acconto", "Già pagato"),
    "amount_due": ("Netto a pagare", "Saldo da pagare"),
    "gross_before_paid": ("Totale documento", "Totale fattura"),
}

LANGUAGES: dict[str, Locale] = {
    "en": Locale("en", ("GB", "IE", "US", "IN", "MY"), _EN,
                 ("dmy/", "mdy/", "Mdy", "dMy", "bdy", "iso", "d-b-y"), ("comma_dot",)),
    "de": Locale("de", ("DE", "AT"), _DE, ("dmy.", "d.My", "iso", "dmy.short"), ("dot_comma", "plain_comma")),
    "fr": Locale("fr", ("FR", "BE"), _FR, ("dmy/", "dMy", "dmy."), ("space_comma", "nbsp_comma", "plain_comma")),
    "nl": Locale("nl", ("NL", "BE"), _NL, ("dmy-", "dMy", "dmy/"), ("dot_comma", "plain_comma")),
    "es": Locale("es", ("ES",), _ES, ("dmy/", "d de M de y", "dmy-"), ("dot_comma", "plain_comma")),
    "it": Locale("it", ("IT",), _IT, ("dmy/", "dMy", "dmy."), ("dot_comma", "plain_comma")),
}  # fmt: skip


def format_date(date: datetime.date, style: str, language: str) -> str:
    """`date` as printed in `style` (a name from a locale's `date_styles`) with `language`'s month names."""
    month = MONTH_NAMES[language][date.month - 1]
    d, m, y = date.day, date.month, date.year
    match style:
        case "dmy/":
            return f"{d:02d}/{m:02d}/{y}"
        case "mdy/":
            return f"{m:02d}/{d:02d}/{y}"
        case "dmy.":
            return f"{d:02d}.{m:02d}.{y}"
        case "dmy.short":
            return f"{d}.{m}.{y}"
        case "dmy-":
            return f"{d:02d}-{m:02d}-{y}"
        case "iso":
            return date.isoformat()
        case "Mdy":
            return f"{month} {d}, {y}"
        case "bdy":
            return f"{month[:3]} {d}, {y}"
        case "dMy":
            return f"{d} {month} {y}"
        case "d.My":
            return f"{d}. {month} {y}"
        case "d-b-y":
            return f"{d:02d}-{month[:3]}-{y}"
        case "d de M de y":
            return f"{d} de {month} de {y}"
        case "dmy/short":  # receipts: 05/03/24
            return f"{d:02d}/{m:02d}/{y % 100:02d}"
    raise ValueError(f"unknown date style {style!r}")


def _group(whole: str, sep: str, indian: bool = False) -> str:
    if indian and len(whole) > 3:  # 12,34,567: the last three digits, then pairs
        head, tail = whole[:-3], whole[-3:]
        pairs = [head[max(0, i - 2) : i] for i in range(len(head), 0, -2)][::-1]
        return sep.join(pairs + [tail])
    groups = [whole[max(0, i - 3) : i] for i in range(len(whole), 0, -3)][::-1]
    return sep.join(groups)


def format_amount(value: Decimal, style: str) -> str:
    """`value` with two decimals in `style`: comma_dot 1,234.56; dot_comma 1.234,56; space_comma
    1 234,56; nbsp_comma with a no-break space; plain_comma 1234,56; plain_dot 1234.56; indian 1,23,456.78."""
    sign = "-" if value < 0 else ""
    whole, cents = f"{abs(value):.2f}".split(".")
    match style:
        case "comma_dot":
            return f"{sign}{_group(whole, ',')}.{cents}"
        case "indian":
            return f"{sign}{_group(whole, ',', indian=True)}.{cents}"
        case "dot_comma":
            return f"{sign}{_group(whole, '.')},{cents}"
        case "space_comma":
            return f"{sign}{_group(whole, ' ')},{cents}"
        case "nbsp_comma":
            return f"{sign}{_group(whole, chr(0xA0))},{cents}"
        case "plain_comma":
            return f"{sign}{whole},{cents}"
        case "plain_dot":
            return f"{sign}{whole}.{cents}"
    raise ValueError(f"unknown amount style {style!r}")


_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$", "INR": "₹", "MYR": "RM"}


def format_money(value: Decimal, style: str, currency: str, placement: str, rupee_glyph: bool = True) -> str:
    """An amount with its currency: placement `none`, `symbol_before` (£1,234.56, € 1.234,56, RM12.50,
    Rs. 1,234.56), `symbol_after` (1.234,56 €) or `code_after` (1.234,56 EUR) / `code_before`."""
    amount = format_amount(value, style)
    symbol = _SYMBOLS.get(currency, currency)
    if currency == "INR" and not rupee_glyph:
        symbol = "Rs."
    match placement:
        case "none":
            return amount
        case "symbol_before":
            gap = " " if symbol in ("Rs.", "€") and style != "comma_dot" else ""
            return f"{symbol}{gap}{amount}"
        case "symbol_after":
            return f"{amount} {symbol}"
        case "code_after":
            return f"{amount} {currency}"
        case "code_before":
            return f"{currency} {amount}"
    raise ValueError(f"unknown currency placement {placement!r}")


def pick(rng: random.Random, locale: Locale, key: str, **values: object) -> str:
    """One of the locale's labels for `key`, with `{rate}`-style placeholders filled."""
    return rng.choice(locale.labels[key]).format(**values)
