"""The language the engine words an answer in: the question's, set for the answer's thread.

``speaking("fr")`` sets it for a block (a context variable: each answer's thread has its own); ``_("...")`` is a
message in it, from the gettext catalog ``rag/locale/<lang>/LC_MESSAGES/rag.po`` (compiled to ``.mo``), English
when the catalog lacks it; ``number(1234.5)`` writes a number the language's way ("1 234,5" in French), through
Babel. Outside ``speaking`` everything is English, as the model's prompt and the grounding check expect.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

ENGLISH = "en"
LANGUAGES = ("en", "fr")
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "rag"

_LANGUAGE: ContextVar[str] = ContextVar("answer_language", default=ENGLISH)


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Word what is made inside the block in ``language`` (English for a language without a catalog)."""
    token = _LANGUAGE.set(language if language in LANGUAGES else ENGLISH)
    try:
        yield
    finally:
        _LANGUAGE.reset(token)


def current_language() -> str:
    """The language sentences are worded in now."""
    return _LANGUAGE.get()


@lru_cache(maxsize=None)
def compiled_catalog(locale_dir: Path, domain: str, language: str) -> _gettext.NullTranslations:
    """The compiled gettext catalog of ``domain`` in ``language`` under ``locale_dir`` (no translation for
    English or a missing catalog); the engine's and the page's catalogs are both read through it."""
    if language == ENGLISH:
        return _gettext.NullTranslations()
    return _gettext.translation(domain, localedir=str(locale_dir), languages=[language], fallback=True)


def translations(language: str) -> _gettext.NullTranslations:
    """The engine's compiled catalog of ``language``."""
    return compiled_catalog(LOCALE_DIR, DOMAIN, language)


def gettext(message: str) -> str:
    """``message`` in the current language."""
    return translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural of a message for ``count``, in the current language."""
    return translations(current_language()).ngettext(singular, plural, count)


_ = gettext


def N_(message: str) -> str:  # noqa: N802  (gettext's usual name)
    """``message`` unchanged, marked for the catalog: a constant translated with ``_(CONSTANT)`` where it is used."""
    return message


class Term(str):
    """A value of a catalog message that is a catalog message itself (a server's name): ``worded`` words it in
    the same language as the message it fills."""


def worded(language: str, message: str, **values: object) -> str:
    """``message`` (a catalog message, marked with ``N_``) in ``language``, English when the catalog lacks it,
    its ``{placeholders}`` filled with ``values`` (a ``Term`` among them worded in ``language`` too). Without
    values the message is returned as the catalog has it (not formatted), so any English text passes through."""
    catalog = translations(language if language in LANGUAGES else ENGLISH)
    text = catalog.gettext(message) if message else message
    if not values:
        return text
    return text.format(**{name: catalog.gettext(v) if isinstance(v, Term) and v else v for name, v in values.items()})


def percent(value: float) -> str:
    """A percentage (``value`` out of 100) with one decimal, the current language's way ("19.5%", "19,5 %")."""
    from babel.numbers import format_percent

    return format_percent(value / 100, format="#,##0.0%", locale=current_language())


def localized_number(english: str) -> str:
    """A number written the English way ("1,234.50") in the current language's symbols ("1 234,50" in French),
    taken from Babel's locale data."""
    language = current_language()
    if language == ENGLISH:
        return english
    from babel.numbers import get_decimal_symbol, get_group_symbol

    group, decimal = get_group_symbol(language), get_decimal_symbol(language)
    return "".join(group if c == "," else decimal if c == "." else c for c in english)
