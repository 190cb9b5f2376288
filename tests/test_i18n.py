"""The page in English and French: the catalogs against the code, the language a request gets, numbers."""

from __future__ import annotations

import datetime as dt
import gettext
import json
import re
import string
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask import Flask

from app import create_app
from dashboard import i18n, ids
from dashboard.layout import build_layout
from rag.engine import RAGEngine
from rag.settings import Settings, apply_overrides

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
"""What ``pybabel extract -k N_`` looks for (its default keywords, and ``N_``)."""
NNBSP = "\u202f"
"""The narrow no-break space CLDR's French puts between thousands."""


def extracted_ids() -> set[str]:
    """Every msgid Babel's extractor finds in the code ``babel.cfg`` names (a plural by its singular)."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config, str(ROOT / "babel.cfg"))
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def catalog(language: str) -> Any:
    with open(i18n.LOCALE_DIR / language / "LC_MESSAGES" / f"{i18n.DOMAIN}.po", "rb") as po:
        return read_po(po)


def placeholders(text: str) -> set[str]:
    return {name for _text, name, _spec, _conversion in string.Formatter().parse(text) if name is not None}


# --------------------------------------------------------------------------------- catalogs
def test_every_message_of_the_code_is_in_the_french_catalog_and_translated():
    in_code = extracted_ids()
    french = catalog("fr")
    in_catalog = {m.id[0] if isinstance(m.id, tuple) else m.id for m in french if m.id}
    assert len(in_code) > 150  # the extractor saw the page (a wrong babel.cfg would find nothing)
    assert sorted(in_code - in_catalog) == [], "new messages: run the extract/update commands of README 'Languages'"
    assert sorted(in_catalog - in_code) == [], "messages no longer in the code: update the catalog"
    untranslated = [
        m.id for m in french if m.id and (m.fuzzy or not all(m.string if isinstance(m.string, tuple) else [m.string]))
    ]
    assert untranslated == []


def test_a_translation_keeps_the_placeholders_of_its_message():
    for message in catalog("fr"):
        if not message.id:
            continue
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        translations = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set().union(*(placeholders(s) for s in sources))
        for translation in translations:
            assert placeholders(translation) <= wanted, (message.id, translation)


def test_the_compiled_catalog_is_the_po_file_compiled():
    with open(i18n.LOCALE_DIR / "fr" / "LC_MESSAGES" / f"{i18n.DOMAIN}.mo", "rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    for message in catalog("fr"):
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            assert compiled.ngettext(message.id[0], message.id[1], 1) == message.string[0], message.id
            assert compiled.ngettext(message.id[0], message.id[1], 5) == message.string[-1], message.id
        else:
            assert compiled.gettext(message.id) == message.string, "stale .mo: run pybabel compile -d dashboard/locale"


# --------------------------------------------------------------------------------- the language of a request
@pytest.mark.parametrize(
    ("accept", "cookie", "expected"),
    [
        ([], None, "en"),
        (["fr-FR", "fr", "en-US"], None, "fr"),
        (["en-US", "en", "fr"], None, "en"),
        (["de-DE", "fr-CH"], None, "fr"),
        (["de-DE"], None, "en"),
        (["fr-FR"], "en", "en"),
        (["en-GB"], "fr", "fr"),
        (["fr-FR"], "klingon", "fr"),  # an unknown cookie is ignored
    ],
)
def test_the_switch_overrides_the_browsers_languages(accept, cookie, expected):
    assert i18n.negotiate(accept, cookie) == expected


def test_outside_a_request_everything_is_english():
    assert i18n.current_language() == "en" and i18n.gettext("Send") == "Send"


def page_texts(layout: Any) -> str:
    return json.dumps(layout, ensure_ascii=False, default=lambda c: c.to_plotly_json())


def test_the_layout_is_built_in_the_language_of_each_request():
    server = Flask(__name__)
    with server.test_request_context(headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}):
        french = page_texts(build_layout(Settings(), None))
    with server.test_request_context(headers={"Accept-Language": "en-US,en;q=0.9"}):
        english = page_texts(build_layout(Settings(), None))
    assert '"Données"' in french and '"Envoyer"' in french and "Posez une question sur les données" in french
    assert '"Data"' in english and '"Send"' in english and "Envoyer" not in english


@pytest.fixture(scope="module")
def http() -> Any:
    settings = apply_overrides(Settings(), {"data": {"max_upload_mb": 1}}, "test")
    return create_app(engine=RAGEngine(settings)).server.test_client()


def components(node: Any, found: dict[str, Any] | None = None) -> dict[str, Any]:
    found = {} if found is None else found
    if isinstance(node, list):
        for item in node:
            components(item, found)
    elif isinstance(node, dict) and "props" in node:
        if isinstance(node["props"].get("id"), str):
            found[node["props"]["id"]] = node
        components(node["props"].get("children"), found)
    return found


def test_a_french_browser_gets_the_page_in_french_and_the_switch_overrides_it(http):
    french = http.get("/_dash-layout", headers={"Accept-Language": "fr-FR,fr;q=0.9"}).get_json()
    layout = components(french)
    assert layout[ids.SEND_BUTTON]["props"]["children"] == "Envoyer"
    placeholder = layout[ids.CHAT_INPUT]["props"]["placeholder"]
    assert placeholder == "Posez une question sur les données, puis appuyez sur Entrée"
    assert layout[ids.LANGUAGE_SWITCH]["props"]["value"] == "fr"
    assert layout[ids.LANGUAGE]["props"]["data"]["lang"] == "fr"
    assert "Mo" in layout[ids.LANGUAGE]["props"]["data"]["texts"]["too_large"]
    assert layout[ids.POLL_CONFIG]["props"]["data"]["unreachable_text"].startswith("L’application ne répond pas")

    http.set_cookie(i18n.COOKIE, "en")
    try:
        switched = components(http.get("/_dash-layout", headers={"Accept-Language": "fr-FR"}).get_json())
    finally:
        http.delete_cookie(i18n.COOKIE)
    assert switched[ids.SEND_BUTTON]["props"]["children"] == "Send"
    assert switched[ids.LANGUAGE_SWITCH]["props"]["value"] == "en"

    http.set_cookie(i18n.COOKIE, "fr")
    try:
        chosen = components(http.get("/_dash-layout").get_json())
    finally:
        http.delete_cookie(i18n.COOKIE)
    assert chosen[ids.SEND_BUTTON]["props"]["children"] == "Envoyer"


def test_without_accept_language_the_page_stays_english(http):
    layout = components(http.get("/_dash-layout").get_json())
    assert layout[ids.SEND_BUTTON]["props"]["children"] == "Send"
    assert layout[ids.LANGUAGE]["props"]["data"]["lang"] == "en"


def test_an_error_a_callback_server_answers_is_in_the_requests_language(http):
    response = http.post("/_dash-update-component", data=b"x" * (4 * 1024 * 1024),
                         headers={"Accept-Language": "fr-FR", "Content-Type": "application/json"})
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error == "Le fichier envoyé dépasse la limite de 1 Mo (réglage data.max_upload_mb)."


# --------------------------------------------------------------------------------- numbers and dates
@pytest.mark.parametrize(
    ("language", "number", "percent", "date"),
    [
        ("en", "1,234.5", "25%", "Dec 2, 2026"),
        ("fr", f"1{NNBSP}234,5", "25\u00a0%", "2 déc. 2026"),
    ],
)
def test_numbers_and_dates_are_written_the_languages_way(language, number, percent, date):
    assert i18n.format_number(1234.5, language=language) == number
    assert i18n.format_percent(0.25, language=language) == percent
    assert i18n.format_date(dt.date(2026, 12, 2), language=language) == date


def test_the_page_writes_numbers_in_the_requests_language():
    from dashboard.chat_view import metrics_line
    from dashboard.data_view import dataset_summary

    info = {"name": "orders.json", "record_count": 12345, "profile": {"field_count": 3}, "size_bytes": 10}
    with Flask(__name__).test_request_context(headers={"Accept-Language": "fr"}):
        summary = page_texts(dataset_summary(info))
        line = metrics_line({"time_to_first_token": 0.414, "tokens_per_second": 38.25}, {})
    assert f"12{NNBSP}345" in summary and "enregistrements" in summary
    assert line == f"premier jeton 0,41\u00a0s · 38,2\u00a0jetons/s"
    english = metrics_line({"time_to_first_token": 0.414, "tokens_per_second": 38.25}, {})
    assert english == "first token 0.41 s · 38.2 tokens/s"


def test_plurals_follow_the_language():
    with Flask(__name__).test_request_context(headers={"Accept-Language": "fr"}):
        assert i18n.ngettext("{count} record", "{count} records", 1) == "{count} enregistrement"
        assert i18n.ngettext("{count} record", "{count} records", 3) == "{count} enregistrements"
    assert i18n.ngettext("{count} record", "{count} records", 1) == "{count} record"


def test_every_user_string_literal_of_the_layout_goes_through_the_catalog():
    """A cheap guard next to the extraction check: no plain English label, placeholder or title in layout.py."""
    source = (ROOT / "dashboard" / "layout.py").read_text(encoding="utf-8")
    bare = re.findall(r'(?:placeholder|title|label)="[A-Za-z][^"]*"', source)
    assert bare == []


def test_an_export_carries_the_language_of_the_page():
    from dashboard.export import to_html, to_markdown

    turns = [{"question": "Combien ?", "answer": "240.", "status": "done", "metrics": {"total_duration": 1.5}}]
    with Flask(__name__).test_request_context(headers={"Accept-Language": "fr-FR"}):
        page, text = to_html(turns), to_markdown(turns)
    assert '<html lang="fr">' in page and "<title>Conversation</title>" in page
    assert "<h3>Question</h3>" in page and "<h3>Réponse</h3>" in page and "<h3>Détails</h3>" in page
    assert "<dt>Modèle</dt><dd>inconnu</dd>" in page and "total 1,50\u00a0s" in page
    assert "**Réponse**" in text and "- Durées: total 1,50\u00a0s" in text
    assert '<html lang="en">' in to_html(turns) and "<h3>Answer</h3>" in to_html(turns)
