"""Company names as pages print them: legal forms, name-like lines, and the ways a name is
broken up (wrapped over lines, run into a title, spaced wrong by OCR, or the owner's name beside it).
"""

from __future__ import annotations

import re

from docket_core.capture.lexicon import lexicon, norm
from docket_core.capture.pages import Line, Word

__all__ = [
    "BRACKETS",
    "clean",
    "legal_form",
    "looks_like_name",
    "names_owner",
    "respace",
    "without_title",
    "wrapped_name",
]


def legal_form(text: str) -> bool:
    """Whether `text` ends with (or holds) a company's legal form."""
    tokens = [t for t in (norm(w) for w in re.split(r"[\s,()]+", text)) if t]
    joined = lexicon().words("legal_forms")
    whole = "".join(tokens)
    # OCR runs words together ("LEESENGTRADING"): a long legal form ending the name still counts.
    if any(len(form) >= 5 and whole.endswith(form) and len(whole) > len(form) + 2 for form in joined):
        return True
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
        tokens = [norm(w) for w in re.split(r"[\s,]+", text)]
        if any(t in bad for t in tokens):
            return False
        # OCR runs an address word into the next ("JALANMERANTI", "TMNDAHLIA").
        streets = lexicon().words("street_words")
        if any(t.startswith(b) and len(t) > len(b) + 2 for t in tokens for b in streets):
            return False
    return True


def clean(text: str) -> str:
    """`text` without the punctuation and separators around a name."""
    return text.strip(" :-,|")


_FORMS = r"(?:GmbH|mbH|AG|KG|OHG|UG|Ltd|LLC|LLP|Inc|PLC|SARL|SAS|SRL|SpA|BV|NV|SDN|Sdn|BHD|Bhd)"
_RESPACE = [
    (re.compile(rf"(?<=[a-zäöüßéè])({_FORMS}(?:\b|(?=[A-Z&.(])))"), r" \1"),  # "LieferantGmbH"
    (re.compile(rf"\b({_FORMS})(?=[A-Z][a-zäöü])"), r"\1 "),  # "AGMitte" -> "AG Mitte"
    (re.compile(r"(?<=[\w.])&(?=[\w])"), " & "),  # "GmbH&Co.KG"
    (re.compile(rf"(Co\.)(?={_FORMS})"), r"\1 "),  # "Co.KG"
    (re.compile(r"(?<=SDN)(?=BHD)"), " "),  # "SDNBHD"
    (re.compile(r"(?<=[A-Z]{3})(?=GMBH\b)"), " "),  # "MUSTER-KUNDEGMBH"
    (re.compile(r"(?<=[A-Z]{3})(?=SDN BHD)"), " "),  # "MARKETINGSDN BHD"
    (re.compile(r"(?<=[A-Za-z])(\([A-Z]{1,3}\))(?=[A-Z])"), r" \1 "),  # "BAKERIES(KL)SDN"
]


_CASE_TURN = re.compile(r"(?<=[a-zß-ÿ])(?=[A-ZÀ-Þ])")
_LETTERS = re.compile(r"[A-Za-zÀ-ÿ]+")


def _split_run_together(word: str) -> str:
    """A word the recogniser ran together from capitalised words, apart: "HarbourLaneStationery" is
    "Harbour Lane Stationery". Only where a brand's own capitals are unlikely: at least two turns to a
    capital, every part three letters or more ("McDonalds", "PayPal", "ConsultingService" and
    "LinkedIn" stay as printed)."""
    if not _LETTERS.fullmatch(word):
        return word
    parts = _CASE_TURN.split(word)
    shortest = min(len(part) for part in parts)
    if len(parts) >= 3 and shortest >= 3:
        return " ".join(parts)
    return word


def respace(text: str) -> str:
    """Spaces the recogniser dropped put back: around legal forms ("KerpenGmbH&Co.KG" is
    "Kerpen GmbH & Co. KG") and between capitalised words run together ("HarbourLaneStationery Ltd"
    is "Harbour Lane Stationery Ltd"; see `_split_run_together` for the names left as printed).
    For OCR pages only: a text layer keeps the spaces the document has."""
    for pattern, space in _RESPACE:
        text = pattern.sub(space, text)
    return " ".join(_split_run_together(word) for word in text.split(" "))


BRACKETS = str.maketrans("\uff08\uff09", "()")  # full-width brackets of a receipt's registration number


def wrapped_name(lines: list[Line], position: int, text: str) -> tuple[str, tuple[Word, ...]]:
    """A name ending in a legal form with the one or two lines it was wrapped from ("PUSTAKA ILMU" /
    "CO. (M) SDN BHD", "BENG SOON HARDWARE" / "ENTERPRISE (BUKIT" / "RAJA) SDN BHD")."""
    line = lines[position]
    words = line.words
    if len(text.split()) > 4:
        return text, words  # a wrapped tail is short
    for above in reversed(lines[max(0, position - 2) : position]):
        close = -0.3 * line.height <= words[0].box[1] - above.box[3] < 0.8 * line.height  # OCR boxes overlap
        similar = abs(above.height - line.height) < 0.3 * line.height
        ends_a_name = re.search(rf"\b{_FORMS}\.?\s*$", above.text, re.IGNORECASE)  # "... SDN BHD": a name of its own
        # A sender's line ("Muster GmbH · Weg 1 · 12345 Stadt") or an address is no part of a name.
        listed = any(ch.isdigit() for ch in above.text) or re.search(r"[·•|]", above.text)
        if not (close and similar) or ends_a_name or listed or not looks_like_name(above.text, strict=True):
            break
        if len(text.split()) + len(above.words) > 8:
            break
        text, words = f"{clean(above.text)} {text}", above.words + words
    return text, words


def names_owner(lines: list[Line], position: int) -> bool:
    """Whether a line names the company that owns or runs the shop ("Owned By: ..." on it or above it)."""
    owners = lexicon().words("owner_words")
    here = norm(lines[position].text)
    above = norm(lines[position - 1].text) if position > 0 else ""
    return any(here.startswith(o) or (above.endswith(o) and len(above) <= len(o) + 2) for o in owners)


def without_title(text: str) -> str:
    """A name without the document title printed at the end of its row ("Muster UG RECHNUNG")."""
    words = text.split()
    titles = lexicon().words("title_words")
    while len(words) > 1 and norm(words[-1]) in titles and words[-1].isupper() != words[0].isupper():
        words.pop()
    while len(words) > 1 and norm(words[-1]) in titles and len(words) > 2 and legal_form(" ".join(words[:-1])):
        words.pop()
    return " ".join(words)
