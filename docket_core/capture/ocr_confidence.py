"""How sure a value read by OCR may be: below the automation threshold unless something checks it.

A misread letter passes a parser but not the eye, so an OCR value's confidence is capped below the
usual automation threshold (0.9) by default (`CEILING`). It may rise above it only when the page
itself checks the value (`CHECKED`):
- amounts: net + tax = gross (`totals` then gives them 0.9 or more);
- dates: a label's date that parses one way only (spelled month, dots, ISO, or a day above 12
  somewhere on the page settling the order), read with a high OCR score, and not after the due date;
- currency: a labelled ISO code read cleanly ("Währung: EUR"), the same code or symbol printed on
  two lines and no other currency on the pages, or the currency of the IBAN's country;
- invoice number: no letter the recogniser confuses with a digit inside its digits, and either the
  same number printed on two separate lines (a title and a label, a payment reference) or one clean
  reading (an exact label or a title's "Nr.", a recogniser score of 0.95 or more);
- seller: the name printed again elsewhere on the pages, or spelled by the e-mail or web domain.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from docket_core.capture.candidates import Candidate, Document
from docket_core.capture.lexicon import lexicon, norm
from docket_core.capture.values import currency_of, parse_date

__all__ = ["CEILING", "CHECKED", "ocr_confidence"]

CEILING = {"seller_name": 0.8, "buyer_name": 0.8, "issue_date": 0.88, "due_date": 0.88, "currency": 0.88}
"""The cap of an unchecked OCR value per field (0.85 for others)."""
CHECKED = 0.93
"""The cap of an OCR value the page checks (amounts that add up: 0.95)."""
_AMOUNT_FIELDS = ("net_total", "tax_total", "gross_total")


def ocr_confidence(field: str, winner: Candidate, confidence: float, doc: Document, values: dict[str, Any]) -> float:
    """The confidence of `winner`, read by OCR, after the page's own checks (see the module)."""
    if field in _AMOUNT_FIELDS:
        return min(confidence, 0.95 if confidence >= 0.9 else 0.85)
    ceiling = CEILING.get(field, 0.85)
    check = _CHECKS.get(field)
    if check is not None and confidence >= 0.75 and check(winner, doc, values):
        ceiling = CHECKED
        confidence = max(confidence, 0.91)
    return min(confidence, ceiling)


def _date_checked(winner: Candidate, doc: Document, values: dict[str, Any]) -> bool:
    if winner.region.confidence < 0.95:
        return False
    found = parse_date(winner.region.text, doc.month_first)
    if found is None or found[0] != winner.value or (found[1] and not doc.date_order_known):
        return False
    due = values.get("due_date")
    issued = values.get("issue_date")
    if winner.field == "issue_date" and isinstance(due, datetime.date) and due < winner.value:
        return False
    if winner.field == "due_date" and isinstance(issued, datetime.date) and winner.value < issued:
        return False
    return True


def _currency_checked(winner: Candidate, doc: Document, values: dict[str, Any]) -> bool:
    if winner.score >= 0.98 and winner.region.confidence >= 0.95 and winner.region.text.strip(" :") == winner.value:
        return True  # "Währung: EUR": a labelled ISO code, and a misread code is no code
    iban = values.get("iban")
    if isinstance(iban, str):
        countries = lexicon().raw["currencies"]["countries"]
        if iban[:2] in countries.get(winner.value, ()):
            return True
    seen: dict[str, int] = {}
    for page in doc.pages:
        for line in page.lines:
            if code := currency_of(line.text):
                seen[code] = seen.get(code, 0) + 1
    return set(seen) == {winner.value} and seen[winner.value] >= 2


# A letter the recogniser confuses with a digit, inside a run of digits ("47I102", "2O19-5").
_CONFUSABLE = re.compile(r"(?<=\d)[OoIlSBZG|](?=\d)|(?<=\d)[OoIlSBZG|]$|^[OoIl|](?=\d)")


def _number_checked(winner: Candidate, doc: Document, values: dict[str, Any]) -> bool:
    value = str(winner.value)
    if len(value) < 4 or not any(ch.isdigit() for ch in value) or _CONFUSABLE.search(value):
        return False
    if _clean_read(winner):
        return True
    # The whole number, on its own: not "E-64019" inside "RE-64019", nor "7181/2022" after a series "FT".
    alone = re.compile(rf"(?<![\w/.-]){re.escape(value)}(?![\w/-])")
    own = set(winner.region.words)
    for page in doc.pages:
        for line in page.lines:
            if own & set(line.words) or line.confidence < 0.9:
                continue
            for match in alone.finditer(line.text):
                before = line.text[: match.start()].split()
                if not (before and re.fullmatch(r"[A-Za-z]{1,3}", before[-1])):
                    return True
    return False


def _clean_read(winner: Candidate) -> bool:
    """A number after an exact label (not a bare "Invoice"), or after a title's "Nr.", read with a
    recogniser score of 0.95 or more: what a reader would not look at twice."""
    hit = winner.hit
    if winner.region.confidence < 0.95:
        return False
    if hit is None:  # a title line's number: "Handelsrechnung Nr. 583920"
        return winner.score >= 0.85
    return hit.score == 1.0 and (hit.words > 1 or norm(hit.line.words[hit.start].text) not in lexicon().words("weak_labels"))


def _seller_checked(winner: Candidate, doc: Document, values: dict[str, Any]) -> bool:
    name = str(winner.value)
    key = norm(name)
    # A name run into its address or the next column ("...V.O.F.Kerkstraat 5", "...haftungsbeschranktRECHNUNG")
    # is never checked, however often its first words recur.
    if len(key) < 5 or len(name.split()) > 6 or any(ch.isdigit() or ch in "·•|" for ch in name):
        return False
    if re.search(r"[a-zß][A-Z]{4,}|[a-z]\.[A-Z][a-z]", name):
        return False
    own = set(winner.region.words)
    if any(key in norm(line.text) and not own & set(line.words) for page in doc.pages for line in page.lines):
        return True
    text = "\n".join(page.text for page in doc.pages[:1])
    domains = {norm(m) for m in re.findall(r"(?:@|www\.)([\w-]{4,})\.", text)}
    return any(d in key for d in domains if len(d) >= 5)


_CHECKS = {
    "issue_date": _date_checked,
    "due_date": _date_checked,
    "currency": _currency_checked,
    "invoice_number": _number_checked,
    "seller_name": _seller_checked,
}
