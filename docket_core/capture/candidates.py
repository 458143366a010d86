"""What the field finders share: candidates for a field's value, the document's label hits, language
and date order, and how the best candidate and its confidence are chosen.

`fields` finds candidates per field; `totals` (amounts together) and `parties` (seller and buyer) build
on the same pieces, so they live here, below all three.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from docket_core.capture.lexicon import LabelHit, find_labels, lexicon, norm
from docket_core.capture.pages import Line, Page, Word
from docket_core.capture.regions import Index, Region
from docket_core.capture.values import currency_of, find_dates
from docket_core.workflows.model import Evidence

__all__ = ["Candidate", "Document", "best", "label_score", "read_document"]


@dataclass(frozen=True)
class Candidate:
    field: str
    value: Any
    score: float
    region: Region
    hit: LabelHit | None = None

    def evidence(self, confidence: float | None = None) -> Evidence:
        x0, y0, x1, y1 = self.region.box
        clamp = lambda v: min(1.0, max(0.0, v))  # noqa: E731
        return Evidence(
            self.region.page.number,
            (clamp(x0), clamp(y0), clamp(x1), clamp(y1)),
            self.region.text,
            round(min(1.0, max(0.0, self.score if confidence is None else confidence)), 3),
        )


@dataclass
class Document:
    """What the field finders share: the pages, their label hits, the document's language and
    whether its numeric dates are month first."""

    pages: list[Page]
    indexes: list[Index]
    hits: list[LabelHit]
    hit_pages: dict[int, Index]
    language: str
    month_first: bool
    date_order_known: bool = False
    """Whether a numeric date on the pages settles day/month order (a first or second number above 12)."""


_NUMBER_GLUED = re.compile(r"(?P<a>(?:Nr|NR|No|NO|N°|Nº|n°|#)\.?:?)(?P<b>[A-Z0-9][\w/.-]*\d[\w/.-]*)")


_HASH_GLUED = re.compile(r"(?P<a>[^\W\d_]{3,}#)(?P<b>[A-Z0-9][\w/.-]*\d[\w/.-]*)")


_WORD_NUMBER_WORD = re.compile(r"(?P<a>[^\W\d_]{4,})(?P<b>(?:Nr|NR|No|NO|N°|Nº)\.?:?)")
_FORM_DASH = re.compile(r"(?P<a>[^\W\d_][\w.&]+)[-\u2013](?P<b>\d[\w.]*)")


def _ends_in_legal_form(text: str) -> bool:
    """Whether `text` is a name run into its legal form ("LesateliersMartinSARL", "Muster GmbH")."""
    key = norm(text)
    forms = lexicon().words("legal_forms")
    return any(len(form) >= 3 and key.endswith(form) and len(key) > len(form) + 2 for form in forms)


def _split_word(word: Word, heads: frozenset[str]) -> list[Word]:
    """An OCR word the recogniser ran together, apart: "Nr.KR45678901" is "Nr." and "KR45678901",
    "FactureFC-2021-0042" is "Facture" and "FC-2021-0042" (a title or label word, then a capital or
    a digit starting something with a digit)."""
    text = word.text
    cut = None
    if m := _NUMBER_GLUED.fullmatch(text):
        cut = m.start("b")
    elif (m := _HASH_GLUED.fullmatch(text)) and norm(m.group("a")) in heads:
        cut = m.start("b")  # "Invoice#IN-20210315/12"
    elif (m := _WORD_NUMBER_WORD.fullmatch(text)) and norm(m.group("a")) in heads:
        cut = m.start("b")  # "HandelsrechnungNr."
    elif (m := _FORM_DASH.fullmatch(text)) and _ends_in_legal_form(m.group("a")):
        # "LesateliersMartinSARL-12 rue...": a letterhead's " - " between name and address, spaces lost.
        x0, y0, x1, y1 = word.box
        a, b = x0 + (x1 - x0) * m.end("a") / len(text), x0 + (x1 - x0) * m.start("b") / len(text)
        return [Word(m.group("a"), (x0, y0, a, y1), word.confidence), Word("-", (a, y0, b, y1), word.confidence),
                Word(m.group("b"), (b, y0, x1, y1), word.confidence)]  # fmt: skip
    else:
        for i in range(4, len(text) - 1):
            if (text[i - 1].isalpha() or text[i - 1] in ".:") and (text[i].isupper() or text[i].isdigit()) \
                    and any(c.isdigit() for c in text[i:]):  # fmt: skip
                if norm(text[:i]) in heads:
                    cut = i
                    break
    if cut is None:
        return [word]
    x0, y0, x1, y1 = word.box
    at = x0 + (x1 - x0) * cut / len(text)
    return [Word(text[:cut], (x0, y0, at, y1), word.confidence), Word(text[cut:], (at, y0, x1, y1), word.confidence)]


@functools.cache
def _heads() -> frozenset[str]:
    lex = lexicon()
    return frozenset(w for w in lex.words("title_words") | frozenset(lex.by_first) if len(w) >= 5)


def _retokenised(page: Page) -> Page:
    """An OCR page with the words the recogniser ran together split (`_split_word`); others as they are."""
    if page.source != "ocr":
        return page
    heads, lines, changed = _heads(), [], False
    for line in page.lines:
        words = [part for word in line.words for part in _split_word(word, heads)]
        if len(words) != len(line.words):
            changed = True
            line = Line(tuple(words))
        lines.append(line)
    return dataclasses.replace(page, lines=lines) if changed else page


def read_document(pages: list[Page]) -> Document:
    """Find every label on `pages` and settle the language and the numeric date order."""
    pages = [_retokenised(page) for page in pages]
    hits: list[LabelHit] = []
    indexes = [Index(page) for page in pages]
    hit_pages: dict[int, Index] = {}
    for index in indexes:
        fuzzy = index.page.source == "ocr"
        for line in index.lines:
            for hit in _non_overlapping(find_labels(line, fuzzy)):
                hits.append(hit)
                hit_pages[id(hit)] = index
    languages = Counter[str]()
    for hit in hits:
        languages[hit.language] += hit.words * (2 if len(norm(hit.line.words[hit.start].text)) > 3 else 1)
    language = languages.most_common(1)[0][0] if languages else "en"
    text = "\n".join(page.text for page in pages)
    pairs = find_dates(text)
    day_first, month_first_seen = any(a > 12 >= b for a, b in pairs), any(b > 12 >= a for a, b in pairs)
    if day_first:
        month_first = False
    elif month_first_seen:
        month_first = True
    else:
        month_first = language == "en" and currency_of(text) in lexicon().raw["month_first_currencies"]
    return Document(pages, indexes, hits, hit_pages, language, month_first, day_first != month_first_seen)


def _non_overlapping(hits: list[LabelHit]) -> list[LabelHit]:
    """Longest labels win: "Due date" is not also a "Date"; equal spans of several fields all stay."""
    kept: list[LabelHit] = []
    covered_until = 0
    span: tuple[int, int] | None = None
    for hit in sorted(hits, key=lambda h: (h.start, -h.words)):
        if span == (hit.start, hit.end):
            kept.append(hit)
        elif hit.start >= covered_until:
            kept.append(hit)
            span = (hit.start, hit.end)
            covered_until = hit.end
    return kept


def label_score(hit: LabelHit) -> float:
    # Longer labels are more specific ("Total inclusive GST" over "Total"); list order breaks ties.
    specificity = min(1.0, 0.8 + 0.1 * hit.words) - 0.002 * min(hit.rank, 30)
    return hit.score * specificity


def best(candidates: list[Candidate]) -> tuple[Candidate | None, float]:
    """The winner and its confidence: its score, less when a rival with another value comes close."""
    if not candidates:
        return None, 0.0
    ranked = sorted(candidates, key=lambda c: -c.score)
    winner = ranked[0]
    support = sum(c.score for c in ranked[1:] if c.value == winner.value)
    rival = next((c.score for c in ranked[1:] if c.value != winner.value), 0.0)
    confidence = winner.score + 0.15 * min(1.0, support) - 0.5 * max(0.0, rival - 0.5 * winner.score)
    return winner, max(0.0, min(0.99, confidence))
