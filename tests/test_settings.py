"""Tests for the one table of settings: every check, option and message derives from it."""

from __future__ import annotations

import argparse
import math
from typing import Any

import pytest

from glassnet.activations import ACTIVATIONS
from glassnet.cli import build_parser
from glassnet.cli.options import SWITCHES
from glassnet.engine import ENGINE_CHOICES
from glassnet.initializers import INITIALIZERS
from glassnet.optimizers import OPTIMIZERS, make_optimizer
from glassnet.presets import PRESETS
from glassnet.rules import Rule, parse_sizes
from glassnet.schedules import SCHEDULES, make_schedule
from glassnet.settings import RULES, RUN_FIELDS, RunSettings, TrainConfig


def train_parser() -> argparse.ArgumentParser:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return subparsers.choices["train"]


def test_the_table_covers_every_setting_of_a_run_and_nothing_else() -> None:
    assert set(RULES) == set(RUN_FIELDS) | set(TrainConfig.field_names())


def test_choices_come_from_the_registries() -> None:
    expected = {
        "activation": tuple(ACTIVATIONS),
        "initializer": tuple(INITIALIZERS),
        "optimizer": tuple(OPTIMIZERS),
        "schedule": SCHEDULES,
        "engine": ENGINE_CHOICES,
        "preset": tuple(PRESETS),
    }
    for name, choices in expected.items():
        rule = RULES[name]
        assert rule.choices is not None
        assert tuple(rule.choices()) == tuple(choices)


def test_every_setting_but_flags_is_an_option_of_glassnet_train_with_the_tables_type() -> None:
    actions = {a.dest: a for a in train_parser()._actions}
    for name, rule in RULES.items():
        if rule.kind == "flag" and name not in SWITCHES:
            assert name not in actions
            continue
        if rule.kind == "flag":  # --NAME and --no-NAME
            assert actions[name].option_strings == [
                "--" + name.replace("_", "-"),
                "--no-" + name.replace("_", "-"),
            ]
            assert actions[name].default is None
            assert actions[name].help.startswith(rule.help)
            continue
        action = actions[name]
        assert action.option_strings[0] == "--" + name.replace("_", "-")
        if rule.kind == "choice":
            assert rule.choices is not None
            assert list(action.choices or []) == list(rule.choices())
        if rule.help:
            assert action.help.startswith(rule.help)  # and says the default


@pytest.mark.parametrize(
    ("name", "bad", "good"),
    [
        ("epochs", 0, 1),
        ("batch_size", -3, 7),
        ("learning_rate", 0.0, 1e-9),
        ("momentum", 1.0, 0.0),
        ("beta2", 1.0, 0.999),
        ("dropout", 0.96, 0.95),
        ("validation_split", 0.91, 0.9),
        ("gamma", 0.0, 1.0),
        ("step_epochs", 0.0, 0.5),
        ("lr_floor", 1.01, 1.0),
        ("patience", -1, 0),
        ("seed", -1, 0),
    ],
)
def test_one_rule_answers_for_the_api_the_settings_file_and_the_command_line(
    name: str, bad: Any, good: Any
) -> None:
    with pytest.raises(ValueError, match=name.replace("_", " ")):
        TrainConfig(**{name: bad})
    assert getattr(TrainConfig(**{name: good}), name) == good
    with pytest.raises(ValueError, match=f"setting {name.replace('_', ' ')} must be"):
        RunSettings.from_dict({name: bad}, "run.toml")
    with pytest.raises(ValueError, match="must be"):
        RULES[name].parse(str(bad))
    assert RULES[name].parse(str(good)) == good


def test_rules_refuse_what_is_not_a_number_of_the_kind() -> None:
    for value in (True, "3", None, math.nan, math.inf, [1]):
        with pytest.raises(ValueError):
            RULES["epochs"].check("epochs", value)
    assert RULES["epochs"].check("epochs", 3) == 3
    with pytest.raises(ValueError, match=r"a whole number, at least 1, got 2\.5"):
        RULES["epochs"].check("epochs", 2.5)
    assert RULES["initializer"].check("initializer", None) is None  # optional
    with pytest.raises(ValueError, match="one of sigmoid, tanh, relu, leaky_relu"):
        RULES["activation"].check("activation", ["relu"])


def test_a_bad_value_is_echoed_short() -> None:
    with pytest.raises(ValueError) as info:
        RULES["dataset"].check("dataset", 12345)
    with pytest.raises(ValueError) as long:
        RULES["activation"].check("activation", "x" * 100_000)
    assert len(str(long.value)) < 200
    assert "12345" in str(info.value)


def test_rules_say_in_words_what_they_accept() -> None:
    assert Rule("whole", low=1).allowed() == "a whole number, at least 1"
    assert Rule("number", low=0.0, open_low=True).allowed() == "a number greater than 0"
    assert Rule("number", low=0, high=0.95).allowed() == "a number from 0, at most 0.95"
    fraction = Rule("number", low=0.0, high=1.0, open_high=True)
    assert fraction.allowed() == "a number from 0, below 1"
    assert Rule("number", low=0.0, high=1.0, open_low=True).allowed() == (
        "a number greater than 0 and at most 1"
    )


def test_hidden_sizes_parse_from_words_and_lists() -> None:
    assert parse_sizes("128, 64") == [128, 64]
    assert parse_sizes(" ") == []
    with pytest.raises(ValueError, match="'x'"):
        parse_sizes("50,x")
    settings = RunSettings.from_dict({"hidden": "32,16"})
    assert settings.hidden == [32, 16]
    with pytest.raises(ValueError, match="setting hidden must be a list of positive whole"):
        RunSettings.from_dict({"hidden": [32, 0]}, "run.toml")


def test_run_settings_resolve_preset_then_file_then_options() -> None:
    settings = RunSettings.resolve(
        "seed", {"epochs": 5, "learning_rate": 0.1}, {"epochs": 2, "dropout": None}
    )
    assert settings.preset == "seed"
    assert settings.hidden == [50] * 6  # from the preset
    assert settings.training.learning_rate == 0.1  # from the file
    assert settings.training.epochs == 2  # from the options; None means not given
    assert settings.training.dropout == 0.0
    again = RunSettings.from_dict(settings.to_dict())
    assert again == settings
    with pytest.raises(ValueError, match="unknown setting 'epoch'"):
        RunSettings.resolve(None, {"epoch": 3}, None, "my.toml")


def test_the_optimizer_factory_refuses_options_that_do_not_apply() -> None:
    with pytest.raises(ValueError, match="sgd takes no momentum"):
        make_optimizer("sgd", 0.1, momentum=0.9)
    config = TrainConfig(optimizer="adam", momentum=0.5)
    optimizer = config.make_optimizer()  # TrainConfig passes only what Adam takes
    assert not hasattr(optimizer, "momentum")


def test_settings_name_the_options_that_their_optimizer_and_schedule_ignore() -> None:
    config = TrainConfig(optimizer="adam", schedule="cosine")
    unused = config.unused(["momentum", "beta1", "gamma", "lr_floor", "epochs"])
    assert unused == [
        "momentum does not apply to optimizer adam (it takes beta1, beta2, weight_decay)",
        "gamma does not apply to schedule cosine (it takes lr_floor)",
    ]


def test_schedule_classes_check_with_the_same_rules() -> None:
    with pytest.raises(ValueError, match="gamma must be a number greater than 0 and at most 1"):
        make_schedule("step", gamma=1.5)


def test_the_command_line_refuses_an_option_its_optimizer_ignores(
    tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from glassnet.cli import main

    monkeypatch.chdir(tmp_path)
    code = main(["train", "--optimizer", "adam", "--momentum", "0.5", "--out", "run"])
    err = capsys.readouterr().err
    assert code == 1
    assert "--momentum does not apply to optimizer adam (it takes beta1, beta2" in err
    assert list(tmp_path.iterdir()) == []  # refused before anything was made


@pytest.mark.parametrize("preset", list(PRESETS))
def test_a_presets_defaults_are_what_its_checked_settings_hold(preset: str) -> None:
    """``--help`` shows defaults without making a run's settings; they must be the same."""
    assert RunSettings.defaults(preset) == RunSettings.resolve(preset).to_dict()


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("a\nb", "U[+]000A"),
        ("a\x1b[31m", "U[+]001B"),
        ("\udcff", "UTF-8"),
    ],
)
def test_a_text_setting_that_cannot_be_recorded_is_refused_where_it_enters(
    value: str, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        RunSettings.resolve(overrides={"data": "table.csv", "target": value})
