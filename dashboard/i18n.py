"""The page's language: which one a request gets, its messages and its number and date formats.

A request gets the language its browser picked with the switch in the page header (the ``lang`` cookie), else
the best match of its ``Accept-Language`` header (Babel's negotiation), else English. Messages come from the
gettext catalogs in ``dashboard/locale/<lang>/LC_MESSAGES/messages.po`` (compiled to ``.mo``); a message a
catalog lacks is shown in English. Outside a request (unit tests, the CLI) everything is English.

Mark a string with ``_("...")`` (or ``ngettext``) where it is used, inside a function: a string translated at
import time would be translated once, for nobody. ``README.md`` ("Languages") has the commands that extract,
update and compile the catalogs.
"""

from __future__ import annotations

import datetime as _dt
import gettext as _gettext
from pathlib import Path

from babel import Locale, negotiate_locale
from babel.dates import format_date as _format_date
from babel.numbers import format_decimal, format_percent as _format_percent
from flask import has_request_context, request

from rag.i18n import compiled_catalog

LANGUAGES: dict[str, str] = {"en": "English", "fr": "Français"}
"""The languages the page is translated into, each with its name in itself (the switch's labels)."""
DEFAULT_LANGUAGE = "en"
COOKIE = "lang"
"""The cookie that keeps the language picked with the switch, per browser."""
COOKIE_MAX_AGE = 365 * 24 * 3600
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"


def negotiate(accept_language: list[str] | tuple[str, ...], chosen: str | None = None) -> str:
    """The language for a browser that picked ``chosen`` (the cookie) and asks for ``accept_language`` (its
    languages, best first, as ``fr-FR``)."""
    if chosen in LANGUAGES:
        return chosen
    return negotiate_locale(list(accept_language), list(LANGUAGES), sep="-") or DEFAULT_LANGUAGE


def current_language() -> str:
    """The language of the request being answered (English outside a request)."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    return negotiate(request.accept_languages.values(), request.cookies.get(COOKIE))


def translations(language: str) -> _gettext.NullTranslations:
    """The page's compiled catalog of ``language`` (no translation for English or a missing catalog)."""
    return compiled_catalog(LOCALE_DIR, DOMAIN, language)


def gettext(message: str) -> str:
    """``message`` in the current language."""
    return translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural of a message, for ``count``, in the current language."""
    return translations(current_language()).ngettext(singular, plural, count)


_ = gettext


def N_(message: str) -> str:  # noqa: N802  (gettext's usual name)
    """``message`` unchanged, marked for the catalogs: for a constant made at import time, translated with
    ``_(CONSTANT)`` where it is shown."""
    return message


def locale(language: str | None = None) -> Locale:
    """Babel's locale of ``language`` (default: the current language)."""
    return Locale.parse(language or current_language())


def format_number(value: float, pattern: str | None = None, language: str | None = None) -> str:
    """``value`` as the language writes numbers: 1,234.5 in English, 1 234,5 in French; ``pattern`` is a CLDR
    number pattern (``"0.00"``: two decimals, no grouping)."""
    return format_decimal(value, format=pattern, locale=locale(language))


def format_percent(value: float, language: str | None = None) -> str:
    """``value`` (0.25 for 25 %) as a percentage in the language's way."""
    return _format_percent(value, locale=locale(language))


def format_date(value: _dt.date, language: str | None = None) -> str:
    """``value`` as a medium-length date in the language (Dec 2, 2026; 2 déc. 2026)."""
    return _format_date(value, format="medium", locale=locale(language))


def page_texts() -> dict[str, object]:
    """What the page's browser-side code needs of the language (the ``ids.LANGUAGE`` store): its code and the
    messages it shows on its own, in it."""
    from dashboard.uploads import too_large_text

    return {"lang": current_language(), "texts": {"too_large": too_large_text()}}


def grid_locale_text() -> dict[str, str]:
    """AG Grid's own words (paging, filters, empty grid) in the current language; empty in English, AG Grid's."""
    if current_language() == DEFAULT_LANGUAGE:
        return {}
    return {
        "noRowsToShow": _("No Rows To Show"),
        "loadingOoo": _("Loading..."),
        "page": _("Page"),
        "of": _("of"),
        "to": _("to"),
        "more": _("more"),
        "pageSizeSelectorLabel": _("Page Size:"),
        "firstPage": _("First Page"),
        "previousPage": _("Previous Page"),
        "nextPage": _("Next Page"),
        "lastPage": _("Last Page"),
        "filterOoo": _("Filter..."),
        "equals": _("Equals"),
        "notEqual": _("Does not equal"),
        "contains": _("Contains"),
        "notContains": _("Does not contain"),
        "startsWith": _("Begins with"),
        "endsWith": _("Ends with"),
        "blank": _("Blank"),
        "notBlank": _("Not blank"),
        "lessThan": _("Less than"),
        "greaterThan": _("Greater than"),
        "lessThanOrEqual": _("Less than or equal to"),
        "greaterThanOrEqual": _("Greater than or equal to"),
        "inRange": _("Between"),
        "andCondition": _("AND"),
        "orCondition": _("OR"),
        "dateFormatOoo": _("yyyy-mm-dd"),
    }


def switch_options() -> list[dict[str, str]]:
    """The options of the language switch in the page header."""
    return [{"label": name, "value": code} for code, name in LANGUAGES.items()]


SWITCH_SCRIPT = f"""
function (language, page) {{
    const served = (page && page.lang) || '{DEFAULT_LANGUAGE}';
    document.documentElement.lang = served;
    if (language && language !== served) {{
        document.cookie = '{COOKIE}=' + language + '; path=/; max-age={COOKIE_MAX_AGE}; SameSite=Lax';
        window.location.reload();
    }}
}}
"""
"""The switch's browser-side callback: keeps the picked language in the cookie and loads the page again in it
(and marks the page's ``<html lang>`` with the language it was served in)."""


def register_language_switch(app) -> None:  # noqa: ANN001  (a Dash app)
    """The browser-side callback of the language switch (``ids.LANGUAGE_SWITCH``)."""
    from dash import Input, State

    from dashboard import ids

    app.clientside_callback(SWITCH_SCRIPT, Input(ids.LANGUAGE_SWITCH, "value"), State(ids.LANGUAGE, "data"))
