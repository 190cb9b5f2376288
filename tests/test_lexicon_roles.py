"""The rules planner's stages read words by their role, never as English literals (no model, no data).

The words a stage of ``rag.analytics.rules`` tests for ("between", "how many", "each") are named role tables of the
English lexicon (``rag.analytics.lexicons.en``), so that a language is a lexicon, not an edit of the stages. The
first test parses ``rules.py`` and fails on a lowercase word (or phrase) written as a string in its code, apart
from the spec's own vocabulary (column types, operations, directions, roles) listed below. The second fails on a
table of the lexicon that nothing reads.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import rag.analytics.lexicons.en as en
import rag.analytics.rules as rules

RAG = Path(rules.__file__).resolve().parents[1]

WORD = re.compile(r"['’]?[a-z]+(?:[ '’][a-z]+)*")
"""A lowercase word or phrase: "between", "how many", "'s"."""

SPEC_VOCABULARY = frozenset({
    # column types (``ColumnInfo.type``)
    "number", "date", "timestamp", "text", "boolean",
    # aggregations and operations of a ``QuerySpec``
    "count", "sum", "mean", "median", "max", "min", "argmax", "argmin",
    # filter operations
    "in", "between", "contains",
    # sort directions
    "asc", "desc",
    # parts of a date grouped by (``GroupBy.part``)
    "year", "month",
    # the records' table and spec (``RECORDS``), the planner's name, an outcome's status
    "records", "rules", "unfilled",
    # a word's role in a reading (``WORD_ROLES``, and "unplaced" before it is said), ``closest_fields`` kinds
    "value", "cue", "group", "field", "filter", "grammar", "ignored", "unplaced",
})
"""Literals that are the spec's words, not the question's: they stay in the code."""


def _skipped(tree: ast.AST) -> set[int]:
    """The string nodes that are no words of a question: docstrings, f-strings, messages (``_()``), patterns."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skipped.add(id(first.value))
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):  # attribute docstrings
            skipped.add(id(node.value))
        called = node.func if isinstance(node, ast.Call) else None
        if isinstance(node, ast.JoinedStr) or (isinstance(called, ast.Name) and called.id == "_") or (
                isinstance(called, ast.Attribute) and called.attr == "compile"):
            skipped.update(id(inner) for inner in ast.walk(node))
    return skipped


def word_literals(source: str) -> list[tuple[int, str]]:
    """The lowercase words and phrases written as strings in ``source``'s code, with their line numbers."""
    tree = ast.parse(source)
    skipped = _skipped(tree)
    return sorted((node.lineno, node.value) for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skipped
                  and WORD.fullmatch(node.value))


def test_the_stages_hold_no_word_of_the_language() -> None:
    found = word_literals(Path(rules.__file__).read_text(encoding="utf-8"))
    offenders = [(line, word) for line, word in found if word not in SPEC_VOCABULARY]
    assert not offenders, "words written in rules.py instead of a role table of rag/analytics/lexicons/en.py:\n" + \
        "\n".join(f"  line {line}: {word!r}" for line, word in offenders)


def test_the_literal_check_sees_a_word() -> None:
    """The check above finds a word in a stage, and leaves messages, f-strings and docstrings alone."""
    source = '''
def stage(words):
    """A docstring with words."""
    note = _("could not tell which field is meant")
    if words[0] in ("each", "every") or words[1] == "how many":
        return f"read as {words[0]}"
    return "count"
'''
    assert [word for _line, word in word_literals(source)] == ["each", "every", "how many", "count"]


def _tables() -> dict[str, set[str]]:
    """The public tables (and functions) of the English lexicon -> the names their definition reads."""
    tables: dict[str, set[str]] = {}
    for node in ast.parse(Path(en.__file__).read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            reads = {inner.id for inner in ast.walk(node.value) if isinstance(inner, ast.Name)}
            for target in targets:
                if isinstance(target, ast.Name) and not target.id.startswith("_"):
                    tables[target.id] = reads
        elif isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            tables[node.name] = set()
    return tables


def test_every_role_table_of_the_lexicon_is_read() -> None:
    """A table of ``en.py`` is read by a module of ``rag`` (or by a table that is)."""
    tables = _tables()
    lexicon = Path(en.__file__).resolve()
    names = {name for path in RAG.rglob("*.py") if path.resolve() != lexicon
             for name in re.findall(r"\b[A-Za-z_]\w*", path.read_text(encoding="utf-8"))}
    read = set(tables) & names
    grown = True
    while grown:
        more = {name for table in read for name in tables.get(table, set()) if name in tables} - read
        read |= more
        grown = bool(more)
    dead = sorted(set(tables) - read)
    assert not dead, f"tables of rag/analytics/lexicons/en.py nothing reads: {dead}"
