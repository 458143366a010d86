"""The amounts of a document chosen together: net, tax and gross total, and the tax rate.

Every labelled amount is a candidate. Tax lines that state a rate ("MwSt. 7 %", "VAT 20%") are added
up when no tax total is labelled. The winning triple is the one where net + tax = gross, by score,
then the later page and the larger gross (the amount payable, not a subtotal); when no triple adds
up, each amount is the best of its own and its confidence is lower.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from docket_core.capture.lexicon import lexicon, norm
from docket_core.capture.pages import Line, union
from docket_core.capture.regions import Region, value_regions
from docket_core.capture.values import find_amounts

if TYPE_CHECKING:
    from docket_core.capture.fields import Candidate, Document

__all__ = ["find_totals"]

_PERCENT = re.compile(r"(?<![\w.,])(?P<r>\d{1,2}(?:[.,]\d{1,2})?)[ \t]*%")
_TOTAL_WORDS = {"total", "summe", "gesamt", "totaal", "totale", "montant", "importe", "importo", "amount",
                "betrag", "bedrag", "cuota"}  # fmt: skip
_TOLERANCE = Decimal("0.011")


def _amount_of(region: Region) -> tuple[Decimal, Region] | None:
    """The amount a region states: the last one on a line ("VAT 19 % of 100.00: 19.00"), the first below."""
    text = region.spaced_text
    amounts = find_amounts(text)
    if not amounts:
        return None
    value, start, end = amounts[0] if region.where == "below" else amounts[-1]
    # Narrow the evidence to the words of the amount.
    offset, words = 0, []
    for word in region.words:
        at = text.index(word.text, offset)
        if at < end and at + len(word.text) > start:
            words.append(word)
        offset = at + len(word.text)
    return value, Region(tuple(words) or region.words, region.page, region.geometry, region.where)


def _candidates(doc: Document) -> tuple[list[tuple[Candidate, bool, Decimal | None]], list[Region]]:
    from docket_core.capture.fields import Candidate, _label_score

    skip_after = lexicon().words("not_amount_after")
    prepaid_words = lexicon().words("prepaid_words")
    prepaid = any(norm(w.text) in prepaid_words for index in doc.indexes for line in index.lines for w in line.words)
    out: list[tuple[Candidate, bool, Decimal | None]] = []
    regions: list[Region] = []
    for hit in doc.hits:
        if hit.field not in ("net_total", "tax_total", "gross_total"):
            continue
        tokens = [norm(w.text) for w in hit.line.words]
        if hit.end < len(tokens) and tokens[hit.end] in skip_after and hit.field != "tax_total":
            continue
        if hit.end < len(tokens) and tokens[hit.end] in skip_after - {"%"} and hit.field == "tax_total":
            continue
        index = doc.hit_pages[id(hit)]
        label_box = union(w.box for w in hit.line.words[hit.start : hit.end])
        row = tuple(hit.line.words[hit.end :]) + tuple(w for line in index.right_of(hit.line.box) for w in line.words)
        # The whole row first: in a table the amount stated is its last column ("Umsatzsteuer 275,00 7 19,25").
        whole_row = [Region(row, index.page, 0.95, "right")] if row else []
        for region in whole_row + value_regions(index, hit.line, hit.end, label_box)[len(whole_row) and 1 :]:
            found = _amount_of(region)
            if found is None:
                continue
            value, narrowed = found
            regions.append(region)
            score = _label_score(hit) * region.geometry * (0.5 + 0.5 * narrowed.confidence)
            # A label that opens its line is a totals line; one inside a sentence or table row is weaker.
            if hit.start > 0:
                score *= 0.8
            label_words = hit.line.words[hit.start : hit.end]
            payable = any(norm(w.text) in lexicon().words("payable_words") for w in label_words)
            if prepaid and hit.field == "gross_total" and payable:
                score *= 0.88  # after a prepayment "Amount due" is what is left to pay, not the invoice total
            explicit = hit.field != "tax_total" or any(norm(w.text) in _TOTAL_WORDS for w in label_words)
            percent = _PERCENT.search(hit.line.text)
            rate = Decimal(percent.group("r").replace(",", ".")) if percent else None
            out.append((Candidate(hit.field, value, score, narrowed, hit), explicit, rate))
            break
    return out, regions


def _sum_tax_lines(lines: list[tuple[Candidate, bool, Decimal | None]]) -> Candidate | None:
    """One tax candidate adding up the tax lines of distinct rates (a repeated summary line counts once)."""
    from docket_core.capture.fields import Candidate

    seen: dict[tuple[Decimal | None, Decimal], Candidate] = {}
    for candidate, _, rate in lines:
        seen.setdefault((rate, candidate.value), candidate)
    if len(seen) < 2:
        return None
    parts = list(seen.values())
    total = sum((c.value for c in parts), Decimal(0))
    region = Region(tuple(w for c in parts for w in c.region.words), parts[0].region.page, 0.8, "same-line")
    return Candidate("tax_total", total, min(c.score for c in parts) * 0.9, region)


def _largest_amount(doc: Document) -> list[Candidate]:
    """No total labelled (a receipt whose label the OCR lost): the largest amount on the last page
    that is not on a row of cash paid or change given, at a low score."""
    from docket_core.capture.fields import Candidate

    if not doc.indexes:
        return []
    index = doc.indexes[-1]
    paid = lexicon().words("receipt_words")
    best: Candidate | None = None
    for line in index.lines:
        row = [line, *index.right_of(line.box)]
        if any(norm(w.text) in paid for other in row for w in other.words):
            continue
        left = [other for other in index.lines if other.box[2] <= line.box[0] and _same_row(other, line)]
        if any(norm(w.text) in paid for other in left for w in other.words):
            continue
        found = _amount_of(Region(line.words, index.page, 1.0, "same-line"))
        if found and found[0] > 0 and (best is None or found[0] > best.value):
            best = Candidate("gross_total", found[0], 0.35 * found[1].confidence, found[1])
    return [best] if best else []


def _same_row(a: Line, b: Line) -> bool:
    top, bottom = max(a.box[1], b.box[1]), min(a.box[3], b.box[3])
    return bottom - top > 0.4 * min(a.height, b.height)


def find_totals(doc: Document) -> tuple[dict[str, tuple[Any, float]], list[Region]]:
    """net_total, tax_total, gross_total (candidate, confidence) and tax_rate (value, None)."""
    found, regions = _candidates(doc)
    nets = [c for c, _, _ in found if c.field == "net_total"]
    grosses = [c for c, _, _ in found if c.field == "gross_total"] or _largest_amount(doc)
    tax_explicit = [c for c, explicit, _ in found if c.field == "tax_total" and explicit]
    tax_lines = [t for t in found if t[0].field == "tax_total" and not t[1]]
    taxes = tax_explicit + [c for c, _, _ in tax_lines]
    if (summed := _sum_tax_lines(tax_lines)) is not None:
        taxes.append(summed)
    rates = {rate for c, _, rate in found if c.field == "tax_total" and rate is not None}

    out: dict[str, tuple[Any, float]] = {}
    best_triple = None
    for gross in grosses:
        for net in nets:
            if net.value == gross.value and not taxes:
                continue
            for tax in taxes:
                if abs(net.value + tax.value - gross.value) <= _TOLERANCE and gross.value != 0:
                    key = (net.score + tax.score + gross.score, gross.region.page.number, gross.value)
                    if best_triple is None or key > best_triple[0]:
                        best_triple = (key, net, tax, gross)
    if best_triple is not None:
        _, net, tax, gross = best_triple
        for candidate in (net, tax, gross):
            out[candidate.field] = (candidate, min(0.99, 0.8 + 0.2 * candidate.score))
    else:
        # The amount payable: best label, then the later page, then the larger amount.
        for field, pool in (("net_total", nets), ("tax_total", tax_explicit or taxes), ("gross_total", grosses)):
            if not pool:
                continue
            ranked = sorted(pool, key=lambda c: (round(c.score, 2), c.region.page.number, c.value), reverse=True)
            winner = ranked[0]
            rival = next((c.score for c in ranked[1:] if c.value != winner.value), 0.0)
            confidence = winner.score * 0.85 - 0.3 * max(0.0, rival - 0.6 * winner.score)
            out[field] = (winner, max(0.05, min(0.9, confidence)))
        if "gross_total" in out and "net_total" in out and "tax_total" not in out:
            gross, net = out["gross_total"][0], out["net_total"][0]
            if gross.value == net.value:  # no tax printed: the totals agree with each other
                out["gross_total"] = (gross, min(0.95, out["gross_total"][1] + 0.1))
    tax = out.get("tax_total")
    if len(rates) == 1:
        out["tax_rate"] = (float(rates.pop()), None)  # type: ignore[assignment]
    elif tax is not None and tax[0].hit is not None and (percent := _PERCENT.search(tax[0].hit.line.text)):
        out["tax_rate"] = (float(Decimal(percent.group("r").replace(",", "."))), None)  # type: ignore[assignment]
    for field in ("net_total", "tax_total", "gross_total"):
        if field in out:
            candidate, confidence = out[field]
            out[field] = (_as_float(candidate), confidence)
    return out, regions


def _as_float(candidate: Candidate) -> Candidate:
    from dataclasses import replace

    return replace(candidate, value=float(candidate.value.quantize(Decimal("0.01"))))
