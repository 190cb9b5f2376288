from rag.cache import ResponseCache, answer_key, normalise_question

BASE = dict(dataset_hash="h1", llm={"backend": "embedded", "model": None, "temperature": 0.2}, retrieval={"top_k": 5})


def test_question_normalisation_ignores_case_spacing_and_trailing_punctuation():
    assert normalise_question("  How many   CARS? ") == normalise_question("how many cars")
    assert normalise_question("cars of 1970") != normalise_question("cars of 1971")


def test_key_changes_with_everything_that_changes_an_answer():
    key = answer_key(question="How many?", **BASE)
    assert key == answer_key(question="how many", **BASE)
    assert key != answer_key(question="How many?", **{**BASE, "dataset_hash": "h2"})
    assert key != answer_key(question="How many?", **{**BASE, "llm": {**BASE["llm"], "temperature": 0.9}})
    assert key != answer_key(question="How many?", **{**BASE, "retrieval": {"top_k": 3}})
    assert key != answer_key(question="How many?", history=[{"role": "user", "content": "earlier"}], **BASE)


def test_answers_survive_a_restart_through_the_disk(tmp_path):
    cache = ResponseCache(tmp_path / "answers", max_items=2)
    cache.put("k", {"text": "42", "sources": [{"record_id": "$[1]"}]})
    assert cache.get("k")["text"] == "42"
    cache.close()
    reopened = ResponseCache(tmp_path / "answers")
    assert reopened.get("k") == {"text": "42", "sources": [{"record_id": "$[1]"}]}
    assert reopened.get("other") is None


def test_memory_is_bounded_lru():
    cache = ResponseCache(None, max_items=2)
    for key in "abc":
        cache.put(key, {"text": key})
    assert len(cache) == 2
    assert cache.get("a") is None and cache.get("c") == {"text": "c"}


def test_clear_forgets_memory_and_disk(tmp_path):
    cache = ResponseCache(tmp_path)
    cache.put("k", {"text": "x"})
    cache.clear()
    assert cache.get("k") is None


def test_answers_from_many_short_lived_threads_leave_no_open_files_behind(tmp_path):
    """Every answer runs in a thread of its own; diskcache keeps a database connection per thread, and the
    app once leaked two file descriptors per answer until waitress failed past 1,024."""
    import os
    import threading

    from rag.cache import ResponseCache

    cache = ResponseCache(tmp_path / "answers")

    def open_files() -> int:
        return len(os.listdir(f"/proc/{os.getpid()}/fd"))

    def answer(n: int) -> None:
        cache.get(f"key-{n}")
        cache.put(f"key-{n}", {"text": f"answer {n}"})

    answer(-1)
    before = open_files()
    for n in range(200):
        thread = threading.Thread(target=answer, args=(n,))
        thread.start()
        thread.join()
    assert open_files() - before < 5
    assert ResponseCache(tmp_path / "answers").get("key-199") == {"text": "answer 199"}
