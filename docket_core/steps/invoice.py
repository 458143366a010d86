"""The `invoice-capture` workflow: invoice fields from e-invoice XML, or else from a PDF's text.

`extract_fields` prefers structure over reading: a standalone CII/UBL file or a PDF carrying one
(Factur-X, ZUGFeRD, XRechnung) gives its fields exactly (`source` "xml-file" or "embedded-xml").
Any other PDF is read from its text layer with label patterns for English and German invoices
(`source` "pdf-text"); a field without a match is left empty with an info message. A PDF without a
text layer (a scan) gets a warning, since OCR is not supported yet.

`check_fields` then checks what was captured: net + tax = gross, due date not before the issue
date, invoice number and gross total present; it fills a missing tax rate from net and tax.
Findings are messages, never exceptions.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from docket_core.einvoice import EInvoice, find_embedded_xml, open_pdf, parse_invoice_xml
from docket_core.deadline import check_deadline
from docket_core.errors import InputError
from docket_core.workflows.model import FieldType, FileContext, Message, StepFn, StepOutput

__all__ = [
    "FIELDS",
    "INVOICE_STEPS",
    "check_fields",
    "extract_fields",
    "fields_from_einvoice",
    "fields_from_text",
    "is_valid_iban",
]

FIELDS: dict[str, FieldType] = {
    "invoice_number": "string",
    "issue_date": "date",
    "due_date": "date",
    "seller_name": "string",
    "seller_vat_id": "string",
    "buyer_name": "string",
    "iban": "string",
    "currency": "string",
    "net_total": "float",
    "tax_total": "float",
    "gross_total": "float",
    "tax_rate": "float",
    "line_items": "rows",
    "source": "string",
    "e_invoice_profile": "string",
}
"""Captured fields; `line_items` rows hold id, description, quantity, unit_price, net_amount, tax_rate."""

_TEXT_FIELDS = (
    "invoice_number", "issue_date", "due_date", "seller_name", "seller_vat_id", "buyer_name", "iban",
    "currency", "net_total", "tax_total", "gross_total", "tax_rate",
)  # fmt: skip
_XML_MEDIA_TYPES = {"application/xml", "text/xml"}
_MAX_TEXT_PAGES = 50  # invoices are short; a 2,000-page PDF should not stall a worker
_CENT = Decimal("0.01")
_TOLERANCE = Decimal("0.01")

# --- datapoints from an e-invoice -----------------------------------------------------------------


def _cents(value: Decimal | None) -> float | None:
    return None if value is None else float(value.quantize(_CENT, rounding=ROUND_HALF_UP))


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def fields_from_einvoice(invoice: EInvoice, source: str) -> dict[str, Any]:
    """The datapoints of an e-invoice: amounts as floats rounded to cents, dates as dates."""
    return {
        "invoice_number": invoice.invoice_number,
        "issue_date": invoice.issue_date,
        "due_date": invoice.due_date,
        "seller_name": invoice.seller_name,
        "seller_vat_id": invoice.seller_vat_id,
        "buyer_name": invoice.buyer_name,
        "iban": invoice.iban,
        "currency": invoice.currency,
        "net_total": _cents(invoice.net_total),
        "tax_total": _cents(invoice.tax_total),
        "gross_total": _cents(invoice.gross_total),
        "tax_rate": _float(invoice.tax_rate),
        "line_items": [
            {
                "id": line.id,
                "description": line.description,
                "quantity": _float(line.quantity),
                "unit_price": _float(line.unit_price),
                "net_amount": _cents(line.net_amount),
                "tax_rate": _float(line.tax_rate),
            }
            for line in invoice.line_items
        ],
        "source": source,
        "e_invoice_profile": invoice.profile,
    }


# --- fields from text -----------------------------------------------------------------------------

_MONTHS = {
    "january": 1, "jan": 1, "januar": 1, "jänner": 1, "february": 2, "feb": 2, "februar": 2,
    "march": 3, "mar": 3, "märz": 3, "maerz": 3, "mär": 3, "april": 4, "apr": 4, "may": 5, "mai": 5,
    "june": 6, "jun": 6, "juni": 6, "july": 7, "jul": 7, "juli": 7, "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9, "october": 10, "oct": 10, "oktober": 10, "okt": 10,
    "november": 11, "nov": 11, "december": 12, "dec": 12, "dezember": 12, "dez": 12,
}  # fmt: skip
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE = (
    r"(?P<date>\d{4}-\d{2}-\d{2}|\d{1,2}\.\d{1,2}\.\d{4}|\d{1,2}/\d{1,2}/\d{4}"
    rf"|\d{{1,2}}\.?[ \t]+(?:{_MONTH})\.?[ \t]+\d{{4}}|(?:{_MONTH})\.?[ \t]+\d{{1,2}},?[ \t]+\d{{4}})"
)
_SEP = r"[ \t]*[:#.]?[ \t]*"
_FLAGS = re.IGNORECASE | re.MULTILINE

_NUMBER_VALUE = r"(?P<v>(?=[\w/.-]*\d)[A-Z0-9][\w/.-]*)"
# A document title such as "Handelsrechnung (380) 05.03.2018 Nr. 471102" or "Credit note 12 March 2024".
_TITLE = r"^[ \t]*\w*(?:rechnung|invoice|gutschrift|credit[ \t]*note)\w*\b[^\n]{0,60}?"
_INVOICE_NUMBERS = [
    re.compile(
        r"\b(?:invoice[ \t]*(?:no\b\.?|number|nr\b\.?|#|id\b)|rechnungs?[ \t-]*(?:nummer|nr\b\.?))"
        rf"{_SEP}{_NUMBER_VALUE}",
        _FLAGS,
    ),
    re.compile(rf"{_TITLE}\b(?:nr|no|number|nummer|#)\b\.?{_SEP}{_NUMBER_VALUE}", _FLAGS),
]
_DUE_DATE = re.compile(
    r"\b(?:due[ \t]+date|payment[ \t]+due|date[ \t]+due|due(?:[ \t]+(?:on|by))?|fällig(?:keitsdatum"
    rf"|[ \t]+am|[ \t]+bis)?|zahlbar[ \t]+bis|zahlungsziel){_SEP}\s{{0,3}}{_DATE}",
    _FLAGS,
)
_ISSUE_DATES = [  # specific labels first, then a bare "Date"/"Datum" at the start of a line
    re.compile(
        r"\b(?:invoice[ \t]+date|date[ \t]+of[ \t]+issue|issue[ \t]+date|rechnungsdatum|"
        rf"ausstellungsdatum|belegdatum){_SEP}\s{{0,3}}{_DATE}",
        _FLAGS,
    ),
    re.compile(rf"{_TITLE}{_DATE}", _FLAGS),
    re.compile(rf"^[ \t]*(?:date|datum){_SEP}\s{{0,3}}{_DATE}", _FLAGS),
]
_EU_VAT = (
    r"(?:ATU\d{8}|BE[01]\d{9}|BG\d{9,10}|CY\d{8}[A-Z]|CZ\d{8,10}|DE\d{9}|DK\d{8}|EE\d{9}|EL\d{9}"
    r"|ES[A-Z0-9]\d{7}[A-Z0-9]|FI\d{8}|FR[A-HJ-NP-Z0-9]{2}\d{9}|HR\d{11}|HU\d{8}|IE\d[A-Z0-9+*]\d{5}[A-Z]{1,2}"
    r"|IT\d{11}|LT(?:\d{12}|\d{9})|LU\d{8}|LV\d{11}|MT\d{8}|NL\d{9}B\d{2}|PL\d{10}|PT\d{9}|RO\d{2,10}"
    r"|SE\d{12}|SI\d{8}|SK\d{10}|XI\d{9}|GB(?:\d{12}|\d{9}))"
)
_VAT_PATTERN = re.compile(_EU_VAT)
_VAT_LABELLED = re.compile(
    r"(?<!your )(?<!ihre )\b(?:vat[ \t]*(?:id|reg(?:istration)?)?\.?[ \t]*(?:no\b\.?|number|nr\b\.?)?|"
    r"ust[ \t.-]*id(?:ent)?[ \t.-]*(?:nr\b\.?)?|umsatzsteuer[ \t-]*id\w*(?:[ \t.-]*nr\b\.?)?|"
    r"tax[ \t]+id|tva(?:[ \t]+intracom\w*)?)"
    r"[ \t]*:?[ \t]*(?P<v>[A-Z]{2}[A-Z0-9 .-]{2,20})",
    _FLAGS,
)
_VAT_BARE = re.compile(rf"\b{_EU_VAT}\b")
_SELLER_LABEL = r"(?:seller|supplier|vendor|from|verkäufer|lieferant|rechnungssteller|absender)"
_BUYER_LABEL = (
    r"(?:bill(?:ed)?[ \t]+to|invoice[ \t]+to|sold[ \t]+to|buyer|customer|käufer|kunde|"
    r"rechnungsempfänger|leistungsempfänger|empfänger)"
)


def _party_patterns(label: str) -> list[re.Pattern[str]]:
    return [
        # "Seller: Name" or "Seller:" with the name on the next line
        re.compile(rf"^[ \t]*{label}[ \t]*:[ \t]*\n?[ \t]*(?P<v>[^\n]*\S)", _FLAGS),
        # a "Seller" block heading with a "Name: ..." line among its next three lines
        re.compile(
            rf"^[ \t]*{label}\b[^\n:]*\n(?:[^\n]*\n){{0,3}}?[ \t]*name[ \t]*:[ \t]*(?P<v>[^\n]*\S)", _FLAGS
        ),
    ]


_SELLERS = _party_patterns(_SELLER_LABEL)
_BUYERS = _party_patterns(_BUYER_LABEL)
_CURRENCY_LABELLED = re.compile(r"\b(?:currency|währung)[ \t]*:?[ \t]*(?P<v>[A-Z]{3})\b", re.IGNORECASE)
_CURRENCY_CODE = re.compile(
    r"\b(?P<v>EUR|USD|GBP|CHF|JPY|CNY|SEK|NOK|DKK|PLN|CZK|HUF|RON|BGN|HRK|ISK|TRY|CAD|AUD|NZD|INR|ZAR)\b"
)
_CURRENCY_SYMBOLS = {"€": "EUR", "£": "GBP", "$": "USD"}
_IBAN_CANDIDATE = re.compile(r"\b[A-Z]{2}\d{2}(?:[ \t]?[A-Z0-9]){11,32}")
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
    "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip

# An amount has exactly two decimals, so quantities, years and ids are never taken for one.
_AMOUNT = re.compile(
    r"(?<![\w.,])(?P<a>[-\u2212]?(?:\d{1,3}(?:[.,'\u00a0\u202f]\d{3})+|\d+)[.,]\d{2})(?![\w%]|[.,]\d|[ \t]*%)"
)
_PERCENT = re.compile(r"(?<![\w.,])(?P<r>\d{1,2}(?:[.,]\d{1,2})?)[ \t]*%")
_TAX_WORD = r"(?:vat|tax|sales[ \t]+tax|gst|mwst|ust|umsatzsteuer|mehrwertsteuer|steuer)"
_NOT_AN_ID = r"(?![ \t]*[.-]?[ \t]*(?:id|no\b|number|nr\b|reg|identif))"
# (field, rank, pattern) in the order a line is classified; within a field the lowest rank wins.
_TOTAL_LABELS = [
    ("net_total", 0, r"(?:total[ \t]+)?net(?:[ \t]+(?:total|amount|value))?\b|sub[ \t-]?total|"
     r"(?:total|amount)[ \t]+(?:excl\.?|excluding|before|without)[ \t]+(?:vat|tax)|netto\w*|"
     rf"(?:gesamt|summe|total)\w*[ \t]+netto|\w*(?:summe|betrag)[ \t]+ohne[ \t]+{_TAX_WORD}|"
     r"zwischensumme|warenwert"),
    ("tax_total", 0, rf"(?:total|summe|gesamt)[ \t]+{_TAX_WORD}\b{_NOT_AN_ID}|{_TAX_WORD}[ \t.-]*betrag|"
     r"(?:vat|tax)[ \t]+amount|total[ \t]+(?:vat|tax)"),
    ("tax_total", 1, rf"(?:(?:zzgl\.?|plus|add|\+)[ \t]*)?{_TAX_WORD}\b{_NOT_AN_ID}|"
     rf"\d{{1,2}}(?:[.,]\d{{1,2}})?[ \t]*%[ \t]*{_TAX_WORD}\b"),
    ("gross_total", 0, r"gross(?:[ \t]+(?:total|amount))?|grand[ \t]+total|invoice[ \t]+total|"
     r"total[ \t]+(?:incl\.?|including)[ \t]+(?:vat|tax)|brutto\w*|gesamtbetrag\b(?![ \t]+der\b)|gesamtsumme|"
     r"rechnungsbetrag|rechnungssumme|endbetrag|total\b|gesamt\b|summe\b"),
    ("gross_total", 1, r"(?:total[ \t]+)?amount[ \t]+(?:due|payable)|balance[ \t]+due|total[ \t]+due|"
     r"zahlbetrag|zu[ \t]+zahlen\w*(?:[ \t]+betrag)?"),
]  # fmt: skip
_TOTAL_LINES = [
    (field, rank, re.compile(rf"^[ \t]*(?:{pattern})", re.IGNORECASE))
    for field, rank, pattern in _TOTAL_LABELS
]


def _parse_amount(text: str) -> Decimal:
    """An `_AMOUNT` match: the last separator is the decimal one, any before it group thousands."""
    whole = re.sub(r"[^\d-]", "", text[:-3].replace("\u2212", "-"))
    return Decimal(f"{whole}.{text[-2:]}")


def _parse_date(text: str) -> datetime.date | None:
    """A date in ISO, dd.mm.yyyy, dd/mm/yyyy (mm/dd/yyyy when unambiguous) or spelled-out form."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.date.fromisoformat(text)
        if m := re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text):
            return datetime.date(int(m[3]), int(m[2]), int(m[1]))
        if m := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text):
            day, month = int(m[1]), int(m[2])
            if month > 12 >= day:  # 03/25/2024 can only be US order
                day, month = month, day
            return datetime.date(int(m[3]), month, day)
        words = re.findall(r"[^\W\d_]+|\d+", text.lower())
        numbers = [int(w) for w in words if w.isdigit()]
        month = next(_MONTHS[w] for w in words if w in _MONTHS)
        day, year = (numbers[0], numbers[1]) if numbers[0] <= 31 else (numbers[1], numbers[0])
        return datetime.date(year, month, day)
    except (ValueError, StopIteration, IndexError):
        return None  # 31.02.2024 and the like: not a date


def is_valid_iban(iban: str) -> bool:
    """Whether `iban` (spaces allowed) has its country's length and a valid ISO 13616 mod-97 checksum."""
    compact = re.sub(r"\s+", "", iban).upper()
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _take_alnum(raw: str, count: int) -> str | None:
    """The first `count` letters and digits of `raw`, spaces dropped; None if a word goes on after them."""
    taken = 0
    for end, ch in enumerate(raw, start=1):
        taken += ch.isalnum()
        if taken == count:
            return None if raw[end : end + 1].isalnum() else re.sub(r"\s", "", raw[:end])
    return None


def _find_iban(text: str) -> tuple[str | None, list[str]]:
    """The first valid IBAN, and the IBAN-shaped strings before it that failed the checksum."""
    rejected = []
    for match in _IBAN_CANDIDATE.finditer(text):
        length = _IBAN_LENGTHS.get(match.group()[:2])
        # Take exactly the country's length: "DE89 3704 0044 0532 0130 00 BIC ..." must stop before "BIC".
        compact = _take_alnum(match.group(), length) if length else None
        if compact is None:
            continue
        if is_valid_iban(compact):
            return compact, rejected
        rejected.append(compact)
    return None, rejected


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    match = pattern.search(text)
    return match.group("v").strip() if match else None


def _first_of(patterns: Iterable[re.Pattern[str]], text: str) -> str | None:
    return next((value for pattern in patterns if (value := _first(pattern, text)) is not None), None)


def _find_vat_id(text: str) -> str | None:
    for match in _VAT_LABELLED.finditer(text):
        candidate = re.sub(r"[ .-]", "", match.group("v").upper())
        if found := _VAT_PATTERN.match(candidate):
            return found.group()
    bare = _VAT_BARE.search(text)
    return bare.group() if bare else None


def _find_currency(text: str) -> str | None:
    if code := _first(_CURRENCY_LABELLED, text):
        return code.upper()
    if code := _first(_CURRENCY_CODE, text):
        return code
    positions = [(text.find(symbol), code) for symbol, code in _CURRENCY_SYMBOLS.items() if symbol in text]
    return min(positions)[1] if positions else None


def _find_totals(text: str) -> dict[str, Decimal]:
    """net_total, tax_total, gross_total and tax_rate from lines that start with a totals label."""
    best: dict[str, tuple[int, Decimal]] = {}
    tax_lines: list[tuple[Decimal | None, Decimal]] = []  # (rate, amount) of single-rate VAT lines
    rates: set[Decimal] = set()
    for line in text.splitlines():
        amounts = [m.group("a") for m in _AMOUNT.finditer(line)]
        label = next(((field, rank) for field, rank, pattern in _TOTAL_LINES if pattern.match(line)), None)
        if not amounts or label is None:
            continue
        field, rank = label
        value = _parse_amount(amounts[-1])  # "VAT 19 % of 100.00: 19.00" ends with the total
        if field == "tax_total":
            percent = _PERCENT.search(line)
            rate = Decimal(percent.group("r").replace(",", ".")) if percent else None
            if rate is not None:
                rates.add(rate)
            if rank == 1:
                if (rate, value) not in tax_lines:  # a repeated VAT summary line is the same tax
                    tax_lines.append((rate, value))
                continue
        if field not in best or rank < best[field][0]:
            best[field] = (rank, value)
    found = {field: value for field, (_, value) in best.items()}
    if "tax_total" not in found and tax_lines:
        found["tax_total"] = sum((amount for _, amount in tax_lines), Decimal(0))
    if len(rates) == 1:
        found["tax_rate"] = rates.pop()
    return found


def _find_date(patterns: Iterable[re.Pattern[str]], text: str) -> datetime.date | None:
    """The first match, by pattern priority, that is a real date (not 31.02.2024 or an id like it)."""
    for pattern in patterns:
        for match in pattern.finditer(text):
            if (date := _parse_date(match.group("date"))) is not None:
                return date
    return None


def fields_from_text(text: str) -> tuple[dict[str, Any], list[Message]]:
    """Invoice fields found in the text of an English or German invoice, and what was not found.

    Returns:
        The datapoints (every field of `FIELDS`; `line_items` and `e_invoice_profile` stay empty)
        and messages: info for each field not found, a warning for an IBAN failing its checksum.
    """
    messages: list[Message] = []
    iban, rejected = _find_iban(text)
    totals = _find_totals(text)
    fields: dict[str, Any] = {
        "invoice_number": (_first_of(_INVOICE_NUMBERS, text) or "").rstrip(".") or None,
        "issue_date": _find_date(_ISSUE_DATES, text),
        "due_date": _find_date([_DUE_DATE], text),
        "seller_name": _first_of(_SELLERS, text),
        "seller_vat_id": _find_vat_id(text),
        "buyer_name": _first_of(_BUYERS, text),
        "iban": iban,
        "currency": _find_currency(text),
        "net_total": _cents(totals.get("net_total")),
        "tax_total": _cents(totals.get("tax_total")),
        "gross_total": _cents(totals.get("gross_total")),
        "tax_rate": _float(totals.get("tax_rate")),
        "line_items": None,
        "source": "pdf-text",
        "e_invoice_profile": None,
    }
    if iban is None and rejected:
        messages.append(
            Message(
                "warning",
                f"{rejected[0]} looks like an IBAN but fails the mod-97 check; iban left empty",
                "iban",
            )
        )
    for name in _TEXT_FIELDS:
        if fields[name] is None:
            messages.append(Message("info", f"{name} not found in the PDF text", name))
    return fields, messages


# --- the steps ------------------------------------------------------------------------------------


def _page_text(reader: PdfReader) -> tuple[str, list[Message]]:
    messages = []
    pages = reader.pages
    if len(pages) > _MAX_TEXT_PAGES:
        messages.append(
            Message("info", f"read the text of the first {_MAX_TEXT_PAGES} of {len(pages)} pages")
        )
    texts = []
    for number, page in enumerate(pages[:_MAX_TEXT_PAGES], start=1):
        check_deadline()  # a job's per-file time budget (docket_core.deadline)
        try:
            texts.append(page.extract_text())
        except PyPdfError as e:
            messages.append(Message("warning", f"page {number}: text could not be extracted ({e})"))
    return "\n".join(texts), messages


def _is_xml(ctx: FileContext) -> bool:
    return ctx.media_type in _XML_MEDIA_TYPES or ctx.media_type.endswith("+xml")


def _empty(source: str | None) -> dict[str, Any]:
    return {name: None for name in FIELDS} | {"source": source}


def _from_pdf(ctx: FileContext) -> StepOutput:
    reader = open_pdf(ctx.path)
    messages: list[Message] = []
    try:
        embedded = find_embedded_xml(reader)
    except InputError as e:
        embedded = None
        messages.append(Message("warning", f"{e}; reading the page text instead"))
    if embedded is not None:
        name, data = embedded
        try:
            invoice = parse_invoice_xml(data)
        except InputError as e:
            messages.append(
                Message(
                    "warning",
                    f"the attached {name} is not a readable e-invoice: {e}; reading the page text instead",
                )
            )
        else:
            messages.append(
                Message("info", f"fields read from the attached {name} ({invoice.profile or 'no profile'})")
            )
            return StepOutput(fields_from_einvoice(invoice, "embedded-xml"), messages)
    text, text_messages = _page_text(reader)
    messages += text_messages
    if not text.strip():
        messages.append(Message("warning", "no text layer; OCR is not supported yet"))
        return StepOutput(_empty("pdf-text"), messages)
    fields, field_messages = fields_from_text(text)
    return StepOutput(fields, messages + field_messages)


def extract_fields(ctx: FileContext) -> StepOutput:
    """Capture the invoice fields of one PDF or XML file.

    Args:
        ctx: The file; `application/xml` (or `text/xml`, `*+xml`) is read as CII/UBL, `application/pdf`
            through its attached e-invoice or else its text.

    Returns:
        Every field of `FIELDS` (None when not found) and messages about how they were found.

    Raises:
        InputError: When an XML file is not a CII/UBL invoice, or a PDF cannot be read at all.
    """
    if _is_xml(ctx):
        try:
            invoice = parse_invoice_xml(ctx.path.read_bytes())
        except InputError as e:
            raise InputError(f"{ctx.name}: {e}") from e
        return StepOutput(fields_from_einvoice(invoice, "xml-file"))
    if ctx.media_type == "application/pdf":
        return _from_pdf(ctx)
    return StepOutput(
        _empty(None),
        [
            Message(
                "warning", f"invoice-capture reads PDF and XML files, got {ctx.media_type}; nothing captured"
            )
        ],
    )


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _as_date(value: Any) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _rates(line_items: Iterable[Mapping[str, Any]] | None) -> list[Decimal]:
    rates: list[Decimal] = []
    for line in line_items or []:
        rate = _decimal(line.get("tax_rate"))
        if rate is not None and rate not in rates:
            rates.append(rate)
    return rates


def check_fields(ctx: FileContext) -> StepOutput:
    """Check the captured fields against each other; fill a missing tax rate from net and tax.

    Errors: invoice number or gross total missing; net + tax differing from gross by more than 0.01;
    a due date before the issue date. Info: a tax rate derived (or why it could not be).

    Args:
        ctx: The file, with the datapoints of `extract_fields` in `ctx.datapoints`.

    Returns:
        `tax_rate` when it was derived, and the findings.
    """
    points = ctx.datapoints
    out = StepOutput()
    if not points.get("invoice_number"):
        out.messages.append(
            Message("error", "invoice number is missing; enter it before confirming", "invoice_number")
        )
    net, tax, gross = (_decimal(points.get(name)) for name in ("net_total", "tax_total", "gross_total"))
    if gross is None:
        out.messages.append(
            Message("error", "gross total is missing; enter it before confirming", "gross_total")
        )

    if _decimal(points.get("tax_rate")) is None and net is not None and tax is not None:
        line_rates = _rates(points.get("line_items"))
        if len(line_rates) > 1:
            shown = ", ".join(f"{rate.normalize():f}" for rate in line_rates)
            out.messages.append(
                Message("info", f"several tax rates apply ({shown} %); tax_rate left empty", "tax_rate")
            )
        elif net == 0:
            out.messages.append(Message("info", "tax rate cannot be derived: the net total is 0", "tax_rate"))
        else:
            rate = (tax / net * 100).quantize(_CENT, rounding=ROUND_HALF_UP)
            out.datapoints["tax_rate"] = float(rate)
            out.messages.append(
                Message("info", f"tax rate {rate} % derived from tax {tax:.2f} / net {net:.2f}", "tax_rate")
            )

    if net is not None and tax is not None and gross is not None and abs(net + tax - gross) > _TOLERANCE:
        out.messages.append(
            Message(
                "error",
                f"net {net:.2f} + tax {tax:.2f} = {net + tax:.2f}, but the gross total is {gross:.2f} "
                f"(difference {gross - net - tax:.2f})",
                "gross_total",
            )
        )

    issue, due = _as_date(points.get("issue_date")), _as_date(points.get("due_date"))
    if issue is not None and due is not None and due < issue:
        out.messages.append(
            Message(
                "error",
                f"due date {due.isoformat()} is before the issue date {issue.isoformat()}",
                "due_date",
            )
        )
    return out


INVOICE_STEPS: list[tuple[str, StepFn, tuple[str, ...]]] = [
    ("extract", extract_fields, ()),
    ("checks", check_fields, ("extract",)),
]
"""The `invoice-capture` workflow: (step name, function, names it runs after)."""
