"""Typed parsers for captured values: amounts, dates, currencies, identifiers, VAT ids and IBANs.

Each returns None for text that is not such a value, so a candidate that fails its parser is dropped.
Month names come from babel's CLDR data for the lexicon's six languages; VAT ids and IBANs are
checked with python-stdnum.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Iterator
from decimal import Decimal

from babel.dates import get_month_names
from stdnum import iban as stdnum_iban
from stdnum.eu import vat as stdnum_vat
from stdnum.in_ import gstin as stdnum_gstin
from stdnum.exceptions import ValidationError

from docket_core.capture.lexicon import lexicon, norm

__all__ = [
    "AMOUNT",
    "DATE",
    "currency_of",
    "find_amounts",
    "find_dates",
    "parse_amount",
    "parse_date",
    "parse_identifier",
    "parse_iban",
    "parse_vat_id",
]

LANGUAGES = ("en", "de", "fr", "nl", "es", "it")

# An amount has exactly two decimals, so quantities, years and ids are never taken for one.
AMOUNT = re.compile(
    r"(?:(?<![\w.,/:-])|(?<=(?<![A-Za-z])[A-Z]{3}))(?P<a>[-\u2212]?"
    r"(?:\d{1,2}(?:,\d{2})+,\d{3}"  # Indian lakh grouping: 2,50,000.00
    r"|\d{1,3}(?:[.,'\u00a0\u202f ]\d{3})+|\d+)[.,]\d{2})"
    r"(?![\w%]|[.,]\d|[ \t]*%)(?P<minus>-)?"  # a trailing minus: "12.50-"
)


def _amounts(text: str) -> Iterator[re.Match[str]]:
    """AMOUNT's matches, where one run into letters follows a currency code ("INR12,345.67", an OCR
    reading) and not a product code ("ABC12.50")."""
    codes = _currency_table()[0]
    for match in AMOUNT.finditer(text):
        start = match.start()
        if start and text[start - 1].isalpha() and text[start - 3 : start] not in codes:
            continue
        yield match


def parse_amount(text: str) -> Decimal | None:
    """An amount such as "1.234,56", "1,234.56", "1 234,56" or "-7,90": the last separator is the
    decimal one, any before it group thousands."""
    match = next(_amounts(text), None)
    if not match:
        return None
    found = match.group("a")
    whole = re.sub(r"[^\d-]", "", found[:-3].replace("\u2212", "-"))
    value = Decimal(f"{whole or 0}.{found[-2:]}")
    return -value if match.group("minus") else value


def find_amounts(text: str) -> list[tuple[Decimal, int, int]]:
    """Every amount in `text` with its character span."""
    out = []
    for match in _amounts(text):
        value = parse_amount(match.group())
        if value is not None:
            out.append((value, match.start(), match.end()))
    return out


@functools.cache
def _months() -> dict[str, int]:
    months: dict[str, int] = {}
    for language in LANGUAGES:
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for number, name in get_month_names(width, context, language).items():
                    months.setdefault(norm(name), number)
    months |= {"sept": 9, "maerz": 3, "janner": 1, "mrz": 3, "juin": 6, "juil": 7}
    return months


# A four-digit year ends there, or runs into a time the OCR joined to it ("18/03/201823:02").
_Y4 = r"(?:19|20)\d{2}(?:(?=\d{1,2}:)|(?!\d))"
DATE = re.compile(
    r"(?<![\d.])(?:(?P<iso>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})(?!\d)"
    r"|(?P<ys>\d{4})[/.](?P<ms>\d{1,2})[/.](?P<ds>\d{1,2})(?!\d)"
    rf"|(?P<a>\d{{1,2}})(?P<sep>[./-])(?P<b>\d{{1,2}})(?P=sep)(?P<y>{_Y4}|\d{{2}}(?:(?=\d{{1,2}}:)|(?!\d)))"
    r"|(?P<ymd>\d{4})(?P<ymdm>\d{2})(?P<ymdd>\d{2})(?=$|\D)"
    r"|(?P<d1>\d{1,2})(?:\.|er|st|nd|rd|th)?[ \t-]*(?:de[ \t]+)?(?P<m1>[^\W\d_]{3,10})\.?,?[ \t-]*(?:de[ \t]+)?"
    rf"(?P<y1>{_Y4})"
    rf"|(?P<m2>[^\W\d_]{{3,10}})\.?[ \t]+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?,?[ \t]+(?P<y2>{_Y4}))"
)


def _year(text: str) -> int:
    year = int(text)
    return year + 2000 if year < 100 else year


def parse_date(text: str, month_first: bool = False) -> tuple[datetime.date, bool] | None:
    """The first date in `text`, and whether its day/month order was ambiguous.

    Numeric dates are day first unless `month_first` (or only month first can be meant, as in
    03/25/2024); spelled-out months are read in English, German, French, Dutch, Spanish and Italian.
    """
    for match in DATE.finditer(text):
        try:
            if match["iso"]:
                return datetime.date(int(match["iso"]), int(match["im"]), int(match["id"])), False
            if match["ys"]:
                return datetime.date(int(match["ys"]), int(match["ms"]), int(match["ds"])), False
            if match["ymd"]:
                date = datetime.date(int(match["ymd"]), int(match["ymdm"]), int(match["ymdd"]))
                if 1990 <= date.year <= 2100:
                    return date, False
                continue
            if match["a"]:
                a, b, year = int(match["a"]), int(match["b"]), _year(match["y"])
                # Only slashed dates are written month first; dotted and dashed ones are day first.
                day, month = (b, a) if month_first and match["sep"] == "/" else (a, b)
                if month > 12 >= day:
                    day, month = month, day
                ambiguous = match["sep"] == "/" and a <= 12 and b <= 12 and a != b
                return datetime.date(year, month, day), ambiguous
            name = match["m1"] or match["m2"]
            number = _months().get(norm(name))
            if number is None:
                continue
            day = int(match["d1"] or match["d2"])
            return datetime.date(int(match["y1"] or match["y2"]), number, day), False
        except ValueError:
            continue  # 31.02.2024 and the like: not a date
    return None


def find_dates(text: str) -> list[tuple[int, int]]:
    """(first, second) numbers of every numeric d/m/y date in `text`, for resolving the order."""
    return [(int(m["a"]), int(m["b"])) for m in DATE.finditer(text) if m["a"] and m["sep"] == "/"]


_IDENTIFIER = re.compile(r"[A-Za-z0-9][\w/.\-]*")


def parse_identifier(text: str) -> str | None:
    """A document number: the first word with a digit, trailing punctuation dropped."""
    for match in _IDENTIFIER.finditer(text):
        value = match.group().rstrip(".-/")
        if any(ch.isdigit() for ch in value) and len(value) <= 40:
            return value
    return None


_EU_VAT = re.compile(
    r"(?:ATU\d{8}|BE[01]\d{9}|BG\d{9,10}|CY\d{8}[A-Z]|CZ\d{8,10}|DE\d{9}|DK\d{8}|EE\d{9}|EL\d{9}"
    r"|ES[A-Z0-9]\d{7}[A-Z0-9]|FI\d{8}|FR[A-HJ-NP-Z0-9]{2}\d{9}|HR\d{11}|HU\d{8}|IE\d[A-Z0-9+*]\d{5}[A-Z]{1,2}"
    r"|IT\d{11}|LT(?:\d{12}|\d{9})|LU\d{8}|LV\d{11}|MT\d{8}|NL\d{9}B\d{2}|PL\d{10}|PT\d{9}|RO\d{2,10}"
    r"|SE\d{12}|SI\d{8}|SK\d{10}|XI\d{9}|GB(?:\d{12}|\d{9})|CHE\d{9}(?:MWST|TVA|IVA)?)"
)
# Overlapping (a lookahead): "CONDITIONS FR19735819757", where a scan merged two columns, still holds the id.
_VAT_CANDIDATE = re.compile(r"(?=(\b[A-Z]{2,3}[ .-]?[A-Z0-9][A-Z0-9 .-]{5,18}))")


_GSTIN = re.compile(r"(?<![A-Z0-9])\d{2}[A-Z]{5}\d{4}[A-Z][1-9A-Z]Z[0-9A-Z](?![A-Z0-9])")


def parse_vat_id(text: str) -> tuple[str, bool] | None:
    """The first VAT id of a European format (or an Indian GSTIN) in `text`, and whether its check
    digits hold."""
    upper = text.upper()
    # A scan may space a GSTIN's groups ("29 ABCPE1234F1 Z7"): read it closed up too, if its check holds.
    for source in (upper, re.sub(r"(?<=[A-Z0-9]) (?=[A-Z0-9])", "", upper)):
        if gstin := _GSTIN.search(source):
            valid = bool(stdnum_gstin.is_valid(gstin.group()))
            if valid or source is upper:
                return gstin.group(), valid
    for match in _VAT_CANDIDATE.finditer(upper):
        candidate = re.sub(r"[ .-]", "", match.group(1))
        found = _EU_VAT.match(candidate)
        if found and (found.end() == len(candidate) or not candidate[found.end()].isdigit()):
            vat = found.group()
            if not _vat_valid(vat):
                # "IE4827163B.IBAN": the next word run in; a shorter reading whose check digits hold wins.
                shorter = (vat[:end] for end in range(len(vat) - 1, 7, -1) if _EU_VAT.fullmatch(vat[:end]))
                return next(((v, True) for v in shorter if _vat_valid(v)), (vat, False))
            return vat, True
    return None


def _vat_valid(vat: str) -> bool:
    try:
        return bool(stdnum_vat.is_valid(vat))
    except ValidationError:
        return False


# "IBANDE88 2008 ...": a scan may run the label into the number.
_IBAN_CANDIDATE = re.compile(r"(?:\b|(?<=IBAN))[A-Z]{2}\d{2}(?:[ \t]?[A-Z0-9]){11,32}")


def parse_iban(text: str) -> tuple[str | None, list[str]]:
    """The first IBAN in `text` that passes its country's length and mod-97 check, and the
    IBAN-shaped strings before it that failed."""
    rejected = []
    for match in _IBAN_CANDIDATE.finditer(text.upper()):
        compact = re.sub(r"\s", "", match.group())
        # Take the longest prefix that is valid: "DE89 3704 ... 00 BIC ..." must stop before "BIC".
        for end in range(len(compact), 14, -1):
            if stdnum_iban.is_valid(compact[:end]):
                return compact[:end], rejected
        country = compact[:2]
        if country.isalpha():
            try:
                length = len(stdnum_iban.compact(compact))
                rejected.append(compact[: _iban_length(country) or length])
            except ValidationError:
                pass
    return None, rejected


def _iban_length(country: str) -> int | None:
    lengths = {"DE": 22, "AT": 20, "CH": 21, "FR": 27, "NL": 18, "BE": 16, "GB": 22, "ES": 24, "IT": 27,
               "LU": 20, "NO": 15, "DK": 18, "PL": 28, "SE": 24, "IE": 22, "PT": 25}  # fmt: skip
    return lengths.get(country)


@functools.cache
def _currency_table() -> tuple[frozenset[str], list[tuple[str, str]]]:
    table = lexicon().raw["currencies"]
    symbols = sorted(table["symbols"].items(), key=lambda item: -len(item[0]))
    return frozenset(table["codes"]), symbols


def currency_of(text: str) -> str | None:
    """The currency a piece of text names: an ISO code ("EUR"), or a symbol ("€", "RM", "Rs.", "₹")."""
    codes, symbols = _currency_table()
    for word in re.findall(r"(?<![A-Za-z])[A-Z]{3}(?![A-Za-z])", text):
        if word in codes:
            return word
    for symbol, code in symbols:
        if symbol.isalpha() or symbol.endswith("."):
            if re.search(rf"(?<![A-Za-z]){re.escape(symbol)}(?![A-Za-z])", text):
                return code
        elif symbol in text:
            return code
    return None
