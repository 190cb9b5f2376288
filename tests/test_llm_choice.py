"""The URL policy of a tab's model choice: which servers a visitor may name, where API keys go, and the app's own
address refused (``rag.llm_choice``)."""

from __future__ import annotations

from typing import Any

import pytest

from rag.llm_choice import (
    AppAddress,
    ChoiceRefused,
    LLMChoice,
    client_key,
    refuse_app_address,
    resolve_choice,
    same_server,
)
from rag.settings import LLMSettings, Settings, apply_overrides, custom_llm_urls_allowed

CONFIGURED = "http://10.1.2.3:8000/v1"
LISTED = "http://10.9.9.9:11434"


def settings_with(**sections: Any) -> Settings:
    llm = {"backend": "openai", "base_url": CONFIGURED, "model": "qwen", "api_key": "sk-configured",
           "servers": [{"name": "team", "backend": "ollama", "base_url": LISTED, "model": "llama3.2",
                        "api_key_env": "TEAM_KEY"},
                       {"name": "hosted", "backend": "openai", "base_url": "https://llm.example.com/v1"}]}
    return apply_overrides(Settings(), {"llm": llm, **sections}, "test")


def test_the_default_choice_is_the_configured_server_with_its_key():
    settings = settings_with()
    for choice in (None, LLMChoice(), LLMChoice.from_data(None), LLMChoice.from_data({"junk": 1})):
        llm = resolve_choice(settings, choice)
        assert llm.base_url == CONFIGURED and llm.model == "qwen" and llm.resolved_api_key() == "sk-configured"
    same = resolve_choice(settings, LLMChoice(backend="openai", base_url="HTTP://10.1.2.3:8000/v1/", model="other"))
    assert same.resolved_api_key() == "sk-configured", "the configured server, spelled otherwise"
    assert same.model == "other"


def test_a_server_of_the_tabs_own_gets_no_key_unless_the_visitor_typed_one():
    settings = settings_with()
    assert custom_llm_urls_allowed(settings)  # bound to loopback by default
    other = resolve_choice(settings, LLMChoice(backend="openai", base_url="http://127.0.0.1:9999/v1"))
    assert other.base_url == "http://127.0.0.1:9999/v1" and other.model is None
    assert other.resolved_api_key() is None
    typed = resolve_choice(settings, LLMChoice(backend="openai", base_url="http://127.0.0.1:9999/v1", api_key="mine"))
    assert typed.resolved_api_key() == "mine"
    ollama = resolve_choice(settings, LLMChoice(backend="ollama", base_url="http://127.0.0.1:9999", api_key="mine"))
    assert ollama.api_key is None, "a typed key goes to OpenAI-compatible servers only"
    assert "mine" not in repr(LLMChoice(api_key="mine")), "a typed key never shows in logs"


def test_a_listed_server_gets_its_own_key_by_name_or_by_url(monkeypatch):
    monkeypatch.setenv("TEAM_KEY", "sk-team")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-default-variable")
    settings = settings_with()
    by_name = resolve_choice(settings, LLMChoice(server="team"))
    assert (by_name.backend, by_name.base_url, by_name.model) == ("ollama", LISTED, "llama3.2")
    assert by_name.resolved_api_key() == "sk-team"
    by_url = resolve_choice(settings, LLMChoice(backend="ollama", base_url=LISTED + "/"))
    assert by_url.resolved_api_key() == "sk-team"
    hosted = resolve_choice(settings, LLMChoice(server="hosted"))
    assert hosted.resolved_api_key() is None, "no api_key_env: no key, not even $OPENAI_API_KEY"
    with pytest.raises(ChoiceRefused, match="no model server named 'nope'"):
        resolve_choice(settings, LLMChoice(server="nope"))


def test_when_custom_urls_are_not_allowed_only_the_configured_and_listed_servers_are():
    for settings in (settings_with(server={"host": "0.0.0.0"}), settings_with(server={"allow_custom_llm_urls": False})):
        assert not custom_llm_urls_allowed(settings)
        assert resolve_choice(settings, LLMChoice(server="team")).base_url == LISTED
        assert resolve_choice(settings, LLMChoice(model="other")).model == "other"
        for refused in (
            LLMChoice(backend="openai", base_url="http://attacker.example:8000/v1"),
            LLMChoice(backend="ollama"),  # Ollama's default URL: not configured, not listed
            LLMChoice(backend="embedded"),
        ):
            with pytest.raises(ChoiceRefused, match="configured model server and those of llm.servers only"):
                resolve_choice(settings, refused)
    opened = settings_with(server={"host": "0.0.0.0", "allow_custom_llm_urls": True})
    assert resolve_choice(opened, LLMChoice(backend="openai", base_url="http://elsewhere:1/v1")).api_key is None


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "javascript:alert(1)", "http://", "http://host:99999/v1", "ftp://h/v1"]
)
def test_only_http_urls_with_a_host_are_servers(url):
    with pytest.raises(ChoiceRefused):
        resolve_choice(settings_with(), LLMChoice(backend="openai", base_url=url))


def test_crafted_store_values_are_read_as_strings_or_ignored():
    choice = LLMChoice.from_data({"backend": ["openai"], "base_url": 42, "model": " m ", "api_key": "", "x": 1})
    assert choice == LLMChoice(model="m")
    assert LLMChoice.from_data("not a mapping").is_default
    assert LLMChoice(model="m", api_key="k").to_data() == {"model": "m", "api_key": "k"}
    assert LLMChoice().to_data() is None
    with pytest.raises(ChoiceRefused, match="'martian' is not a backend"):
        resolve_choice(settings_with(), LLMChoice(backend="martian"))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8050/healthz?",
        "http://localhost:8050/v1",
        "http://LOCALHOST.:8050",
        "http://app.localhost:8050",
        "http://127.1:8050",
        "http://2130706433:8050",
        "http://0x7f000001:8050",
        "http://[::1]:8050/v1",
        "http://[::ffff:127.0.0.1]:8050",
        "http://0.0.0.0:8050",
    ],
)
def test_the_apps_own_address_is_refused_in_any_spelling(url):
    app = AppAddress("127.0.0.1", 8050)
    assert app.serves(url)
    with pytest.raises(ChoiceRefused, match="this app's own address"):
        refuse_app_address(LLMSettings(backend="openai", base_url=url), app)
    with pytest.raises(ChoiceRefused, match="own address"):
        resolve_choice(settings_with(), LLMChoice(backend="openai", base_url=url), app)


def test_other_ports_and_hosts_are_not_the_app():
    app = AppAddress("127.0.0.1")
    assert not app.serves("http://127.0.0.1:8050"), "no port known yet"
    app.note_port("8050")
    app.note_port("not a port")
    assert app.ports == {8050} and app.serves("http://127.0.0.1:8050")
    assert not app.serves("http://127.0.0.1:8051/v1")
    assert not app.serves("http://192.0.2.1:8050/v1"), "another machine"
    assert not app.serves("http://127.0.0.1/v1") and AppAddress("127.0.0.1", 80).serves("http://127.0.0.1/v1")
    refuse_app_address(LLMSettings(backend="embedded", base_url="http://127.0.0.1:8050"), app)  # no server at all
    everywhere = AppAddress("0.0.0.0", 8050)
    assert everywhere.serves("http://127.0.0.1:8050") and everywhere.serves("http://0.0.0.0:8050")


def test_the_configured_server_at_the_apps_address_is_refused_too():
    settings = apply_overrides(Settings(), {"llm": {"backend": "ollama", "base_url": "http://127.0.0.1:8050"}}, "t")
    with pytest.raises(ChoiceRefused, match="own address"):
        resolve_choice(settings, None, AppAddress("127.0.0.1", 8050))


def test_clients_are_told_apart_by_their_settings_and_key_without_holding_the_key():
    a = LLMSettings(backend="openai", base_url=CONFIGURED, api_key="sk-one")
    b = LLMSettings(backend="openai", base_url=CONFIGURED, api_key="sk-two")
    assert client_key(a) != client_key(b) and "sk-one" not in client_key(a)
    assert client_key(a) == client_key(LLMSettings(backend="openai", base_url=CONFIGURED + "/", api_key="sk-one"))
    assert same_server("http://h:80/v1", "HTTP://H/v1/") and not same_server("http://h/v1", "https://h/v1")
    embedded = [resolve_choice(settings_with(), LLMChoice(backend="embedded", model=m)) for m in (None, "x")]
    assert client_key(embedded[0]) == client_key(embedded[1]), "one embedded model, however it is chosen"
