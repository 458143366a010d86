"""Where a label's value is printed: after it on its line, in the next column of its row, or below it.

`value_regions` gives the places to look for a label's value, each with a geometry score in (0, 1]:
the rest of the label's own line scores highest, then the nearest line to its right on the same row
(less the farther away), then the line directly below it in the same column (less the farther down
and the worse aligned).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from docket_core.capture.pages import Box, Line, Page, Word, union

__all__ = ["Index", "Region", "value_regions"]


@dataclass(frozen=True)
class Region:
    """Words that may hold a value, with the geometry score of where they sit."""

    words: tuple[Word, ...]
    page: Page
    geometry: float
    where: str
    """"same-line", "right" or "below"."""

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)

    @property
    def spaced_text(self) -> str:
        """The text with wide gaps kept wide: "19" and "163,16" in two columns are not "19 163,16"."""
        parts = [self.words[0].text] if self.words else []
        for before, word in zip(self.words, self.words[1:], strict=False):
            gap = (word.box[0] - before.box[2]) * self.page.width
            height = (word.box[3] - word.box[1]) * self.page.height
            parts.append(("   " if gap > 1.0 * height or gap < -0.1 * height else " ") + word.text)
        return "".join(parts)

    @property
    def box(self) -> Box:
        return union(word.box for word in self.words)

    @property
    def confidence(self) -> float:
        return min(word.confidence for word in self.words)


class Index:
    """The lines of one page, sorted by their top, for looking up their neighbours quickly."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.lines = page.lines
        self.aspect = page.height / page.width if page.width else 1.0
        self._by_top = sorted(page.lines, key=lambda line: line.box[1])
        self._tops = [line.box[1] for line in self._by_top]
        self._tallest = max((line.height for line in page.lines), default=0.0)

    def _between(self, top: float, bottom: float) -> list[Line]:
        """Lines whose top lies in [top, bottom]."""
        return self._by_top[bisect_left(self._tops, top) : bisect_right(self._tops, bottom)]

    def right_of(self, box: Box) -> list[Line]:
        """Lines on the same row as `box`, to its right, nearest first."""
        out = []
        for line in self._between(box[1] - self._tallest, box[3]):
            lb = line.box
            if lb[0] < box[2] - 1e-6:
                continue
            top, bottom = max(lb[1], box[1]), min(lb[3], box[3])
            if bottom - top > 0.4 * min(lb[3] - lb[1], box[3] - box[1]):
                out.append((bottom - top, line))
        # Two lines of one column are never both on this row: on a turned scan the one above or below
        # may still overlap it, so each column keeps its line that overlaps the row most.
        kept = [
            line for overlap, line in out
            if not any(o > overlap and other.box[0] < line.box[2] and line.box[0] < other.box[2]
                       for o, other in out if other is not line)
        ]  # fmt: skip
        return sorted(kept, key=lambda line: line.box[0])

    def below(self, box: Box, rows: float = 3.5) -> list[Line]:
        """Lines below `box` within `rows` of its heights, overlapping its column, nearest first."""
        height = max(box[3] - box[1], 1e-4)
        out = []
        # A recogniser's line boxes are padded, so on a scan the next line's box may start well inside
        # this one's: what counts there is that its middle lies below this box's bottom part.
        top = box[1] + 0.5 * height if self.page.source == "ocr" else box[3] - 0.3 * height
        for line in self._between(top, box[3] + rows * height):
            lb = line.box
            if (lb[1] + lb[3]) / 2 < box[3] - 0.2 * height:
                continue
            overlap = min(lb[2], box[2]) - max(lb[0], box[0])
            if overlap > 0 or abs(lb[0] - box[0]) < 2 * height / max(self.aspect, 1e-3):
                out.append(line)
        return sorted(out, key=lambda line: (line.box[1], line.box[0]))


def value_regions(index: Index, line: Line, end: int, label_box: Box, same_line_only: bool = False) -> list[Region]:
    """Places for the value of a label covering `line.words[:end]` (from its start), best first."""
    regions = []
    rest = line.words[end:]
    if rest:
        regions.append(Region(rest, index.page, 1.0, "same-line"))
    if same_line_only:
        return regions
    width = max(label_box[2] - label_box[0], 1e-3)
    for rank, other in enumerate(index.right_of(line.box)[:2]):
        # A form's value column may sit far right of its labels: what counts is that it is the next thing.
        gap = other.box[0] - line.box[2]
        regions.append(Region(other.words, index.page, max(0.5, 0.95 - 0.3 * gap - 0.15 * rank), "right"))
    height = max(label_box[3] - label_box[1], 1e-4)
    for rank, other in enumerate(index.below(label_box)[:2]):
        if other is line:
            continue
        distance = (other.box[1] - label_box[3]) / height
        misalign = abs(other.box[0] - label_box[0]) / max(width, 0.02)
        score = 0.85 - 0.05 * max(0.0, distance) - 0.1 * min(misalign, 2.0) - 0.1 * rank
        regions.append(Region(other.words, index.page, max(0.3, score), "below"))
    return regions
