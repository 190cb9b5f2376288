"""Expected answers of the analytic question set, and the grader that checks the app's answers.

An expectation is one of:

- ``Scalar``: one value (a number, or a date/text compared as a string);
- ``Groups``: group key -> value, all groups or the first ``top`` ones in order;
- ``Records``: the names of the records that answer (argmax/argmin, a listing), ties included, or the
  values a lookup finds in several records, with the number of records it must count;
- ``NotAnalytic``: an open question, or a name the data does not hold, that retrieval must answer (no
  computed block); ``Refused``: an analytic question the data cannot answer as asked (no computed block, a
  refusal with rephrasings instead).

A lookup of one record's field ("What is the alpha-3 code of Norway?") is a ``Scalar``: the asked value is
the last cell of the single row.

``grade`` reads the computed block of an answer (``Answer.meta["computed"]``: ``columns``, ``rows``,
``summary``, ``sql``, ``spec``, ``planner``; ``None`` when retrieval answered) and the answer's text.
``grade_final`` grades the whole answer a user reads: the computed block must be right and the
model's text must state its result (a right block under a text that says another number is wrong).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Scalar:
    """A single value: the last cell of the single computed row."""

    value: Any
    rel_tol: float = 1e-6
    abs_tol: float = 0.01


@dataclass(frozen=True)
class Groups:
    """Group key -> value. Without ``top`` the computed groups must be exactly these; with ``top=N``
    ``mapping`` holds the N expected groups and the first N computed rows must be them."""

    mapping: Mapping[Any, Any]
    top: int | None = None
    rel_tol: float = 1e-6
    abs_tol: float = 0.01


@dataclass(frozen=True)
class Records:
    """Names (labels, ids) of the answer records, or the values asked of them; at least ``need`` of them must
    be shown.

    With ties, ``names`` lists every tied record and ``need`` stays the number asked for. A name that is a
    number matches a cell holding that number (``4354`` is not found in ``$[4354]``)."""

    names: tuple[str, ...]
    need: int = 1
    total: int | None = None
    """For a listing or a lookup over several records: how many records the computed block must count
    (``matched_rows``), so that a listing of the wrong records, or of some of them, is wrong."""


@dataclass(frozen=True)
class NotAnalytic:
    """Retrieval answers: no computed block. ``about`` says what the question refers to."""

    about: str = ""


@dataclass(frozen=True)
class Refused(NotAnalytic):
    """An analytic question the data cannot answer as asked (a field no record holds, a month of several years):
    no computed block; the answer refuses with rephrasings (checked by ``tests/test_planner_corpus.py``)."""


Expectation = Scalar | Groups | Records | NotAnalytic


@dataclass(frozen=True)
class Grade:
    """The verdict on one answer."""

    ok: bool
    why: str


class GradedCase(Protocol):
    """What the grader needs of a case."""

    qtype: str

    def truth(self) -> Expectation: ...


def grade(case: GradedCase | Expectation, computed: Mapping[str, Any] | None, text: str) -> Grade:
    """Grade one answer against a case's truth (or against an expectation given directly)."""
    expected = case if isinstance(case, (Scalar, Groups, Records, NotAnalytic)) else case.truth()
    text = text or ""
    if isinstance(expected, NotAnalytic):
        if computed is None:
            return Grade(True, "answered by retrieval")
        return Grade(False, f"computed an answer for a lookup: {_describe(computed)}")
    if isinstance(expected, Scalar):
        return _grade_scalar(expected, computed, text)
    if isinstance(expected, Groups):
        return _grade_groups(expected, computed)
    if isinstance(expected, Records):
        return _grade_records(expected, computed, text)
    raise TypeError(f"unknown expectation {expected!r}")


def grade_final(case: GradedCase | Expectation, computed: Mapping[str, Any] | None, text: str) -> Grade:
    """Grade the final answer: the computed block (or the text, without one) and the text agreeing with it."""
    verdict = grade(case, computed, text)
    if not verdict.ok or computed is None:
        return verdict
    expected = case if isinstance(case, (Scalar, Groups, Records, NotAnalytic)) else case.truth()
    if _text_states(expected, text or ""):
        return Grade(True, f"{verdict.why}; the text states it")
    return Grade(False, f"{verdict.why}, but the text does not state it: {(text or '')[:160]!r}")


def _text_states(expected: Expectation, text: str) -> bool:
    """The text names the result: the value, one of the records, or one of the groups."""
    if isinstance(expected, Scalar):
        return _text_holds(expected, text)
    lowered = text.lower()
    if isinstance(expected, Records):
        return any(name.lower() in lowered for name in expected.names)
    if isinstance(expected, Groups):  # one group: the table and chart beside the text give every value
        words, numbers = _key_words(lowered), _numbers_in(text)
        return any(_names_group(key, value, expected, words, lowered, numbers) for key, value in expected.mapping.items())
    return True


def _names_group(key: Any, value: Any, expected: Groups, words: set[str], lowered: str, numbers: list[float]) -> bool:
    """A named group ("Japan") counts alone; a number key (1982, 8 cylinders) only with its value beside."""
    if not (_key(key) in words or _as_text(key) in lowered):
        return False
    if _as_number(key) is None and not re.fullmatch(r"\d+", _key(key)):
        return True
    wanted = _as_number(value)
    tolerance = max(expected.abs_tol, 0.005)
    return wanted is not None and any(math.isclose(n, wanted, rel_tol=expected.rel_tol, abs_tol=tolerance) for n in numbers)


def _key_words(lowered: str) -> set[str]:
    """The text's words and numbers as group keys (``march`` -> ``3``, ``1,982`` -> ``1982``)."""
    return {_key(word) for word in re.findall(r"[\w.-]+", lowered.replace(",", ""))}


def accuracy_by_type(results: Iterable[tuple[GradedCase, Grade]]) -> dict[str, tuple[int, int]]:
    """Question type -> (answers right, answers graded), sorted by type."""
    counts: dict[str, list[int]] = {}
    for case, verdict in results:
        entry = counts.setdefault(case.qtype, [0, 0])
        entry[0] += int(verdict.ok)
        entry[1] += 1
    return {qtype: (ok, total) for qtype, (ok, total) in sorted(counts.items())}


# --- scalars -------------------------------------------------------------------------------------


def _grade_scalar(expected: Scalar, computed: Mapping[str, Any] | None, text: str) -> Grade:
    if computed is None:
        if _text_holds(expected, text):
            return Grade(True, f"from text: {expected.value!r} found in the answer")
        return Grade(False, f"no computed block and {expected.value!r} is not in the text")
    rows = _rows(computed)
    if len(rows) != 1 or not rows[0]:
        return Grade(False, f"expected one row holding {expected.value!r}, got {len(rows)} rows: {_describe(computed)}")
    got = rows[0][-1]
    if _same_value(expected.value, got, expected.rel_tol, expected.abs_tol):
        return Grade(True, f"computed {got!r}")
    return Grade(False, f"computed {got!r}, expected {expected.value!r}")


def _text_holds(expected: Scalar, text: str) -> bool:
    """The value appears in the text: a number within rounding to 2 decimals, or the date/text itself."""
    number = _as_number(expected.value)
    if number is None:
        wanted = _as_text(expected.value)
        return bool(wanted) and wanted in text.lower()
    tolerance = max(expected.abs_tol, 0.005)
    return any(math.isclose(found, number, rel_tol=expected.rel_tol, abs_tol=tolerance) for found in _numbers_in(text))


_NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")


def _numbers_in(text: str) -> list[float]:
    return [float(match.group().replace(",", "")) for match in _NUMBER.finditer(text)]


# --- groups --------------------------------------------------------------------------------------


def _grade_groups(expected: Groups, computed: Mapping[str, Any] | None) -> Grade:
    if computed is None:
        return Grade(False, "no computed block for a group question")
    rows = _rows(computed)
    got: list[tuple[str, Any]] = [(_key(row[0]), row[-1]) for row in rows if len(row) >= 2]
    if len(got) != len(rows):
        return Grade(False, f"rows are not [group, value]: {_describe(computed)}")
    truth = [(_key(key), value) for key, value in expected.mapping.items()]
    if expected.top is not None:
        if len(got) < expected.top:
            return Grade(False, f"expected the top {expected.top} groups, got {len(got)} rows")
        got = got[: expected.top]
    got_map = dict(got)
    if len(got_map) != len(got):
        return Grade(False, f"a group appears twice: {[key for key, _ in got]}")
    truth_map = dict(truth)
    missing = [key for key in truth_map if key not in got_map]
    extra = [key for key in got_map if key not in truth_map]
    if missing or extra:
        return Grade(False, f"groups differ: missing {missing}, unexpected {extra}")
    wrong = [
        f"{key}: {got_map[key]!r} (expected {value!r})"
        for key, value in truth_map.items()
        if not _same_value(value, got_map[key], expected.rel_tol, expected.abs_tol)
    ]
    if wrong:
        return Grade(False, "wrong values: " + "; ".join(wrong))
    return Grade(True, f"{len(truth_map)} groups match" + (f" (top {expected.top})" if expected.top else ""))


_MONTHS = {
    name: str(number)
    for number, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
         ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
         ("november", "nov"), ("december", "dec")],
        start=1,
    )
    for name in names
}
_YEAR_START = re.compile(r"^(\d{4})-01-01(?:[ t]00:00:00)?$")
_QUARTER = re.compile(r"^(?:\d{4}-)?q([1-4])$")
_YEAR_MONTH = re.compile(r"^\d{4}-(\d{2})$")
"""``2024-03`` -> ``3``: the question sets ask per calendar month only of data within one year."""


def _key(value: Any) -> str:
    """A group key as a comparable string: case-insensitive, ``1982.0`` -> ``1982``, ``03`` -> ``3``,
    ``March`` -> ``3``, ``Q2`` / ``2024-Q2`` -> ``2``, ``2024-03`` -> ``3``, a 1 January date -> its year."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = _as_text(value)
    if re.fullmatch(r"-?\d+", text):
        return str(int(text))
    if text in _MONTHS:
        return _MONTHS[text]
    for pattern in (_YEAR_START, _QUARTER, _YEAR_MONTH):
        match = pattern.match(text)
        if match:
            return str(int(match.group(1)))
    return text


# --- records -------------------------------------------------------------------------------------


def _grade_records(expected: Records, computed: Mapping[str, Any] | None, text: str) -> Grade:
    if expected.total is not None and computed is not None and computed.get("matched_rows") != expected.total:
        return Grade(False, f"expected {expected.total} records, the block counts {computed.get('matched_rows')}: "
                            f"{_describe(computed)}")
    cells = [_as_text(cell) for row in (_rows(computed) if computed is not None else []) for cell in row]
    lowered = text.lower()
    in_cells = {name for name in expected.names if any(_names_record(name.lower(), cell) for cell in cells)}
    in_text = {name for name in expected.names if name.lower() in lowered} - in_cells
    found = len(in_cells) + len(in_text)
    if found >= expected.need:
        where = "computed rows" if not in_text else ("text" if not in_cells else "computed rows and text")
        origin = "from text: " if where == "text" else ""
        return Grade(True, f"{origin}{found} of the expected records named in the {where}")
    shown = _describe(computed) if computed is not None else "no computed block"
    return Grade(False, f"expected {expected.need} of {list(expected.names)[:8]}, found {found}; {shown}")


def _names_record(name: str, cell: str) -> bool:
    """A cell names the record: it holds the name, or it is the month (``1855-01``) of a date name; a number is
    named by a cell holding that number."""
    number = _as_number(name)
    if number is not None and re.fullmatch(r"-?\d+(?:\.\d+)?", name):
        found = _as_number(cell)
        return found is not None and math.isclose(found, number, rel_tol=1e-9, abs_tol=1e-9)
    return name in cell or (re.fullmatch(r"\d{4}-\d{2}", cell) is not None and name.startswith(cell + "-"))


# --- values --------------------------------------------------------------------------------------


def _rows(computed: Mapping[str, Any]) -> list[Sequence[Any]]:
    rows = computed.get("rows") or []
    return [row if isinstance(row, (list, tuple)) else [row] for row in rows]


def _same_value(expected: Any, got: Any, rel_tol: float, abs_tol: float) -> bool:
    """Numbers within tolerance; dates and text compared as strings (a date matches its midnight timestamp)."""
    if expected is None or got is None:
        return expected is None and got is None
    wanted, found = _as_number(expected), _as_number(got)
    if wanted is not None:
        return found is not None and math.isclose(found, wanted, rel_tol=rel_tol, abs_tol=abs_tol)
    expected_text, got_text = _as_text(expected), _as_text(got)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", expected_text):
        midnight = re.escape(expected_text) + r"[ t]00:00:00"
        return got_text == expected_text or re.fullmatch(midnight, got_text) is not None
    return got_text == expected_text


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value) if not (isinstance(value, float) and math.isnan(value)) else None
    if isinstance(value, str):
        try:
            return float(value.replace(",", "").strip())
        except ValueError:
            return None
    try:  # Decimal and numpy numbers
        return float(value)
    except (TypeError, ValueError):
        return None


def _as_text(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ").lower()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip().lower()


def _describe(computed: Mapping[str, Any]) -> str:
    rows = _rows(computed)
    summary = computed.get("summary") or ""
    return f"summary {summary!r}, rows {rows[:5]!r}" + (" …" if len(rows) > 5 else "")
