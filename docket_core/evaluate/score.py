"""Scoring captured values against truth: per field, per document, and for automatic confirmation.

When a captured value counts as right (after normalization):
- dates (`issue_date`, `due_date`): the same calendar day;
- amounts (`net_total`, `tax_total`, `gross_total`): within 0.005 of the truth;
- `currency`: the same ISO code, case-insensitively;
- company names (`seller_name`, `buyer_name`): casefolded, every run of characters that are not
  letters or digits replaced by one space, and a trailing legal form (`LEGAL_FORMS`: GmbH, S.A.S.,
  SDN BHD, Ltd...) dropped from both, since an e-invoice's XML often names "Au bon moulin" where
  its page prints "Au bon moulin SARL"; right when equal, or when their rapidfuzz `ratio` is at
  least `NAME_SIMILARITY` (90: one character in ten may differ, an OCR slip, never a missing word of
  a short name); failing that, the same test on both names with their legal forms kept and every
  space removed, as OCR often reads "UNIHAKKAINTERNATIONALSDNBHD". An empty name left after
  dropping the legal form is never right;
- other strings (`invoice_number`, `seller_vat_id`, `iban`): equal with case and whitespace ignored.

A field the truth holds but capture left empty is wrong. Per field, `accuracy` is right / documents
whose truth has the field, `coverage` the share of those where capture gave any value, `precision`
right / given. A document is *auto-confirmed* at a threshold when every required field of its kind
(`REQUIRED`) has a confidence at or above it, and *right* when every required field its truth holds
is right.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from rapidfuzz import fuzz

from docket_core.evaluate.truth import REQUIRED, TRUTH_FIELDS, TruthRecord

__all__ = [
    "LEGAL_FORMS",
    "CONFIDENCE_BINS",
    "NAME_SIMILARITY",
    "DocumentScore",
    "FieldOutcome",
    "Summary",
    "is_right",
    "normalize_name",
    "reliability",
    "score_document",
    "shown",
    "summarize",
]

NAME_SIMILARITY = 90.0
_DATES = {"issue_date", "due_date"}
_AMOUNTS = {"net_total", "tax_total", "gross_total"}
_NAMES = {"seller_name", "buyer_name"}
_HALF_CENT = Decimal("0.005")


def shown(value: Any) -> str | None:
    """A captured value as the reports print it: dates ISO, numbers with two decimals, else str."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float | Decimal) and not isinstance(value, bool):
        return f"{Decimal(str(value)):.2f}"
    return str(value)


def _as_date(value: Any) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


LEGAL_FORMS = (
    "gmbh & co. kg", "gmbh", "ag", "kg", "ohg", "og", "e.k.", "ug (haftungsbeschränkt)", "ug", "e.v.",
    "sarl", "s.a.s.", "sas", "sa", "eurl", "sasu", "srl", "bv", "b.v.", "nv", "n.v.", "v.o.f.", "s.l.",
    "s.l.u.", "s.a.", "s.r.l.", "s.p.a.", "s.n.c.", "s.a.s", "ltd", "ltd.", "limited", "plc", "llp", "inc.",
    "inc", "llc", "corp.", "co.", "pvt. ltd.", "private limited", "sdn bhd", "sdn. bhd.", "bhd", "s/b",
    "plt", "dac",
)  # fmt: skip
"""Legal forms that `normalize_name` drops from the end of a company name."""


def _squash_name(name: str) -> str:
    return " ".join(re.sub(r"[\W_]+", " ", name.casefold()).split())


_FORMS = sorted({_squash_name(form) for form in LEGAL_FORMS}, key=len, reverse=True)


def normalize_name(name: str) -> str:
    """Casefolded words of `name` without punctuation and without a trailing legal form."""
    squashed = _squash_name(name)
    for form in _FORMS:
        if squashed == form:
            return ""
        if squashed.endswith(" " + form):
            return squashed[: -len(form) - 1]
    return squashed


def is_right(field_id: str, expected: str, got: Any) -> bool:
    """Whether `got` (as captured: date, float, str) is right for the truth value `expected`."""
    if got is None or got == "":
        return False
    if field_id in _DATES:
        return _as_date(got) is not None and _as_date(got) == _as_date(expected)
    if field_id in _AMOUNTS:
        a, b = _as_decimal(got), _as_decimal(expected)
        return a is not None and b is not None and abs(a - b) <= _HALF_CENT
    if field_id == "currency":
        return str(got).strip().upper() == expected.strip().upper()
    if field_id in _NAMES:
        a, b = normalize_name(str(got)), normalize_name(expected)
        if a and (a == b or fuzz.ratio(a, b) >= NAME_SIMILARITY):
            return True
        # OCR often loses the gaps between words ("UNIHAKKAINTERNATIONALSDNBHD"): compare without them.
        a, b = _squash_name(str(got)).replace(" ", ""), _squash_name(expected).replace(" ", "")
        return bool(normalize_name(str(got))) and (a == b or fuzz.ratio(a, b) >= NAME_SIMILARITY)
    return re.sub(r"\s+", "", str(got)).casefold() == re.sub(r"\s+", "", expected).casefold()


@dataclass(frozen=True)
class FieldOutcome:
    field: str
    expected: str
    got: str | None
    right: bool
    confidence: float | None


@dataclass
class DocumentScore:
    """One document's outcome: each truth field, and whether it would be confirmed automatically."""

    file: str
    kind: str
    language: str
    fields: dict[str, FieldOutcome]
    confidences: dict[str, float]
    failed: str | None = None  # why the workflow failed the file, if it did
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    pages: int = 1
    errors: list[str] = field(default_factory=list)  # the workflow's error messages (checks that failed)

    def auto_confirmed(self, threshold: float, *, no_errors: bool = False) -> bool:
        """Every required field at or above `threshold` (and, with `no_errors`, no error message)."""
        required = REQUIRED[self.kind]
        if self.failed is not None or (no_errors and self.errors):
            return False
        return all(f in self.confidences and self.confidences[f] >= threshold for f in required)

    def required_right(self) -> bool:
        return all(o.right for f, o in self.fields.items() if f in REQUIRED[self.kind])


def score_document(truth: TruthRecord, datapoints: Mapping[str, Any], confidences: Mapping[str, float],
                   *, failed: str | None = None) -> DocumentScore:  # fmt: skip
    """Compare one document's captured `datapoints` (and their confidences) with its truth."""
    outcomes = {}
    for field_id in TRUTH_FIELDS:
        if field_id not in truth.fields:
            continue
        got = datapoints.get(field_id)
        outcomes[field_id] = FieldOutcome(
            field_id, truth.fields[field_id], shown(got), is_right(field_id, truth.fields[field_id], got),
            confidences.get(field_id),
        )
    # A field without a value has no confidence, whatever a step reported for it.
    held = {name: conf for name, conf in confidences.items() if shown(datapoints.get(name)) is not None}
    return DocumentScore(truth.file, truth.kind, truth.language, outcomes, held, failed)


@dataclass
class FieldStats:
    expected: int = 0
    given: int = 0
    right: int = 0
    confident: int = 0  # given with a confidence at or above the threshold
    confident_right: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "documents": self.expected,
            "given": self.given,
            "right": self.right,
            "accuracy": self.right / self.expected if self.expected else None,
            "coverage": self.given / self.expected if self.expected else None,
            "precision": self.right / self.given if self.given else None,
            "at_threshold": self.confident,
            "precision_at_threshold": self.confident_right / self.confident if self.confident else None,
        }


CONFIDENCE_BINS = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0001)
"""Edges of the confidence bins of the reliability table (a calibrated engine's accuracy rises with them)."""


def reliability(scores: Iterable[DocumentScore]) -> list[dict[str, Any]]:
    """Per confidence bin: how many values were given with such a confidence and how many were right."""
    bins = [[0, 0] for _ in CONFIDENCE_BINS[:-1]]
    for score in scores:
        for outcome in score.fields.values():
            if outcome.got is None or outcome.confidence is None:
                continue
            i = next(i for i, top in enumerate(CONFIDENCE_BINS[1:]) if outcome.confidence < top)
            bins[i][0] += 1
            bins[i][1] += outcome.right
    return [
        {"from": lo, "to": min(hi, 1.0), "values": n, "right": r, "accuracy": r / n if n else None}
        for (lo, hi), (n, r) in zip(zip(CONFIDENCE_BINS, CONFIDENCE_BINS[1:]), bins)
    ]


@dataclass
class Summary:
    """The table: per-field figures, field checks overall, automatic confirmation, speed."""

    documents: int
    failed: int
    fields: dict[str, FieldStats]
    threshold: float
    auto_confirmed: int
    auto_confirmed_right: int
    queue_confirmed: int  # auto-confirmed and no error message, as a queue confirms
    queue_confirmed_right: int
    documents_right: int
    seconds: float
    cpu_seconds: float
    pages: int
    by_group: dict[str, dict[str, Any]] = field(default_factory=dict)
    reliability: list[dict[str, Any]] = field(default_factory=list)

    @property
    def checks(self) -> tuple[int, int]:
        return sum(s.right for s in self.fields.values()), sum(s.expected for s in self.fields.values())

    def as_dict(self) -> dict[str, Any]:
        right, total = self.checks
        return {
            "documents": self.documents,
            "failed": self.failed,
            "field_checks": {"right": right, "total": total, "accuracy": right / total if total else None},
            "fields": {name: stats.as_dict() for name, stats in self.fields.items()},
            "documents_all_required_right": self.documents_right,
            "auto_confirm": {
                "threshold": self.threshold,
                "confirmed": self.auto_confirmed,
                "share": self.auto_confirmed / self.documents if self.documents else None,
                "right": self.auto_confirmed_right,
                "precision": self.auto_confirmed_right / self.auto_confirmed if self.auto_confirmed else None,
                "confirmed_without_errors": self.queue_confirmed,
                "precision_without_errors": (
                    self.queue_confirmed_right / self.queue_confirmed if self.queue_confirmed else None
                ),
            },
            "speed": {
                "seconds": self.seconds,
                "cpu_seconds": self.cpu_seconds,
                "pages": self.pages,
                "documents_per_s": self.documents / self.seconds if self.seconds else None,
                "documents_per_cpu_s": self.documents / self.cpu_seconds if self.cpu_seconds else None,
                "pages_per_cpu_s": self.pages / self.cpu_seconds if self.cpu_seconds else None,
            },
            "by_group": self.by_group,
            "reliability": self.reliability,
        }


def _group_of(score: DocumentScore) -> str:
    head = score.file.split("/", 1)[0] if "/" in score.file else ""
    return f"{score.kind}/{score.language or '?'}" + (f" ({head})" if head else "")


def summarize(scores: Iterable[DocumentScore], threshold: float) -> Summary:
    """The figures over `scores` at the confidence `threshold`, with field checks per group too."""
    scores = list(scores)
    stats = {name: FieldStats() for name in TRUTH_FIELDS}
    groups: dict[str, list[int]] = {}
    for score in scores:
        group = groups.setdefault(_group_of(score), [0, 0, 0])
        group[0] += 1
        for name, outcome in score.fields.items():
            stats[name].expected += 1
            stats[name].given += outcome.got is not None
            stats[name].right += outcome.right
            if outcome.got is not None and (outcome.confidence or 0.0) >= threshold:
                stats[name].confident += 1
                stats[name].confident_right += outcome.right
            group[1] += outcome.right
            group[2] += 1
    confirmed = [s for s in scores if s.auto_confirmed(threshold)]
    queue = [s for s in confirmed if not s.errors]
    return Summary(
        documents=len(scores),
        failed=sum(s.failed is not None for s in scores),
        fields={name: s for name, s in stats.items() if s.expected},
        threshold=threshold,
        auto_confirmed=len(confirmed),
        auto_confirmed_right=sum(s.required_right() for s in confirmed),
        queue_confirmed=len(queue),
        queue_confirmed_right=sum(s.required_right() for s in queue),
        documents_right=sum(s.required_right() for s in scores),
        seconds=sum(s.seconds for s in scores),
        cpu_seconds=sum(s.cpu_seconds for s in scores),
        pages=sum(s.pages for s in scores),
        by_group={
            name: {"documents": d, "field_checks_right": r, "field_checks": t, "accuracy": r / t if t else None}
            for name, (d, r, t) in sorted(groups.items())
        },
        reliability=reliability(scores),
    )
