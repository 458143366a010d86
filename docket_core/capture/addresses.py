"""Address blocks: a name over a street and a postcode line, as a letter prints a party.

A block is a run of lines starting at one left edge, one under the other at a line's spacing and
of one type size; it is an address when one of its lines after the first holds a postcode
("80066 München", "3574 EF Utrecht", "Manchester M1 2AE", "34117Kasselfeld"). Its name is its first
line, with a salutation ("Herrn") or a second name line that ends in a legal form ("HVG
Hanseatische" / "Versorgungsverein Beispielstadt a.G.") joined to it. The heading printed just above
a block ("Adresse de livraison", "Kunde:") says whose it is.
"""

from __future__ import annotations

import dataclasses
import functools
import re

from docket_core.capture.lexicon import lexicon, norm
from docket_core.capture.names import legal_form
from docket_core.capture.pages import Box, Line, Page, Word, union

__all__ = ["Block", "address_blocks", "block_of", "heading_kind", "postal"]


_POSTAL = [
    re.compile(r"(?<![\d.,/:-])\d{4,5}(?![\d.,/:])\s*[A-Za-zÀ-ÿ]"),  # "80066 München", "34117Kasselfeld"
    re.compile(r"\b[A-Z]{1,2}-?\s?\d{4,5}\s+[A-Za-zÀ-ÿ]"),  # "DE 12345 Musterstadt", "F-75018 Paris"
    re.compile(r"\b\d{4}\s?[A-Z]{2}\b"),  # "3574 EF Utrecht"
    re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}\b"),  # "M1 2AE"
    re.compile(r"\b\d{3}\s\d{2,3}\b\s*[A-Za-zÀ-ÿ]"),  # "560 091", "114 55 Stockholm"
    re.compile(r"\b[A-Za-zÀ-ÿ]{3,}\s\d{3}\s?\d{3}\b"),  # "Bengaluru 560 091"
    re.compile(r"\b[A-Za-zÀ-ÿ]{3,}\s[A-Z]\d{2}\s[A-Z0-9]{4}\b"),  # "Cork T12 X405"
]


def postal(text: str) -> bool:
    """Whether `text` looks like the postcode line of an address (not a date, an amount or a phone)."""
    if re.search(r"\+\d|\btel|\bfax|\bphone", text, re.IGNORECASE):
        return False
    return any(pattern.search(text) for pattern in _POSTAL)


@dataclasses.dataclass(frozen=True)
class Block:
    page: Page
    lines: tuple[Line, ...]
    heading: Line | None
    """The line printed just above the block at its left edge, if any."""

    @functools.cached_property
    def box(self) -> Box:
        return union(line.box for line in self.lines)

    @functools.cached_property
    def name_words(self) -> tuple[Word, ...]:
        """The words of the block's name: its first line, joined to the next where that goes on."""
        first = self.lines[0]
        words = first.words
        salutations = lexicon().words("salutations")
        if len(self.lines) > 2 and all(norm(w.text) in salutations for w in first.words):
            return words + self.lines[1].words  # "Herrn" / "Max Mustermann"
        if len(self.lines) > 2 and not postal(self.lines[1].text) and not _digits(self.lines[1].text):
            if legal_form(self.lines[1].text) and not legal_form(first.text):
                return words + self.lines[1].words
        return words

    @property
    def name(self) -> str:
        return " ".join(w.text for w in self.name_words).strip(" :-,|")

    def holds(self, box: Box) -> bool:
        """Whether `box` starts inside the block."""
        x0, y0, x1, y1 = self.box
        return x0 - 0.01 <= box[0] <= x1 and y0 - 0.003 <= box[1] <= y1


def _digits(text: str) -> bool:
    return any(ch.isdigit() for ch in text)


def _rows(page: Page) -> list[Line]:
    """The page's lines, with a fragment split off by a word gap on the same row joined back
    ("Theodor" "Est"): column gaps stay apart."""
    lines = sorted(page.lines, key=lambda line: (line.box[1], line.box[0]))
    out: list[Line] = []
    used: set[int] = set()
    for i, line in enumerate(lines):
        if i in used:
            continue
        words = list(line.words)
        for j in range(i + 1, min(i + 6, len(lines))):
            other, last = lines[j], words[-1]
            h = max(last.box[3] - last.box[1], 1e-4)
            same_row = abs(other.box[1] - last.box[1]) < 0.3 * h and abs(other.height - h) < 0.3 * h
            gap = (other.box[0] - last.box[2]) * page.width
            keyed = other.text.startswith(":") and len(words) <= 3  # "Nummer" ": 730215"
            if j not in used and same_row and 0 <= gap and (gap < 1.0 * h * page.height or keyed):
                words += other.words
                used.add(j)
        out.append(Line(tuple(words)) if len(words) > len(line.words) else line)
    return out


def address_blocks(page: Page, top: float = 1.0) -> list[Block]:
    """The address blocks of `page` starting above `top` (a share of its height)."""
    rows = [row for row in _rows(page) if row.box[1] < top]
    kinds = [heading_kind(row) for row in rows]
    taken: set[int] = set()
    blocks = []
    for i, first in enumerate(rows):
        if i in taken:
            continue
        run, last, joined = [first], first, []
        for j in range(i + 1, len(rows)):
            line = rows[j]
            if line.box[1] - last.box[3] > 2.5 * last.height:
                break  # rows are sorted by their tops: every later one is further down
            aligned = abs(line.box[0] - first.box[0]) < 0.012
            if j in taken or not aligned:
                continue
            if len(run) >= 8 or kinds[j] is not None:
                break  # the next party's heading ("Käufer:") ends this block
            if 0.6 < line.height / max(last.height, 1e-4) < 1.6 and line.box[1] >= last.box[3] - 0.3 * last.height:
                run.append(line)
                joined.append(j)
                last = line
        dropped = len(run) >= 3 and (kinds[i] is not None or postal(first.text))
        if dropped:
            # "Adresse de livraison" printed as the block's first line; a sender's line over the
            # window ("Muster GmbH · Weg 1 · 12345 Stadt") is no part of the addressee's block.
            run = run[1:]
        while len(run) >= 3 and ":" in run[0].text:
            run = run[1:]  # "Nummer : 730215" over the name: a key, not the name
        if len(run) >= 2 and any(postal(line.text) for line in run[1:6]):
            heading = (first if kinds[i] is not None else None) if dropped else _heading(rows, first)
            blocks.append(Block(page, tuple(run), heading))
            taken.update(joined)
    return blocks


def heading_kind(line: Line) -> str | None:
    """Whose address a heading announces: "buyer" ("Kunde:", "Bill to"), "seller" ("Lieferant"),
    "delivery" ("Adresse de livraison", "Ship to" aside) or None for a line that is no such heading."""
    if len(line.words) > 4:
        return None
    text = norm(line.text)
    exact, prefixes = _heading_labels()
    if text in exact:
        return exact[text]
    return next((kind for label, kind in prefixes if text.startswith(label)), None)


@functools.cache
def _heading_labels() -> tuple[dict[str, str], tuple[tuple[str, str], ...]]:
    """Heading labels as {label: kind}, and those long enough to head a longer line ("Kunde:" is
    "kunde"; "Rechnungsempfänger" may go on), in the order given."""
    lex = lexicon()
    pairs = [(label, "delivery") for label in sorted(lex.words("delivery_labels"))] + [
        ("".join(phrase), field.removesuffix("_name"))
        for field in ("buyer_name", "seller_name") for phrases in lex.labels[field].values() for phrase in phrases
    ]  # fmt: skip
    exact: dict[str, str] = {}
    for label, kind in pairs:
        exact.setdefault(label, kind)
    return exact, tuple((label, kind) for label, kind in pairs if len(label) >= 5)


def _heading(rows: list[Line], first: Line) -> Line | None:
    above = [
        row for row in rows
        if abs(row.box[0] - first.box[0]) < 0.02 and 0 <= first.box[1] - row.box[3] < 3.0 * first.height
    ]  # fmt: skip
    return max(above, key=lambda row: row.box[3]) if above else None


def block_of(blocks: list[Block], box: Box) -> Block | None:
    """The block holding `box`, if any."""
    return next((block for block in blocks if block.holds(box)), None)
