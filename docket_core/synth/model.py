"""One generated document before it is drawn: its values, how each is printed, and its truth record.

`make_document` draws everything at random from a seeded `random.Random`, so a corpus is the same
for the same seed. Amounts add up (lines to net, net + tax to gross, rounded half up to cents), and
`printed` holds each truth value exactly as the page prints it, which is what the tests check the
page's text against.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from docket_core.synth.locales import LANGUAGES, Locale, format_amount, format_date, format_money, pick
from docket_core.synth.parties import COUNTRIES, Party, make_party, make_vat_id

__all__ = ["INVOICE_LAYOUTS", "RECEIPT_LAYOUTS", "Line", "SynthDocument", "make_document"]

INVOICE_LAYOUTS = (
    "classic",  # seller top left, meta block right with labels beside values, totals at the bottom
    "seller_right",  # seller block top right, buyer left, meta below the buyer
    "stacked",  # meta as a row of columns: each value below its label
    "two_column",  # "From" and "Bill to" header blocks side by side, each under its label
    "buyer_first",  # a window-envelope address block for the buyer first, the seller in the footer
    "totals_table",  # net, tax, gross as a table: labels in a header row, values below
    "multipage",  # many lines over several pages, totals on the last one
    "letter",  # no item table: a few sentences and the amounts, as a freelancer writes
)
RECEIPT_LAYOUTS = ("receipt_centered", "receipt_left")

_CENT = Decimal("0.01")
_ITEMS = {
    "en": ("Consulting services", "Maintenance contract", "Steel brackets 40 mm", "Printer paper A4",
           "Travel expenses", "Software licence (annual)", "Installation", "Cable set 5 m", "Design work",
           "Freight and handling", "Office chairs", "LED panel 60x60"),
    "de": ("Beratungsleistung", "Wartungsvertrag", "Stahlwinkel 40 mm", "Druckerpapier A4", "Reisekosten",
           "Softwarelizenz (jährlich)", "Montage vor Ort", "Kabelsatz 5 m", "Gestaltung", "Fracht und Verpackung",
           "Bürostühle", "Schrauben M6 verzinkt"),
    "fr": ("Prestation de conseil", "Contrat de maintenance", "Équerres acier 40 mm", "Papier A4",
           "Frais de déplacement", "Licence logicielle (annuelle)", "Installation sur site", "Câble 5 m",
           "Travaux de graphisme", "Transport et emballage", "Chaises de bureau", "Vis inox M6"),
    "nl": ("Advieswerkzaamheden", "Onderhoudscontract", "Stalen hoeken 40 mm", "Printpapier A4",
           "Reiskosten", "Softwarelicentie (jaarlijks)", "Installatie", "Kabelset 5 m", "Ontwerpwerk",
           "Vracht en verpakking", "Bureaustoelen", "Schroeven M6"),
    "es": ("Servicios de consultoría", "Contrato de mantenimiento", "Escuadras de acero 40 mm", "Papel A4",
           "Gastos de viaje", "Licencia de software (anual)", "Instalación", "Juego de cables 5 m",
           "Trabajo de diseño", "Transporte y embalaje", "Sillas de oficina", "Tornillos M6"),
    "it": ("Servizi di consulenza", "Contratto di manutenzione", "Staffe in acciaio 40 mm", "Carta A4",
           "Spese di trasferta", "Licenza software (annuale)", "Installazione", "Set cavi 5 m",
           "Progettazione grafica", "Trasporto e imballo", "Sedie da ufficio", "Viti M6"),
}  # fmt: skip
_SHOP_ITEMS = ("MILK 1L", "BREAD", "COFFEE", "APPLES", "PEN BLUE", "NOTEBOOK A5", "RICE 5KG", "TEA",
               "SOAP", "BATTERY AA", "WATER 1.5L", "EGGS 10", "TAPE", "GLUE STICK", "CHOCOLATE")  # fmt: skip
_NUMBER_SHAPES = ("INV-{y}-{n:04d}", "{y}/{n:03d}", "RE-{n:05d}", "F{y}-{n:05d}", "FA-{n:05d}", "{n:06d}",
                  "A-{y}-{n}", "{y}{n:05d}", "FT {n}/{y}")  # fmt: skip


@dataclass
class Line:
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


@dataclass
class SynthDocument:
    """A document's values; `truth` is what capture should find, `printed` how the page shows it."""

    kind: Literal["invoice", "receipt"]
    language: str
    country: str
    layout: str
    seller: Party
    buyer: Party | None
    number: str | None
    issue_date: datetime.date
    issue_time: str | None
    due_date: datetime.date | None
    currency: str
    lines: list[Line]
    tax_rate: Decimal
    net: Decimal
    tax: Decimal
    gross: Decimal
    show_net: bool
    show_vat_id: bool
    show_iban: bool
    date_style: str
    amount_style: str
    money_placement: str
    labels: dict[str, str] = field(default_factory=dict)
    distractors: list[tuple[str, str]] = field(default_factory=list)
    """(label key, value) of details that look like a field but are not one: customer and order numbers,
    a delivery date."""
    prepaid: Decimal = Decimal(0)
    """Paid already: the page then shows the gross total, this, and the amount still due."""
    buyer_vat_id: str | None = None
    """The buyer's VAT id, printed in the buyer block (never the seller's)."""
    font: str = "Helvetica"
    rupee_glyph: bool = False
    terms_days: int = 30

    @property
    def locale(self) -> Locale:
        return LANGUAGES[self.language]

    def date(self, value: datetime.date) -> str:
        return format_date(value, self.date_style, self.language)

    def amount(self, value: Decimal) -> str:
        return format_amount(value, self.amount_style)

    def money(self, value: Decimal) -> str:
        return format_money(value, self.amount_style, self.currency, self.money_placement, self.rupee_glyph)

    @property
    def shows_currency_code(self) -> bool:
        """Whether the currency must be printed as a code somewhere, the amounts not showing it."""
        return self.money_placement == "none" or (self.currency == "USD" and self.kind == "invoice")

    def truth(self) -> dict[str, Any]:
        """The truth record's `fields`: dates ISO, amounts as decimal strings, ids compact."""
        fields: dict[str, Any] = {
            "invoice_number": self.number,
            "issue_date": self.issue_date.isoformat(),
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "seller_name": self.seller.name,
            "seller_vat_id": self.seller.vat_id if self.show_vat_id else None,
            "buyer_name": self.buyer.name if self.buyer else None,
            "iban": self.seller.iban if self.show_iban else None,
            "currency": self.currency,
            "net_total": f"{self.net:.2f}" if self.show_net else None,
            "tax_total": f"{self.tax:.2f}",
            "gross_total": f"{self.gross:.2f}",
        }
        return {k: v for k, v in fields.items() if v is not None}

    def printed(self) -> dict[str, str]:
        """Each truth value as it appears in the page text (amounts without their currency)."""
        out = {
            "issue_date": self.date(self.issue_date),
            "seller_name": self.seller.name,
            "tax_total": self.amount(self.tax),
            "gross_total": self.amount(self.gross),
        }
        if self.number:
            out["invoice_number"] = self.number
        if self.due_date:
            out["due_date"] = self.date(self.due_date)
        if self.buyer:
            out["buyer_name"] = self.buyer.name
        if self.show_net:
            out["net_total"] = self.amount(self.net)
        if self.show_vat_id and self.seller.vat_id:
            out["seller_vat_id"] = self.seller.vat_id
        if self.show_iban and self.seller.iban:
            out["iban"] = " ".join(self.seller.iban[i : i + 4] for i in range(0, len(self.seller.iban), 4))
        return out


def _money_placement(rng: random.Random, language: str, currency: str) -> str:
    if currency in ("INR", "MYR", "GBP", "USD"):
        return rng.choice(("symbol_before", "symbol_before", "code_before", "none"))
    if language in ("nl", "it", "en"):
        return rng.choice(("symbol_before", "code_after", "none"))
    return rng.choice(("symbol_after", "code_after", "none"))


def _date_style(rng: random.Random, locale: Locale, country: str, kind: str) -> str:
    if country == "US":
        return rng.choice(("mdy/", "Mdy", "bdy"))
    styles = [s for s in locale.date_styles if s not in ("mdy/", "Mdy", "bdy")]
    if kind == "receipt":
        styles += ["dmy/short"] if locale.code in ("en", "fr", "es", "it") else []
    return rng.choice(styles)


def _lines(rng: random.Random, language: str, kind: str, count: int) -> list[Line]:
    lines = []
    for _ in range(count):
        if kind == "receipt":
            desc, qty = rng.choice(_SHOP_ITEMS), Decimal(rng.choice((1, 1, 1, 2, 3)))
            price = Decimal(rng.randint(50, 3000)) / 100
        else:
            desc, qty = rng.choice(_ITEMS[language]), Decimal(rng.choice((1, 1, 2, 3, 5, 10, 12, 25)))
            price = Decimal(rng.randint(500, 250_000)) / 100
        lines.append(Line(desc, qty, price, (qty * price).quantize(_CENT, ROUND_HALF_UP)))
    return lines


def _add_distractors(rng: random.Random, doc: SynthDocument, buyer_country: str) -> None:
    """Numbers, dates, a VAT id and amounts a reader must not take for the fields they resemble."""
    if rng.random() < 0.5:
        doc.distractors.append(("customer_number", f"{rng.randint(10_000, 99_999)}"))
    if rng.random() < 0.4:
        doc.distractors.append(("order_number", f"{rng.choice(('PO', 'B', 'ORD-', ''))}{rng.randint(1000, 999_999)}"))
    if rng.random() < 0.4:
        doc.distractors.append(("delivery_date", doc.date(doc.issue_date - datetime.timedelta(days=rng.randint(1, 20)))))
    if rng.random() < 0.25:
        doc.prepaid = (doc.gross * Decimal(rng.choice(("0.3", "0.5")))).quantize(_CENT, ROUND_HALF_UP)
        doc.labels["gross"] = doc.labels["gross_before_paid"]
    if rng.random() < 0.4:
        doc.buyer_vat_id = make_vat_id(rng, buyer_country)


def make_document(
    rng: random.Random, kind: Literal["invoice", "receipt"], language: str, layout: str, *, unicode_font: bool
) -> SynthDocument:
    """A document of `kind` in `language` drawn in `layout`; `unicode_font` allows the ₹ glyph."""
    locale = LANGUAGES[language]
    countries = [c for c in locale.countries if kind == "receipt" or c != "MY"]
    if kind == "receipt" and language == "en":
        countries += ["MY", "MY"]  # the shop receipts of the development data are Malaysian
    country = rng.choice(countries)
    info = COUNTRIES[country]
    currency = info.currency
    seller = make_party(rng, country)
    buyer = make_party(rng, rng.choice(locale.countries[:2]), with_ids=False) if kind == "invoice" else None
    count = rng.randint(35, 60) if layout == "multipage" else rng.randint(1, 3 if layout == "letter" else 8)
    lines = _lines(rng, language, kind, count if kind == "invoice" else rng.randint(1, 12))
    rate = Decimal(rng.choice(info.tax_rates))
    net = sum((line.amount for line in lines), Decimal(0))
    tax = (net * rate / 100).quantize(_CENT, ROUND_HALF_UP)
    if kind == "receipt":  # shelf prices include the tax: the total is the sum, the tax is inside it
        gross = net
        net = (gross / (1 + rate / 100)).quantize(_CENT, ROUND_HALF_UP)
        tax = gross - net
    else:
        gross = net + tax
    issue = datetime.date(2019, 1, 1) + datetime.timedelta(days=rng.randint(0, 6 * 365))
    terms = rng.choice((14, 30, 45, 60))
    amount_style = rng.choice(locale.amount_styles)
    if country == "IN":
        amount_style = rng.choice(("indian", "comma_dot"))
    shape = rng.choice(_NUMBER_SHAPES)
    number = shape.format(y=issue.year, n=rng.randint(1, 99_999 if "05" in shape else 9_999))
    doc = SynthDocument(
        kind=kind,
        language=language,
        country=country,
        layout=layout,
        seller=seller,
        buyer=buyer,
        number=number if kind == "invoice" or rng.random() < 0.6 else None,
        issue_date=issue,
        issue_time=f"{rng.randint(7, 21):02d}:{rng.randint(0, 59):02d}" if kind == "receipt" else None,
        due_date=issue + datetime.timedelta(days=terms) if kind == "invoice" and rng.random() < 0.7 else None,
        currency=currency,
        lines=lines,
        tax_rate=rate,
        net=net,
        tax=tax,
        gross=gross,
        show_net=kind == "invoice" or rng.random() < 0.5,
        show_vat_id=seller.vat_id is not None and rng.random() < 0.85,
        show_iban=kind == "invoice" and seller.iban is not None and rng.random() < 0.8,
        date_style=_date_style(rng, locale, country, kind),
        amount_style=amount_style,
        money_placement=_money_placement(rng, language, currency),
        font=rng.choice(("Helvetica", "Helvetica", "Times-Roman", "Courier", "Vera", "DejaVuSans")),
        terms_days=terms,
    )
    # Drawn the same way on every machine, so one seed gives one corpus; only the glyphs differ.
    wants_rupee = rng.random() < 0.6
    if doc.font == "DejaVuSans" and not unicode_font:
        doc.font = "Vera"
    doc.rupee_glyph = currency == "INR" and doc.font == "DejaVuSans" and wants_rupee
    rate_text = f"{rate.normalize():f}".replace(".", "," if doc.amount_style != "comma_dot" else ".")
    doc.labels = {
        key: pick(rng, locale, key, rate=rate_text, days=terms, p="{p}", n="{n}")
        for key in locale.labels
        if key != "columns"  # the item table's header row: all four, from the locale
    }
    if kind == "invoice":
        _add_distractors(rng, doc, buyer_country=buyer.country if buyer else country)
    if country == "IN":
        doc.labels["vat_id"] = rng.choice(("GSTIN", "GSTIN/UIN", "GST No."))
        doc.labels["tax"] = rng.choice((f"GST {rate_text}%", f"IGST @ {rate_text}%"))
    if country == "MY":
        doc.labels["tax"] = rng.choice((f"SST {rate_text}%", f"GST @{rate_text}%", "Service Tax"))
    return doc
