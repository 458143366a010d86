"""Generated sample invoices for tests, demos and benchmarks of the `invoice-capture` workflow.

Everything here is made up by this module: company names, VAT ids, IBANs (with valid check digits,
belonging to nobody), items and amounts. No third-party invoice, template or font file is copied;
the PDFs are written by hand with the standard Helvetica font that every PDF reader provides, and
the Factur-X XML is built element by element from the EN 16931 CII structure.
"""

from __future__ import annotations

import datetime
import io
import random
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, NameObject

from docket_core.errors import InputError

__all__ = [
    "FACTURX_EN16931_GUIDELINE",
    "build_cii_xml",
    "write_facturx_pdf",
    "write_sample_invoices",
    "write_text_pdf",
]

FACTURX_EN16931_GUIDELINE = "urn:cen.eu:en16931:2017"
"""The guideline id of the Factur-X / ZUGFeRD EN 16931 (COMFORT) profile."""

_RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
_RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
_UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
_QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"

_CENT = Decimal("0.01")
_MAX_LINES = 50
_LINE_HEIGHT = 15

# --- hand-written PDF -----------------------------------------------------------------------------


def _pdf_string(text: str) -> bytes:
    try:
        raw = text.encode("cp1252")  # the font's WinAnsiEncoding
    except UnicodeEncodeError as e:
        raise InputError(f"sample PDF text must be in Windows-1252 (WinAnsi), got {text!r}") from e
    out = bytearray(b"(")
    for byte in raw:
        if byte in b"()\\":
            out += b"\\" + bytes([byte])
        elif 32 <= byte < 127:
            out.append(byte)
        else:
            out += b"\\%03o" % byte
    return bytes(out + b")")


def _text_pdf_bytes(lines: Sequence[str]) -> bytes:
    if len(lines) > _MAX_LINES:
        raise InputError(f"a sample PDF page holds at most {_MAX_LINES} lines, got {len(lines)}")
    content = bytearray(b"BT\n/F1 11 Tf\n50 800 Td\n")
    for i, line in enumerate(lines):
        if i:
            content += b"0 -%d Td\n" % _LINE_HEIGHT
        if line:
            content += _pdf_string(line) + b" Tj\n"
    content += b"ET\n"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + bytes(content) + b"endstream",
    ]
    pdf = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        pdf += b"%010d 00000 n \n" % offset
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(pdf)


def write_text_pdf(dest: Path, lines: list[str]) -> Path:
    """Write a one-page A4 PDF showing `lines` in 11 pt Helvetica, top to bottom.

    pypdf's `extract_text` gives the lines back, one per line. No lines gives a page without a
    text layer, like a scan.

    Args:
        dest: The file to write (its folder must exist).
        lines: At most 50 lines of Windows-1252 text (umlauts and the euro sign are fine).

    Returns:
        `dest`.

    Raises:
        InputError: When there are too many lines or a character has no WinAnsi code.
    """
    dest.write_bytes(_text_pdf_bytes(lines))
    return dest


# --- Factur-X CII ---------------------------------------------------------------------------------


def _dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _money(value: Decimal) -> str:
    return str(value.quantize(_CENT, rounding=ROUND_HALF_UP))


def _totals(invoice: Mapping[str, Any]) -> dict[str, Any]:
    """Line totals, the VAT breakdown by rate, and the document totals (overridable by the caller)."""
    lines = []
    breakdown: dict[Decimal, Decimal] = {}
    for line in invoice.get("line_items", []):
        rate = _dec(line.get("tax_rate", invoice.get("tax_rate", 0)))
        net = (_dec(line["quantity"]) * _dec(line["unit_price"])).quantize(_CENT, rounding=ROUND_HALF_UP)
        lines.append((line, rate, net))
        breakdown[rate] = breakdown.get(rate, Decimal(0)) + net
    taxes = {
        rate: (basis * rate / 100).quantize(_CENT, rounding=ROUND_HALF_UP)
        for rate, basis in breakdown.items()
    }
    net_total = _dec(invoice.get("net_total", sum(breakdown.values(), Decimal(0))))
    tax_total = _dec(invoice.get("tax_total", sum(taxes.values(), Decimal(0))))
    gross_total = _dec(invoice.get("gross_total", net_total + tax_total))
    return {
        "lines": lines,
        "breakdown": [(rate, breakdown[rate], taxes[rate]) for rate in sorted(breakdown)],
        "line_total": sum(breakdown.values(), Decimal(0)),
        "net_total": net_total,
        "tax_total": tax_total,
        "gross_total": gross_total,
    }


def _sub(parent: ET.Element, tag: str, text: Any = None, **attrs: str) -> ET.Element:
    prefix, _, local = tag.partition(":")
    ns = {"rsm": _RSM, "ram": _RAM, "udt": _UDT}[prefix]
    el = ET.SubElement(parent, f"{{{ns}}}{local}", attrs)
    if text is not None:
        el.text = str(text)
    return el


def _date_102(parent: ET.Element, tag: str, value: datetime.date) -> None:
    _sub(_sub(parent, tag), "udt:DateTimeString", value.strftime("%Y%m%d"), format="102")


def _party(parent: ET.Element, tag: str, name: str, vat_id: str | None) -> None:
    party = _sub(parent, tag)
    _sub(party, "ram:Name", name)
    address = _sub(party, "ram:PostalTradeAddress")
    _sub(address, "ram:CountryID", (vat_id or "DE")[:2])
    if vat_id:
        _sub(_sub(party, "ram:SpecifiedTaxRegistration"), "ram:ID", vat_id, schemeID="VA")


def build_cii_xml(invoice: Mapping[str, Any]) -> bytes:
    """A Factur-X / ZUGFeRD EN 16931 CII invoice for the given fields and line items.

    Args:
        invoice: `invoice_number`, `issue_date` (date), `seller_name`, `buyer_name`, `currency`,
            `line_items` (each `description`, `quantity`, `unit_price`, optional `id` and
            `tax_rate`); optional `type_code` (default "380"), `due_date`, `seller_vat_id`,
            `buyer_vat_id`, `iban`, `tax_rate` (default rate of the lines), and `net_total`,
            `tax_total`, `gross_total` to override the computed totals.

    Returns:
        UTF-8 XML bytes in the element order of the CII schema.
    """
    for key in ("invoice_number", "issue_date", "seller_name", "buyer_name", "currency"):
        if not invoice.get(key):
            raise InputError(f"a sample invoice needs {key!r}, got {invoice.get(key)!r}")
    totals = _totals(invoice)
    currency = invoice["currency"]
    for prefix, ns in (("rsm", _RSM), ("ram", _RAM), ("udt", _UDT), ("qdt", _QDT)):
        ET.register_namespace(prefix, ns)
    root = ET.Element(f"{{{_RSM}}}CrossIndustryInvoice")
    context = _sub(root, "rsm:ExchangedDocumentContext")
    _sub(_sub(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", FACTURX_EN16931_GUIDELINE)
    document = _sub(root, "rsm:ExchangedDocument")
    _sub(document, "ram:ID", invoice["invoice_number"])
    _sub(document, "ram:TypeCode", invoice.get("type_code", "380"))
    _date_102(document, "ram:IssueDateTime", invoice["issue_date"])

    transaction = _sub(root, "rsm:SupplyChainTradeTransaction")
    for number, (line, rate, net) in enumerate(totals["lines"], start=1):
        item = _sub(transaction, "ram:IncludedSupplyChainTradeLineItem")
        _sub(_sub(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", line.get("id", number))
        _sub(_sub(item, "ram:SpecifiedTradeProduct"), "ram:Name", line["description"])
        agreement = _sub(item, "ram:SpecifiedLineTradeAgreement")
        _sub(_sub(agreement, "ram:NetPriceProductTradePrice"), "ram:ChargeAmount", _dec(line["unit_price"]))
        _sub(
            _sub(item, "ram:SpecifiedLineTradeDelivery"),
            "ram:BilledQuantity",
            _dec(line["quantity"]),
            unitCode="C62",
        )
        settlement = _sub(item, "ram:SpecifiedLineTradeSettlement")
        tax = _sub(settlement, "ram:ApplicableTradeTax")
        _sub(tax, "ram:TypeCode", "VAT")
        _sub(tax, "ram:CategoryCode", "S" if rate else "Z")
        _sub(tax, "ram:RateApplicablePercent", rate)
        _sub(
            _sub(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation"),
            "ram:LineTotalAmount",
            _money(net),
        )

    agreement = _sub(transaction, "ram:ApplicableHeaderTradeAgreement")
    _party(agreement, "ram:SellerTradeParty", invoice["seller_name"], invoice.get("seller_vat_id"))
    _party(agreement, "ram:BuyerTradeParty", invoice["buyer_name"], invoice.get("buyer_vat_id"))
    _sub(transaction, "ram:ApplicableHeaderTradeDelivery")
    settlement = _sub(transaction, "ram:ApplicableHeaderTradeSettlement")
    _sub(settlement, "ram:InvoiceCurrencyCode", currency)
    if invoice.get("iban"):
        means = _sub(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
        _sub(means, "ram:TypeCode", "58")  # SEPA credit transfer
        _sub(_sub(means, "ram:PayeePartyCreditorFinancialAccount"), "ram:IBANID", invoice["iban"])
    for rate, basis, amount in totals["breakdown"]:
        tax = _sub(settlement, "ram:ApplicableTradeTax")
        _sub(tax, "ram:CalculatedAmount", _money(amount))
        _sub(tax, "ram:TypeCode", "VAT")
        _sub(tax, "ram:BasisAmount", _money(basis))
        _sub(tax, "ram:CategoryCode", "S" if rate else "Z")
        _sub(tax, "ram:RateApplicablePercent", rate)
    if invoice.get("due_date"):
        _date_102(
            _sub(settlement, "ram:SpecifiedTradePaymentTerms"), "ram:DueDateDateTime", invoice["due_date"]
        )
    sums = _sub(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _sub(sums, "ram:LineTotalAmount", _money(totals["line_total"]))
    _sub(sums, "ram:TaxBasisTotalAmount", _money(totals["net_total"]))
    _sub(sums, "ram:TaxTotalAmount", _money(totals["tax_total"]), currencyID=currency)
    _sub(sums, "ram:GrandTotalAmount", _money(totals["gross_total"]))
    _sub(sums, "ram:DuePayableAmount", _money(totals["gross_total"]))
    ET.indent(root)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


def write_facturx_pdf(dest: Path, invoice: Mapping[str, Any]) -> Path:
    """Write a PDF showing the invoice as text, with its CII XML attached as `factur-x.xml`.

    The attachment is in the embedded-files name tree and, as PDF/A-3 asks, in the catalog's /AF
    array with the relationship /Data. (The PDF is not a validated PDF/A-3: no XMP metadata.)

    Args:
        dest: The file to write.
        invoice: As for `build_cii_xml`.

    Returns:
        `dest`.
    """
    xml = build_cii_xml(invoice)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_text_pdf_bytes(_invoice_lines(invoice, "en")))))
    attachment = writer.add_attachment("factur-x.xml", xml)
    attachment.subtype = NameObject("/text#2Fxml")
    attachment.associated_file_relationship = NameObject("/Data")
    writer.root_object[NameObject("/AF")] = ArrayObject([attachment.pdf_object.indirect_reference])
    with dest.open("wb") as fh:
        writer.write(fh)
    return dest


# --- visible invoice text -------------------------------------------------------------------------

_MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December"]  # fmt: skip
_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}


def _format_amount(value: Decimal, lang: str) -> str:
    text = f"{value.quantize(_CENT, rounding=ROUND_HALF_UP):,}"  # 1,234.56
    return text.replace(",", "_").replace(".", ",").replace("_", ".") if lang == "de" else text


def _format_date(value: datetime.date, style: str) -> str:
    if style == "de":
        return value.strftime("%d.%m.%Y")
    if style == "slash":
        return value.strftime("%d/%m/%Y")
    if style == "long":
        return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"
    return value.isoformat()


def _invoice_lines(invoice: Mapping[str, Any], lang: str, *, show_rate: bool = True) -> list[str]:
    """The printed face of an invoice, with English or German labels."""
    totals = _totals(invoice)
    date_style = invoice.get("date_style", "de" if lang == "de" else "iso")
    currency = invoice["currency"]
    symbol = invoice.get("currency_symbol")

    def money(value: Decimal) -> str:
        amount = _format_amount(value, lang)
        return f"{symbol}{amount}" if symbol and lang != "de" else f"{amount} {symbol or currency}"

    rates = sorted({rate for _, rate, _ in totals["lines"]})
    rate_text = f" {rates[0].normalize():f} %" if show_rate and len(rates) == 1 else ""
    de = lang == "de"
    lines = [
        f"{'Verkäufer' if de else 'Seller'}: {invoice['seller_name']}",
        f"{'USt-IdNr.' if de else 'VAT ID'}: {invoice['seller_vat_id']}"
        if invoice.get("seller_vat_id")
        else "",
        "RECHNUNG" if de else "INVOICE",
        f"{'Rechnungsnummer' if de else 'Invoice No.'}: {invoice['invoice_number']}",
        f"{'Rechnungsdatum' if de else 'Invoice date'}: {_format_date(invoice['issue_date'], date_style)}",
    ]
    if invoice.get("due_date"):
        lines.append(f"{'Fällig am' if de else 'Due date'}: {_format_date(invoice['due_date'], date_style)}")
    lines += [
        f"{'Rechnungsempfänger' if de else 'Bill to'}: {invoice['buyer_name']}",
        "",
        "Pos.  Bezeichnung  Menge  Einzelpreis  Betrag"
        if de
        else "Pos.  Description  Qty  Unit price  Amount",
    ]
    for number, (line, _, net) in enumerate(totals["lines"], start=1):
        price = _format_amount(_dec(line["unit_price"]), lang)
        lines.append(
            f"{line.get('id', number)}  {line['description']}  {line['quantity']}  {price}  {money(net)}"
        )
    lines += [
        "",
        f"{'Nettobetrag' if de else 'Net total'}: {money(totals['net_total'])}",
        f"{'MwSt.' if de else 'VAT'}{rate_text}: {money(totals['tax_total'])}",
        f"{'Gesamtbetrag' if de else 'Total'}: {money(totals['gross_total'])}",
        "",
    ]
    if invoice.get("iban"):
        iban = invoice["iban"]
        lines.append("IBAN: " + " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)))
    return lines


# --- the sample set -------------------------------------------------------------------------------

_SELLERS = [
    ("Nordlicht Werkzeuge GmbH", "DE"),
    ("Bergmann & Söhne KG", "DE"),
    ("Harbour Lane Stationery Ltd", "GB"),
    ("Quartz (Analytics) Ltd", "GB"),
]
_BUYERS = ["Kestrel Logistics GmbH", "Obstgarten Müller e.K.", "Blue Fern Studio Ltd", "Lindqvist Trading AB"]
_ITEMS = [
    ("Consulting hours", Decimal("95.00")),
    ("Beratungsstunden", Decimal("110.00")),
    ("Printer paper A4, box", Decimal("23.90")),
    ("Schraubensatz M6", Decimal("4.35")),
    ("Software licence, 1 year", Decimal("1249.00")),
    ("Lieferpauschale", Decimal("12.50")),
]

# The first six files cover every case once; more files repeat clean invoices of the first kinds.
_KINDS = ["facturx", "text-en", "text-de-bad-totals", "text-en-due-before-issue", "text-de-no-rate", "xml"]
_REPEAT_KINDS = ["facturx", "text-en", "text-de"]


def _mod97(digits: str) -> int:
    return int("".join(str(int(ch, 36)) for ch in digits)) % 97


def _make_iban(country: str, bban: str) -> str:
    check = 98 - _mod97(bban + country + "00")
    return f"{country}{check:02d}{bban}"


def _random_invoice(rng: random.Random, number: int) -> dict[str, Any]:
    seller, country = rng.choice(_SELLERS)
    if country == "DE":
        vat_id = "DE" + "".join(rng.choice("0123456789") for _ in range(9))
        iban = _make_iban("DE", "".join(rng.choice("0123456789") for _ in range(18)))
        rate, currency = rng.choice([Decimal(19), Decimal(7)]), "EUR"
    else:
        vat_id = "GB" + "".join(rng.choice("0123456789") for _ in range(9))
        iban = _make_iban("GB", "DOCK" + "".join(rng.choice("0123456789") for _ in range(14)))
        rate, currency = Decimal(20), rng.choice(["GBP", "EUR"])
    issue = datetime.date(2024, 1, 1) + datetime.timedelta(days=rng.randrange(360))
    items = rng.sample(_ITEMS, rng.randint(1, 3))
    return {
        "invoice_number": f"INV-2024-{number:04d}",
        "issue_date": issue,
        "due_date": issue + datetime.timedelta(days=rng.choice([14, 30])),
        "seller_name": seller,
        "seller_vat_id": vat_id,
        "buyer_name": rng.choice(_BUYERS),
        "currency": currency,
        "iban": iban,
        "tax_rate": rate,
        "line_items": [
            {"id": str(i), "description": name, "quantity": rng.randint(1, 12), "unit_price": price}
            for i, (name, price) in enumerate(items, start=1)
        ],
    }


def write_sample_invoices(dest: Path, count: int = 6, *, seed: int = 0) -> list[Path]:
    """Write `count` sample invoices into `dest`, the same files for the same `count` and `seed`.

    The first six are, in order: a Factur-X PDF (`*-facturx.pdf`), an English text PDF, a German
    text PDF whose totals do not add up (gross 10.00 too high), an English text PDF due before its
    issue date, a German text PDF that prints no tax rate, and a standalone CII `.xml` invoice.
    Further files alternate clean Factur-X, English and German invoices.

    Args:
        dest: The folder to write into; created when missing.
        count: How many files, at least 1.
        seed: Varies companies, items, amounts and dates.

    Returns:
        The written files, in order.
    """
    if count < 1:
        raise InputError(f"count must be at least 1, got {count}")
    dest.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    paths = []
    for i in range(count):
        kind = _KINDS[i] if i < len(_KINDS) else _REPEAT_KINDS[(i - len(_KINDS)) % len(_REPEAT_KINDS)]
        invoice = _random_invoice(rng, i + 1)
        lang = "de" if kind.startswith("text-de") else "en"
        show_rate = True
        if kind == "text-en":
            invoice["date_style"] = "long"
            invoice["currency_symbol"] = _SYMBOLS[invoice["currency"]]
        elif kind == "text-de-bad-totals":
            totals = _totals(invoice)
            invoice["gross_total"] = totals["net_total"] + totals["tax_total"] + 10
        elif kind == "text-en-due-before-issue":
            invoice["date_style"] = "slash"
            invoice["due_date"] = invoice["issue_date"] - datetime.timedelta(days=10)
        elif kind == "text-de-no-rate":
            invoice["currency_symbol"] = _SYMBOLS[invoice["currency"]]
            show_rate = False
        stem = f"invoice-{i + 1:02d}-{kind}"
        if kind == "facturx":
            paths.append(write_facturx_pdf(dest / f"{stem}.pdf", invoice))
        elif kind == "xml":
            path = dest / f"{stem}.xml"
            path.write_bytes(build_cii_xml(invoice))
            paths.append(path)
        else:
            paths.append(
                write_text_pdf(dest / f"{stem}.pdf", _invoice_lines(invoice, lang, show_rate=show_rate))
            )
    return paths
