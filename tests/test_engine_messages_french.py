"""The engine's own sentences (notices, waiting statuses, prompt notes, the backends' errors) in the question's
language: French for a French question, the same English as before for an English one."""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytest

from rag.answer_pipeline import (
    NO_MATCH_MESSAGE,
    NO_MATCH_WHILE_INDEXING,
    take_model_turn,
)
from rag.answer_events import Waiting
from rag.engine import RAGEngine
from rag.errors import LLMError, ModelNotFoundError, ServerUnreachableError
from rag.i18n import N_, worded
from rag.llm import create_client
from rag.llm.cancel import CancelToken
from rag.loading import LoadTicket
from rag.model_queue import ModelQueue
from rag.prompt import build_prompt
from rag.retriever import Hit
from rag.settings import Settings, apply_overrides
from rag.stream_buffer import StreamBuffer
from tests.datasets import pycountry_database_path, vega_cars_path
from tests.protocol_servers import free_port
from tests.scripted_llm import ScriptedClient
from tests.test_engine import embedder, embeddings_dir, make_engine  # noqa: F401  (shared fixtures)

RAG = Path(__file__).resolve().parent.parent / "rag"


def ask_while_embedding(make_engine, tmp_path, question: str):  # noqa: F811
    """The answer to ``question`` asked as soon as the records can be searched by keywords, before any is
    embedded (semantic search still indexing, 0%)."""
    engine, client = make_engine(ScriptedClient().enqueue("Invented."), cache={"directory": str(tmp_path)})
    asked: dict[str, object] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "embedding" and done == 0 and "answer" not in asked:
            asked["answer"] = engine.chat(question)

    engine.load_json(pycountry_database_path("iso3166-1.json"), progress=progress)
    assert client.history == [], "no record matched: the model is not asked"
    return asked["answer"]


def test_a_french_question_no_record_matches_gets_the_french_notice(make_engine, tmp_path) -> None:  # noqa: F811
    answer = ask_while_embedding(make_engine, tmp_path, "Quels pays parlent le klingon ?")
    assert answer.status == "done" and answer.sources == []
    assert answer.text == (
        "Aucun enregistrement ne contient les mots de cette question : il n'y a rien sur quoi fonder une réponse."
        " La recherche sémantique (qui trouve les enregistrements par leur sens) est encore en cours d'indexation,"
        " 0 % déjà faits : reposez la question quand elle aura fini, ou employez des mots que contiennent les"
        " enregistrements."
    )


def test_an_english_question_no_record_matches_gets_the_same_english_notice(make_engine, tmp_path) -> None:  # noqa: F811
    answer = ask_while_embedding(make_engine, tmp_path, "Which countries speak Klingonese?")
    assert answer.text == NO_MATCH_MESSAGE + NO_MATCH_WHILE_INDEXING.format(percent=0)
    assert answer.text == (
        "No record contains the words of this question, so there is nothing to answer from. Semantic search (which"
        " finds records by meaning) is still indexing, 0% done: ask again when it finishes, or use words the"
        " records contain."
    )


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Parlez-moi de la chevrolet chevelle malibu", "Le serveur compatible OpenAI est injoignable à {url} — est-il lancé ?"),
        ("Tell me about the chevrolet chevelle malibu", "The OpenAI-compatible server is not reachable at {url} — is it running?"),
    ],
)
def test_a_server_that_is_down_fails_in_the_questions_language(
    embedder, embeddings_dir, question, expected  # noqa: F811
) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nobody listens: connection refused
    overrides = {"cache": {"directory": str(embeddings_dir)}, "llm": {"backend": "openai", "base_url": url, "model": "m"}}
    settings = apply_overrides(Settings(), overrides, "test")
    engine = RAGEngine(settings, buffer=StreamBuffer(), client_factory=create_client, embedder=embedder)
    engine.load_json(vega_cars_path())
    answer = engine.chat(question)
    assert answer.status == "error"
    assert answer.error == expected.format(url=url)


def test_an_error_keeps_its_english_message_and_is_worded_in_french() -> None:
    error = ServerUnreachableError("Ollama is not reachable at {url} — is `ollama serve` running?", url="http://h:1")
    assert error.message == str(error) == "Ollama is not reachable at http://h:1 — is `ollama serve` running?"
    assert error.worded("en") == error.message
    assert error.worded("fr") == "Ollama est injoignable à http://h:1 — `ollama serve` est-il lancé ?"
    unknown = ModelNotFoundError("llama9", [])
    assert unknown.message == "model 'llama9' not found; available: none reported"
    assert unknown.worded("fr") == "modèle « llama9 » introuvable ; disponibles : aucun signalé"
    assert LLMError("a message the catalog lacks {not a placeholder}").worded("fr") == (
        "a message the catalog lacks {not a placeholder}"
    )


def test_the_load_wait_is_said_in_the_questions_language() -> None:
    ticket = LoadTicket(name="cars.json", stage="embedding", done=23, total=100)
    assert ticket.waiting_text() == "Waiting for cars.json (embedding the records, 23%)…"
    assert ticket.waiting_text("fr") == "En attente de cars.json (calcul des vecteurs des enregistrements, 23 %)…"
    reading = LoadTicket(name="cars.json", stage="parsing")
    assert reading.waiting_text() == "Waiting for cars.json (reading the file)…"
    assert reading.waiting_text("fr") == "En attente de cars.json (lecture du fichier)…"


def test_a_load_that_failed_is_explained_in_the_questions_language() -> None:
    from rag.answer_events import Failed
    from rag.load_coordinator import LoadCoordinator

    loads = LoadCoordinator()
    ticket = loads.begin("cars.json", "tab")
    waiting = loads.wait_for_load("Combien de voitures ?", CancelToken(), "tab")
    assert next(waiting) == Waiting("En attente de cars.json (démarrage)…")
    ticket.fail(N_("the file never reached the app; choose it again."))
    failure = [event for event in waiting if isinstance(event, Failed)]
    assert [event.error for event in failure] == [
        "cars.json n'a pas pu être chargé, la question n'a donc pas reçu de réponse : le fichier n'est jamais parvenu"
        " à l'application ; choisissez-le à nouveau. La question est remise dans la zone de saisie pour être envoyée"
        " à nouveau."
    ]


@pytest.mark.parametrize(
    ("language", "expected"),
    [("fr", "En attente du modèle (position 1)…"), ("en", "Waiting for the model (position 1)…")],
)
def test_the_wait_for_the_model_is_said_in_the_questions_language(language, expected) -> None:
    queue = ModelQueue(1)
    assert queue.acquire("first", CancelToken(), lambda position: None)
    turn = take_model_turn(queue, "second", CancelToken(), language)
    assert next(turn) == Waiting(expected)
    threading.Timer(0.05, queue.release, args=("first",)).start()
    assert list(turn)[-1] == Waiting(None)  # its turn came: the status is cleared
    queue.release("second")


def test_the_semantic_wait_message_is_worded_in_french() -> None:
    from rag.answer_pipeline import SEMANTIC_WAIT_MESSAGE

    assert worded("en", SEMANTIC_WAIT_MESSAGE, percent=60) == "Waiting for semantic search, 60%…"
    assert worded("fr", SEMANTIC_WAIT_MESSAGE, percent=60) == "En attente de la recherche sémantique, 60 %…"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", ["2 earlier message(s) of the conversation were left out to fit the context window",
                "1 of 2 retrieved records were left out to fit the context window"]),
        ("fr", ["2 message(s) précédent(s) de la conversation omis pour tenir dans la fenêtre de contexte",
                "1 des 2 enregistrements retrouvés omis pour tenir dans la fenêtre de contexte"]),
    ],
)
def test_the_prompt_notes_are_in_the_questions_language(language, expected) -> None:
    hits = [Hit(record_id=f"r{i}", score=1.0, text="word " * 300, record=None) for i in range(2)]
    history = [{"role": "user", "content": "word " * 900}, {"role": "assistant", "content": "word " * 400}]
    plan = build_prompt("What about r1?", hits, context_window=1024, max_answer_tokens=256, history=history,
                        language=language)
    assert [note for note in plan.notes if "message(s)" in note or " 2 " in note] == expected
    opening = {"en": "You are a data analyst", "fr": "Tu es un analyste de données"}[language]
    assert plan.messages[0]["content"].startswith(opening)  # the model is instructed in the question's language


def test_a_context_window_too_small_is_explained_in_the_questions_language() -> None:
    with pytest.raises(ValueError, match="^the context window \\(300 tokens\\) leaves no room for a prompt"):
        build_prompt("q", [], context_window=300, max_answer_tokens=256)
    with pytest.raises(ValueError, match="^la fenêtre de contexte \\(300 jetons\\) ne laisse aucune place"):
        build_prompt("q", [], context_window=300, max_answer_tokens=256, language="fr")


ERRORS = {"LLMError", "ConfigError", "ServerUnreachableError", "HTTPStatusError", "LLMTimeoutError",
          "StreamInterruptedError"}
"""The errors made from a catalog message (``ModelNotFoundError`` words its own, from the model's name)."""
CONFIG_ERRORS_OF_OTHER_MODULES = {"settings.py", "embeddings.py", "model_files.py", "state.py", "arguments.py",
                                  "llm_choice.py"}
"""Modules whose ``ConfigError``s (settings files, the command line, startup) are not worded yet."""


def _marked(node: ast.expr, constants: set[str]) -> bool:
    """Whether ``node`` is a catalog message: ``N_("...")``/``_("...")``, a module constant made with ``N_``,
    another error's ``.template``, or the transport's ``unreachable_message`` (checked where it is given)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("N_", "_", "gettext"):
        return True
    if isinstance(node, ast.Name):
        return node.id in constants
    return isinstance(node, ast.Attribute) and node.attr in ("template", "_unreachable_message")


def test_every_error_the_engine_raises_passes_a_catalog_message() -> None:
    """A new ``LLMError``/``ConfigError`` with an English-only text fails here: give it ``N_("...")`` and values."""
    unmarked, checked = [], 0
    for path in sorted(RAG.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {
            target.id
            for statement in tree.body if isinstance(statement, ast.Assign) and _marked(statement.value, set())
            for target in statement.targets if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            for keyword in node.keywords:  # the transport's message of a server that cannot be reached
                if keyword.arg == "unreachable_message" and not _marked(keyword.value, constants):
                    unmarked.append(f"{path.relative_to(RAG)}:{node.lineno}")
            if name not in ERRORS or (name == "ConfigError" and path.name in CONFIG_ERRORS_OF_OTHER_MODULES):
                continue
            checked += 1
            if not node.args or not _marked(node.args[0], constants):
                unmarked.append(f"{path.relative_to(RAG)}:{node.lineno}")
    assert checked > 30
    assert unmarked == []
