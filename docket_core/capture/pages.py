"""The page model: a document as pages of words and lines, each with a page-relative box and confidence.

Boxes are `(x0, y0, x1, y1)` in [0, 1], origin top left. A `Line` is a run of words on one visual row
with no column gap inside it; two columns on one row are two lines. Text-layer words have confidence
1.0; OCR words carry the recogniser's score.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["Box", "Line", "Page", "Word", "group_lines", "page_from_ocr", "page_from_text", "union"]

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Word:
    text: str
    box: Box
    confidence: float = 1.0


@dataclass(frozen=True)
class Line:
    words: tuple[Word, ...]

    @functools.cached_property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)

    @functools.cached_property
    def box(self) -> Box:
        return union(word.box for word in self.words)

    @functools.cached_property
    def confidence(self) -> float:
        return min(word.confidence for word in self.words)

    @property
    def height(self) -> float:
        x0, y0, x1, y1 = self.box
        return y1 - y0


@dataclass
class Page:
    """One page: `number` counts from 1; `source` is "pdf-text" or "ocr"; lines top to bottom."""

    number: int
    lines: list[Line] = field(default_factory=list)
    source: str = "pdf-text"
    width: float = 1.0
    height: float = 1.0
    """Size in points (PDF) or pixels (image), for aspect-aware distances."""

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def union(boxes: Iterable[Box]) -> Box:
    boxes = list(boxes)
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _vertical_overlap(a: Box, b: Box) -> float:
    top, bottom = max(a[1], b[1]), min(a[3], b[3])
    return max(0.0, bottom - top) / max(1e-9, min(a[3] - a[1], b[3] - b[1]))


def group_lines(words: Sequence[Word], aspect: float, column_gap: float = 1.6) -> list[Line]:
    """Words grouped into lines: same row (vertical overlap), split where a gap exceeds
    `column_gap` times the row's text height. `aspect` is page height / width, so gaps compare in
    one unit."""
    rows: list[list[Word]] = []
    for word in sorted(words, key=lambda w: ((w.box[1] + w.box[3]) / 2, w.box[0])):
        if rows and _vertical_overlap(rows[-1][0].box, word.box) > 0.5:
            rows[-1].append(word)
        else:
            rows.append([word])
    lines = []
    for row in rows:
        row.sort(key=lambda w: w.box[0])
        height = sorted(w.box[3] - w.box[1] for w in row)[len(row) // 2] * aspect
        current = [row[0]]
        for word in row[1:]:
            gap = word.box[0] - current[-1].box[2]
            if gap > column_gap * max(height, 1e-4):
                lines.append(Line(tuple(current)))
                current = [word]
            else:
                current.append(word)
        lines.append(Line(tuple(current)))
    return lines


def _split_words(text: str, box: Box, confidence: float) -> list[Word]:
    """An OCR line's words, with boxes by character position (the recogniser gives the line's box)."""
    x0, y0, x1, y1 = box
    per_char = (x1 - x0) / max(1, len(text))
    # OCR drops spaces: "Total:99.50EUR" is "Total:", "99.50", "EUR"; "Nr.583920" and
    # "vom05.03.2018" are a word and a number (an id such as "INV2024" or "DE123456789" stays whole).
    words = []
    for m in _OCR_WORD.finditer(text):
        start = m.start()
        for part in _GLUED.split(m.group()):
            end = start + len(part)
            if part:
                words.append(Word(part, (x0 + start * per_char, y0, x0 + end * per_char, y1), confidence))
            start = end
    return words


_GLUED = re.compile(r"(?<=[a-zäöüßéèàç]{2})(?=\d)|(?<=[A-Za-z]\.)(?=\d)")


_OCR_WORD = re.compile(
    r"(?:RM|Rs\.?|S\$|US\$|€|£|\$|₹)(?=\d)"  # a currency run into its amount: "RM31.00"
    r"|[^\s:()]*\([^\s:()]*\)(?=\d)"  # "TOTAL(RM)4.50"
    r"|[^\s:]+:"  # a label and its colon: "Total:99.50"
    r"|(?:[^\s:]+?(?=\d[A-Za-z]{2,}|$|\s|:)\d?)"  # digits run into a unit or code: "99.50EUR"
    r"|[^\s:]+|:"
)


def page_from_ocr(number: int, ocr_lines: Iterable[object], width: int, height: int) -> Page:
    """A page from `ocr.OcrLine`s read from an image of `width` x `height` pixels."""
    words: list[Word] = []
    for line in ocr_lines:
        x0, y0, x1, y1 = line.box  # type: ignore[attr-defined]
        box = (x0 / width, y0 / height, x1 / width, y1 / height)
        words += _split_words(line.text, box, line.confidence)  # type: ignore[attr-defined]
    return Page(number, group_lines(words, height / width), "ocr", width, height)


def page_from_text(text: str, source: str = "pdf-text") -> Page:
    """A page laid out from plain text, one text line per row and one column per character (a
    monospaced reading): what `fields_from_text` and tests on bare text run the engine on."""
    rows = text.splitlines() or [""]
    columns = max(80, max(len(row) for row in rows))
    row_height = 1 / max(60, len(rows))
    char = 1 / columns
    lines = []
    for index, row in enumerate(rows):
        y0 = index * row_height
        words = [
            Word(m.group(), (m.start() * char, y0, m.end() * char, y0 + row_height * 0.8))
            for m in re.finditer(r"\S+", row)
        ]
        if not words:
            continue
        # A run of 3+ spaces separates columns, as wide gaps do on a page.
        current = [words[0]]
        for word, previous_end in zip(words[1:], (w.box[2] for w in words), strict=False):
            if word.box[0] - previous_end >= 3 * char - 1e-9:
                lines.append(Line(tuple(current)))
                current = [word]
            else:
                current.append(word)
        lines.append(Line(tuple(current)))
    return Page(1, lines, source, columns * 6.0, max(60, len(rows)) * 12.0)
