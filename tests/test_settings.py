import json

import pytest

from rag.errors import ConfigError
from rag.settings import Settings, load_settings


def write(tmp_path, payload, name="config.json"):
    path = tmp_path / name
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload), encoding="utf-8")
    return path


def test_defaults_use_the_embedded_model_when_no_server_is_configured(tmp_path):
    settings = load_settings(write(tmp_path, {}))
    assert settings.llm.backend == "embedded"
    assert settings.llm.resolved_base_url() is None


def test_file_overrides_defaults_and_flags_override_the_file(tmp_path):
    path = write(tmp_path, {"llm": {"backend": "ollama", "model": "llama3.2", "temperature": 0.7}})
    settings = load_settings(path, {"llm": {"model": "qwen3", "temperature": None}})
    assert settings.llm.backend == "ollama"
    assert settings.llm.model == "qwen3"  # flag wins
    assert settings.llm.temperature == 0.7  # an unset flag (None) leaves the file's value


def test_ollama_url_falls_back_to_ollama_host_then_default(tmp_path, monkeypatch):
    path = write(tmp_path, {"llm": {"backend": "ollama"}})
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    assert load_settings(path).llm.resolved_base_url() == "http://127.0.0.1:11434"
    monkeypatch.setenv("OLLAMA_HOST", "10.1.2.3:11434")
    assert load_settings(path).llm.resolved_base_url() == "http://10.1.2.3:11434"


def test_api_key_comes_from_the_named_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_LLM_KEY", "sk-test")
    settings = load_settings(write(tmp_path, {"llm": {"backend": "openai", "api_key_env": "MY_LLM_KEY"}}))
    assert settings.llm.resolved_api_key() == "sk-test"


@pytest.mark.parametrize(
    "payload, fragment",
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
        ({"llm": {"backend": "gpt"}}, "'llm.backend' must be one of"),
        ({"llm": {"modle": "x"}}, "unknown setting 'llm.modle'"),
        ({"retrival": {}}, "unknown section 'retrival'"),
        ({"llm": {"max_tokens": "many"}}, "'llm.max_tokens' must be a whole number"),
        ({"llm": {"temperature": 7}}, "'llm.temperature' must be between 0 and 2"),
        ({"retrieval": {"hybrid": "yes"}}, "'retrieval.hybrid' must be true or false"),
    ],
)
def test_bad_files_give_a_clear_error_naming_the_file(tmp_path, payload, fragment):
    path = write(tmp_path, payload)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert fragment in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.json")


def test_the_example_config_is_valid():
    from pathlib import Path

    example = Path(__file__).resolve().parent.parent / "config" / "config.example.json"
    settings = load_settings(example)
    assert settings.llm.backend == "ollama"
    assert isinstance(settings, Settings)
