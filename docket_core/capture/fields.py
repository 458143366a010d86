"""Template-free field extraction on the page model: labels from the lexicon, values by geometry.

For each label found on a page, `value_regions` proposes where its value is printed; the field's
typed parser keeps the regions that hold such a value; each candidate scores label quality x
geometry x parser certainty x OCR confidence, and the best one per field wins. Amounts are then
chosen together (`totals`), parties apart (`parties`). A field's confidence is its winner's score,
raised when other evidence agrees (net + tax = gross, a VAT id's check digits) and lowered when a
close rival disagrees.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Sequence
from typing import Any

from docket_core.capture.candidates import Candidate, Document, best, label_score, read_document
from docket_core.capture.lexicon import lexicon, norm
from docket_core.capture.ocr_confidence import ocr_confidence
from docket_core.capture.pages import Page, Word, union
from docket_core.capture.regions import Region, value_regions
from docket_core.capture.values import DATE, currency_of, parse_date, parse_iban, parse_identifier, parse_vat_id
from docket_core.workflows.model import Evidence

__all__ = ["extract"]

_Parser = Callable[[str, Document], tuple[Any, float] | None]

_IBAN_SHAPE = re.compile(r"(?:\b|(?<=IBAN))[A-Z]{2}\d{2}[ \t]?[A-Z0-9]{4}")


def _strip_number_words(text: str) -> str:
    words = text.split()
    skip = lexicon().words("number_words") | {""}
    while words and norm(words[0]) in skip and not any(ch.isdigit() for ch in words[0]):
        words.pop(0)
    return " ".join(words)


def _parse_id(text: str, doc: Document) -> tuple[Any, float] | None:
    text = _strip_number_words(text.lstrip(":#.- "))
    words = text.split()
    first = words[0] if words else ""
    if len(words) > 1 and re.fullmatch(r"[A-Z]{1,3}", first) and words[1][:1].isdigit():
        first = f"{first} {words[1]}"  # a series prefix printed apart: "FT 5506/2022"
        value = first if parse_identifier(words[1]) else None
        return (value, 0.9) if value else None
    value = parse_identifier(first)
    # A date is no number, but "IN-20210315/12" holding one is.
    bare = first.strip(".,;:")
    if value is None or DATE.fullmatch(bare) and parse_date(bare) or currency_of(first) and not value[0].isdigit():
        return None
    return value, 1.0 if len(value) >= 3 else 0.8


def _parse_date(text: str, doc: Document) -> tuple[Any, float] | None:
    words = text.split()[:12]
    found = None
    for skipped in range(len(words)):
        # "Zahlbar innerhalb 30 Tagen netto bis 04.04.2018": the first date after the label, a bit less sure.
        found = parse_date(" ".join(words[skipped : skipped + 5]), doc.month_first)
        if found is not None:
            break
    if found is None:
        return None
    date, ambiguous = found
    # Another date on the pages settles the order: "28/09/2022" beside it means 09/10/2022 is day first.
    ambiguous = ambiguous and not doc.date_order_known
    if skipped > 1:
        ambiguous = True
    if any(word.endswith(":") for word in words[:skipped]):
        return date, 0.7  # "Date delivraison: 28/09/2022": the label went on, it is another date's
    if not 1990 <= date.year <= datetime.date.today().year + 5:
        return None
    return date, 0.85 if ambiguous else 1.0


def _parse_vat(text: str, doc: Document) -> tuple[Any, float] | None:
    found = parse_vat_id(text)
    if found is None:
        return None
    return found[0], 1.0 if found[1] else 0.9


_PARSERS: dict[str, _Parser] = {
    "invoice_number": _parse_id,
    "order_number": _parse_id,
    "issue_date": _parse_date,
    "due_date": _parse_date,
    "seller_vat_id": _parse_vat,
}


def labelled_candidates(doc: Document, field: str, parser: _Parser, same_line_only: bool = False) -> list[Candidate]:
    """Candidates for `field` from each of its labels' value regions that `parser` accepts."""
    out = []
    for hit in doc.hits:
        if hit.field != field:
            continue
        index = doc.hit_pages[id(hit)]
        label_box = union(w.box for w in hit.line.words[hit.start : hit.end])
        # A bare "Invoice" or "vom": its value must follow it on its line, and it counts for less.
        weak = hit.words == 1 and norm(hit.line.words[hit.start].text) in lexicon().words("weak_labels")
        for region in value_regions(index, hit.line, hit.end, label_box, same_line_only or weak):
            parsed = parser(region.text, doc)
            if parsed is None:
                continue
            value, certainty = parsed
            score = label_score(hit) * region.geometry * certainty * (0.5 + 0.5 * region.confidence)
            out.append(Candidate(field, value, score * (0.75 if weak else 1.0), region, hit))
            break
    return out


def _title_numbers(doc: Document) -> tuple[list[Candidate], list[Candidate]]:
    """The number and date in a document's title line: "Handelsrechnung (380) Nr. 583920 vom
    05.03.2018", "Facture N° 12", "Avoir AV-2017-0005" (a title word, a number word or none, a number)."""
    lex = lexicon()
    titles, numbers = lex.words("title_words"), lex.words("number_words")
    found, dates = [], []
    for index in doc.indexes:
        for line in index.lines:
            # "Rechnungskorrektur(384)": a scan runs the type code into the title word.
            tokens = [norm(re.sub(r"\(\d{3}\)$", "", w.text)) for w in line.words]
            for i, token in enumerate(tokens[:4]):
                if not (token in titles or token.endswith("rechnung")):
                    continue
                j = next((j for j in range(i + 1, min(i + 4, len(tokens))) if tokens[j] in numbers), None)
                start, score = (j + 1, 0.92) if j is not None else (i + 1, 0.7)
                region = Region(line.words[start : start + 1], index.page, 1.0, "same-line")
                parsed = _parse_id(region.text, doc) if region.words else None
                if parsed is None or (j is None and not re.search(r"[A-Za-z].*\d|\d.*[-/]", parsed[0])):
                    continue  # without "Nr."/"No" a bare number is too often a year or a count
                found.append(Candidate("invoice_number", parsed[0], score * parsed[1], region))
                rest = Region(line.words[start + 1 :], index.page, 1.0, "same-line")
                if rest.words and (date := _parse_date(rest.text, doc)) is not None:
                    dates.append(Candidate("issue_date", date[0], 0.92 * date[1], rest))
                break
    return found, dates


def _buyers(doc: Document, candidate: Candidate) -> bool:
    """Whether a VAT id is the buyer's: in the buyer's block, or labelled "N° TVA client", "Ihre USt-IdNr."."""
    from docket_core.capture.parties import buyer_zones, inside

    hit = candidate.hit
    if hit is not None and _names_buyer(hit.line.words[: hit.end + 1]):
        return True
    return inside(candidate.region.page.number, candidate.region.box, buyer_zones(doc))


def _names_buyer(words: Sequence[Word]) -> bool:
    """Whether words say "client", "Ihre", "customer": also run into the label ("N°TVAclient")."""
    markers = lexicon().words("buyer_markers")
    tokens = [norm(w.text) for w in words]
    return any(t in markers or any(len(m) >= 5 and t.endswith(m) for m in markers) for t in tokens)


def _unlabelled_vat_ids(doc: Document, buyers: set[str]) -> list[Candidate]:
    """No seller VAT id labelled (a misread "USt-IdNr."): VAT ids whose check digits hold, outside the
    buyer's block, at a low score."""
    from docket_core.capture.parties import buyer_zones, inside

    zones = buyer_zones(doc)
    taxes = {first for first, entries in lexicon().by_first.items() if any(e[0] == "tax_total" for e in entries)}
    out = []
    for index in doc.indexes:
        for line in index.lines:
            found = parse_vat_id(line.text)
            if found is None or not found[1] or found[0] in buyers or inside(index.page.number, line.box, zones):
                continue
            if _names_buyer(line.words):
                continue
            # Said to be a tax id ("TVA: FR...", "USI-ID"), or in the letterhead or the footer: likelier the seller's.
            score = 0.55 + 0.05 * any(norm(w.text) in taxes for w in line.words) + 0.05 * (not 0.2 < line.box[1] < 0.8)
            region = Region(line.words, index.page, 1.0, "same-line")
            out.append(Candidate("seller_vat_id", found[0], score * (0.5 + 0.5 * line.confidence), region))
    return out


def _first_date(doc: Document) -> list[Candidate]:
    """No date labelled (many receipts print it bare): the first date on the first page, at a low score."""
    for index in doc.indexes[:1]:
        for line in index.lines:
            if (found := _parse_date(line.text, doc)) is not None:
                region = Region(line.words, index.page, 1.0, "same-line")
                return [Candidate("issue_date", found[0], 0.55 * found[1] * (0.5 + 0.5 * line.confidence), region)]
    return []


def _iban(doc: Document) -> tuple[Candidate | None, float, list[str]]:
    rejected_all: list[str] = []
    candidates = []
    for index in doc.indexes:
        for line in index.lines:
            if not _IBAN_SHAPE.search(line.text.upper()):
                continue
            iban, rejected = parse_iban(line.text)
            rejected_all += rejected
            if iban:
                labelled = "iban" in norm(line.text)
                region = Region(line.words, index.page, 1.0, "same-line")
                candidates.append(Candidate("iban", iban, (0.97 if labelled else 0.9) * line.confidence, region))
    winner, confidence = best(candidates)
    return winner, confidence, rejected_all


def _currency(
    doc: Document, amount_regions: list[Region], values: dict[str, Any], evidence: dict[str, Evidence]
) -> tuple[Candidate | None, float]:
    """The currency: a labelled code, else the code or symbol next to the totals, else any on the page."""
    labels = frozenset(norm(w) for w in lexicon().raw["currencies"]["labels"])
    candidates = []
    for index in doc.indexes:
        for line in index.lines:
            tokens = [norm(w.text) for w in line.words]
            for i, token in enumerate(tokens):
                if token in labels:
                    for region in value_regions(index, line, i + 1, line.words[i].box):
                        if code := currency_of(region.text):
                            candidates.append(Candidate("currency", code, 0.98, region))
                            break
    for region in amount_regions:
        if code := currency_of(region.text):
            candidates.append(Candidate("currency", code, 0.9, region))
    if not candidates:
        for index in doc.indexes:
            for line in index.lines:
                if code := currency_of(line.text):
                    region = Region(line.words, index.page, 1.0, "same-line")
                    candidates.append(Candidate("currency", code, 0.7, region))
                    break
    if not candidates:
        candidates = _country_currency(values, evidence, doc)
    return best(candidates)


def _country_currency(values: dict[str, Any], evidence: dict[str, Evidence], doc: Document) -> list[Candidate]:
    """No currency printed (or its "€" lost to the scan): the currency of the IBAN's country, else
    of the seller's VAT id (an Indian GSTIN is all digits up front), at a low score."""
    countries = {
        country: code for code, names in lexicon().raw["currencies"]["countries"].items() for country in names
    }
    for field in ("iban", "seller_vat_id"):
        value, where = values.get(field), evidence.get(field)
        if not value or where is None:
            continue
        country = "IN" if field == "seller_vat_id" and value[:2].isdigit() else value[:2]
        if code := countries.get(country):
            page = next((p for p in doc.pages if p.number == where.page), doc.pages[0])
            words = tuple(w for line in page.lines for w in line.words if union([w.box, where.box]) == where.box)
            region = Region(words or page.lines[0].words, page, 1.0, "same-line")
            return [Candidate("currency", code, 0.55, region)]
    return []


def extract(pages: list[Page]) -> tuple[dict[str, Any], dict[str, Evidence], list[str]]:
    """Every field found on `pages`: values, where each was read, and rejected IBAN-shaped strings."""
    from docket_core.capture.parties import find_parties
    from docket_core.capture.totals import find_totals

    doc = read_document(pages)
    values: dict[str, Any] = {}
    evidence: dict[str, Evidence] = {}

    def keep(field: str, winner: Candidate | None, confidence: float) -> None:
        if winner is not None:
            if winner.region.page.source == "ocr":
                # A misread letter passes every check but the eye: OCR values stay below the usual
                # automation threshold (0.9) unless the page checks them (`ocr_confidence`).
                confidence = ocr_confidence(field, winner, confidence, doc, values)
            values[field] = winner.value
            evidence[field] = winner.evidence(confidence)

    title_numbers, title_dates = _title_numbers(doc)
    for field, parser in _PARSERS.items():
        candidates = labelled_candidates(doc, field, parser)
        if field == "seller_vat_id":
            theirs = [c for c in candidates if _buyers(doc, c)]
            keep("buyer_vat_id", *best(theirs))
            candidates = [c for c in candidates if c not in theirs]
            if not candidates:
                candidates = _unlabelled_vat_ids(doc, {c.value for c in theirs})
        candidates += {"invoice_number": title_numbers, "issue_date": title_dates}.get(field, [])
        if field == "issue_date" and not candidates:
            candidates = _first_date(doc)
        keep(field, *best(candidates))
    if values.get("issue_date") == values.get("due_date") and "due_date" in values:
        if evidence["due_date"].confidence <= evidence.get("issue_date", evidence["due_date"]).confidence:
            del values["due_date"], evidence["due_date"]
    if values.get("order_number") == values.get("invoice_number") and "order_number" in values:
        del values["order_number"], evidence["order_number"]
    winner, confidence, rejected = _iban(doc)
    keep("iban", winner, confidence)
    totals, regions = find_totals(doc)
    for field, (candidate, conf) in totals.items():
        if field == "tax_rate":
            values[field] = candidate
            continue
        keep(field, candidate, conf)
    keep("currency", *_currency(doc, regions, values, evidence))
    for field, (candidate, conf) in find_parties(doc, evidence).items():
        keep(field, candidate, conf)
    values["document_kind"] = _kind(doc, values)
    values["language"] = doc.language
    return values, evidence, rejected


def _kind(doc: Document, values: dict[str, Any]) -> str:
    """ "receipt" for a till receipt (a narrow page, or no buyer and words of paying at a counter)."""
    page = doc.pages[0] if doc.pages else None
    narrow = page is not None and page.width > 0 and page.height / page.width > 2.0
    words = lexicon().words("receipt_words")
    paid = any(norm(line.words[0].text) in words for page in doc.pages for line in page.lines)
    if narrow or ("buyer_name" not in values and paid):
        return "receipt"
    return "invoice"
