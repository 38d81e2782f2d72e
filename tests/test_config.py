"""Settings refuse to start on a bad value, naming the variable; the key file is private and apart."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from sotto.config import SettingsError, get_settings, load_settings
from sotto.crypto.keystore import KeyStoreError
from sotto.runtime import build_runtime


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No SOTTO_* variables from the outer environment, no stray .env; relative defaults land in tmp_path."""
    for name in list(os.environ):
        if name.upper().startswith("SOTTO_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def refusal(**env: str) -> str:
    """The operator's message for a start-up with these variables set; fails if the settings load."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        with pytest.raises(SettingsError) as caught:
            load_settings()
    return str(caught.value)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SOTTO_PORT": "abc"}, "SOTTO_PORT"),
        ({"SOTTO_PORT": "70000"}, "SOTTO_PORT"),
        ({"SOTTO_MAIL": "pigeon"}, "SOTTO_MAIL"),
        ({"SOTTO_PUBLIC_URL": "notaurl"}, "SOTTO_PUBLIC_URL"),
        ({"SOTTO_PUBLIC_URL": "ftp://sotto.example.org"}, "SOTTO_PUBLIC_URL"),
        ({"SOTTO_DATABASE_URL": "mysql://root@localhost/sotto"}, "SOTTO_DATABASE_URL"),
        ({"SOTTO_LOGIN_MAX_FAILURES": "0"}, "SOTTO_LOGIN_MAX_FAILURES"),
        ({"SOTTO_MAIL": "smtp"}, "SOTTO_SMTP_HOST"),
        ({"SOTTO_TYPO": "1"}, "SOTTO_TYPO"),
    ],
    ids=lambda v: "-".join(f"{k}={val}" for k, val in v.items()) if isinstance(v, dict) else None,
)
def test_bad_setting_refuses_to_start_and_names_the_variable(clean_env: Path, env: dict[str, str], named: str) -> None:
    message = refusal(**env)
    assert named in message
    assert "Traceback" not in message


def test_key_file_inside_the_data_directory_is_refused(clean_env: Path) -> None:
    data = clean_env / "data"
    message = refusal(SOTTO_DATA_DIR=str(data), SOTTO_KEY_FILE=str(data / "keys" / "sotto.key"))
    assert "SOTTO_KEY_FILE" in message and "SOTTO_DATA_DIR" in message


def test_key_file_reached_through_dot_dot_into_the_data_directory_is_refused(clean_env: Path) -> None:
    data = clean_env / "data"
    message = refusal(SOTTO_DATA_DIR=str(data), SOTTO_KEY_FILE=str(clean_env / "keys" / ".." / "data" / "k.key"))
    assert "SOTTO_KEY_FILE" in message


def test_outbox_inside_the_data_directory_is_refused(clean_env: Path) -> None:
    data = clean_env / "data"
    assert "SOTTO_OUTBOX_DIR" in refusal(SOTTO_DATA_DIR=str(data), SOTTO_OUTBOX_DIR=str(data / "outbox"))


def test_bad_value_in_dot_env_file_names_the_variable(clean_env: Path) -> None:
    (clean_env / ".env").write_text("SOTTO_PORT=abc\n")
    assert "SOTTO_PORT" in refusal()


def test_unknown_variable_in_dot_env_file_is_named_as_written(clean_env: Path) -> None:
    (clean_env / ".env").write_text("SOTTO_TYPO=1\n")
    message = refusal()
    assert "SOTTO_TYPO" in message and "SOTTO_SOTTO_TYPO" not in message


def test_unknown_lower_case_variable_is_refused_like_an_upper_case_one(clean_env: Path) -> None:
    assert "sotto_typo" in refusal(sotto_typo="1").lower()


def test_defaults_are_valid_and_keep_the_key_outside_the_data_directory(clean_env: Path) -> None:
    settings = load_settings()
    data, key = settings.data_dir.resolve(), settings.key_file.resolve()
    assert data not in key.parents and key != data
    assert settings.mail == "outbox" and settings.session_idle_minutes == 30


def test_key_file_is_created_private_on_first_start_outside_the_data_directory(clean_env: Path) -> None:
    settings = load_settings()
    assert not settings.key_file.exists()
    runtime = build_runtime(settings)
    try:
        key = settings.key_file.resolve()
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert stat.S_IMODE(key.parent.stat().st_mode) & 0o077 == 0
        assert settings.data_dir.resolve() not in key.parents
        assert not any(p.name == key.name for p in settings.data_dir.rglob("*"))
        assert stat.S_IMODE(settings.data_dir.stat().st_mode) & 0o077 == 0
    finally:
        runtime.close()


def test_key_file_readable_by_others_is_refused(clean_env: Path) -> None:
    settings = load_settings()
    build_runtime(settings).close()
    settings.key_file.chmod(0o644)
    with pytest.raises(KeyStoreError, match="chmod 600"):
        build_runtime(settings)


def test_key_file_is_kept_across_restarts(clean_env: Path) -> None:
    settings = load_settings()
    build_runtime(settings).close()
    first = settings.key_file.read_bytes()
    build_runtime(settings).close()
    assert settings.key_file.read_bytes() == first


def test_links_follow_the_port_when_no_public_address_is_set(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().public_url == "http://127.0.0.1:8000"
    monkeypatch.setenv("SOTTO_PORT", "8123")
    assert load_settings().public_url == "http://127.0.0.1:8123"
    monkeypatch.setenv("SOTTO_HOST", "::1")
    assert load_settings().public_url == "http://[::1]:8123"
    monkeypatch.setenv("SOTTO_PUBLIC_URL", "https://sotto.example.org/")
    assert load_settings().public_url == "https://sotto.example.org"


def test_the_documented_sentence_model_setting_is_read_from_a_dot_env_file_and_used(clean_env: Path) -> None:
    from sotto.privacy import sentence_model

    chosen = clean_env / "minilm"
    (clean_env / ".env").write_text(f"SOTTO_SENTENCE_MODEL_DIR={chosen}\n", encoding="utf-8")
    settings = load_settings()
    assert settings.sentence_model_dir == str(chosen)
    runtime = build_runtime(settings)
    try:
        assert sentence_model.model_dir() == chosen
    finally:
        runtime.close()
        sentence_model.use_model_dir("")
    assert sentence_model.model_dir() != chosen
