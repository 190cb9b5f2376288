"""The page in headless Chromium set to French (``locale="fr-FR"``, so ``Accept-Language: fr-FR``): its header and
labels are French, numbers are written the French way, and the switch in the header brings English back, for good
in that browser."""

from __future__ import annotations

import json

from app import create_app
from rag.engine import RAGEngine
from rag.settings import Settings, apply_overrides
from tests.browser import Console, ask, open_page, serve, wait_answer_finished


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


def test_a_french_question_gets_a_french_computed_answer_in_a_french_page(browser, llama_server, tmp_path):
    """fr-FR: "Combien de commandes ont été retournées ?" is computed over all records, its sentence in French
    with the share written the French way, the block saying how the question was read; the model (the real
    llama.cpp server) words the rest. With en-US the same data gets the English question's English sentence."""
    from tests.protocol_servers import LLAMA_SERVER_ALIAS
    from tests.test_browser_e2e import EXAMPLE

    settings = apply_overrides(Settings(), {
        "llm": {"backend": "openai", "base_url": llama_server, "model": LLAMA_SERVER_ALIAS, "api_key_env": "",
                "max_tokens": 48, "temperature": 0.2, "num_ctx": 2048},
        "cache": {"directory": str(tmp_path / "cache")},
    }, "browser test")
    engine = RAGEngine(settings)
    engine.load_json(EXAMPLE)
    with serve(create_app(engine=engine).server) as url:
        for locale, question, expected in (
            ("fr-FR", "Combien de commandes ont été retournées ?", "14 des 240 commandes ont status = returned (5,8"),
            ("en-US", "How many orders were returned?", "14 of 240 orders have status = returned (5.8%)."),
        ):
            context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
            console = Console()
            try:
                page = open_page((context, console), url)
                page.wait_for_load_state("networkidle")  # the page's scripts, lazy chunks included, are in
                ask(page, question)
                wait_answer_finished(page)
                summary = page.inner_text(".turn .computed-summary")
                assert expected in summary, summary
                assumptions = page.inner_text(".turn .computed-block")
                if locale == "fr-FR":
                    assert "lu comme : « how many orders were returned? »" in assumptions
                    assert page.text_content(".turn .computed-title").startswith("Calculé sur l’ensemble des 240")
                else:
                    assert "lu comme" not in assumptions and "read as: “" not in assumptions
                page.wait_for_load_state("networkidle")
            finally:
                context.close()
            assert console.errors == [], f"the browser console logged errors: {console.errors}"
