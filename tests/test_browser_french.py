"""The page in headless Chromium set to French (``locale="fr-FR"``, so ``Accept-Language: fr-FR``): its header and
labels are French, numbers are written the French way, and the switch in the header brings English back, for good
in that browser."""

from __future__ import annotations

import json

from app import create_app
from rag.engine import RAGEngine
from rag.settings import Settings, apply_overrides
from tests.browser import Console, open_page, serve


def test_a_french_browser_gets_the_page_in_french_until_it_picks_english(browser, tmp_path):
    settings = apply_overrides(Settings(), {"data": {"max_upload_mb": 0.5}}, "browser test")
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    console = Console()
    try:
        with serve(create_app(engine=RAGEngine(settings)).server) as url:
            page = open_page((context, console), url)
            assert page.evaluate("() => document.documentElement.lang") == "fr"
            assert "Posez des questions sur un jeu de données JSON" in page.inner_text(".topbar")
            assert page.text_content(".data-panel .panel-head h2") == "Données"
            assert page.text_content(".chat-panel .panel-head h2") == "Discussion"
            assert page.text_content("#send-button") == "Envoyer"
            assert page.get_attribute("#chat-input", "placeholder") == (
                "Posez une question sur les données, puis appuyez sur Entrée"
            )
            assert page.text_content("#load-example-button") == "Charger l’exemple"
            assert "Enregistrements" in page.text_content(".data-tabs")

            # a file over the limit: the page's own message, its numbers written the French way (0,5 Mo; 1,1 Mo)
            big = tmp_path / "gros.json"
            big.write_text(json.dumps([{"n": i, "pad": "x" * 100} for i in range(10_000)]))
            page.set_input_files("#upload-data input[type=file]", str(big))
            page.wait_for_selector("#upload-notice:has-text('peuvent être chargés')", timeout=30_000)
            megabytes = f"{big.stat().st_size / 1024 / 1024:.1f}".replace(".", ",")
            notice = page.inner_text("#upload-notice").replace("\u00a0", " ").replace("\u202f", " ")
            assert f"gros.json fait {megabytes} Mo ; les fichiers jusqu’à 0,5 Mo peuvent être chargés" in notice

            page.click("label:has-text('English')")  # the switch: kept in a cookie, the page loads again in it
            page.wait_for_selector("#send-button:text-is('Send')")
            assert page.evaluate("() => document.documentElement.lang") == "en"
            again = open_page((context, console), url)  # the same browser keeps English
            assert again.text_content("#send-button") == "Send"
            assert "Ask questions about a JSON dataset" in again.inner_text(".topbar")
    finally:
        context.close()
    assert console.errors == [], f"the browser console logged errors: {console.errors}"
