"""What a user meets when a file cannot be loaded, or a model server is refused, is worded in the page's language:
the errors are catalog messages (``str(error)`` stays English, ``error.worded("fr")`` is French), and a loading job
keeps the language of the request that started it, since its thread answers none."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from dashboard.data_flow import ingest_view
from dashboard.ingest_jobs import FAILED, IngestJobRegistry, JobProgress
from rag import model_files
from rag.errors import ConfigError, DataLoadError
from rag.llm_choice import AppAddress, ChoiceRefused, LLMChoice, resolve_choice
from rag.loader import load_dataset
from rag.settings import Settings, apply_overrides

ROOT = Path(__file__).resolve().parent.parent
FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9"}


def refused(source: Any, **options: Any) -> DataLoadError:
    with pytest.raises(DataLoadError) as caught:
        load_dataset(source, **options)
    return caught.value


def assert_worded(error: Exception, english: str, french: str) -> None:
    """``error`` says ``english`` (its text, unchanged) and ``french`` (worded in French)."""
    assert isinstance(error, (DataLoadError, ConfigError))
    assert (str(error), error.worded("fr")) == (english, french)


# --- the loader's errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "english", "french"),
    [
        ("cars.json", '[{"name": "a"},\n {"name" "b"}]',
         'invalid JSON at line 2, column 10: a colon (:) was expected (near "\\"b\\"}]")',
         'JSON non valide à la ligne 2, colonne 10 : un deux-points (:) était attendu (près de "\\"b\\"}]")'),
        ("cut.json", '[{"name": "a"},',
         "invalid JSON at line 1, column 16: the text ends before the JSON is complete (is the file cut short?)",
         "JSON non valide à la ligne 1, colonne 16 : le texte s'arrête avant la fin du JSON (le fichier est-il "
         "tronqué ?)"),
        ("rows.jsonl", '{"a": 1}\n{"a": 2,}\n',
         'invalid JSON Lines: line 2, column 9: a key in double quotes was expected (near "}")',
         "JSON Lines non valide : ligne 2, colonne 9 : une clé entre guillemets doubles était attendue "
         '(près de "}")'),
        ("empty.json", "  \n", "the file is empty; expected JSON records",
         "le fichier est vide ; des enregistrements JSON étaient attendus"),
        ("none.json", "[]", "no records found: the top-level array is empty",
         "aucun enregistrement trouvé : le tableau de premier niveau est vide"),
        ("none.json", "{}", "no records found: the top-level object is empty",
         "aucun enregistrement trouvé : l'objet de premier niveau est vide"),
        ("none.json", '{"meta": {}, "tags": []}', "no records found: the object holds no values",
         "aucun enregistrement trouvé : l'objet ne contient aucune valeur"),
        ("one.json", "42",
         "expected records (an array of objects, an object, or JSON Lines), but the data is a single number value: 42",
         "des enregistrements étaient attendus (un tableau d'objets, un objet ou du JSON Lines), mais les données "
         "sont une seule valeur de type nombre : 42"),
    ],
)
def test_a_bad_file_is_refused_in_french_and_in_unchanged_english(
    tmp_path: Path, name: str, content: str, english: str, french: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    error = refused(path)
    assert_worded(error, f"{name}: {english}", f"{name} : {french}")
    assert error.worded("en") == str(error)


def test_files_too_large_badly_encoded_or_missing_are_refused_in_french(tmp_path: Path) -> None:
    error = refused(b"[" + b"1," * 600_000 + b"1]", name="big.json", max_bytes=1024 * 1024)
    assert_worded(
        error,
        "big.json: the file is too large: 1.1 MB (1,200,003 bytes), over the limit of 1.0 MB (1,048,576 bytes)",
        "big.json : le fichier est trop volumineux : 1.1 Mo (1200003 octets), au-delà de la limite de 1.0 Mo "
        "(1048576 octets)",
    )
    error = refused('[{"a": "é"}]'.encode("utf-16"), name="u16.json")
    assert error.worded("fr") == (
        "u16.json : le fichier est encodé en UTF-16 ; enregistrez-le en UTF-8 puis déposez-le à nouveau"
    )
    error = refused(b'[{"a": "\xe9"}]', name="latin.json")
    assert str(error).endswith("byte 0xe9 at byte offset 8 (line 1) cannot be decoded; save the file as UTF-8")
    assert "l'octet 0xe9 à la position 8 (ligne 1) ne peut pas être décodé" in error.worded("fr")
    missing = tmp_path / "gone.json"
    error = refused(missing)
    assert_worded(error, f"gone.json: file not found ({missing})", f"gone.json : fichier introuvable ({missing})")


def test_data_nested_too_deeply_is_refused_in_french() -> None:
    error = refused(json.dumps([[[[[1]]]]]).encode(), name="deep.json", max_depth=3)
    assert_worded(
        error,
        "deep.json: the data is nested too deeply: more than 3 levels of arrays and objects (at $[0][0][0])",
        "deep.json : les données sont imbriquées trop profondément : plus de 3 niveaux de tableaux et d'objets "
        "(à $[0][0][0])",
    )


# --- the page's loading jobs ----------------------------------------------------------------------------------


def load_bad_file(progress: JobProgress) -> Any:
    progress("parsing", 0, 1)
    return load_dataset(b'{"name": "a",}', name="orders.json")


def test_a_load_started_from_a_french_page_fails_with_a_french_message() -> None:
    jobs = IngestJobRegistry()
    with Flask(__name__).test_request_context(headers=FRENCH):
        job_id = jobs.start("orders.json", load_bad_file)
    job = jobs.wait(job_id, timeout=10)
    assert job is not None and job.status == FAILED
    assert job.message == (
        'orders.json : JSON non valide à la ligne 1, colonne 14 : une clé entre guillemets doubles était attendue '
        '(près de "}")'
    )
    with Flask(__name__).test_request_context(headers=FRENCH):  # the poll shows it as it is
        shown = ingest_view(job).message
    assert shown is not None and shown[0].children == job.message


def test_a_load_started_outside_a_request_or_from_an_english_page_fails_in_english() -> None:
    jobs = IngestJobRegistry()
    english = 'orders.json: invalid JSON at line 1, column 14: a key in double quotes was expected (near "}")'
    job = jobs.wait(jobs.start("orders.json", load_bad_file), timeout=10)
    assert job is not None and job.message == english
    with Flask(__name__).test_request_context(headers={"Accept-Language": "en-US"}):
        job_id = jobs.start("orders.json", load_bad_file)
    job = jobs.wait(job_id, timeout=10)
    assert job is not None and job.message == english


def test_an_unexpected_failure_is_reported_in_french() -> None:
    def crash(_progress: JobProgress) -> None:
        raise RuntimeError("disk on fire")

    jobs = IngestJobRegistry()
    with Flask(__name__).test_request_context(headers=FRENCH):
        job_id = jobs.start("a.json", crash)
    job = jobs.wait(job_id, timeout=10)
    assert job is not None and job.status == FAILED
    assert job.message == "Le chargement a échoué de façon inattendue : disk on fire"
    english = jobs.wait(jobs.start("a.json", crash), timeout=10)
    assert english is not None and english.message == "Loading failed unexpectedly: disk on fire"


# --- the model panel's refusals -------------------------------------------------------------------------------


def test_the_apps_own_address_is_refused_in_french() -> None:
    settings = apply_overrides(Settings(), {"llm": {"backend": "ollama", "base_url": "http://127.0.0.1:8050"}}, "t")
    with pytest.raises(ChoiceRefused) as caught:
        resolve_choice(settings, None, AppAddress("127.0.0.1", 8050))
    assert str(caught.value).startswith("http://127.0.0.1:8050 is this app's own address, not a model server")
    assert caught.value.worded("fr") == (
        "http://127.0.0.1:8050 est l'adresse de cette application, pas celle d'un serveur de modèle : l'application "
        "s'interrogerait elle-même en boucle. Indiquez l'adresse du serveur de modèle (Ollama, llama.cpp, vLLM…)."
    )


def test_a_server_the_app_does_not_offer_is_refused_in_french_with_its_name_worded_too() -> None:
    settings = apply_overrides(Settings(), {"llm": {"backend": "ollama"}, "server": {"host": "0.0.0.0"}}, "t")
    with pytest.raises(ChoiceRefused) as caught:
        resolve_choice(settings, LLMChoice(backend="embedded"))
    assert_worded(
        caught.value,
        "this app offers its configured model server and those of llm.servers only; the embedded model is not one "
        "of them",
        "cette application ne propose que son serveur de modèle configuré et ceux de llm.servers ; le modèle "
        "intégré n'en fait pas partie",
    )
    with pytest.raises(ChoiceRefused) as caught:
        resolve_choice(settings, LLMChoice(backend="openai", base_url="ftp://h/v1"))
    assert caught.value.worded("fr") == "« ftp://h/v1 » n'est pas une URL de serveur http:// ou https://"


def test_a_missing_embedded_model_is_reported_in_french(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_files, "_package_dir", lambda _package: None)
    with pytest.raises(ConfigError) as caught:
        model_files.default_gguf_path()
    assert str(caught.value).startswith("the embedded model is missing: install it with")
    assert caught.value.worded("fr").startswith("le modèle intégré est absent : installez-le avec")


# --- every load error is a catalog message --------------------------------------------------------------------

MARKERS = ("N_", "_")


def unmarked_load_errors(tree: ast.Module) -> list[int]:
    """The lines of ``DataLoadError(...)`` calls whose message is not a catalog message: an ``N_``/``_`` call, a
    name only ever bound to one, an item of a table (dict, tuple) of them, or a choice between two."""
    bound: dict[str, list[ast.expr]] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Name):
                    bound.setdefault(target.id, []).append(node.value)

    def marked(node: ast.expr, seen: frozenset[str] = frozenset()) -> bool:
        if isinstance(node, ast.Call):
            return isinstance(node.func, ast.Name) and node.func.id in MARKERS and len(node.args) == 1 and (
                isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
            )
        if isinstance(node, ast.IfExp):
            return marked(node.body, seen) and marked(node.orelse, seen)
        if isinstance(node, ast.Subscript):
            return table_of_marked(node.value, seen)
        if isinstance(node, ast.Name) and node.id not in seen:
            values = bound.get(node.id, [])
            return bool(values) and all(marked(value, seen | {node.id}) for value in values)
        return False

    def table_of_marked(node: ast.expr, seen: frozenset[str]) -> bool:
        if isinstance(node, ast.Subscript):
            return table_of_marked(node.value, seen)
        if isinstance(node, ast.Name) and node.id not in seen:
            values = bound.get(node.id, [])
            return bool(values) and all(table_of_marked(value, seen | {node.id}) for value in values)
        if isinstance(node, ast.Dict):
            items: list[Any] = node.values
        else:
            items = node.elts if isinstance(node, (ast.Tuple, ast.List)) else []
        return bool(items) and all(marked(item, seen) or table_of_marked(item, seen) for item in items)

    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "DataLoadError"
        and not (node.args and marked(node.args[0]))
    ]


def test_every_load_error_of_the_engine_is_a_catalog_message() -> None:
    checked = 0
    for path in sorted((ROOT / "rag").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        if "DataLoadError(" not in source:
            continue
        tree = ast.parse(source)
        checked += sum(
            isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "DataLoadError"
            for node in ast.walk(tree)
        )
        assert unmarked_load_errors(tree) == [], f"{path.relative_to(ROOT)}: mark the message with N_(...)"
    assert checked >= 25


def test_the_check_finds_an_english_only_load_error() -> None:
    tree = ast.parse(
        "A = N_('{label}: a')\nB = {True: N_('{label}: b'), False: '{label}: c'}\n"
        "C = {'k': (N_('{label}: h'), N_('{label}: i'))}\n"
        "DataLoadError(A, label=x)\nDataLoadError(f'{label}: d')\nDataLoadError(B[y], label=x)\n"
        "DataLoadError(N_('{label}: e') if y else '{label}: f', label=x)\nDataLoadError(N_('{label}: g'), label=x)\n"
        "DataLoadError(C['k'][y], label=x)\nDataLoadError(D['k'][y], label=x)\n"
    )
    assert unmarked_load_errors(tree) == [5, 6, 7, 10]
