"""Seller and buyer: the issuer of the document, not its addressee, and whose VAT id is whose.

A labelled party ("Seller:", "Bill to", "Käufer"; not "Cod. cliente") is read after its label, from
a "Name:" line of its block, or from the first name-like line below it, whole when its address
block carries it on ("Herrn" / "Max Mustermann"). Without a seller label, the seller is the company
name printed at the top of the first page: a line ending in a legal form (GmbH, Ltd, B.V., S.A.S.,
SDN BHD), in large type, near the VAT id, outside the buyer's block, above the title, printed
again elsewhere, or the name the e-mail domain spells; not the shop's owner ("Owned By:").
Without a buyer label, the buyer is the name heading an address block at the top of the first
page that is neither the seller's nor a delivery address (a window envelope's). A VAT id printed
in the buyer's block is the buyer's; the seller's is then another one, labelled or with valid
check digits.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from docket_core.capture.addresses import Block, address_blocks, block_of, heading_kind
from docket_core.capture.candidates import Candidate, Document, best, label_score
from docket_core.capture.lexicon import lexicon, norm
from docket_core.capture.names import (
    BRACKETS,
    clean,
    legal_form,
    looks_like_name,
    names_owner,
    respace,
    without_title,
    wrapped_name,
)
from docket_core.capture.pages import Box, Line, Page, Word, union
from docket_core.capture.regions import Index, Region, value_regions
from docket_core.capture.values import parse_vat_id
from docket_core.workflows.model import Evidence

__all__ = ["buyer_zones", "find_parties", "inside", "legal_form", "looks_like_name", "respace"]

_Zones = list[tuple[int, tuple[float, float, float, float]]]
_NAME_LABELS = {"name", "firma", "company", "nom", "naam", "nombre", "nome", "raisonsociale", "bedrijf"}


def _block_name(index: Index, label_box: Box, blocks: _Blocks) -> tuple[Region, float] | None:
    """The name in a party's block below its heading: the value of a "Name:" row, else the first
    name-like line that is no "key: value" row ("Nummer: 730215", "Globale Nummer: ...")."""
    x0, y0, x1, y1 = label_box
    # OCR boxes overlap: the block's first line may start above the bottom of its heading's box.
    overlapping = [ln for ln in index.lines if (y0 + y1) / 2 < ln.box[1] < y1 and abs(ln.box[0] - x0) < 0.03]
    below = index.below(label_box, rows=10)[:7]
    for line in sorted(overlapping, key=lambda ln: ln.box[1]) + [ln for ln in below if ln not in overlapping]:
        tokens = [norm(w.text) for w in line.words]
        right = index.right_of(line.box)
        keyed = ":" in line.text or (right and right[0].text.startswith(":"))
        if tokens and tokens[0] in _NAME_LABELS:
            for region in value_regions(index, line, 1, line.words[0].box):
                text = clean(region.text)
                if looks_like_name(text):
                    return Region(region.words, region.page, region.geometry, region.where), 0.9
        if keyed:
            continue
        if looks_like_name(line.text, strict=True):
            return Region(_whole_name(line, blocks(index.page)), index.page, 1.0, "below"), 0.8
    return None


def _whole_name(line: Line, blocks: list[Block]) -> tuple[Word, ...]:
    """The words of a name that starts on `line`: the name of the address block it heads, which
    may go on to the next line ("Herrn" / "Max Mustermann"), else the line."""
    for block in blocks:
        if set(line.words) <= set(block.name_words) and block.lines[0].box[1] >= line.box[1] - 1e-4:
            return block.name_words
    return line.words


class _Blocks:
    """Each page's address blocks, found once for a document."""

    def __init__(self) -> None:
        self._found: dict[int, list[Block]] = {}

    def __call__(self, page: Page) -> list[Block]:
        if page.number not in self._found:
            self._found[page.number] = address_blocks(page)
        return self._found[page.number]


def _labelled(doc: Document, field: str, blocks: _Blocks) -> list[Candidate]:
    skip_after = lexicon().words("not_name_after")
    out = []
    for hit in doc.hits:
        if hit.field != field:
            continue
        tokens = [norm(w.text) for w in hit.line.words]
        if hit.end < len(tokens) and tokens[hit.end] in skip_after:
            continue
        if hit.start > 1:  # a party label heads its line or block
            continue
        if hit.start == 1 and tokens[0] in lexicon().words("not_name_before"):
            continue  # "Cod. cliente", "N° client": a number's label
        index = doc.hit_pages[id(hit)]
        label_box = union(w.box for w in hit.line.words[hit.start : hit.end])
        rest = hit.line.words[hit.end :]
        # "Seller: Name", "Vendeur : Nom" or "Bill to Name"; a bare "Lieferant GmbH" is a name holding a label word.
        announced = hit.words > 1 or hit.line.words[hit.end - 1].text.endswith((":", "-"))
        if rest and rest[0].text in (":", "-"):
            announced, rest = True, rest[1:]
        if rest and not announced:
            continue
        colon = announced and hit.words == 1 or hit.line.words[hit.end - 1].text.endswith(":")
        if rest and (len(rest) > 6 or rest[-1].text.endswith(":") or not (colon or rest[0].text[:1].isupper())):
            continue  # "Facture à régler par virement sur le compte suivant :" is a sentence
        if rest and looks_like_name(" ".join(w.text for w in rest)):
            region = Region(rest, index.page, 1.0, "same-line")
            out.append(Candidate(field, clean(region.text), 0.95 * label_score(hit), region, hit))
            continue
        if rest:
            continue  # "To: 12.03.2024", "Customer no.: 4711": not a party heading
        if (found := _block_name(index, label_box, blocks)) is not None:
            region, weight = found
            out.append(Candidate(field, clean(region.text).lstrip(": "), weight * label_score(hit), region, hit))
    return out


def buyer_zones(doc: Document) -> _Zones:
    """Boxes (page, area) of buyer blocks: below a buyer heading, down to the next party heading of
    its column or twelve rows."""
    zones = []
    for hit in doc.hits:
        if hit.field == "buyer_name" and hit.start <= 1:
            x0, y0, x1, y1 = hit.line.box
            page = doc.hit_pages[id(hit)].page.number
            bottom, right = y1 + 12 * max(y1 - y0, 1e-3), 1.0
            for other in doc.hits:
                ob = other.line.box
                if other.field != "seller_name" or other.start > 1 or doc.hit_pages[id(other)].page.number != page:
                    continue
                if y1 < ob[1] < bottom and abs(ob[0] - x0) < 0.05:  # the seller's block follows below
                    bottom = ob[1] - 1e-4
                elif ob[0] > x1 and y0 - 0.05 < ob[1] < bottom:  # the seller's block stands to the right
                    right = min(right, ob[0] - 1e-4)
            zones.append((page, (x0 - 0.02, y0, right, bottom)))
    return zones


def inside(page: int, box: tuple[float, float, float, float], zones: _Zones) -> bool:
    """Whether a box on `page` starts inside one of `zones`."""
    x0, y0 = box[0], box[1]
    return any(p == page and z[0] <= x0 <= z[2] and z[1] <= y0 <= z[3] for p, z in zones)


def _email_domain(doc: Document) -> str | None:
    for page in doc.pages[:1]:
        if match := re.search(r"[\w.+-]+@([\w-]+)\.[\w.]+", page.text):
            return norm(match.group(1))
    return None


def _unlabelled_seller(doc: Document, evidence: dict[str, Evidence]) -> list[Candidate]:
    if not doc.pages:
        return []
    page = doc.pages[0]
    zones = buyer_zones(doc)
    heights = sorted(line.height for line in page.lines) or [0.01]
    median = heights[len(heights) // 2]
    vat = evidence.get("seller_vat_id")
    domain = _email_domain(doc)
    title = _title_top(page)
    heads = {id(block.lines[0]) for block in address_blocks(page)}  # a delivery address repeats the addressee
    # A line a label heads ("Rechnungsnummer: 4711") is no name; a title at its end ("Muster UG  RECHNUNG") may be.
    label_lines = {id(hit.line) for hit in doc.hits if hit.start == 0 or hit.field in ("seller_name", "buyer_name")}
    out = []
    for position, line in enumerate(page.lines):
        x0, y0, x1, y1 = line.box
        if y0 > 0.4 or inside(page.number, line.box, zones) or id(line) in label_lines:
            continue
        # A letterhead puts the address after the name: "Au bon moulin SARL - 1242 chemin ... - France",
        # a receipt its registration number: "VIVOPAC MARKETING SDN BHD (1070687-M)".
        if names_owner(page.lines, position):
            continue  # "Owned By:" / "TERAJU SUPPLY SDN BHD": the shop's owner, not the name it trades under
        text = clean(re.split(r"\s[-\u2013|\u2022]\s|,\s", line.text.translate(BRACKETS))[0])
        text = clean(re.sub(r"\s*(?:\([^()]*\d[^()]*\)|\b\d{5,}-?[A-Z]?)\s*$", "", text))
        text = without_title(text)
        words = line.words
        if legal_form(text):
            text, words = wrapped_name(page.lines, position, text)
        if not looks_like_name(text, strict=True):
            continue
        score = 0.3 if not text[:1].isdigit() else 0.2  # "30, Jln ..." is more often a street than a name
        if legal_form(text):
            score += 0.35
        if y0 < 0.15 or position < 3:
            score += 0.1
        if line.height > 1.3 * median:
            score += 0.1
        if vat is not None and vat.page == page.number and abs(vat.box[0] - x0) < 0.1 and 0 < vat.box[1] - y0 < 0.2:
            score += 0.1
        if domain and len(domain) >= 4 and domain in norm(text):
            score += 0.15
        # The issuer prints its name again (a sender's line, a footer by its bank details); an addressee seldom.
        score += 0.08 * min(2, _repeats(doc, text, line, heads))
        if title is not None and y0 > title:
            score -= 0.1  # below the document's title: more often the addressee
        score *= 0.5 + 0.5 * line.confidence
        if line.confidence < 0.7:
            score *= line.confidence  # a logo read as letters ("SeM. aAenl")
        out.append(Candidate("seller_name", text, min(score, 0.9), Region(words, page, 1.0, "same-line")))
    # The first line of a wrapped name is no name of its own ("BENG SOON HARDWARE" / ... / "RAJA) SDN BHD").
    return [c for c in out if not any(set(c.region.words) < set(o.region.words) for o in out)]


def _title_top(page: Page) -> float | None:
    """The bottom of the first page's title line ("TAX INVOICE", "Rechnung"), if one heads its top half."""
    titles = lexicon().words("title_words")
    for line in page.lines:
        text = norm(line.text)
        if line.box[1] < 0.5 and len(text) <= 30 and any(text.startswith(t) for t in titles if len(t) >= 4):
            return line.box[3]
    return None


def _repeats(doc: Document, name: str, line: Line, heads: set[int]) -> int:
    """How many other lines of the document print `name`, not counting names heading address blocks."""
    key, lines = norm(name), [other for page in doc.pages for other in page.lines if id(other) not in heads]
    return 0 if len(key) < 5 else sum(1 for other in lines if other is not line and key in norm(other.text))


def _respaced(candidate: Candidate | None) -> Candidate | None:
    if candidate is None or candidate.region.page.source != "ocr":
        return candidate
    return dataclasses.replace(candidate, value=respace(candidate.value))


def find_parties(doc: Document, evidence: dict[str, Evidence]) -> dict[str, tuple[Any, float]]:
    """seller_name and buyer_name as (candidate, confidence)."""

    out: dict[str, tuple[Any, float]] = {}
    blocks = _Blocks()
    buyer, buyer_conf = best(_labelled(doc, "buyer_name", blocks))
    buyer = _respaced(buyer)
    if buyer is not None:
        out["buyer_name"] = (buyer, buyer_conf)
    sellers = _labelled(doc, "seller_name", blocks)
    if not sellers:
        sellers = [c for c in _unlabelled_seller(doc, evidence) if buyer is None or c.value != buyer.value]
    seller, seller_conf = best(sellers)
    seller = _respaced(seller)
    if seller is not None:
        out["seller_name"] = (seller, min(0.97, seller_conf + _corroboration(doc, seller, evidence)))
    if buyer is None and seller is not None:
        addressee = _window_addressee(doc, seller, blocks) or _addressee(doc, seller, evidence)
        if addressee is not None:
            out["buyer_name"] = addressee
            buyer = addressee[0]
    out.update(_vat_owners(doc, evidence, buyer, seller, blocks))
    return out


def _without_sender(block: Block, seller: Candidate) -> Block:
    """The block without the seller's name printed small over a window envelope's address."""
    own = block.holds(seller.region.box) and not set(seller.region.words) <= set(block.lines[0].words)
    second = block.lines[1].text if len(block.lines) >= 3 else "0"
    if norm(block.lines[0].text) == norm(seller.value) and not own and not any(ch.isdigit() for ch in second):
        return Block(block.page, block.lines[1:], block.lines[0])
    return block


def _window_addressee(doc: Document, seller: Candidate, blocks: _Blocks) -> tuple[Candidate, float] | None:
    """No buyer label: the name heading an address block at the top of the first page that is not
    the seller's block, nor a delivery address (a letter's address window)."""
    page = doc.pages[0]
    found = []
    for block in blocks(page):
        if block.box[1] >= 0.45:
            continue
        block = _without_sender(block, seller)
        name = block.name
        if block.holds(seller.region.box) or norm(name) == norm(seller.value):
            continue  # the seller's own block
        whose = heading_kind(block.heading) if block.heading is not None else None
        if whose in ("delivery", "seller") or not looks_like_name(name, strict=True):
            continue
        score = 0.55 + (0.05 if legal_form(name) else 0.0) + (0.05 if 0.06 < block.box[1] < 0.35 else 0.0)
        region = Region(block.name_words, page, 1.0, "below")
        found.append(Candidate("buyer_name", clean(name), score * (0.5 + 0.5 * region.confidence), region))
    if not found:
        return None
    winner = max(found, key=lambda c: (c.score, -c.region.box[1]))
    return winner, min(0.65, winner.score)


def _addressee(doc: Document, seller: Candidate, evidence: dict[str, Evidence]) -> tuple[Candidate, float] | None:
    """No buyer label (a letter's address window): the other company name at the top of the first
    page that heads an address block (a line with a number under it) outside the seller's block."""
    sb = seller.region.box
    page = seller.region.page
    lines = page.lines
    found = []
    for candidate in _unlabelled_seller(doc, evidence):
        box = candidate.region.box
        if candidate.value == seller.value or candidate.region.page is not page or not legal_form(candidate.value):
            continue
        if abs(box[0] - sb[0]) < 0.05 and 0 <= box[1] - sb[1] < 0.12:
            continue  # a line of the seller's own letterhead block
        height = box[3] - box[1]
        below = [ln for ln in lines if 0 <= ln.box[1] - box[3] < 2.5 * height and abs(ln.box[0] - box[0]) < 0.02]
        if any(any(ch.isdigit() for ch in line.text) for line in below[:2]):
            found.append(candidate)
    if not found:
        return None
    winner = max(found, key=lambda c: c.score)
    return winner, min(0.6, 0.7 * winner.score)


def _corroboration(doc: Document, seller: Candidate, evidence: dict[str, Evidence]) -> float:
    """How much else backs a seller: a legal form, the name printed again (a footer, a bank line),
    the seller's VAT id in the same column below it."""
    bonus = 0.06 if legal_form(seller.value) else 0.0
    key = norm(seller.value)
    if len(key) >= 5:
        repeats = sum(
            1 for page in doc.pages for line in page.lines
            if key in norm(line.text) and not set(line.words) & set(seller.region.words)
        )  # fmt: skip
        bonus += 0.04 * min(repeats, 2)
    vat = evidence.get("seller_vat_id")
    box = seller.region.box
    if vat is not None and vat.page == seller.region.page.number and 0 < vat.box[1] - box[1] < 0.25:
        bonus += 0.04
    if seller.hit is not None:
        bonus += 0.05  # under its own heading ("Verkäufer", "Seller:")
    height = box[3] - box[1]
    for line in seller.region.page.lines:
        lb = line.box
        # A name line followed closely by another name-like line may go on there ("HVG Hanseatische /
        # Versorgungsverein Beispielstadt a.G."): less sure it is whole.
        aligned = abs(lb[0] - box[0]) < 0.01 and abs(line.height - height) < 0.3 * height
        if 0 <= lb[1] - box[3] < 0.8 * height and aligned:
            if looks_like_name(line.text, strict=True) and not any(ch.isdigit() for ch in line.text):
                bonus -= 0.1
            break
    return bonus


def _vat_ids(doc: Document) -> list[tuple[Candidate, bool]]:
    """Every VAT id printed on a line, as (candidate, whether its label names the buyer's): after a
    VAT-id label, or bare when its check digits hold ("TVA : FR11999999998 - SIRET ...")."""
    markers = lexicon().words("buyer_markers")
    by_line: dict[int, list[Any]] = {}
    for hit in doc.hits:
        if hit.field == "seller_vat_id":
            by_line.setdefault(id(hit.line), []).append(hit)
    out = []
    for index in doc.indexes:
        for line in index.lines:
            hits = by_line.get(id(line), [])
            tokens = [norm(w.text) for w in line.words]
            for hit in hits or [None]:
                words = line.words[hit.end :] if hit is not None else line.words
                found = parse_vat_id(" ".join(w.text for w in words)) if words else None
                if found is None or (hit is None and not found[1]):
                    continue
                score = (0.85 if found[1] else 0.75) if hit is not None else 0.7
                theirs = hit is not None and any(t in markers for t in tokens[: hit.end + 1])
                region = Region(words, index.page, 1.0, "same-line")
                out.append((Candidate("seller_vat_id", found[0], score, region, hit), theirs))
    return out


def _vat_owners(
    doc: Document, evidence: dict[str, Evidence], buyer: Candidate | None, seller: Candidate | None, blocks: _Blocks
) -> dict[str, tuple[Any, float]]:
    """The seller's VAT id again where the one read is printed in the buyer's address block (a
    letter prints the addressee's VAT id under its address), or where none was read."""
    zones = buyer_zones(doc)
    if buyer is not None:
        block = block_of(blocks(buyer.region.page), buyer.region.box)
        if block is not None and seller is not None:
            block = _without_sender(block, seller)
        mixed = block is not None and seller is not None and block.holds(seller.region.box)
        if block is not None and not mixed:
            zones.append((block.page.number, block.box))
    found = _vat_ids(doc)
    mine = [c for c, theirs in found if not theirs and not inside(c.region.page.number, c.region.box, zones)]
    held = evidence.get("seller_vat_id")
    out: dict[str, tuple[Any, float]] = {}
    if held is not None and not inside(held.page, held.box, zones):
        return out
    if held is not None:  # the buyer's, read as the seller's
        value = (parse_vat_id(held.text) or ("",))[0]
        theirs = [c for c, _ in found if c.value == value]
        if theirs and "buyer_vat_id" not in evidence:
            out["buyer_vat_id"] = (theirs[0], held.confidence)
        mine = [c for c in mine if c.value != value]
    winner, confidence = best(mine)
    if winner is not None:
        out["seller_vat_id"] = (winner, min(0.9, confidence))
    return out
