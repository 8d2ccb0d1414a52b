"""Errors: one way to turn an exception into a line, and the command line's two kinds of failure.

A user's mistake (a bad value, a missing file) is one line and exit 1. Anything else escaping a
command is glassnet's mistake: one line saying so, exit 70, and the traceback on request.
"""

from __future__ import annotations

import argparse

import pytest
from helpers import run_main

from glassnet import cli
from glassnet.errors import GlassnetError, InputError, cut, one_line, printable, short


def test_a_long_message_keeps_its_beginning_and_its_end() -> None:
    message = "cannot find mnist: " + "x" * 1000 + " run: glassnet datasets fetch mnist"
    line = one_line(ValueError(message), 200)
    assert len(line) == 200
    assert line.startswith("cannot find mnist: ")
    assert line.endswith("run: glassnet datasets fetch mnist")
    assert "..." in line


def test_a_short_message_is_left_whole_and_on_one_line() -> None:
    assert one_line(ValueError("a\n  b\tc")) == "a b c"
    assert cut("abc", 3) == "abc"
    assert one_line(KeyError()) == "KeyError"


def test_control_characters_are_shown_not_obeyed() -> None:
    assert printable("a\x1b[2Jb\u202ec") == "a\\x1b[2Jb\\u202ec"
    assert "\n" not in short("line one\nline two")


def test_an_os_error_names_its_file() -> None:
    error = FileNotFoundError(2, "No such file or directory", "/no/such/file")
    assert one_line(error) == "/no/such/file: No such file or directory"


def test_bad_values_are_glassnet_errors_and_value_errors() -> None:
    assert issubclass(InputError, GlassnetError) and issubclass(InputError, ValueError)


@pytest.fixture
def gradcheck_raises(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    """``glassnet gradcheck`` made to raise the exception a test puts in the returned list."""
    errors: list[BaseException] = []
    parser = cli.build_parser

    def raise_it(args: argparse.Namespace) -> int:
        raise errors[0]

    def build(command: str | None = None) -> argparse.ArgumentParser:
        built = parser(command)
        sub = next(a for a in built._actions if isinstance(a, argparse._SubParsersAction))
        sub.choices["gradcheck"].set_defaults(func=raise_it)
        return built

    monkeypatch.setattr(cli, "build_parser", build)
    monkeypatch.delenv("GLASSNET_DEBUG", raising=False)
    return errors


def test_a_users_mistake_is_one_line_and_exit_1(
    gradcheck_raises: list[BaseException], capsys: pytest.CaptureFixture[str]
) -> None:
    gradcheck_raises.append(InputError("learning rate must be > 0"))
    code, _, err = run_main(["gradcheck"], capsys)
    assert code == 1
    assert err == "glassnet gradcheck: error: learning rate must be > 0\n"


def test_a_bug_says_it_is_a_bug_with_exit_70_and_no_traceback(
    gradcheck_raises: list[BaseException], capsys: pytest.CaptureFixture[str]
) -> None:
    # A ValueError from deep inside NumPy is not the user's mistake.
    gradcheck_raises.append(ValueError("operands could not be broadcast"))
    code, _, err = run_main(["gradcheck"], capsys)
    assert code == 70
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert "internal error, a bug in glassnet" in lines[0]
    assert "ValueError: operands could not be broadcast" in lines[0]
    assert "--debug" in lines[0]


@pytest.mark.parametrize("how", ["--debug first", "--debug after", "environment"])
def test_the_traceback_of_a_bug_is_there_on_request(
    how: str,
    gradcheck_raises: list[BaseException],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gradcheck_raises.append(KeyError("layer"))
    args = {"--debug first": ["--debug", "gradcheck"], "--debug after": ["gradcheck", "--debug"]}
    if how == "environment":
        monkeypatch.setenv("GLASSNET_DEBUG", "1")
    code, _, err = run_main(args.get(how, ["gradcheck"]), capsys)
    assert code == 70
    assert "Traceback (most recent call last)" in err and "KeyError: 'layer'" in err
