"""The sample set: made-up companies, VAT ids, IBANs, items and amounts, and the kinds of file written.

IBANs have valid check digits and belong to nobody.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

from docket_core.errors import InputError
from docket_core.invoice_samples.amounts import invoice_totals
from docket_core.invoice_samples.cii import build_cii_xml
from docket_core.invoice_samples.pdf import write_facturx_pdf, write_text_pdf
from docket_core.invoice_samples.text import SYMBOLS, invoice_lines

__all__ = ["write_sample_invoices"]

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
            invoice["currency_symbol"] = SYMBOLS[invoice["currency"]]
        elif kind == "text-de-bad-totals":
            totals = invoice_totals(invoice)
            invoice["gross_total"] = totals["net_total"] + totals["tax_total"] + 10
        elif kind == "text-en-due-before-issue":
            invoice["date_style"] = "slash"
            invoice["due_date"] = invoice["issue_date"] - datetime.timedelta(days=10)
        elif kind == "text-de-no-rate":
            invoice["currency_symbol"] = SYMBOLS[invoice["currency"]]
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
                write_text_pdf(dest / f"{stem}.pdf", invoice_lines(invoice, lang, show_rate=show_rate))
            )
    return paths
