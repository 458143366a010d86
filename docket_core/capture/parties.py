"""Seller and buyer: the issuer of the document, not its addressee.

A labelled party ("Seller:", "Bill to", "Käufer") is read after its label, from a "Name:" line of
its block, or from the first name-like line below it. Without a seller label, the seller is the
company name printed at the top of the first page: a line ending in a legal form (GmbH, Ltd, B.V.,
S.A.S., SDN BHD), in large type, near the VAT id, outside the buyer's block, or the name the
e-mail domain spells.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from docket_core.capture.lexicon import LabelHit, lexicon, norm
from docket_core.capture.pages import Line, union
from docket_core.capture.regions import Index, Region, value_regions

if TYPE_CHECKING:
    from docket_core.capture.fields import Candidate, Document
    from docket_core.workflows.model import Evidence

__all__ = ["find_parties", "legal_form", "looks_like_name"]

_NAME_LABELS = {"name", "firma", "company", "nom", "naam", "nombre", "nome", "raisonsociale", "bedrijf"}


def legal_form(text: str) -> bool:
    """Whether `text` ends with (or holds) a company's legal form."""
    tokens = [t for t in (norm(w) for w in re.split(r"[\s,()]+", text)) if t]
    joined = lexicon().words("legal_forms")
    for size in (3, 2, 1):
        for i in range(max(0, len(tokens) - size - 1), len(tokens) - size + 1):
            if "".join(tokens[i : i + size]) in joined and i > 0:
                return True
    return False


def looks_like_name(text: str, strict: bool = False) -> bool:
    """Letters, few digits, no address or contact words (those only checked when `strict`)."""
    text = text.strip(" :-,")
    letters = sum(ch.isalpha() for ch in text)
    digits = sum(ch.isdigit() for ch in text)
    if letters < 3 or digits > letters / 3 or len(text) > 90 or "@" in text:
        return False
    if strict:
        bad = lexicon().words("not_name_words")
        tokens = [norm(w) for w in text.split()]
        if any(t in bad for t in tokens):
            return False
    return True


def _clean(text: str) -> str:
    return text.strip(" :-,|")


def _block_name(index: Index, hit: LabelHit, label_box: tuple[float, float, float, float]) -> Region | None:
    """The value of a "Name:" line among the next lines of a party's block."""
    for line in index.below(label_box, rows=8)[:6]:
        tokens = [norm(w.text) for w in line.words]
        if tokens and tokens[0] in _NAME_LABELS:
            regions = value_regions(index, line, 1, line.words[0].box)
            for region in regions:
                if looks_like_name(region.text):
                    return region
    return None


def _labelled(doc: Document, field: str) -> list[Candidate]:
    from docket_core.capture.fields import Candidate, _label_score

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
        index = doc.hit_pages[id(hit)]
        label_box = union(w.box for w in hit.line.words[hit.start : hit.end])
        rest = hit.line.words[hit.end :]
        # "Seller: Name" or "Bill to Name"; a bare "Lieferant GmbH" is a name holding a label word.
        announced = hit.words > 1 or hit.line.words[hit.end - 1].text.endswith((":", "-"))
        if rest and not announced:
            continue
        if rest and looks_like_name(" ".join(w.text for w in rest)):
            region = Region(rest, index.page, 1.0, "same-line")
            out.append(Candidate(field, _clean(region.text), 0.95 * _label_score(hit), region, hit))
            continue
        if rest:
            continue  # "To: 12.03.2024", "Customer no.: 4711": not a party heading
        if (region := _block_name(index, hit, label_box)) is not None:
            out.append(Candidate(field, _clean(region.text), 0.9 * _label_score(hit), region, hit))
            continue
        for region in value_regions(index, hit.line, hit.end, label_box)[:2]:
            if region.where == "below" and looks_like_name(region.text, strict=True):
                out.append(Candidate(field, _clean(region.text), 0.75 * _label_score(hit), region, hit))
                break
    return out


def _buyer_zone(doc: Document) -> list[tuple[int, tuple[float, float, float, float]]]:
    """Boxes (page, area) of buyer blocks, where the seller is not."""
    zones = []
    for hit in doc.hits:
        if hit.field == "buyer_name" and hit.start <= 1:
            x0, y0, x1, y1 = hit.line.box
            height = max(y1 - y0, 1e-3)
            zones.append((doc.hit_pages[id(hit)].page.number, (x0 - 0.02, y0, max(x1, x0 + 0.3), y1 + 7 * height)))
    return zones


def _inside(page: int, line: Line, zones: list[tuple[int, tuple[float, float, float, float]]]) -> bool:
    x0, y0, x1, y1 = line.box
    return any(p == page and z[0] <= x0 <= z[2] and z[1] <= y0 <= z[3] for p, z in zones)


def _email_domain(doc: Document) -> str | None:
    for page in doc.pages[:1]:
        if match := re.search(r"[\w.+-]+@([\w-]+)\.[\w.]+", page.text):
            return norm(match.group(1))
    return None


def _unlabelled_seller(doc: Document, evidence: dict[str, Evidence]) -> list[Candidate]:
    from docket_core.capture.fields import Candidate

    if not doc.pages:
        return []
    page = doc.pages[0]
    zones = _buyer_zone(doc)
    heights = sorted(line.height for line in page.lines) or [0.01]
    median = heights[len(heights) // 2]
    vat = evidence.get("seller_vat_id")
    domain = _email_domain(doc)
    label_lines = {id(hit.line) for hit in doc.hits}
    out = []
    for position, line in enumerate(page.lines):
        x0, y0, x1, y1 = line.box
        if y0 > 0.4 or _inside(page.number, line, zones) or id(line) in label_lines:
            continue
        text = _clean(line.text)
        if not looks_like_name(text, strict=True):
            continue
        score = 0.3
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
        score *= 0.5 + 0.5 * line.confidence
        out.append(Candidate("seller_name", text, min(score, 0.9), Region(line.words, page, 1.0, "same-line")))
    return out


def find_parties(doc: Document, evidence: dict[str, Evidence]) -> dict[str, tuple[Any, float]]:
    """seller_name and buyer_name as (candidate, confidence)."""
    from docket_core.capture.fields import best

    out: dict[str, tuple[Any, float]] = {}
    buyer, buyer_conf = best(_labelled(doc, "buyer_name"))
    if buyer is not None:
        out["buyer_name"] = (buyer, buyer_conf)
    sellers = _labelled(doc, "seller_name")
    if not sellers:
        sellers = [c for c in _unlabelled_seller(doc, evidence) if buyer is None or c.value != buyer.value]
    seller, seller_conf = best(sellers)
    if seller is not None:
        out["seller_name"] = (seller, seller_conf)
    return out
