"""The assumption lines of a plan, worded in the language of the question.

The rules planner writes what it assumed in fixed English lines ("'Japan' read as Origin = Japan", "'petals'
read as the iris", "'mpg' → Miles_per_Gallon (the closest name)"), and compares them as text while it plans
(a line dropped when its field went unused, a field swapped in them). They are put into the question's
language once the plan is made: each line is matched against the catalog messages below, and worded again
through the catalog with the same values (a target such as "Year between 1970-01-01 and 1970-12-31" in turn).
A line no message fits is kept as it is.
"""

from __future__ import annotations

import functools
import re

from rag.i18n import N_, _

LINES = (
    N_("'{word}' read as {target}"),
    N_("'{word}' counted as {target}"),
    N_("'{word}' → {target}"),
    N_("ignored: {words}"),
    N_("dates read on {field}"),
)
"""A whole line: a word of the question and what it was read as."""
TARGETS = (
    N_("{name} (the closest name)"),
    N_("{name}; also {others}"),
    N_("{field} between {low} and {high} (every date is in {year})"),
    N_("{field} between {low} and {high}"),
    N_("{field} ends with {text}"),
    N_("{field} starts with {text}"),
    N_("{field} contains {text}"),
    N_("the max of {field} per {group}"),
    N_("the min of {field} per {group}"),
    N_("the sum of {field} per {group}"),
    N_("the total of {field}"),
    N_("the sum of {field}"),
    N_("the different values of {field}"),
    N_("what the records are"),
    N_("the {noun}"),
)
"""What a word was read as, when it is more than a field, a value or a name."""
_NESTED = ("target", "name")
"""Placeholders whose value is itself worded through ``TARGETS``."""


@functools.lru_cache(maxsize=None)
def _pattern(template: str) -> re.Pattern[str]:
    """The English ``template`` as a pattern with a named group per placeholder."""
    parts = re.split(r"\{(\w+)\}", template)
    pattern = "".join(re.escape(part) if k % 2 == 0 else f"(?P<{part}>.+?)" for k, part in enumerate(parts))
    return re.compile(pattern + r"\Z", re.DOTALL)


def _worded(text: str, templates: tuple[str, ...]) -> str:
    for template in templates:
        match = _pattern(template).match(text)
        if match is None:
            continue
        values = {name: _worded(value, TARGETS) if name in _NESTED else value
                  for name, value in match.groupdict().items()}
        return _(template).format(**values)
    return text


def worded_assumption(line: str) -> str:
    """``line``, an assumption of the rules planner, in the current language (``rag.i18n.speaking``)."""
    return _worded(line, LINES)
