"""Load an uploaded JSON or JSON Lines dataset into records.

What is accepted
    * a top-level array: every element is one record (``$[0]``, ``$[1]``, ...);
    * an object holding arrays of objects, at any depth through objects (``{"data": [...]}``,
      ``{"meta": {...}, "results": {"items": [...]}}``): the array with the most object elements
      wins (ties: the first in document order); its path is ``Dataset.root_path``;
    * any other non-empty object: one record with id ``$``;
    * JSON Lines, chosen by the name (``.jsonl`` / ``.ndjson``) or detected when the text is not one
      JSON document but a sequence of them, one per line. Blank lines are skipped; record ``i``
      (counting records, not lines) has id ``$[i]``, exactly as if the lines were in an array.
      Error messages give the physical line number.

Record ids are canonical JSON paths: ``$`` is the root, a key that is an ASCII identifier is
written ``.key``, any other key as a quoted JSON string in brackets (``["3166-1"]``), an array
index as ``[7]``; so ``$.results.items[3]`` or ``$["3166-1"][7]``.

Records that are not objects: a scalar element (a number in ``[1, 2, 3]``) is a record whose
``flat`` is ``{"value": x}``; an array element is a record whose flat keys start with its index
(``[0]``, ``[1].name``).

``Record.flat`` maps a field path to a scalar (str, int, float, bool or None): nested objects
join their keys with dots (``address.city``), arrays are indexed (``tags[0]``, ``authors[1].name``);
a key that is empty or holds ``.``, ``[`` or ``]`` is written quoted in brackets (``["a.b"]``), so two
different fields never share a path. Empty objects and arrays add no field.

``NaN``, ``Infinity`` and ``-Infinity`` (and numbers too large for a float, like ``1e999``) load as
``None``: they mean "no usable number", and keeping them would make the profile's figures and every
JSON export downstream invalid. A UTF-8 byte order mark is ignored. A ``\\uD800``-``\\uDFFF`` escape that is
not half of a surrogate pair (a lone surrogate) is refused: it is no character, and no UTF-8 text (the
indexes, the analytic table, an export) can hold it.

``Dataset.content_hash`` is the SHA-256 of the canonical JSON (sorted keys, no whitespace) of the
``[id, data]`` pairs, so the same records give the same hash whatever the formatting, and records
that moved to other ids (another root) give a different one.

Every input that cannot be used raises ``DataLoadError`` with a one-line message naming the file, and for bad
JSON the line and column, in its own words (never Python's exception text)::

    cars.json: invalid JSON at line 3, column 12: a lone surrogate (\\ud800) is not a character; ...

Each message is one catalog message (``N_``) with named values, its fragments (what the parser found wrong, a JSON
type's name) catalog messages too (``Term``): ``str(error)`` is English, ``error.worded("fr")`` French.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Any, Iterator

from rag.errors import DataLoadError
from rag.i18n import N_, Term
from rag.records import Dataset, Record

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_DEPTH = 64
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")
SCALAR_FIELD = "value"
"""The only flat field of a record that is a scalar."""

_CONTAINER_TYPES = frozenset((dict, list))
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_BYTES_NAME = "uploaded data"
_OBJECT_NAME = "data"
_JSON_PROBLEMS = (
    ("Expecting value", N_("a value was expected")),
    ("Expecting property name", N_("a key in double quotes was expected")),
    ("Expecting ':'", N_("a colon (:) was expected")),
    ("Expecting ','", N_("a comma (,) or a closing bracket was expected")),
    ("Unterminated string", N_("a string is not closed")),
    ("Invalid \\uXXXX", N_("a \\u escape needs four hexadecimal digits")),
    ("Invalid \\escape", N_("a backslash escape that JSON does not have")),
    ("Invalid control character", N_("a control character inside a string")),
    ("Illegal trailing comma", N_("a comma before a closing bracket")),
    ("Extra data", N_("more data follows a complete JSON value")),
)
"""The JSON parser's messages (prefixes) in our words (catalog messages)."""
_NOT_JSON = N_("this is not valid JSON")
_EMPTY = N_("{label}: the file is empty; expected JSON records")
_TOO_DEEP = N_("{label}: the data is nested too deeply: more than {max_depth} levels of arrays and objects")
_SURROGATE_ESCAPE = re.compile(r"(\\+)u([dD][89a-fA-F][0-9a-fA-F]{2})")
_LOW_SURROGATE_ESCAPE = re.compile(r"\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_RAW_SURROGATE = re.compile(r"[\ud800-\udfff]")
_UTF16_32_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def load_dataset(
    source: str | os.PathLike[str] | bytes | Any,
    *,
    name: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> Dataset:
    """Load a dataset from a file path (str or Path), the file's bytes, or an already parsed object.

    ``max_bytes`` limits the size of a file or bytes; ``max_depth`` the nesting of arrays and objects
    (the top-level container is level 1). Raises ``DataLoadError`` for anything unusable.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        label = name or path.name or str(path)
        raw = _read_file(path, label, max_bytes)
        json_lines = _is_json_lines_name(label) or _is_json_lines_name(path.name)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        label = name or _BYTES_NAME
        raw = bytes(source)
        json_lines = _is_json_lines_name(label)
        _check_size(len(raw), max_bytes, label)
    else:
        label = name or _OBJECT_NAME
        return _load_object(source, label, max_depth)

    text = _decode(raw, label)
    if not text.strip():
        raise DataLoadError(_EMPTY, label=label)
    if json_lines:
        values = _parse_json_lines(text, label, max_depth)
        _refuse_lone_surrogates(text, label, json_lines=True)
        return _make_dataset(label, values, (), len(raw))
    try:
        document = _parse_document(text, label, max_depth)
    except _ExtraData as extra:
        try:
            values = _parse_json_lines(text, label, max_depth)
        except DataLoadError:
            if extra.one_per_line:  # looks like JSON Lines: the line error is the useful one
                raise
            raise extra.error from None
        _refuse_lone_surrogates(text, label, json_lines=True)
        return _make_dataset(label, values, (), len(raw))
    _refuse_lone_surrogates(text, label, json_lines=False)
    return _dataset_from_document(document, label, len(raw))


def format_json_path(segments: list[str | int] | tuple[str | int, ...]) -> str:
    """The canonical JSON path of object keys (str) and array indexes (int) below the root ``$``."""
    return "$" + "".join(_id_segment(segment) for segment in segments)


def flatten_record(value: Any) -> dict[str, Any]:
    """Field path -> scalar for one record (see the module docstring for the path scheme)."""
    if isinstance(value, dict):
        if _CONTAINER_TYPES.isdisjoint(map(type, value.values())) and _all_plain_keys(value):
            return dict(value)  # the common case: a flat object whose keys need no quoting
    elif not isinstance(value, list):
        return {SCALAR_FIELD: value}
    flat: dict[str, Any] = {}
    segments = _FLAT_SEGMENTS
    stack: list[tuple[str, Iterator[tuple[Any, Any]], bool]] = [_container_items(value, "")]
    while stack:
        prefix, items, is_list = stack[-1]
        for key, child in items:
            if is_list:
                path = f"{prefix}[{key}]"
            else:
                segment = segments.get(key) or _flat_key_segment(key)
                if not prefix:
                    path = segment
                elif segment[0] == "[":
                    path = prefix + segment
                else:
                    path = f"{prefix}.{segment}"
            if isinstance(child, dict):
                if child:
                    stack.append((path, iter(child.items()), False))
                    break
            elif isinstance(child, list):
                if child:
                    stack.append((path, enumerate(child), True))
                    break
            else:
                flat[path] = child
        else:
            stack.pop()
    return flat


# --- reading and decoding -------------------------------------------------------------------


def _read_file(path: Path, label: str, max_bytes: int) -> bytes:
    """The file's bytes, refusing before reading when it is over ``max_bytes``."""
    try:
        if path.is_dir():
            raise DataLoadError(N_("{label}: is a folder, not a JSON file ({path})"), label=label, path=path)
        size = path.stat().st_size
        _check_size(size, max_bytes, label)
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise DataLoadError(N_("{label}: file not found ({path})"), label=label, path=path) from None
    except PermissionError:
        raise DataLoadError(
            N_("{label}: permission denied, the file cannot be read ({path})"), label=label, path=path
        ) from None
    except OSError as error:
        raise DataLoadError(
            N_("{label}: the file cannot be read: {reason}"), label=label, reason=error.strerror or error
        ) from None
    _check_size(len(raw), max_bytes, label)  # the file may have grown since stat()
    return raw


def _check_size(size: int, max_bytes: int, label: str) -> None:
    if size > max_bytes:
        raise DataLoadError(
            N_(
                "{label}: the file is too large: {megabytes:.1f} MB ({size:,} bytes), "
                "over the limit of {limit_megabytes:.1f} MB ({limit:,} bytes)"
            ),
            label=label,
            megabytes=size / (1024 * 1024),
            size=size,
            limit_megabytes=max_bytes / (1024 * 1024),
            limit=max_bytes,
        )


def _decode(raw: bytes, label: str) -> str:
    """UTF-8 text without a byte order mark."""
    for bom, encoding in _UTF16_32_BOMS:
        if raw.startswith(bom):
            raise DataLoadError(
                N_("{label}: the file is {encoding} encoded; save it as UTF-8 and upload it again"),
                label=label,
                encoding=encoding,
            )
    skipped = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        return raw[skipped:].decode("utf-8")
    except UnicodeDecodeError as error:
        offset = skipped + error.start
        line = raw.count(b"\n", 0, offset) + 1
        raise DataLoadError(
            N_(
                "{label}: the file is not valid UTF-8: byte 0x{byte:02x} at byte offset {offset} "
                "(line {line}) cannot be decoded; save the file as UTF-8"
            ),
            label=label,
            byte=raw[offset],
            offset=offset,
            line=line,
        ) from None


# --- parsing ----------------------------------------------------------------------------------


class _ExtraData(Exception):
    """The text starts with one JSON document and goes on: maybe JSON Lines."""

    def __init__(self, error: DataLoadError, *, one_per_line: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.one_per_line = one_per_line
        """Whether the first document fills its own line and more follows on the next lines."""


def _is_json_lines_name(name: str) -> bool:
    return name.lower().endswith(JSON_LINES_SUFFIXES)


def _finite_float(text: str) -> float | None:
    number = float(text)
    return number if math.isfinite(number) else None


def _not_a_number(_constant: str) -> None:
    return None


def _parse_value(text: str) -> Any:
    return json.loads(text, parse_float=_finite_float, parse_constant=_not_a_number, strict=False)


def _parse_document(text: str, label: str, max_depth: int) -> Any:
    """Parse one JSON document; raise ``_ExtraData`` when more follows a complete document."""
    try:
        value = _parse_value(text)
    except json.JSONDecodeError as error:
        failure = _invalid_json(error, label)
        if error.msg == "Extra data":
            first_end = len(text[: error.pos].rstrip())
            one_per_line = "\n" not in text[:first_end].strip() and "\n" in text[first_end : error.pos]
            raise _ExtraData(failure, one_per_line=one_per_line) from None
        raise failure from None
    except RecursionError:
        raise _too_deep_in_text(text, label, max_depth, line_offset=0) from None
    except ValueError:  # an integer with more digits than Python converts
        raise _unreadable_number(text, label, json_lines=False) from None
    _check_depth(value, label, max_depth, base_depth=0, base_path=())
    return value


def _parse_json_lines(text: str, label: str, max_depth: int) -> list[Any]:
    """One value per non-empty line; lines end with ``\\n`` (a ``\\r`` before it is dropped)."""
    values: list[Any] = []
    for line_index, line in enumerate(text.split("\n")):
        if not line.strip():
            continue
        line_number = line_index + 1
        try:
            value = _parse_value(line)
        except json.JSONDecodeError as error:
            raise _invalid_json(error, label, line=line_number) from None
        except RecursionError:
            raise _too_deep_in_text(line, label, max_depth, line_offset=line_index, base_depth=1) from None
        except ValueError:
            raise _unreadable_number(line, label, json_lines=True, line_offset=line_index) from None
        _check_depth(value, label, max_depth, base_depth=1, base_path=(len(values),), line=line_number)
        values.append(value)
    if not values:
        raise DataLoadError(_EMPTY, label=label)
    return values


_BAD_JSON: dict[str, tuple[str, str]] = {
    "cut short": (
        N_(
            "{label}: invalid JSON at line {line}, column {column}: "
            "the text ends before the JSON is complete (is the file cut short?)"
        ),
        N_(
            "{label}: invalid JSON Lines: line {line}, column {column}: "
            "the text ends before the JSON is complete (is the file cut short?)"
        ),
    ),
    "near": (
        N_("{label}: invalid JSON at line {line}, column {column}: {problem} (near {excerpt})"),
        N_("{label}: invalid JSON Lines: line {line}, column {column}: {problem} (near {excerpt})"),
    ),
    "at the end": (
        N_("{label}: invalid JSON at line {line}, column {column}: {problem} (at the end of the text)"),
        N_("{label}: invalid JSON Lines: line {line}, column {column}: {problem} (at the end of the text)"),
    ),
    "long number": (
        N_("{label}: invalid JSON at line {line}, column {column}: a number with more than {limit:,} digits"),
        N_("{label}: invalid JSON Lines at line {line}, column {column}: a number with more than {limit:,} digits"),
    ),
    "unreadable": (
        N_("{label}: invalid JSON: the text cannot be read as JSON"),
        N_("{label}: invalid JSON Lines: the text cannot be read as JSON"),
    ),
    "lone surrogate": (
        N_(
            "{label}: invalid JSON at line {line}, column {column}: a lone surrogate ({escape}) is not a "
            "character; only a pair of them (\\ud83d\\ude00) is"
        ),
        N_(
            "{label}: invalid JSON Lines: line {line}, column {column}: a lone surrogate ({escape}) is not a "
            "character; only a pair of them (\\ud83d\\ude00) is"
        ),
    ),
}
"""The messages of bad JSON text, each for a JSON document and for a JSON Lines file (indexed by
``json_lines``)."""


def _invalid_json(
    error: json.JSONDecodeError, label: str, *, line: int | None = None, width: int = 30
) -> DataLoadError:
    """The error for text the parser refused: where (``line`` of a JSON Lines file, else the parser's line),
    what is wrong in our words (not the parser's message), and a short piece of the text there."""
    json_lines = line is not None
    values: dict[str, Any] = {"label": label, "line": error.lineno if line is None else line, "column": error.colno}
    if not error.doc[error.pos :].strip():
        return DataLoadError(_BAD_JSON["cut short"][json_lines], **values)
    problem = next((words for prefix, words in _JSON_PROBLEMS if error.msg.startswith(prefix)), _NOT_JSON)
    piece = error.doc[error.pos : error.pos + width].split("\n", 1)[0].strip()
    if not piece:
        return DataLoadError(_BAD_JSON["at the end"][json_lines], problem=Term(problem), **values)
    excerpt = json.dumps(piece, ensure_ascii=False)
    return DataLoadError(_BAD_JSON["near"][json_lines], problem=Term(problem), excerpt=excerpt, **values)


def _position(text: str, index: int, line_offset: int = 0) -> tuple[int, int]:
    """The line and column of ``text[index]`` (both from 1)."""
    line = text.count("\n", 0, index) + 1 + line_offset
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


def _unreadable_number(text: str, label: str, *, json_lines: bool, line_offset: int = 0) -> DataLoadError:
    """The error for a text the parser refuses though it can read it otherwise: a number with more digits than
    Python converts (``sys.get_int_max_str_digits()``), pointed at."""
    limit = getattr(sys, "get_int_max_str_digits", lambda: 4300)() or 4300
    found = re.search(r"[0-9]{%d,}" % (limit + 1), text)
    if found is None:
        return DataLoadError(_BAD_JSON["unreadable"][json_lines], label=label)
    line, column = _position(text, found.start(), line_offset)
    return DataLoadError(_BAD_JSON["long number"][json_lines], label=label, line=line, column=column, limit=limit)


def _refuse_lone_surrogates(text: str, label: str, *, json_lines: bool) -> None:
    """Raise when ``text`` (valid JSON) holds a ``\\uD800``-``\\uDFFF`` escape that is not half of a pair.

    Only the surrogate escapes are looked at: in valid JSON a backslash is always inside a string, and an odd
    run of backslashes before ``u`` makes an escape (an even one is escaped backslashes followed by text)."""
    paired_until = -1
    for match in _SURROGATE_ESCAPE.finditer(text):
        if len(match.group(1)) % 2 == 0:
            continue
        start = match.end(1) - 1
        if int(match.group(2), 16) >= 0xDC00:  # low half: only right after a high half
            if start == paired_until:
                continue
        elif _LOW_SURROGATE_ESCAPE.match(text, match.end()):
            paired_until = match.end()
            continue
        line, column = _position(text, start)
        escape = text[start : match.end()]
        raise DataLoadError(
            _BAD_JSON["lone surrogate"][json_lines], label=label, line=line, column=column, escape=escape
        )


def _check_depth(
    value: Any,
    label: str,
    max_depth: int,
    *,
    base_depth: int,
    base_path: tuple[str | int, ...],
    line: int | None = None,
) -> None:
    """Raise when arrays and objects nest deeper than ``max_depth``; iterative, any depth is safe."""
    if not isinstance(value, (dict, list)):
        return
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(value, base_depth + 1, base_path)]
    while stack:
        container, depth, path = stack.pop()
        if depth > max_depth:
            shown = format_json_path(path)
            if len(shown) > 80:
                shown = shown[:77] + "..."
            if line is None:
                message = N_(
                    "{label}: the data is nested too deeply: more than {max_depth} levels of arrays and objects "
                    "(at {path})"
                )
            else:
                message = N_(
                    "{label}: the data is nested too deeply on line {line}: more than {max_depth} levels of "
                    "arrays and objects (at {path})"
                )
            raise DataLoadError(message, label=label, line=line, max_depth=max_depth, path=shown)
        items = container.items() if isinstance(container, dict) else enumerate(container)
        for key, child in items:
            if isinstance(child, (dict, list)):
                if depth < max_depth and _is_leaf_container(child):
                    continue  # holds only scalars: one level deeper, still within the limit
                stack.append((child, depth + 1, path + (key,)))


def _is_leaf_container(value: dict[str, Any] | list[Any]) -> bool:
    return _CONTAINER_TYPES.isdisjoint(map(type, value.values() if isinstance(value, dict) else value))


def _too_deep_in_text(text: str, label: str, max_depth: int, *, line_offset: int, base_depth: int = 0) -> DataLoadError:
    """The error for text too deep for the parser, pointing at where ``max_depth`` is crossed."""
    depth = base_depth
    for match in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text, flags=re.DOTALL):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                line, column = _position(text, match.start(), line_offset)
                return DataLoadError(
                    N_(
                        "{label}: the data is nested too deeply at line {line}, column {column}: more than "
                        "{max_depth} levels of arrays and objects"
                    ),
                    label=label,
                    line=line,
                    column=column,
                    max_depth=max_depth,
                )
        elif token in "]}":
            depth -= 1
    return DataLoadError(_TOO_DEEP, label=label, max_depth=max_depth)


# --- from parsed values to records ---------------------------------------------------------------


def _load_object(source: Any, label: str, max_depth: int) -> Dataset:
    """An already parsed object, normalised through JSON text (a copy; NaN -> None), then loaded."""
    try:
        text = json.dumps(source, ensure_ascii=False, default=_unsupported)
    except RecursionError:
        raise DataLoadError(_TOO_DEEP, label=label, max_depth=max_depth) from None
    except _NotJSON as error:
        raise DataLoadError(
            N_("{label}: the object cannot be used as JSON data: a value of type {type} is not JSON"),
            label=label,
            type=error.type_name,
        ) from None
    except TypeError:  # json.dumps refuses a key that is not a string, number, boolean or None
        raise DataLoadError(
            N_("{label}: the object cannot be used as JSON data: a key is not a string or a number"), label=label
        ) from None
    except ValueError:  # json.dumps refuses a container that holds itself
        raise DataLoadError(
            N_("{label}: the object cannot be used as JSON data: it contains itself"), label=label
        ) from None
    surrogate = _RAW_SURROGATE.search(text)
    if surrogate is not None:
        raise DataLoadError(
            N_(
                "{label}: the object cannot be used as JSON data: a string holds a lone surrogate "
                "(\\u{code:04x}), which is not a character"
            ),
            label=label,
            code=ord(surrogate.group()),
        )
    return _dataset_from_document(_parse_document(text, label, max_depth), label, 0)


class _NotJSON(TypeError):
    """A value of a type JSON has no counterpart for (``type_name``: its Python type)."""

    def __init__(self, type_name: str) -> None:
        super().__init__(f"a value of type {type_name} is not JSON")
        self.type_name = type_name


def _unsupported(value: Any) -> Any:
    raise _NotJSON(type(value).__name__)


def _dataset_from_document(document: Any, label: str, size_bytes: int) -> Dataset:
    if isinstance(document, list):
        if not document:
            raise DataLoadError(N_("{label}: no records found: the top-level array is empty"), label=label)
        return _make_dataset(label, document, (), size_bytes)
    if isinstance(document, dict):
        found = _main_array(document)
        if found is not None:
            path, array = found
            return _make_dataset(label, array, path, size_bytes)
        record = Record(id="$", data=document, flat=flatten_record(document))
        if not record.flat:
            if not document:
                raise DataLoadError(N_("{label}: no records found: the top-level object is empty"), label=label)
            raise DataLoadError(N_("{label}: no records found: the object holds no values"), label=label)
        return Dataset(name=label, records=[record], content_hash=_content_hash([record]), root_path="$", size_bytes=size_bytes)
    raise DataLoadError(
        N_(
            "{label}: expected records (an array of objects, an object, or JSON Lines), "
            "but the data is a single {kind} value: {preview}"
        ),
        label=label,
        kind=Term(_json_type(document)),
        preview=_scalar_preview(document),
    )


def _make_dataset(label: str, elements: list[Any], root: tuple[str | int, ...], size_bytes: int) -> Dataset:
    root_path = format_json_path(root)
    records = [
        Record(id=f"{root_path}[{index}]", data=element, flat=flatten_record(element))
        for index, element in enumerate(elements)
    ]
    return Dataset(
        name=label,
        records=records,
        content_hash=_content_hash(records),
        root_path=root_path,
        size_bytes=size_bytes,
    )


def _main_array(document: dict[str, Any]) -> tuple[tuple[str, ...], list[Any]] | None:
    """The array with the most object elements, reached through objects only (first one on ties)."""
    best: tuple[int, tuple[str, ...], list[Any]] | None = None
    stack: list[tuple[tuple[str, ...], Iterator[tuple[str, Any]]]] = [((), iter(document.items()))]
    while stack:  # depth-first, in document order
        path, items = stack[-1]
        for key, child in items:
            if isinstance(child, dict):
                stack.append((path + (key,), iter(child.items())))
                break
            if isinstance(child, list):
                objects = sum(1 for element in child if isinstance(element, dict))
                if objects and (best is None or objects > best[0]):
                    best = (objects, path + (key,), child)
        else:
            stack.pop()
    return None if best is None else (best[1], best[2])


def _content_hash(records: list[Record]) -> str:
    canonical = json.dumps(
        [[record.id, record.data] for record in records],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        allow_nan=False,
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _json_type(value: Any) -> str:
    """The name of a scalar's JSON type (a catalog message), or of its Python type."""
    if value is None:
        return N_("null")
    if isinstance(value, bool):
        return N_("boolean")
    if isinstance(value, (int, float)):
        return N_("number")
    if isinstance(value, str):
        return N_("string")
    return type(value).__name__


def _scalar_preview(value: Any) -> str:
    shown = json.dumps(value, ensure_ascii=False)
    return shown if len(shown) <= 40 else shown[:37] + "..."


# --- paths ------------------------------------------------------------------------------------


def _id_segment(segment: str | int) -> str:
    if isinstance(segment, int):
        return f"[{segment}]"
    if _IDENTIFIER.match(segment):
        return f".{segment}"
    return f"[{json.dumps(segment, ensure_ascii=False)}]"


_FLAT_SEGMENTS: dict[str, str] = {}
_PLAIN_KEYS: set[str] = set()
"""Keys seen so far that a flat path writes as they are (bounded cache)."""
_CACHE_LIMIT = 100_000


def _all_plain_keys(obj: dict[str, Any]) -> bool:
    if _PLAIN_KEYS.issuperset(obj):
        return True
    for key in obj:
        if _flat_key_segment(key) != key:
            return False
        if len(_PLAIN_KEYS) < _CACHE_LIMIT:
            _PLAIN_KEYS.add(key)
    return True


def _flat_key_segment(key: str) -> str:
    """A key as written in a flat path: as is, unless it could be confused with path syntax."""
    segment = _FLAT_SEGMENTS.get(key)
    if segment is None:
        if key and not any(char in key for char in ".[]"):
            segment = key
        else:
            segment = f"[{json.dumps(key, ensure_ascii=False)}]"
        if len(_FLAT_SEGMENTS) < _CACHE_LIMIT:
            _FLAT_SEGMENTS[key] = segment
    return segment


def _container_items(value: dict[str, Any] | list[Any], prefix: str) -> tuple[str, Iterator[tuple[Any, Any]], bool]:
    if isinstance(value, dict):
        return prefix, iter(value.items()), False
    return prefix, enumerate(value), True
