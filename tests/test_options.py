"""Config fields are the one source of the CLI's flags, the app's choices and the checks."""

import argparse
from dataclasses import replace

import pytest

from talking_head.config import (DRIVERS, GenerationConfig, RenderConfig, option_bounds, option_choices,
                                 option_default, option_fields)
from talking_head.drivers import DRIVER_TABLE
from talking_head.options import add_config_options, config_from_args
from talking_head.train.config import TrainConfig


def parse(kind, argv):
    parser = argparse.ArgumentParser()
    add_config_options(parser, kind)
    return parser.parse_args(argv)


def test_every_option_becomes_a_flag_with_its_default():
    args = parse(GenerationConfig, [])
    assert config_from_args(args, GenerationConfig) == GenerationConfig()
    flags = {a.dest for a in argparse.ArgumentParser()._actions}
    parser = argparse.ArgumentParser()
    add_config_options(parser, GenerationConfig)
    flags = {a.dest for a in parser._actions} - flags
    assert flags == {f.name for f in option_fields(GenerationConfig)}


def test_flags_parse_types_choices_and_booleans():
    args = parse(GenerationConfig, ["--driver", "loudness", "--mouth-motion", "1.25", "--smoothing", "4",
                                    "--no-blink", "--no-mouth", "--size", "256"])
    config = config_from_args(args, GenerationConfig)
    assert (config.driver, config.mouth_motion, config.smoothing, config.blink, config.mouth, config.size) == (
        "loudness", 1.25, 4, False, False, 256)


@pytest.mark.parametrize("argv", [["--driver", "magic"], ["--smoothing", "two"], ["--mouth-motion", "nan"],
                                  ["--max-audio-seconds", "inf"], ["--framing", "tight"]])
def test_bad_flags_are_refused_by_argparse(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse(GenerationConfig, argv)
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize("field, value", [("mouth_motion", 0.4), ("mouth_motion", 1.6), ("smoothing", 11),
                                          ("size", 63), ("size", 511), ("fps", 0), ("driver", "x"),
                                          ("mouth_motion", float("nan")), ("smoothing", "2")])
def test_out_of_range_values_are_refused_by_the_config(field, value):
    with pytest.raises(ValueError, match=field):
        replace(GenerationConfig(), **{field: value})


def test_app_choices_and_bounds_come_from_the_config():
    assert option_choices(GenerationConfig, "driver") == DRIVERS
    assert option_choices(RenderConfig, "framing") == ("crop", "full")
    assert option_bounds(GenerationConfig, "mouth_motion") == (0.5, 1.5)
    assert option_default(GenerationConfig, "smoothing") == 2


def test_driver_table_and_config_list_the_same_drivers():
    assert tuple(DRIVER_TABLE) == DRIVERS


def test_train_options_generate_flags_too():
    args = parse(TrainConfig, ["--steps", "10", "--lr", "0.01"])
    config = config_from_args(args, TrainConfig)
    assert (config.steps, config.lr, config.batch) == (10, 0.01, TrainConfig().batch)
    with pytest.raises(ValueError, match="steps"):
        TrainConfig(steps=0)
