"""Parts of the page drawn once and never updated, as one component each.

The Dash renderer keeps a store subscription for every component on the page, and every update of the page
(each callback, each piece of an answer set by a poll) costs time for each one. Drawn as plain components,
an answered question is about 40 of them (a computed table one per cell), so the twelfth question of a
conversation showed its first token about 0.2 s later than the first. The parts of a turn that never change
once drawn (the question, a finished answer's status line, its sources, notes and timings, the computed
table) are therefore HTML in one ``dcc.Markdown`` block each.

Every text in that HTML is escaped: fragments are built with ``markupsafe`` (``Markup(...).format`` escapes
what it inserts), never by joining strings.
"""

from __future__ import annotations

from dash import dcc
from markupsafe import Markup

_AS_CHARACTER_REFERENCES = str.maketrans({"{": "&#123;", "}": "&#125;", "\n": "&#10;", "\r": "&#13;"})
"""dcc.Markdown reads raw HTML as JSX, where braces start code, and a blank line would end the HTML block."""


def static_block(fragment: Markup, class_name: str) -> dcc.Markdown:
    """``fragment`` (HTML built with ``markupsafe``) as one component with the CSS class ``class_name``.

    The fragment sits in a ``div.static-html`` (``display: contents``), so the block lays out its children as
    the element it replaces did.
    """
    body = Markup('<div class="static-html">{}</div>').format(fragment)
    return dcc.Markdown(str(body).translate(_AS_CHARACTER_REFERENCES), className=class_name,
                        dangerously_allow_html=True)


def join(fragments: list[Markup]) -> Markup:
    """Fragments one after another."""
    return Markup("").join(fragments)
