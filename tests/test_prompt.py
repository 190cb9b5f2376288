from dataclasses import dataclass

import pytest

from rag.prompt import build_prompt, cited_labels, compact_record, estimate_tokens


@dataclass
class FakeHit:
    record_id: str
    text: str


def hits(n, size=200):
    return [FakeHit(f"$[{i}]", f"name: item {i}\n" + "detail: " + "x" * size) for i in range(n)]


def test_everything_fits_in_a_large_window():
    plan = build_prompt(
        "Which item is best?",
        hits(3),
        profile_text="3 records; fields: name, detail",
        history=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
        context_window=8192,
    )
    assert plan.notes == []
    assert plan.source_labels == {1: "$[0]", 2: "$[1]", 3: "$[2]"}
    roles = [m["role"] for m in plan.messages]
    assert roles == ["system", "user", "assistant", "user"]
    assert "3 records; fields" in plan.messages[0]["content"]
    last = plan.messages[-1]["content"]
    assert "[1] record $[0]" in last and "[3] record $[2]" in last
    assert last.rstrip().endswith("Question: Which item is best?")


def test_a_tight_window_drops_records_and_history_and_says_so():
    history = [{"role": "user" if i % 2 == 0 else "assistant", "content": "y" * 600} for i in range(10)]
    plan = build_prompt("q?", hits(5, size=600), profile_text="p" * 3000, history=history, context_window=1500, max_answer_tokens=256)
    assert plan.estimated_prompt_tokens <= 1500 - 256
    total = sum(estimate_tokens(m["content"]) for m in plan.messages)
    assert total <= 1500 - 256
    assert any("retrieved records were left out" in note for note in plan.notes)
    assert any("earlier message(s)" in note for note in plan.notes)
    assert any("summary was shortened" in note for note in plan.notes)
    # The best record is always there, and only kept records are labelled.
    assert "[1] record $[0]" in plan.messages[-1]["content"]
    assert len(plan.source_labels) < 5
    # The most recent history is what stays.
    kept = plan.messages[1:-1]
    if kept:
        assert kept[-1] == history[-1]


def test_a_window_too_small_for_any_prompt_is_refused():
    with pytest.raises(ValueError, match="leaves no room"):
        build_prompt("q", hits(1), context_window=600, max_answer_tokens=512)


def test_no_hits_still_asks_the_question():
    plan = build_prompt("How many records?", [], profile_text="406 records")
    assert "No records matched" in plan.messages[-1]["content"]
    assert plan.source_labels == {}


@pytest.mark.parametrize(
    "answer, labels",
    [("It is Norway [1].", [1]), ("See [2][3] and [2].", [2, 3]), ("Both [1, 4]", [1, 4]), ("No citation", []), ("array[0] [x]", [0])],
)
def test_cited_labels(answer, labels):
    assert cited_labels(answer) == labels


ORDER_TEXT = (
    "order_id: ORD-10001\nstatus: delivered\ncustomer.name: Elena Rossi\ncustomer.city: Munich\n"
    "items[0].product: Wool throw blanket\nitems[0].quantity: 3\nitems[1].product: Linen bed sheets\n"
    "note: leave at the door: back\ntotal: 381.36"
)


def test_a_compact_record_puts_one_nested_object_on_one_line_and_keeps_every_fact():
    compact = compact_record(ORDER_TEXT)
    assert compact.splitlines() == [
        "order_id: ORD-10001",
        "status: delivered",
        "customer: name=Elena Rossi, city=Munich",
        "items[0]: product=Wool throw blanket, quantity=3",
        "items[1]: product=Linen bed sheets",
        "note: leave at the door: back",
        "total: 381.36",
    ]
    for value in ("ORD-10001", "Elena Rossi", "Munich", "Wool throw blanket", "3", "Linen bed sheets", "381.36"):
        assert value in compact
    assert len(compact) < len(ORDER_TEXT)


def test_a_records_budget_keeps_the_prompt_short_whatever_the_window_and_says_what_was_left_out():
    long_history = [{"role": "user", "content": "an earlier question " * 30}, {"role": "assistant", "content": "ok"}]
    wide = build_prompt("What did Elena order?", hits(5, size=300), profile_text="p" * 600,
                        history=long_history, context_window=8192)
    short = build_prompt("What did Elena order?", hits(5, size=300), profile_text="p" * 600,
                         history=long_history, context_window=8192, records_budget=200)
    record_part = short.messages[-1]["content"]
    assert len(wide.source_labels) == 5 and len(short.source_labels) < 5
    assert estimate_tokens(record_part) <= 200 + 40, "the records (and the question) stay within the budget"
    assert any("retrieved records were left out to fit the model's short prompt" in note for note in short.notes)
    assert short.messages[0] == wide.messages[0], "the reusable prefix (instructions, summary) is the same"
    assert [m["content"] for m in short.messages[1:-1]] == ["ok"], "a long earlier turn does not fit the budget"


def test_a_single_record_longer_than_the_budget_is_cut_and_kept():
    plan = build_prompt("q?", hits(2, size=2000), context_window=8192, records_budget=120)
    assert plan.source_labels == {1: "$[0]"}
    assert "[1] record $[0]" in plan.messages[-1]["content"]
    assert "the best matching record was shortened to fit the model's short prompt" in plan.notes
