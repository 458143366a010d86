"""Drawing text on PDF pages with reportlab: top-left coordinates, real fonts, a few shapes.

Fonts: the standard PDF fonts (Helvetica, Times, Courier, drawn by every reader), reportlab's own
Bitstream Vera (embedded), and DejaVu Sans (embedded) where a copy is installed, for glyphs such as
₹ that the standard fonts lack. Which DejaVu copy is found never changes a document's truth: without
one, the generator prints "Rs." instead of "₹".
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

__all__ = ["A4", "Pen", "unicode_font_available"]

A4 = (595.0, 842.0)

_STANDARD = {
    "Helvetica": ("Helvetica", "Helvetica-Bold"),
    "Times-Roman": ("Times-Roman", "Times-Bold"),
    "Courier": ("Courier", "Courier-Bold"),
}
_DEJAVU_DIRS = ("cv2/qt/fonts", "/usr/share/fonts/truetype/dejavu")


@functools.cache
def _register_vera() -> None:
    import reportlab

    folder = Path(reportlab.__file__).parent / "fonts"
    pdfmetrics.registerFont(TTFont("Vera", str(folder / "Vera.ttf")))
    pdfmetrics.registerFont(TTFont("Vera-Bold", str(folder / "VeraBd.ttf")))


@functools.cache
def _dejavu_folder() -> Path | None:
    import sysconfig

    for raw in _DEJAVU_DIRS:
        folder = Path(raw) if os.path.isabs(raw) else Path(sysconfig.get_paths()["purelib"]) / raw
        if (folder / "DejaVuSans.ttf").is_file() and (folder / "DejaVuSans-Bold.ttf").is_file():
            return folder
    return None


def unicode_font_available() -> bool:
    """Whether DejaVu Sans (with ₹) can be embedded on this machine."""
    return _dejavu_folder() is not None


@functools.cache
def _register_dejavu() -> None:
    folder = _dejavu_folder()
    if folder is None:
        raise RuntimeError("DejaVu Sans is not installed; check unicode_font_available() first")
    pdfmetrics.registerFont(TTFont("DejaVuSans", str(folder / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(folder / "DejaVuSans-Bold.ttf")))


def _faces(family: str) -> tuple[str, str]:
    if family in _STANDARD:
        return _STANDARD[family]
    if family == "Vera":
        _register_vera()
        return "Vera", "Vera-Bold"
    if family == "DejaVuSans":
        _register_dejavu()
        return "DejaVuSans", "DejaVuSans-Bold"
    raise ValueError(f"unknown font family {family!r}; expected one of {[*_STANDARD, 'Vera', 'DejaVuSans']}")


class Pen:
    """A reportlab canvas addressed from the top left of the page, in points."""

    def __init__(self, path: Path, family: str, size: tuple[float, float] = A4) -> None:
        self.width, self.height = size
        self.regular, self.bold_face = _faces(family)
        self.canvas = Canvas(str(path), pagesize=size, invariant=True, pageCompression=1)
        self.canvas.setTitle(path.stem)
        self.canvas.setCreator("docket synth")

    def text(self, x: float, y: float, s: str, size: float = 9, *, bold: bool = False, align: str = "left") -> float:
        """Draw `s` with its baseline at `y` from the top; returns the width drawn."""
        face = self.bold_face if bold else self.regular
        self.canvas.setFont(face, size)
        width = pdfmetrics.stringWidth(s, face, size)
        x0 = x - width if align == "right" else x - width / 2 if align == "center" else x
        self.canvas.drawString(x0, self.height - y, s)
        return width

    def lines(self, x: float, y: float, rows: list[str], size: float = 9, *, leading: float = 1.3,
              bold_first: bool = False, align: str = "left") -> float:  # fmt: skip
        """Draw `rows` one below the other; returns the y below the last one."""
        for i, row in enumerate(rows):
            self.text(x, y, row, size, bold=bold_first and i == 0, align=align)
            y += size * leading
        return y

    def rule(self, x0: float, y: float, x1: float, width: float = 0.6) -> None:
        self.canvas.setLineWidth(width)
        self.canvas.line(x0, self.height - y, x1, self.height - y)

    def shade(self, x: float, y: float, w: float, h: float, grey: float = 0.9) -> None:
        """A filled band behind a table header (drawn before its text)."""
        self.canvas.setFillGray(grey)
        self.canvas.rect(x, self.height - y - h, w, h, stroke=0, fill=1)
        self.canvas.setFillGray(0)

    def width_of(self, s: str, size: float, *, bold: bool = False) -> float:
        return pdfmetrics.stringWidth(s, self.bold_face if bold else self.regular, size)

    def next_page(self) -> None:
        self.canvas.showPage()

    def save(self) -> None:
        self.canvas.save()
