"""The terminal tool's one metrics line (``rag.cli.output.format_metrics``), as the prompt and dataset paths word it."""

from __future__ import annotations

from rag.cli.chat import StreamReport
from rag.cli.dataset import metrics_summary
from rag.cli.output import format_metrics


def test_every_figure_is_written_in_one_line():
    line = format_metrics(12, 0.414, 1.2, 10.04, figures_from="server")
    assert line == "12 tokens · time to first token 0.41 s · duration 1.20 s · 10.0 tokens/s (server)"


def test_unknown_figures_read_na_and_a_partial_answer_says_so():
    line = format_metrics(None, None, None, None, partial=True)
    assert line == "partial: n/a tokens · time to first token n/a · duration n/a · n/a tokens/s"


def test_a_stream_with_no_server_figures_counts_its_pieces():
    report = StreamReport(chunks=4, time_to_first_token=0.5, duration=2.0)
    assert report.summary() == "4 tokens · time to first token 0.50 s · duration 2.00 s · 2.0 tokens/s (measured)"


def test_an_answers_metrics_use_the_same_words():
    metrics = {"completion_tokens": 7, "time_to_first_token": 0.25, "total_duration": 1.5, "tokens_per_second": 5.0}
    assert metrics_summary(metrics) == format_metrics(7, 0.25, 1.5, 5.0)
    assert metrics_summary({"completion_tokens": 3, "time_to_first_token": "?"}) == (
        "3 tokens · time to first token n/a · duration n/a · n/a tokens/s"
    )
