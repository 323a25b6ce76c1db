"""LEDGER.md §11 and `--help` stay in step (as sqlite-utils does for its docs): every command,
option and exit status the CLI has is in the contract."""

from __future__ import annotations

import re

import typer.main
from helpers import ROOT

from cli import errors
from cli.main import application

LEDGER = (ROOT / "LEDGER.md").read_text()
SECTION = LEDGER[LEDGER.index("## 11. Commands"):LEDGER.index("## 12. CI providers")]


def test_every_command_and_option_is_in_section_11() -> None:
    command = typer.main.get_command(application())
    missing = []
    for param in command.params:  # global options
        missing += [f"global {o}" for o in param.opts if o not in SECTION]
    for name, sub in command.commands.items():  # type: ignore[attr-defined]
        row = next((line for line in SECTION.splitlines()
                    if line.startswith("| ") and f"`{name}" in line.split("|")[1]), "")
        if not row:
            missing.append(name)
            continue
        for param in sub.params:
            if param.param_type_name == "argument":
                continue
            longest = max(param.opts, key=len)
            if longest not in row and longest not in SECTION.split("| command |")[0]:
                missing.append(f"{name} {longest}")
    assert missing == []


def test_every_exit_status_is_in_section_11() -> None:
    statuses = {v for k, v in vars(errors).items() if k.startswith("EXIT_")}
    paragraph = SECTION[SECTION.index("**Exit status**"):].split("\n\n")[0]
    documented = {int(n) for n in re.findall(r"`(\d+)`", paragraph)}
    assert statuses == documented


def test_every_configuration_key_is_in_section_10() -> None:
    from ledger.config import DEFAULTS

    table = LEDGER[LEDGER.index("## 10. Configuration"):LEDGER.index("## 11. Commands")]
    assert [k for k in DEFAULTS if f"`{k}`" not in table and f"[{k}" not in table] == []


def test_the_help_names_the_statuses() -> None:
    from helpers import run_cli

    text = run_cli(ROOT, "--help").stdout
    for word in ("3 wait / skip", "1 an error", "2\nusage error", "70 internal error"):
        assert " ".join(word.split()) in " ".join(text.split()), word
