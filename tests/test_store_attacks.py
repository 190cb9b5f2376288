"""Dataset ids come from browsers: no id may make the store read, run or remove anything but its own entries.

A victim is a folder holding a file, sometimes dressed as an entry of the old store (a manifest whose checksum
matches a pickle whose ``__reduce__`` would create the "pwned" file). Each bad id is sent straight to the store,
through the engine, and through the app's callbacks over HTTP as a browser would.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
from pathlib import Path

import pytest

from dashboard import ids
from tests.callback_client import CallbackClient
from rag.dataset_store import DatasetStore, StoredDataset, is_dataset_id, store_key
from rag.profile import profile_dataset
from rag.records import Dataset, Record
from tests.scripted_llm import ScriptedClient
from tests.test_engine import wait_final

VALID_LOOKING = store_key("ab" * 32, "fingerprint")


class Exploit:
    """Unpickling it creates ``marker`` (what code an attacker would run)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def plant_victim(folder: Path, pwned: Path, forged: str | None, *, precious: bool = True) -> None:
    """A folder with a file (unless not ``precious``); ``forged``: also an old-store entry (``"format1"``) or a
    new-looking manifest (``"format2"``) over a malicious pickle, checksums right."""
    folder.mkdir(parents=True, exist_ok=True)
    if precious:
        (folder / "precious.txt").write_text("keep me")
    if forged is None:
        return
    payload = pickle.dumps(Exploit(pwned))
    (folder / "entry.pkl").write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    manifest = {"format": 1, "key": folder.name, "name": "x", "record_count": 1, "size_bytes": 1}
    if forged == "format1":
        manifest.update(entry_bytes=len(payload), entry_sha256=digest)
    else:
        manifest.update(format=2, files={
            name: {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "bytes": path.stat().st_size}
            for name, path in ((path.name, path) for path in folder.iterdir() if path.is_file())
        })
    (folder / "manifest.json").write_text(json.dumps(manifest))


class NoIndexes:
    def save(self, folder: Path) -> None:
        Path(folder).mkdir()


def tiny_entry() -> StoredDataset:
    records = [Record(id="$[0]", data={"a": 1}, flat={"a": 1})]
    dataset = Dataset(name="tiny.json", records=records, content_hash="cd" * 32)
    return StoredDataset(dataset=dataset, profile=profile_dataset(records), indexes=NoIndexes())


def test_the_store_saves_only_under_its_own_keys(tmp_path):
    store = DatasetStore(tmp_path / "datasets", max_bytes=10**9)
    for bad in ["../escape", "..", "", "/tmp/x", VALID_LOOKING + "/x"]:
        assert not store.save(bad, tiny_entry())
    assert not (tmp_path / "escape").exists()
    assert list((tmp_path / "datasets").iterdir()) == [] if (tmp_path / "datasets").exists() else True


def attack_cases(tmp_path: Path, store_dir: Path) -> list[tuple[str, Path]]:
    """(bad id, the folder it names)."""
    return [
        (str(tmp_path / "victim-abs"), tmp_path / "victim-abs"),
        ("../../victim", tmp_path / "victim"),
        ("..", store_dir.parent),
        (".", store_dir),
        ("victim", store_dir / "victim"),
        ("sub/victim", store_dir / "sub" / "victim"),
        (str(store_dir / "victim-inside"), store_dir / "victim-inside"),
        (VALID_LOOKING + "/..", store_dir),
        (VALID_LOOKING + "\n", store_dir / (VALID_LOOKING + "\n")),
    ]


NOT_STRINGS = [None, 42, ["../.."], {"dataset_id": ".."}, b".."]


@pytest.fixture
def planted(tmp_path):
    """The store folder (``tmp/cache/datasets``) and a victim for every case, planted by ``plant(forged)``."""
    store_dir = tmp_path / "cache" / "datasets"
    store_dir.mkdir(parents=True)
    pwned = tmp_path / "PWNED"
    cases = attack_cases(tmp_path, store_dir)

    def plant(forged: str | None) -> list[tuple[str, Path]]:
        for _bad, victim in cases:
            plant_victim(victim, pwned, forged)
        return cases

    return store_dir, pwned, plant


def assert_untouched(cases: list[tuple[str, Path]], pwned: Path, caplog) -> None:
    for bad, victim in cases:
        assert (victim / "precious.txt").read_text() == "keep me", f"{bad!r} removed {victim}"
    assert not pwned.exists(), "a pickle was loaded"
    assert "is removed" not in caplog.text


def test_dataset_ids_are_exactly_the_keys_the_store_makes():
    assert is_dataset_id(VALID_LOOKING)
    for bad in ["", ".", "..", "../" + VALID_LOOKING, VALID_LOOKING.upper(), VALID_LOOKING + "\n",
                VALID_LOOKING[:-1], "/" + VALID_LOOKING, VALID_LOOKING.replace("-", "/"), *NOT_STRINGS]:
        assert not is_dataset_id(bad), bad


@pytest.mark.parametrize("forged", [None, "format1", "format2"])
def test_the_store_never_opens_nor_removes_what_a_bad_id_names(planted, forged, caplog):
    store_dir, pwned, plant = planted
    cases = plant(forged)
    store = DatasetStore(store_dir, max_bytes=10**9)
    caplog.set_level(logging.DEBUG, logger="rag.dataset_store")
    for bad, _victim in cases:
        assert store.open(bad) is None
        assert not store.contains(bad)
    assert_untouched(cases, pwned, caplog)
    for bad, _victim in cases:
        store.touch(bad)
    for bad in NOT_STRINGS:
        assert store.open(bad) is None and not store.contains(bad)
        store.touch(bad)
    assert_untouched(cases, pwned, caplog)
    assert store.recent() == [] and store.total_bytes() == 0


@pytest.mark.parametrize("forged", [None, "format2"])
def test_a_folder_named_like_an_entry_but_not_made_by_the_store_is_left_alone(tmp_path, forged, caplog):
    store_dir = tmp_path / "datasets"
    victim = store_dir / VALID_LOOKING
    pwned = tmp_path / "PWNED"
    plant_victim(victim, pwned, forged)
    store = DatasetStore(store_dir, max_bytes=0)
    caplog.set_level(logging.DEBUG, logger="rag.dataset_store")
    for _ in range(3):
        assert store.open(VALID_LOOKING) is None and not store.contains(VALID_LOOKING)
    store._evict(keep="")  # a store over its size (0 bytes) evicts only its own entries
    assert not store.save(VALID_LOOKING, tiny_entry()), "a save does not replace it"
    assert (victim / "precious.txt").read_text() == "keep me" and not pwned.exists()
    assert sorted(path.name for path in store_dir.iterdir()) == [VALID_LOOKING], "nothing left behind"
    assert "is removed" not in caplog.text
    assert caplog.text.count("left alone") == 1, "reported once"


def test_an_old_store_entry_named_like_a_key_is_dropped_unread(tmp_path, caplog):
    store_dir = tmp_path / "datasets"
    victim = store_dir / VALID_LOOKING
    pwned = tmp_path / "PWNED"
    plant_victim(victim, pwned, "format1")
    caplog.set_level(logging.DEBUG, logger="rag.dataset_store")
    assert DatasetStore(store_dir, max_bytes=10**9).open(VALID_LOOKING) is None
    assert not pwned.exists(), "never unpickled"
    assert not (victim / "entry.pkl").exists() and not (victim / "manifest.json").exists()
    assert (victim / "precious.txt").read_text() == "keep me", "only the old store's own two files go"
    assert "old format, rebuilt from its file on next load" in caplog.text


# ------------------------------------------------------------------------------------------ the engine and the app
@pytest.fixture
def engine(tmp_path):
    from rag.cache import ResponseCache
    from rag.engine import RAGEngine
    from rag.settings import Settings, apply_overrides
    from rag.stream_buffer import StreamBuffer

    settings = apply_overrides(Settings(), {"cache": {"directory": str(tmp_path / "cache")}}, "test")
    client = ScriptedClient()
    return RAGEngine(settings, buffer=StreamBuffer(), client_factory=lambda llm: client, cache=ResponseCache(None))


@pytest.mark.parametrize("forged", [None, "format1", "format2"])
def test_the_engine_opens_nothing_a_bad_id_names(planted, engine, forged, caplog):
    store_dir, pwned, plant = planted
    assert engine.store is not None and engine.store.directory == store_dir
    cases = plant(forged)
    caplog.set_level(logging.DEBUG, logger="rag.dataset_store")
    for bad, _victim in cases:
        assert engine.open_dataset(bad, tab="tab-1") is None
        assert engine.dataset_by_id(bad) is None
    assert_untouched(cases, pwned, caplog)
    for bad in NOT_STRINGS:
        assert engine.open_dataset(bad, tab="tab-1") is None
        assert engine.dataset_by_id(bad) is None
    assert_untouched(cases, pwned, caplog)


def test_bad_ids_sent_by_a_browser_to_the_apps_callbacks_touch_nothing(planted, engine, caplog):
    from app import create_app

    store_dir, pwned, plant = planted
    cases = plant("format1")
    client = CallbackClient(create_app(engine=engine))
    caplog.set_level(logging.DEBUG, logger="rag.dataset_store")
    for bad in [bad for bad, _victim in cases] + [bad for bad in NOT_STRINGS if not isinstance(bad, bytes)]:
        # the app may refuse a malformed body (400) or answer with nothing open: either way nothing is touched
        shown = client.call(ids.STORED_DATA, "data", {"dataset_id": bad})
        assert shown.status in (200, 400), bad
        reopened = client.call(ids.RECENT_DATASETS, "value", bad, state={f"{ids.TAB_ID}.data": "tab-1"})
        assert reopened.status in (200, 204, 400), bad
        sent = client.call(ids.SEND_BUTTON, "n_clicks", 1, state={
            f"{ids.CHAT_INPUT}.value": "How many records are there?",
            f"{ids.CHAT_HISTORY_STORE}.data": [],
            f"{ids.STREAMING_ACTIVE}.data": False,
            f"{ids.STORED_DATA}.data": {"dataset_id": bad},
            f"{ids.TAB_ID}.data": "tab-1",
        })
        assert sent.status in (200, 400), bad
        if sent.status == 200:
            answer = wait_final(engine, sent.output(ids.STREAMING_SESSION_ID, "data"))
            assert answer.status == "error", bad
        if isinstance(bad, str):
            assert shown.status == sent.status == 200, f"{bad!r} reached the engine"
    assert_untouched(cases, pwned, caplog)
