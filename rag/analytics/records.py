"""The ``records`` operation: the records matching a spec's filters, with the fields asked of them.

Like a row of datasette's ``TemplatedFilter``, this operation's spec rules, its SQL and its sentences sit
here together; ``validate_spec``, ``build_sql`` and ``summarize`` hand a ``records`` spec to this module.

Spec
    ``QuerySpec("records", filters=(...), fields=("alpha_3",))``: the records meeting every filter (every record
    without filters), showing ``fields``. ``field`` sorts them (``order``: ascending unless ``desc``), else
    they come in the file's order; ``limit`` keeps the first N. No grouping. A field of a child table
    (``items.product``) shows each record's elements' values (of the elements meeting the spec's filters on
    that table) as a list; filters on a child table keep the records having a matching element.
SQL
    One row per record: ``_record_id`` (first: found by position, never by name), the record's label (the
    schema's ``label_field``, else its first date field, when there is one), each field shown, then the sort
    field when it is not shown already. At most ``limit`` rows, else ``MAX_LIMIT``.
Sentences
    A *lookup* asks fields of the records: "The alpha_3 of Norway is NOR."; "The Weight_in_lbs of the 4 cars
    named chevrolet impala: 4,354; 4,209; 4,274; 4,997." A *listing* asks for the records themselves (the
    fields shown are only those its filters use): "6 subdivisions end with 'burg': Salzburg, Limburg, …";
    "The country with alpha_3 = NOR is Norway."; "No cars are named tesla." Up to ``LISTED`` records are
    named, with the count of all.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from rag.analytics.errors import SpecError
from rag.analytics.spec import MAX_LIMIT, RECORD_ID, RECORDS_TABLE, TEXT_OPS, ColumnInfo, QuerySpec, TableSchema
from rag.analytics.wording import describe_filters, format_key, format_value
from rag.analytics.words import field_words, stem
from rag.i18n import ENGLISH, N_, _, current_language

LISTED = 10
"""Records named in a listing's sentence (the count says how many there are)."""
SORTABLE_TYPES = ("number", "date", "timestamp", "text")

_KEY_WORDS = frozenset({"year", "id", "code", "num", "numeric", "number", "zip", "postcode", "iso", "sku"})
"""Field words of numbers that are names, written without thousands separators (``year`` 1952, ``iso_num`` 152)."""


# --- spec ----------------------------------------------------------------------------------------------


def check(spec: QuerySpec, schema: TableSchema) -> QuerySpec:
    """The rules of a ``records`` spec whose fields and filters ``validate_spec`` has resolved already."""
    if spec.group_by is not None:
        raise SpecError("records cannot be grouped; ask for a count or another measure per group instead")
    field = spec.field
    if field is not None:
        column = schema.columns[field]
        if column.table != RECORDS_TABLE:
            raise SpecError(f"records are sorted by a field of the records, and {field} is in the list {column.table}")
        if column.type not in SORTABLE_TYPES:
            raise SpecError(f"records cannot be sorted by {field}: it holds {column.type} values")
    label = label_column(schema)
    shown = tuple(path for path in spec.fields if label is None or path != label.path)  # the label is always shown
    return replace(spec, fields=shown, order=spec.order if field is not None else None)


def label_column(schema: TableSchema) -> ColumnInfo | None:
    """The field that names a record in the rows and sentences: the schema's label, else its first date field."""
    if schema.label_field and schema.label_field in schema.columns:
        return schema.columns[schema.label_field]
    return next((c for c in schema.columns.values() if c.table == RECORDS_TABLE and c.type in ("date", "timestamp")),
                None)


@dataclass(frozen=True)
class Layout:
    """The columns of a ``records`` result: ``_record_id``, the label (if any), then ``shown``."""

    label: ColumnInfo | None
    shown: tuple[ColumnInfo, ...]
    """The fields shown, then the sort field when it is not one of them."""
    surname: ColumnInfo | None = None
    """The field completing the label into a person's name (``last_name`` beside ``first_name``), right after it."""

    @property
    def naming(self) -> list[ColumnInfo]:
        """The columns that name a record, in order: the label and its surname."""
        return [column for column in (self.label, self.surname) if column is not None]

    @property
    def columns(self) -> list[str]:
        return [RECORD_ID] + [c.path for c in self.naming] + [c.path for c in self.shown]

    def position(self, path: str) -> int:
        """Where ``path``'s values stand in a row."""
        return self.columns.index(path, 1)


def layout(spec: QuerySpec, schema: TableSchema) -> Layout:
    label = label_column(schema)
    paths = [path for path in spec.fields if label is None or path != label.path]
    if spec.field is not None and spec.field not in paths and (label is None or spec.field != label.path):
        paths.append(spec.field)
    surname = surname_column(schema, label)
    if surname is not None and surname.path in paths:
        surname = None
    return Layout(label, tuple(schema.columns[path] for path in paths), surname)


_FIRST_WORDS = {"first": ("last", "family", "sur"), "given": ("family", "last", "sur"), "fore": ("sur", "last")}


def surname_column(schema: TableSchema, label: ColumnInfo | None) -> ColumnInfo | None:
    """The field holding the rest of a person's name when the label holds the first name only (``first_name``
    -> ``last_name``, ``given_name`` -> ``family_name``, ``firstname`` -> ``surname``)."""
    if label is None or label.table != RECORDS_TABLE or label.type != "text":
        return None
    leaf = label.path.lower()
    for first, lasts in _FIRST_WORDS.items():
        if first not in leaf:
            continue
        for last in lasts:
            for candidate in (leaf.replace(first, last, 1), leaf.replace(first + "_", last, 1),
                              leaf.replace(first + "name", "surname", 1)):
                column = next((c for c in schema.columns.values() if c.path.lower() == candidate
                               and c.table == RECORDS_TABLE and c.type == "text"), None)
                if column is not None and column.path != label.path:
                    return column
    return None


# --- SQL -----------------------------------------------------------------------------------------------


def build_sql(spec: QuerySpec, schema: TableSchema) -> Any:
    """The statement listing the records of a validated ``records`` spec (a ``rag.analytics.sql.SqlQuery``)."""
    from rag.analytics.sql import _condition, _Scope, _Text, quote_identifier  # the SQL module's own builders

    scope = _Scope(spec, schema)
    shape = layout(spec, schema)
    columns = shape.columns
    names = [quote_identifier(name) for name in columns]
    record_id = quote_identifier(RECORD_ID)
    text = _Text().add(f"SELECT {scope.row_id()} AS {names[0]}")
    for column, name in zip(shape.naming + list(shape.shown), names[1:]):
        if column.table == RECORDS_TABLE:
            text.add(f", {scope.ref(column)} AS {name}")
            continue
        child = schema.children[column.table]
        table = quote_identifier(child.sql_name or child.name)
        text.add(f", (SELECT list({scope.ref(column)} ORDER BY c.rowid) FROM {table} AS c WHERE c.{record_id} = "
                 f"r.{record_id}")
        for item in spec.filters:  # the elements shown are those the filters on their table keep
            filtered = schema.columns[item.field]
            if filtered.table == column.table:
                text.add(" AND ").extend(_condition(item, filtered, scope.ref(filtered)))
        text.add(f") AS {name}")
    text.add(scope.from_clause()).extend(scope.where())
    if spec.field is not None:
        direction = "DESC" if spec.order == "desc" else "ASC"
        text.add(f" ORDER BY {scope.ref(schema.columns[spec.field])} {direction} NULLS LAST, {scope.row_order()}")
    else:
        text.add(f" ORDER BY {scope.row_order()}")
    keep = spec.limit or MAX_LIMIT
    scope.limit(text, keep if spec.limit else keep + 1)
    return text.query(columns, max_rows=keep, record_id_column=0)


# --- sentences -----------------------------------------------------------------------------------------


def asked_fields(spec: QuerySpec, schema: TableSchema) -> list[str]:
    """The fields the question asks of the records: those shown that no filter uses (a filter's field is shown
    as the reason a record is listed: "Japanese cars with more than 30 mpg" shows Miles_per_Gallon)."""
    filtered = {item.field for item in spec.filters}
    label = label_column(schema)
    return [path for path in spec.fields if path not in filtered and (label is None or path != label.path)]


def sentence(spec: QuerySpec, result: Any, schema: TableSchema, noun: str = "records") -> str:
    """One sentence stating the records found and the values asked of them."""
    shape = layout(spec, schema)
    rows = result.rows
    total = max(int(result.matched_rows or 0), len(rows))
    plural, singular = nouns(noun)
    named = bool(schema.label_field) and shape.label is not None and shape.label.path == schema.label_field
    phrases = _Phrases(spec, shape.label if named else None)  # a date standing in for a name names nothing
    asked = asked_fields(spec, schema)
    if total == 0 or not rows:
        if spec.filters:
            return _("No {plural} {have}.").format(plural=plural, have=phrases.have(plural=True))
        return _("There are no {plural}.").format(plural=plural)
    if not asked:
        return _listing(spec, shape, rows, total, plural, singular, phrases)
    return _lookup(asked, shape, rows, total, plural, singular, phrases, named=named or not spec.filters)


def headline(spec: QuerySpec, result: Any, schema: TableSchema) -> Any:
    """The value to show large: the one value asked of one record, the one record listed, else the count."""
    rows = result.rows
    shape = layout(spec, schema)
    asked = asked_fields(spec, schema)
    if len(asked) == 1 and rows and len(rows) == result.matched_rows:  # one value, or one all records share
        values = {repr(row[shape.position(asked[0])]) for row in rows}
        if len(values) == 1:
            return rows[0][shape.position(asked[0])]
    if len(rows) == 1 and not asked and shape.label is not None:
        return _record_name(rows[0], shape)
    return max(int(result.matched_rows or 0), len(rows))


def _listing(spec: QuerySpec, shape: Layout, rows: list[list[Any]], total: int, plural: str, singular: str,
             phrases: "_Phrases") -> str:
    names = [_record_name(row, shape) for row in rows]
    if total == 1:
        if not spec.filters:
            return _("The only {singular} is {name}.").format(singular=singular, name=names[0])
        return _("The {singular} {with_} is {name}.").format(singular=singular, with_=phrases.with_(), name=names[0])
    counts = Counter(names)
    distinct = list(counts)  # in the rows' order; a name shared by several records is named once, with its count
    if len(distinct) == 1 and phrases.names(distinct[0]) and len(rows) == total:
        return _("{total} {plural} {have}.").format(  # "6 cars are named ford pinto."
            total=format_value(total), plural=plural, have=phrases.have(plural=True))
    separator = "; " if any("," in name for name in distinct[:LISTED]) else ", "  # "Creoles and pidgins, French-based"
    listed = separator.join(f"{name} ({counts[name]})" if counts[name] > 1 else name for name in distinct[:LISTED])
    covered = sum(counts[name] for name in distinct[:LISTED])
    if spec.limit is not None and len(rows) < total:
        where = f" {phrases.with_()}" if spec.filters else ""
        more = _(", and {count} more").format(count=format_value(len(rows) - covered)) if len(rows) > covered else ""
        return _("The first {shown} of the {total} {plural}{where}: {listed}{more}.").format(
            shown=len(rows), total=format_value(total), plural=plural, where=where, listed=listed, more=more)
    more = _(", and {count} more").format(count=format_value(total - covered)) if total > covered else ""
    if not spec.filters:
        return _("There are {total} {plural}: {listed}{more}.").format(
            total=format_value(total), plural=plural, listed=listed, more=more)
    return _("{total} {plural} {have}: {listed}{more}.").format(
        total=format_value(total), plural=plural, have=phrases.have(plural=True), listed=listed, more=more)


def _lookup(asked: list[str], shape: Layout, rows: list[list[Any]], total: int, plural: str, singular: str,
            phrases: "_Phrases", *, named: bool = True) -> str:
    """``named``: the label names the records (a date standing in for a name does not: the filters say which)."""
    positions = [shape.position(path) for path in asked]
    if len(rows) == 1:
        who = _record_name(rows[0], shape) if shape.label is not None and named \
            else _("the {singular} {with_}").format(singular=singular, with_=phrases.with_()).rstrip()
        first, *others = [(path, _value_text(path, rows[0][at])) for path, at in zip(asked, positions)]
        text = _("The {field} of {who} is {value}").format(field=first[0], who=who, value=first[1])
        return text + "".join(_("; its {field} is {value}").format(field=path, value=value)
                              for path, value in others) + "."
    group = f"{format_value(total)} {plural} {phrases.with_()}".rstrip()
    if len(asked) == 1:
        path, at = asked[0], positions[0]
        values = [_value_text(path, row[at]) for row in rows]
        if len(set(values)) == 1 and len(rows) == total:
            return _("The {field} of all {group} is {value}.").format(field=path, group=group, value=values[0])
        names = {_record_name(row, shape) for row in rows}
        same_name = shape.label is None or len(names) == 1
        items = values if same_name else [f"{_record_name(row, shape)}: {value}" for row, value in zip(rows, values)]
    else:
        items = [
            f"{_record_name(row, shape)} ({', '.join(f'{path} {_value_text(path, row[at])}' for path, at in zip(asked, positions))})"
            for row in rows
        ]
    shown = "; ".join(items[:LISTED])
    more = _("; and {count} more").format(count=format_value(total - min(len(items), LISTED))) \
        if total > min(len(items), LISTED) else ""
    fields = (" " + _("and") + " ").join(asked)
    return _("The {fields} of the {group}: {shown}{more}.").format(fields=fields, group=group, shown=shown, more=more)


class _Phrases:
    """How the filters read after the records' noun: "named X", "ending with 'burg'", "with Origin = Japan"."""

    def __init__(self, spec: QuerySpec, label: ColumnInfo | None) -> None:
        self._named: list[str] = []
        self._text: list[tuple[str, str]] = []
        others = []
        for item in spec.filters:
            on_label = label is not None and item.field == label.path
            if on_label and item.op == "=":
                self._named.append(_value_text(item.field, item.value))
            elif on_label and item.op == "in":
                self._named.append(" or ".join(_value_text(item.field, v) for v in item.value))
            elif on_label and item.op in TEXT_OPS:
                self._text.append((item.op, str(item.value)))
            else:
                others.append(item)
        self._others = describe_filters(others)

    def names(self, name: str) -> bool:
        """Whether the filters name the records ``name`` (all records listed are called so)."""
        return any(name.casefold() == named.casefold() for named in self._named)

    def with_(self) -> str:
        """After a noun: "named chevrolet impala", "ending with 'burg'", "with Origin = Japan"."""
        parts = [_("named {name}").format(name=name) for name in self._named]
        parts += [f"{_(_TEXT_VERBS[op][2])} '{text}'" for op, text in self._text]
        if self._others:
            parts.append(_("with {filters}").format(filters=self._others))
        return (" " + _("and") + " ").join(parts)

    def have(self, *, plural: bool) -> str:
        """After a count of records: "are named X", "end with 'burg'", "have Origin = Japan"."""
        parts = [(_("are named {name}") if plural else _("is named {name}")).format(name=name) for name in self._named]
        parts += [f"{_(_TEXT_VERBS[op][0 if plural else 1])} '{text}'" for op, text in self._text]
        if self._others:
            parts.append((_("have {filters}") if plural else _("has {filters}")).format(filters=self._others))
        return (" " + _("and") + " ").join(parts)


_TEXT_VERBS = {
    "starts_with": (N_("start with"), N_("starts with"), N_("starting with")),
    "ends_with": (N_("end with"), N_("ends with"), N_("ending with")),
    "contains": (N_("contain"), N_("contains"), N_("containing")),
}
"""A text filter on the label, as a verb after a plural, after a singular, and after a noun."""


def nouns(noun: str) -> tuple[str, str]:
    """(plural, singular) of what the records are called ("countries" -> "country")."""
    word = (noun or "records").strip()
    if " " in word:  # "language families", "former country": the last word says it
        head, _, last = word.rpartition(" ")
        plural, singular = nouns(last)
        return f"{head} {plural}", f"{head} {singular}"
    if current_language() != ENGLISH:  # "voitures" -> "voiture"; "pays", "prix" are both
        singular = word[:-1] if word.endswith("s") and word not in _INVARIANT else word
        return word, singular
    singular = stem(word)
    if singular == word.lower():  # written in the singular ("which country")
        return plural_of(word), word
    return word, singular


def noun_in_language(noun: str) -> str:
    """What the records are called in the answer's language: "cars" -> "voitures" in French (a word the
    language's noun list lacks is kept as it is)."""
    if current_language() == ENGLISH:
        return noun
    return _(NOUNS.get(noun.lower(), noun)) if noun.lower() in NOUNS else noun


NOUNS = {word: word for word in (
    N_("records"), N_("cars"), N_("countries"), N_("orders"), N_("customers"), N_("airports"), N_("languages"),
    N_("currencies"), N_("subdivisions"), N_("days"), N_("flowers"), N_("rows"), N_("entries"), N_("items"),
    N_("people"), N_("products"), N_("cities"), N_("stations"), N_("years"),
)}
"""Nouns of records that the catalog translates (the file's or the question's noun)."""


_INVARIANT = frozenset({"pays", "prix", "fois", "mois", "poids", "repas"})
"""French nouns spelled the same in the singular and the plural."""


def plural_of(word: str) -> str:
    lowered = word.lower()
    if lowered.endswith("y") and len(word) > 2 and lowered[-2] not in "aeiou":
        return word[:-1] + "ies"
    if lowered.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


def _record_name(row: list[Any], shape: Layout) -> str:
    if shape.label is None or len(row) < 2 or row[1] is None:
        return str(row[0])
    name = format_key(row[1]) if shape.label.type != "number" else str(row[1])
    if shape.surname is not None and len(row) > 2 and row[2] not in (None, ""):
        name = f"{name} {format_key(row[2])}"
    return name


def _value_text(path: str, value: Any) -> str:
    """A value as the sentence writes it: amounts with separators, years and codes without."""
    if set(field_words(path)) & _KEY_WORDS:
        return format_key(value)
    return format_value(value)
