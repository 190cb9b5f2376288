"""Exact matches of codes, ids and names: the channel of retrieval that comes before the fused ranking.

Reciprocal-rank fusion counts ranks, not scores: BM25 ranked the record holding a three-letter code
first by far (2.61 against 0.44 for the next), the dense ranking did not have it, and after fusion it
was not in the top 10. So a record holding, word for word, a code, id or name the question gives is
put first, whatever the rankings say.

Build: the fields that hold identifiers or names are told apart on a sample of the records: short
values (at most ``MAX_VALUE_CHARS`` characters and ``MAX_VALUE_WORDS`` words) of text, or integers in a
field named like an id (``id``, ``code``, ``number``...), and values that pick out few records (distinct
values at least ``1 / MAX_RECORDS_PER_VALUE`` of the values). Every record's values of those fields are
indexed normalised (``rag.mentions.normalise``: ``FR-75`` -> ``fr 75``), each as a 64-bit hash in one
sorted array beside the position of the record's first document and the field: 16 bytes a value and no
Python object per value, so a million records take tens of megabytes. A value shared by more than
``MAX_RECORDS_PER_VALUE`` records is dropped: "USA" in 250 cars picks out nothing.

Search: every run of 1 to ``MAX_VALUE_WORDS`` question words is looked up, and each hit is checked against
the record's own value (a hash collision never matches). A weak run ("no", "it", "578") counts only in
a field the question names (``rag.mentions``). A run inside a longer matching run is dropped ("chevrolet
chevelle malibu" inside "chevrolet chevelle malibu classic"). Matches in a field the question names come
first, then values shared by fewer records, then longer values; a weak run's match comes after every other.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from array import array
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from rag.documents import Document
from rag.mentions import MAX_VALUE_WORDS, Question, field_words, normalise, words
from rag.records import Record

MAX_RECORDS_PER_VALUE = 5
"""A value shared by more records than this is no exact-match winner (and is not indexed)."""
MAX_VALUE_CHARS = 64
SAMPLE_RECORDS = 10_000
"""Records read to tell which fields hold identifiers or names (drawn at random over the dataset)."""
MIN_SHORT_SHARE = 0.5
"""A field is indexed when at least this share of its values are short text (or id-like integers) ..."""
MIN_DISTINCT_SHARE = 1 / MAX_RECORDS_PER_VALUE
"""... and its distinct values are at least this share of them: a value picks out a few records on average."""
ID_WORDS = frozenset(
    {"id", "ids", "code", "codes", "number", "num", "no", "nr", "key", "sku", "ref", "serial", "isbn", "zip"}
)
"""Words of a field name that make its integers identifiers (``order_id``, ``zip``); other integers are measures."""
LABEL_WORDS = frozenset({"name", "title", "label"})

_ARRAY_INDEX = re.compile(r"\[\d+\]")
_ARRAYS_FILE = "exact.npz"
_FACTS_FILE = "exact.json"
_FORMAT = 1


def value_hash(text: str) -> int:
    """A stable 64-bit hash of a normalised value (the same in every process, so the index can be saved)."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _short_value(path_key: str, value: object) -> str:
    """The normalised value when it is one an exact match can name, else ``""``."""
    if isinstance(value, str):
        if not 0 < len(value) <= MAX_VALUE_CHARS:
            return ""
        text = normalise(value)
        return text if text and text.count(" ") < MAX_VALUE_WORDS else ""
    if isinstance(value, int) and not isinstance(value, bool) and _id_like(path_key):
        return normalise(value)
    return ""


@lru_cache(maxsize=4096)
def _id_like(path_key: str) -> bool:
    """True when the field's own name (its last part) has an id-like word."""
    last = path_key.rsplit(".", 1)[-1]
    return any(word.casefold() in ID_WORDS for word in words(re.sub(r"(?<=[a-z])(?=[A-Z])", " ", last)))


@dataclass(frozen=True)
class ExactMatch:
    """A record holding, word for word, a value the question gives."""

    doc: int
    """Position of the record's first document."""
    field: str
    """Field path of the value."""
    value: str
    """The value, normalised."""
    named: bool
    """True when the question also names the field ("alpha-3 code NOR")."""
    sharing: int
    """Records holding this value in an indexed field (1 for a unique code)."""
    weak: bool = False
    """Matched by a weak run ("est", "de", "no" written in lower case): in a named field only."""

    @property
    def rank_key(self) -> tuple[int, int, int, int, int]:
        """Smaller is more specific: a strong run before a weak one ("Botswana" before the "est" of "quel est le
        code de Botswana", which is Estonia's code), a named field, a rarer value, then a longer one."""
        return (self.weak, not self.named, self.sharing, -(self.value.count(" ") + 1), -len(self.value))


class ExactMatchIndex:
    """Normalised identifier and name values -> the records holding them; read-only once built."""

    def __init__(
        self, fields: list[str], keys: np.ndarray, docs: np.ndarray, field_ids: np.ndarray, label_field: str = ""
    ) -> None:
        self.fields = fields
        """Field paths (as in ``Record.flat``) that ``field_ids`` point into."""
        self.keys = keys
        """Hashes of the normalised values, sorted (uint64)."""
        self.docs = docs
        """Position of the first document of the record holding each value."""
        self.field_ids = field_ids
        self.label_field = label_field
        """The dataset's name-like field (``name``, ``title``, else the first indexed text field), or ``""``."""

    @property
    def size(self) -> int:
        """Values indexed."""
        return len(self.keys)

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays (the field paths aside)."""
        return int(self.keys.nbytes + self.docs.nbytes + self.field_ids.nbytes)

    @classmethod
    def build(cls, documents: Sequence[Document], records: Mapping[str, Record]) -> ExactMatchIndex:
        """The index of the records behind ``documents`` (each record read once, at its first document)."""
        starts = [position for position, doc in enumerate(documents) if doc.chunk_index == 0]
        indexed, label_field = _identifier_fields([records[documents[p].record_id] for p in _sample(starts)])
        fields: list[str] = []
        field_of: dict[str, int] = {}
        keys, docs, field_ids = array("Q"), array("q"), array("l")

        def add(position: int, path: str, field_id: int, value: object) -> None:
            text = _short_value(path, value) if value is not None else ""
            if text:
                keys.append(value_hash(text))
                docs.append(position)
                field_ids.append(field_id)

        if not any("[" in key for key in indexed):  # the fields are the same paths in every record: read only them
            fields = sorted(indexed)
            for position in starts:
                flat = records[documents[position].record_id].flat
                for field_id, path in enumerate(fields):
                    add(position, path, field_id, flat.get(path))
        else:
            for position in starts:
                for path, value in records[documents[position].record_id].flat.items():
                    field_id = field_of.get(path)
                    if field_id is None:
                        field_id = field_of[path] = len(fields) if _ARRAY_INDEX.sub("[]", path) in indexed else -1
                        if field_id >= 0:
                            fields.append(path)
                    if field_id >= 0:
                        add(position, path, field_id, value)
        return cls._packed(fields, keys, docs, field_ids, label_field, len(documents))

    @classmethod
    def _packed(
        cls, fields: list[str], keys: array, docs: array, field_ids: array, label_field: str, documents: int
    ) -> ExactMatchIndex:
        """Sorted arrays, one entry per value and record, without the values shared by too many records."""
        key_array = np.frombuffer(keys, dtype=np.uint64) if len(keys) else np.zeros(0, dtype=np.uint64)
        doc_array = np.frombuffer(docs, dtype=np.int64) if len(docs) else np.zeros(0, dtype=np.int64)
        field_array = np.asarray(field_ids, dtype=np.int64)
        order = np.lexsort((doc_array, key_array))
        key_array, doc_array, field_array = key_array[order], doc_array[order], field_array[order]
        if len(key_array):
            first = np.ones(len(key_array), dtype=bool)  # one entry per (value, record)
            first[1:] = (key_array[1:] != key_array[:-1]) | (doc_array[1:] != doc_array[:-1])
            key_array, doc_array, field_array = key_array[first], doc_array[first], field_array[first]
            run_starts = np.flatnonzero(np.r_[True, key_array[1:] != key_array[:-1]])
            run_lengths = np.diff(np.r_[run_starts, len(key_array)])
            keep = np.repeat(run_lengths <= MAX_RECORDS_PER_VALUE, run_lengths)
            key_array, doc_array, field_array = key_array[keep], doc_array[keep], field_array[keep]
        doc_type = np.int32 if documents < 2**31 else np.int64
        field_type = np.int32 if len(fields) < 2**31 else np.int64
        keys_sorted = np.ascontiguousarray(key_array)
        return cls(fields, keys_sorted, doc_array.astype(doc_type), field_array.astype(field_type), label_field)

    def lookup(self, query: str, documents: Sequence[Document], records: Mapping[str, Record]) -> list[ExactMatch]:
        """The records holding a value ``query`` gives word for word, most specific first (one match a record)."""
        if not len(self.keys):
            return []
        question = Question(query)
        spans = list(question.spans())
        if not spans:
            return []
        hashes = np.fromiter((value_hash(span.text) for span in spans), dtype=np.uint64, count=len(spans))
        lows = np.searchsorted(self.keys, hashes, side="left")
        highs = np.searchsorted(self.keys, hashes, side="right")
        found: list[tuple[int, int, list[ExactMatch]]] = []
        for span, low, high in zip(spans, lows.tolist(), highs.tolist()):
            matches = []
            for entry in range(low, high):
                doc, path = int(self.docs[entry]), self.fields[int(self.field_ids[entry])]
                flat = records[documents[doc].record_id].flat
                if normalise(flat.get(path)) != span.text:
                    continue  # a hash collision
                named = path in question.named_fields(flat)
                if span.weak and not named:
                    continue
                matches.append(ExactMatch(doc, path, span.text, named, high - low, span.weak))
            if matches:
                found.append((span.start, span.end, matches))
        best: dict[int, ExactMatch] = {}
        for start, end, matches in found:
            if any(s <= start and end <= e and e - s > end - start for s, e, _ in found):
                continue  # part of a longer value the question gives
            for match in matches:
                if match.doc not in best or match.rank_key < best[match.doc].rank_key:
                    best[match.doc] = match
        return sorted(best.values(), key=lambda match: (match.rank_key, match.doc))

    def save(self, folder: str | Path) -> None:
        """Write the index into ``folder``: the arrays as ``.npz`` (no pickles), the field paths as JSON."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(folder / _ARRAYS_FILE, keys=self.keys, docs=self.docs, field_ids=self.field_ids)
        facts = {"format": _FORMAT, "fields": self.fields, "label_field": self.label_field}
        (folder / _FACTS_FILE).write_text(json.dumps(facts, ensure_ascii=False), "utf-8", errors="surrogatepass")

    @classmethod
    def load(cls, folder: str | Path, document_count: int | None = None) -> ExactMatchIndex:
        """The index ``save`` wrote into ``folder``; ValueError when it does not fit indexes of ``document_count``
        documents, or its arrays do not fit together."""
        folder = Path(folder)
        facts = json.loads((folder / _FACTS_FILE).read_text("utf-8", errors="surrogatepass"))
        if facts.get("format") != _FORMAT:
            raise ValueError(f"{folder}: exact-match index format {facts.get('format')!r}, not {_FORMAT}")
        with np.load(folder / _ARRAYS_FILE, allow_pickle=False) as arrays:
            keys, docs, field_ids = arrays["keys"], arrays["docs"], arrays["field_ids"]
        fields = [str(path) for path in facts["fields"]]
        if not len(keys) == len(docs) == len(field_ids) or keys.dtype != np.uint64 or np.any(keys[1:] < keys[:-1]):
            raise ValueError(f"{folder}: the exact-match arrays do not fit together")
        if len(docs) and (docs.min() < 0 or (document_count is not None and docs.max() >= document_count)):
            raise ValueError(f"{folder}: the exact-match index names documents the indexes do not hold")
        if len(field_ids) and (field_ids.min() < 0 or field_ids.max() >= len(fields)):
            raise ValueError(f"{folder}: the exact-match index names fields it does not list")
        return cls(fields, keys, docs, field_ids, str(facts.get("label_field", "")))


def _sample(positions: list[int]) -> list[int]:
    """At most ``SAMPLE_RECORDS`` of ``positions``, drawn at random (a fixed seed): a stride could fall in step
    with records that alternate kinds."""
    if len(positions) <= SAMPLE_RECORDS:
        return positions
    return sorted(random.Random(len(positions)).sample(positions, SAMPLE_RECORDS))


def _identifier_fields(sample: Sequence[Record]) -> tuple[set[str], str]:
    """The fields (array indices as ``[]``) whose values are short and mostly distinct, and the label field."""
    present: dict[str, int] = {}
    short: dict[str, int] = {}
    distinct: dict[str, set[str]] = {}
    text_fields: set[str] = set()
    for record in sample:
        for path, value in record.flat.items():
            if value is None:
                continue
            key = _ARRAY_INDEX.sub("[]", path)
            present[key] = present.get(key, 0) + 1
            text = _short_value(key, value)
            if text:
                short[key] = short.get(key, 0) + 1
                distinct.setdefault(key, set()).add(text)
                if isinstance(value, str):
                    text_fields.add(key)
    indexed = {
        key
        for key, count in short.items()
        if count >= MIN_SHORT_SHARE * present[key] and len(distinct[key]) >= MIN_DISTINCT_SHARE * count
    }
    top_level = [key for key in present if key in indexed and key in text_fields and "." not in key and "[" not in key]
    named = [key for key in top_level if LABEL_WORDS.intersection(field_words(key))]
    return indexed, (named or top_level or [""])[0]
