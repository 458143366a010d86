"""The label lexicon (`lexicon.yaml`, data) and finding its labels in the lines of a page.

Words are compared normalised (`norm`): lower case, accents and punctuation dropped. A text layer
must match a label exactly; an OCR line may match approximately (rapidfuzz), at a lower score.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml
from rapidfuzz import fuzz, process

from docket_core.capture.pages import Line

__all__ = ["LabelHit", "Lexicon", "find_labels", "lexicon", "norm"]


@functools.lru_cache(maxsize=65536)
def norm(text: str) -> str:
    """`text` lower-cased, accents removed, anything but letters, digits, `#` and `%` dropped."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if ch.isalnum() or ch in "#%")


@dataclass(frozen=True)
class LabelHit:
    """A label of `field` in `language` covering words `start` to `end` (exclusive) of `line`."""

    field: str
    language: str
    line: Line
    start: int
    end: int
    score: float
    """1.0 for an exact match; less for an approximate (OCR) one."""
    rank: int
    """Position of the label in its field's list: earlier labels are more specific."""
    words: int
    """How many words the label has: longer labels are more specific."""


@dataclass(frozen=True, eq=False)
class Lexicon:
    labels: dict[str, dict[str, list[tuple[str, ...]]]]
    by_first: dict[str, list[tuple[str, str, tuple[str, ...], int, int]]]
    raw: dict[str, Any]

    @functools.cache  # noqa: B019 - one lexicon per process, cached itself
    def words(self, key: str) -> frozenset[str]:
        """The normalised words of a list in the lexicon (phrases joined: "credit note" is "creditnote")."""
        return frozenset(norm(w) for w in self.raw[key])


@functools.cache
def lexicon() -> Lexicon:
    """The lexicon of the package, loaded once."""
    raw = yaml.safe_load(resources.files("docket_core.capture").joinpath("lexicon.yaml").read_text("utf-8"))
    labels: dict[str, dict[str, list[tuple[str, ...]]]] = {}
    by_first: dict[str, list[tuple[str, str, tuple[str, ...], int, int]]] = {}
    for field, languages in raw["labels"].items():
        labels[field] = {}
        for language, phrases in languages.items():
            tokens = [tuple(t for t in (norm(w) for w in phrase.split()) if t) for phrase in phrases]
            labels[field][language] = tokens
            for rank, phrase in enumerate(tokens):
                by_first.setdefault(phrase[0], []).append((field, language, phrase, rank, len(phrase)))
                if len(phrase) > 1:  # OCR often drops the space: "Invoicenumber", "Totalamount"
                    joined = "".join(phrase)
                    by_first.setdefault(joined, []).append((field, language, (joined,), rank, len(phrase)))
    return Lexicon(labels, by_first, raw)


_RATE_GLUED = re.compile(r"([a-z]{2,})\d{1,2}(?:\d{1,2})?%|\d{1,2}(?:\d{1,2})?%([a-z]{2,})")


def _unglued(token: str, lex: Lexicon) -> str:
    """`token` without a rate run into it when what is left is a label's first word: "vat23%", "19%ust"."""
    if (m := _RATE_GLUED.fullmatch(token)) and (word := m.group(1) or m.group(2)) in lex.by_first:
        return word
    return token


@functools.cache
def _fuzzy_firsts() -> list[str]:
    return sorted(first for first in lexicon().by_first if len(first) >= 4)


@functools.cache
def _joined() -> dict[str, list[tuple[str, str, int, int]]]:
    """Every label with its words run together ("totalexclvat"): (field, language, rank, words)."""
    out: dict[str, list[tuple[str, str, int, int]]] = {}
    for field, languages in lexicon().labels.items():
        for language, phrases in languages.items():
            for rank, phrase in enumerate(phrases):
                out.setdefault("".join(phrase), []).append((field, language, rank, len(phrase)))
    return out


@functools.cache
def _long_joined() -> list[str]:
    return [key for key in _joined() if len(key) >= 9]


def _regrouped(tokens: list[str], line: Line, fields: frozenset[str] | None) -> list[LabelHit]:
    """Labels the recogniser split or merged differently from the lexicon's words: "Total excl.VAT"
    is "total" + "exclvat", "Rech nungsnummer" is "rech" + "nungsnummer". The words from `start`
    run together must spell a whole label (of at least six letters) exactly, or closely when long."""
    joined = _joined()
    hits = []
    for start in range(len(tokens)):
        text = ""
        for end in range(start + 1, min(start + 4, len(tokens)) + 1):
            text += tokens[end - 1]
            if end - start < 2 or len(text) < 6:
                continue
            entries = joined.get(text)
            score = 1.0
            if entries is None and len(text) >= 9:
                found = process.extractOne(text, _long_joined(), scorer=fuzz.ratio, score_cutoff=90)
                if found is not None:
                    entries, score = joined[found[0]], found[1] / 100
            for field, language, rank, size in entries or ():
                if fields is None or field in fields:
                    hits.append(LabelHit(field, language, line, start, end, 0.97 * score, rank, size))
    return hits


def _similar(a: str, b: str, fuzzy: bool) -> float:
    if a == b:
        return 1.0
    if not fuzzy or len(b) < 4:
        return 0.0
    score = fuzz.ratio(a, b) / 100
    return score if score >= 0.84 else 0.0


def find_labels(line: Line, fuzzy: bool = False, fields: frozenset[str] | None = None) -> list[LabelHit]:
    """Every label of the lexicon in `line`, longest first where two start at one word."""
    lex = lexicon()
    tokens = [norm(word.text) for word in line.words]
    if fuzzy:  # the recogniser runs a rate into its label: "VAT@23%", "MwSt19%" is "vat" then the rate
        tokens = [_unglued(t, lex) for t in tokens]
    hits: list[LabelHit] = []
    for start, token in enumerate(tokens):
        if not token:
            continue
        candidates = list(lex.by_first.get(token, ()))
        if fuzzy and len(token) >= 4 and token not in lex.by_first:
            for first in _fuzzy_firsts():
                if abs(len(first) - len(token)) <= 2 and _similar(token, first, True):
                    candidates += lex.by_first[first]
        for field, language, phrase, rank, size in candidates:
            if fields is not None and field not in fields:
                continue
            if start + len(phrase) > len(tokens):
                continue
            scores = [_similar(tokens[start + i], part, fuzzy) for i, part in enumerate(phrase)]
            if min(scores) > 0:
                score = sum(scores) / len(scores)
                hits.append(LabelHit(field, language, line, start, start + len(phrase), score, rank, size))
    if fuzzy:
        known = {(h.field, h.start, h.end) for h in hits}
        hits += [h for h in _regrouped(tokens, line, fields) if (h.field, h.start, h.end) not in known]
    hits.sort(key=lambda h: (h.start, -h.words, h.rank))
    return hits
