"""Every help text of the CLI survives Rich's markup: typer renders option and command help with
Rich, which swallows anything that looks like a tag (`[v / scale, v * scale]` vanished from
`tune --help`)."""
from __future__ import annotations

import pytest
import typer
from rich.text import Text

from discoverygym.experiments.cli import app


def _texts(command, path: str):  # typer's own click (typer._click), so duck-typed
    for text in (command.help, command.short_help):
        if text:
            yield path, text
    for param in command.params:
        if getattr(param, "help", None):
            yield f"{path} {param.name}", param.help
    for name, sub in getattr(command, "commands", {}).items():
        yield from _texts(sub, f"{path} {name}")


HELP_TEXTS = list(_texts(typer.main.get_command(app), "discoverygym"))


def test_the_cli_has_help_texts_to_check() -> None:
    assert len(HELP_TEXTS) > 100


@pytest.mark.parametrize(("where", "text"), HELP_TEXTS, ids=[w for w, _ in HELP_TEXTS])
def test_help_text_survives_rich_markup(where: str, text: str) -> None:
    shown = Text.from_markup(text).plain
    assert shown == text.replace("\\[", "["), f"{where}: Rich drops part of {text!r}"
