"""The `sotto` command: its help, and check-config's verdict on good and bad settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from sotto.cli import app
from sotto.config import get_settings

runner = CliRunner()


@pytest.fixture
def sotto_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Settings pointing into tmp_path, and nothing else from the outer environment."""
    for name in list(os.environ):
        if name.upper().startswith("SOTTO_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOTTO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SOTTO_KEY_FILE", str(tmp_path / "keys" / "sotto.key"))
    monkeypatch.setenv("SOTTO_OUTBOX_DIR", str(tmp_path / "outbox"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_help_lists_serve_admin_audit_and_check_config() -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0
    for name in ("serve", "admin", "audit", "check-config"):
        assert name in result.output
    assert "Start the web server" in result.output


def _commands(group: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every command under a group, with its full name (Typer vendors its own Click, hence duck typing)."""
    for name, command in group.commands.items():
        yield prefix + name, command
        if hasattr(command, "commands"):
            yield from _commands(command, prefix + name + " ")


def test_every_command_and_group_has_help_text() -> None:
    commands = dict(_commands(typer.main.get_command(app)))
    assert {"serve", "check-config", "admin", "admin create-user", "audit", "audit verify"} <= set(commands)
    for name, command in commands.items():
        assert (command.help or "").strip(), f"`sotto {name}` has no help text"
        for param in command.params:
            if param.param_type_name == "option" and param.name != "help":
                assert (param.help or "").strip(), f"`sotto {name}` option {param.name} has no help text"


@pytest.mark.parametrize(
    "command",
    [["serve"], ["admin"], ["admin", "create-user"], ["audit"], ["audit", "verify"], ["check-config"]],
    ids=" ".join,
)
def test_each_command_answers_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_check_config_accepts_good_settings(sotto_env: Path) -> None:
    result = runner.invoke(app, ["check-config"])
    assert result.exit_code == 0, result.output
    assert "configuration is valid" in result.output
    assert str(sotto_env / "keys" / "sotto.key") in result.output


def test_check_config_starts_nothing(sotto_env: Path) -> None:
    runner.invoke(app, ["check-config"])
    assert not (sotto_env / "data").exists()
    assert not (sotto_env / "keys").exists()


@pytest.mark.parametrize(
    ("variable", "value"),
    [("SOTTO_PORT", "abc"), ("SOTTO_MAIL", "pigeon"), ("SOTTO_PUBLIC_URL", "notaurl"), ("SOTTO_TYPO", "1")],
)
def test_check_config_names_a_bad_variable_and_exits_2(
    sotto_env: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    result = runner.invoke(app, ["check-config"])
    assert result.exit_code == 2
    assert variable in result.stderr
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(
    "command",
    [["serve"], ["admin", "create-user", "--email", "a@b.example", "--name", "A"], ["audit", "verify"]],
    ids=" ".join,
)
def test_commands_refuse_to_start_on_bad_settings(
    sotto_env: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("SOTTO_PORT", "abc")
    result = runner.invoke(app, command)
    assert result.exit_code == 2
    assert "SOTTO_PORT" in result.stderr
    assert not (sotto_env / "data").exists()


def test_world_readable_key_file_stops_commands_with_a_plain_message(sotto_env: Path) -> None:
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0  # first start creates the key file
    key = sotto_env / "keys" / "sotto.key"
    key.chmod(0o644)
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception
    assert "chmod 600" in result.output


def test_create_user_without_a_practice_explains_what_to_do(sotto_env: Path) -> None:
    result = runner.invoke(app, ["admin", "create-user", "--email", "dr.lee@example.test", "--name", "Dr Lee"])
    assert result.exit_code == 2
    assert "sotto serve" in result.stderr


def test_create_user_refuses_an_unknown_role(sotto_env: Path) -> None:
    result = runner.invoke(
        app, ["admin", "create-user", "--email", "dr.lee@example.test", "--name", "Dr Lee", "--role", "superuser"]
    )
    assert result.exit_code == 2
    assert "--role" in result.stderr
