"""bento/settings.py: what the serving process is told through DRIFTWISE_* variables - the
defaults, typed parsing, bounds with the variable named in the error, and the control
plane's own DRIFTWISE_* settings ignored. Touches: the process environment only."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from bento.settings import ServiceSettings
from data.length import DEFAULT_MAX_CHARS


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HOME", "ADMIN_TOKEN", "LOG_RATE", "BATCHING", "MAX_BODY_BYTES", "LONG_TEXT"):
        monkeypatch.delenv(f"DRIFTWISE_{name}", raising=False)


def test_defaults_are_the_documented_ones() -> None:
    settings = ServiceSettings()
    assert settings.home == Path(".driftwise") and settings.admin_token == ""
    assert (settings.log_rate, settings.max_in_flight, settings.batching) == (0.1, 256, True)
    assert settings.max_body_bytes == 2 * 1024 * 1024
    assert settings.length.max_chars == DEFAULT_MAX_CHARS
    assert settings.length.long_text == "truncate"


def test_values_come_typed_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTWISE_BATCHING", "0")
    monkeypatch.setenv("DRIFTWISE_LOG_RATE", "1.0")
    monkeypatch.setenv("DRIFTWISE_MAX_TEXT_CHARS", "500")
    monkeypatch.setenv("DRIFTWISE_LONG_TEXT", "quarantine")
    monkeypatch.setenv("DRIFTWISE_DATASET__NAME", "tickets")  # the control plane's: ignored
    settings = ServiceSettings()
    assert settings.batching is False and settings.log_rate == 1.0
    assert (settings.length.max_chars, settings.length.long_text) == (500, "quarantine")


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("DRIFTWISE_LOG_RATE", "1.5", "log_rate"),
        ("DRIFTWISE_LOG_RATE", "often", "log_rate"),
        ("DRIFTWISE_MAX_BODY_BYTES", "0", "max_body_bytes"),
        ("DRIFTWISE_LONG_TEXT", "drop", "long_text"),
        ("DRIFTWISE_BATCHING", "maybe", "batching"),
    ],
)
def test_a_bad_value_stops_the_start_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, field: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=field):
        ServiceSettings()
