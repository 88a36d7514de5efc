"""The ``convbook train`` parser, without training: its choices come from the registries, its
options are checked by :mod:`convbook._args`, and the command it suggests after Ctrl-C is a
real shell command that parses back to the same run."""

from __future__ import annotations

import argparse
import shlex

import pytest

from convbook import cli, models
from convbook._args import check_int
from convbook.training import recipes


def train_parser() -> argparse.ArgumentParser:
    return cli.build_parser().parse_args(["train"]).subparser


def choices(option: str) -> list[str]:
    action = next(a for a in train_parser()._actions if option in a.option_strings)
    return list(action.choices)


def test_the_choices_are_the_registries():
    assert choices("--recipe") == list(recipes.RECIPES)
    assert sorted(choices("--model")) == sorted(models.MODELS) == sorted(recipes.NETWORKS)
    for name, recipe in recipes.RECIPES.items():  # every recipe names a network that exists
        assert recipe.model in models.MODELS, name


def test_the_default_recipe_is_the_registrys():
    args = train_parser().parse_args([])
    assert args.recipe is None and args.model is None
    assert recipes.recipe_named_for(args.model) == recipes.DEFAULT_RECIPE
    for network in recipes.NETWORKS:  # the recipe made for a network, else plain SGD
        name = recipes.recipe_named_for(network)
        made_for = [n for n, r in recipes.RECIPES.items() if r.model == network]
        assert name == (made_for[0] if made_for else recipes.PLAIN_RECIPE)
    assert recipes.RECIPES[recipes.DEFAULT_RECIPE].model == "fast"


def test_the_recipe_help_describes_each_recipe_from_the_table():
    help_text = train_parser().format_help()
    for name, recipe in recipes.RECIPES.items():
        assert f"'{name}' ({recipe.model} network" in " ".join(help_text.split())


def test_build_for_gives_each_recipe_its_network():
    fast = models.build_for(recipes.RECIPES["fast"])
    assert isinstance(fast, models.FastNet) and fast.widths == recipes.RECIPES["fast"].widths
    assert models.build_for(recipes.RECIPES["best"]).widths == (64, 256, 256)
    assert isinstance(models.build_for(recipes.RECIPES["tutorial"]), models.TutorialNet)
    assert isinstance(models.build_for(recipes.RECIPES["fast"], "wide"), models.WideDropoutNet)
    # a FastNet under a recipe without widths: FastNet's own default
    assert models.build_for(recipes.RECIPES["tutorial"], "fast").widths == (64, 256, 256)


def test_an_option_type_is_an_args_check():
    whole = cli.checked(int, check_int, "a whole number >= 1", minimum=1)
    assert whole("3") == 3
    for text, message in (("0", "must be >= 1, got 0"),
                          ("2.5", "must be a whole number >= 1, got '2.5'")):
        with pytest.raises(argparse.ArgumentTypeError) as e:
            whole(text)
        assert str(e.value) == message


@pytest.mark.parametrize("argv", [
    [],
    ["--data", "d i r/cifar 10.tar.gz", "--epochs", "2", "--batch-size", "8"],
    ["--model", "wide", "--recipe", "tutorial", "--lr", "0.05", "--any-size", "--subset",
     "100", "20", "--seed", "3", "--checkpoint", "runs/it's.pt", "--no-progress"],
    ["--minutes", "1.5", "--eval-every", "2", "--device", "cpu", "--precision", "fp32",
     "--timeout", "30", "--data", "/data/cifar"],
])
def test_the_resume_command_is_a_shell_command_for_the_same_run(argv, monkeypatch):
    monkeypatch.delenv("CONVBOOK_DATA", raising=False)
    parser = train_parser()
    args = parser.parse_args(argv)
    command = cli.resume_command(args, parser)
    words = shlex.split(command)  # what a POSIX shell passes to the program
    assert words[:2] == ["convbook", "train"] and words[-1] == "--resume"
    again = parser.parse_args(words[2:])
    assert again.resume and vars(again) == {**vars(args), "resume": True}


def test_the_resume_command_spells_out_the_data_of_convbook_data(monkeypatch):
    monkeypatch.setenv("CONVBOOK_DATA", "/shared/cifar10-jpg.tar.gz")
    parser = train_parser()
    words = shlex.split(cli.resume_command(parser.parse_args(["--epochs", "2"]), parser))
    assert words[words.index("--data") + 1] == "/shared/cifar10-jpg.tar.gz"
    assert words[words.index("--checkpoint") + 1] == "convbook-cifar10.pt"
