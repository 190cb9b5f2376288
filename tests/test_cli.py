"""``python -m rag.cli`` run as a real process: against the Ollama protocol server, the real
llama.cpp server and the embedded model."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.protocol_servers import ChatReply

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("processes")  # every test runs the tool as a process of its own
SUMMARY = re.compile(
    r"(?P<partial>partial: )?(?P<tokens>\d+) tokens · time to first token (?P<ttft>[\d.]+ s|n/a) · "
    r"duration (?P<duration>[\d.]+) s · (?P<rate>[\d.]+|n/a) tokens/s \((?P<source>server|measured)\)"
)


def run_cli(*args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args],
        cwd=ROOT,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def summary_of(stderr: str) -> re.Match[str]:
    match = SUMMARY.search(stderr)
    assert match, f"no summary line in: {stderr!r}"
    return match


def test_streams_from_ollama_and_reports_the_servers_figures(ollama_server):
    result = run_cli("Say the answer", "--backend", "ollama", "--base-url", ollama_server.url, "--model", "llama3.2")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "The answer is forty-two, as record $[3] says.\n"
    summary = summary_of(result.stderr)
    assert summary["tokens"] == "10" and summary["source"] == "server" and not summary["partial"]
    # Ollama's own figures: 10 tokens in 10 * 25 ms of eval time -> 40 tokens/s.
    assert float(summary["rate"]) == pytest.approx(40.0, rel=0.01)
    body = ollama_server.chat_requests[0].body
    assert body["stream"] is True and body["messages"][-1] == {"role": "user", "content": "Say the answer"}


def test_config_file_is_read_and_flags_override_it(ollama_server, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"llm": {"backend": "ollama", "base_url": ollama_server.url, "model": "qwen3:0.6b", "max_tokens": 7}}))
    result = run_cli("hi", "--config", str(config), "--max-tokens", "9", "--temperature", "0.5")
    assert result.returncode == 0, result.stderr
    body = ollama_server.chat_requests[0].body
    assert body["model"] == "qwen3:0.6b"
    assert body["options"]["num_predict"] == 9 and body["options"]["temperature"] == 0.5


def test_prompt_can_come_from_stdin(ollama_server):
    result = run_cli("--backend", "ollama", "--base-url", ollama_server.url, "--model", "llama3.2", stdin="piped prompt\n")
    assert result.returncode == 0, result.stderr
    assert ollama_server.chat_requests[0].body["messages"][-1]["content"] == "piped prompt"


def test_debug_shows_the_request_with_the_key_masked_and_raw_events(openai_server):
    result = subprocess.run(
        [sys.executable, "-m", "rag.cli", "hello", "--backend", "openai", "--base-url", openai_server.base_url, "--model", "smollm2", "--debug"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, env={**os.environ, "OPENAI_API_KEY": "sk-secret-value-123"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "> request" in result.stderr and "chat/completions" in result.stderr
    assert "sk-secret-value-123" not in result.stderr + result.stdout
    assert "data: [DONE]" in result.stderr
    assert result.stderr.count("< event") >= 10
    assert result.stdout.startswith("The answer is")


def test_a_stalled_stream_times_out_keeping_what_was_printed(ollama_server):
    ollama_server.reply = ChatReply(stall_after=3, stall_seconds=5)
    result = run_cli("hi", "--backend", "ollama", "--base-url", ollama_server.url, "--model", "llama3.2", "--timeout", "1")
    assert result.returncode == 1
    assert result.stdout == "The answer is\n"
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "1" in error_lines[0] and "Traceback" not in result.stderr
    assert summary_of(result.stderr)["partial"]


def test_an_error_mid_stream_keeps_the_partial_answer(ollama_server):
    ollama_server.reply = ChatReply(error_after=4, error_message="model runner crashed")
    result = run_cli("hi", "--backend", "ollama", "--base-url", ollama_server.url, "--model", "llama3.2")
    assert result.returncode == 1
    assert result.stdout == "The answer is forty\n"
    assert "model runner crashed" in result.stderr and "Traceback" not in result.stderr


def test_unknown_model_lists_the_available_ones(ollama_server):
    result = run_cli("hi", "--backend", "ollama", "--base-url", ollama_server.url, "--model", "nope")
    assert result.returncode == 1
    assert "model 'nope' not found; available: llama3.2:latest, qwen3:0.6b" in result.stderr


def test_server_down_is_one_clear_line():
    from tests.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}"
    result = run_cli("hi", "--backend", "ollama", "--base-url", url, "--model", "llama3.2")
    assert result.returncode == 1
    assert f"Ollama is not reachable at {url}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["hi", "--config", "/nonexistent/config.json"], "config file /nonexistent/config.json does not exist"),
        (["hi", "--temperature", "9"], "'llm.temperature' must be between 0 and 2"),
        ([], "no prompt given"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args, fragment):
    result = subprocess.run(
        [sys.executable, "-m", "rag.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    if not args:  # stdin is /dev/null, not a terminal: an empty prompt
        fragment = "empty"
    assert result.returncode == 2
    assert fragment in result.stderr and "Traceback" not in result.stderr


def _ctrl_c_reaches_the_tool() -> None:
    """A shell running the tests in the background (``bash .ci/run &``) ignores Ctrl+C for its children, and
    Python keeps an ignored SIGINT ignored: restore it, as a terminal would have it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_cleanly_with_a_partial_summary_and_exit_130(ollama_server):
    ollama_server.reply = ChatReply(pieces=[f" w{i}" for i in range(400)], delay=0.05)
    process = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "hi", "--backend", "ollama", "--base-url", ollama_server.url, "--model", "llama3.2"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=_ctrl_c_reaches_the_tool,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while ollama_server.pieces_sent < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert stdout.startswith(" w0 w1")
    assert "error: interrupted" in stderr and summary_of(stderr)["partial"]
    assert "Traceback" not in stderr
    assert ollama_server.wait_for_disconnect(5), "the server should see the connection closed"


def test_streams_from_the_real_llama_cpp_server(llama_server):
    result = run_cli("Name a colour.", "--backend", "openai", "--base-url", llama_server, "--model", "smollm2", "--max-tokens", "16", "--debug")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    summary = summary_of(result.stderr)
    # llama-cpp-python's server sends no usage chunk when streaming: the figures are then counted.
    assert summary["source"] in ("server", "measured") and 0 < int(summary["tokens"]) <= 16
    assert summary["ttft"] != "n/a" and float(summary["rate"]) > 0
    content_events = result.stderr.count('"content": "')
    assert content_events >= int(summary["tokens"]) - 1


def test_streams_from_the_embedded_model_with_no_server():
    result = run_cli("Name a colour.", "--backend", "embedded", "--max-tokens", "12")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    summary = summary_of(result.stderr)
    assert 0 < int(summary["tokens"]) <= 12 and float(summary["rate"]) > 0


def test_a_closed_pipe_ends_quietly(ollama_server):
    ollama_server.reply = ChatReply(pieces=[f"line {i}\n" for i in range(200)], delay=0.005)
    command = (
        f"{sys.executable} -m rag.cli hi --backend ollama --base-url {ollama_server.url} --model llama3.2 | head -n 2"
    )
    result = subprocess.run(command, shell=True, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout == "line 0\nline 1\n"
    assert "Traceback" not in result.stderr
