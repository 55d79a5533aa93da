"""The CLI starts cheaply: a command imports only its own modules (#18: ``deid`` paid ~1.5 s of
every other command's imports), and every command is still registered where it is listed."""

import argparse
import subprocess
import sys

import pytest

from casefiles import __main__ as cli
from tests.helpers import ROOT


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    raise AssertionError("no sub-commands")


def test_the_module_commands_are_the_ones_their_modules_register() -> None:
    everything = _commands(cli.build_parser())
    built_in = _commands(cli.build_parser("deid"))
    assert "deid" in built_in and "import" in built_in and "list" in built_in
    for names, register in cli._MODULE_COMMANDS:
        assert not names & built_in
        parser = argparse.ArgumentParser()
        register(parser.add_subparsers(dest="command"))
        assert _commands(parser) == names
    assert everything == built_in | {name for names, _ in cli._MODULE_COMMANDS for name in names}


@pytest.mark.parametrize(
    ("argv", "word"),
    [
        (["deid", "a", "b"], "deid"),
        (["--data", "/x", "user", "list"], "user"),
        (["--data=/x", "search", "lung"], "search"),
        (["--help"], None),
        (["--dat", "/x", "deid"], None),  # an abbreviation: the full parser decides
        ([], None),
    ],
)
def test_the_command_word(argv: list[str], word: str | None) -> None:
    assert cli.command_word(argv) == word


def test_a_built_in_command_registers_no_module_command_and_an_unknown_one_all() -> None:
    module_commands = {name for names, _ in cli._MODULE_COMMANDS for name in names}
    for command in ("deid", "list", "import"):
        assert not _commands(cli.build_parser(command)) & module_commands
    assert _commands(cli.build_parser("bogus")) == _commands(cli.build_parser())


@pytest.mark.parametrize("command", ["user", "search", "vocabulary", "deid", "list", "bogus"])
def test_each_command_parses_as_before(command: str) -> None:
    full, lazy = cli.build_parser(), cli.build_parser(cli.command_word([command]))
    with pytest.raises(SystemExit) as one:
        full.parse_args([command, "--help"] if command != "bogus" else [command])
    with pytest.raises(SystemExit) as two:
        lazy.parse_args([command, "--help"] if command != "bogus" else [command])
    assert one.value.code == two.value.code


def test_deid_imports_no_other_command() -> None:
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "casefiles", "deid", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert "usage: python -m casefiles deid" in run.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if "|" in line}
    for heavy in ("casefiles.acting.cli", "casefiles.accounts.passwords", "argon2", "casefiles.notify", "ldap3"):
        assert heavy not in imported
