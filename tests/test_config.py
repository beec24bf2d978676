"""Configuration (.patchlint.toml, the user's XDG config file, the command line), `patchlint
config`, how `check` applies fail-on / disable / exclude, and `patchlint explain`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from patchlint.errors import PatchlintError
from patchlint.findings import KINDS, Finding
from patchlint.report.kinds import SCENARIOS, kind_table
from patchlint.workflow.config import excluded, key_line, load_config, user_config_path

from .conftest import ROOT, SERIES, TREE


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """An environment whose user config lives under tmp_path."""
    cfg = tmp_path / "xdg"
    (cfg / "patchlint").mkdir(parents=True)
    return {"XDG_CONFIG_HOME": str(cfg), "HOME": str(tmp_path / "home")}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    path = tmp_path / "linux"
    shutil.copytree(TREE, path)
    return path


def user_file(env: dict[str, str]) -> Path:
    return Path(env["XDG_CONFIG_HOME"]) / "patchlint" / "config.toml"


def run(args: list[str], env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in ("XDG_CONFIG_HOME", "NO_COLOR")} | env
    return subprocess.run([sys.executable, "-m", "patchlint", *args], capture_output=True, text=True, cwd=cwd,
                          env=full_env, timeout=120)


# ---------------------------------------------------------------- loading and precedence

def test_defaults(tree, home):
    cfg = load_config(str(tree), env=home)
    assert cfg.fail_on == "new" and cfg.disable == [] and cfg.exclude == [] and cfg.profile == "s390"
    assert {s.origin for s in cfg.settings.values()} == {"default"}


def test_precedence_command_line_over_tree_over_user_over_defaults(tree, home):
    user_file(home).write_text('fail-on = "any"\nprofile = "x86_64"\nexclude = ["drivers/"]\n')
    (tree / ".patchlint.toml").write_text('# the tree\n\nfail-on = "new-error"\ndisable = ["lock-imbalance"]\n')
    cfg = load_config(str(tree), {"disable": ["damaged-patch"], "exclude": None}, env=home)
    assert cfg.settings["disable"].value == ["damaged-patch"]
    assert cfg.settings["disable"].origin == "command line"
    assert cfg.settings["fail-on"].value == "new-error"
    assert cfg.settings["fail-on"].origin == f"{tree / '.patchlint.toml'}:3"
    assert cfg.settings["profile"].value == "x86_64"
    assert cfg.settings["profile"].origin == f"{user_file(home)}:2"
    assert cfg.settings["exclude"].value == ["drivers/"]
    assert cfg.settings["defines"].origin == "default"


def test_defines_reach_the_profile(tree, home):
    (tree / ".patchlint.toml").write_text('defines = ["CONFIG_PATCHLINT_TEST", "CONFIG_HZ=250"]\n')
    profile = load_config(str(tree), env=home).load_profile()
    assert profile.name == "s390"
    assert profile.define_map()["CONFIG_PATCHLINT_TEST"] == "1" and profile.define_map()["CONFIG_HZ"] == "250"


def test_user_config_path_follows_xdg():
    assert user_config_path({"XDG_CONFIG_HOME": "/x/cfg", "HOME": "/h"}) == Path("/x/cfg/patchlint/config.toml")
    assert user_config_path({"HOME": "/h"}) == Path("/h/.config/patchlint/config.toml")
    # the XDG spec: a relative XDG_CONFIG_HOME is invalid and ignored
    assert user_config_path({"XDG_CONFIG_HOME": "rel", "HOME": "/h"}) == Path("/h/.config/patchlint/config.toml")


def test_filter_disabled_kinds_and_excluded_paths(tree, home):
    (tree / ".patchlint.toml").write_text('disable = ["damaged-patch"]\nexclude = ["drivers/staging/", "*.h"]\n')
    cfg = load_config(str(tree), env=home)

    def f(kind, file):
        return Finding(kind=kind, status="new", severity="warning", patch=1, file=file, line=1, function=None,
                       message="m")

    kept = cfg.filter([f("damaged-patch", "mm/rmap.c"), f("spin-on-trylock", "drivers/staging/x/y.c"),
                       f("spin-on-trylock", "include/linux/mm.h"), f("spin-on-trylock", "mm/rmap.c"),
                       f("spin-on-trylock", None)])
    assert [(k.kind, k.file) for k in kept] == [("spin-on-trylock", "mm/rmap.c"), ("spin-on-trylock", None)]
    assert excluded("drivers/staging/a.c", ["drivers/staging"]) and not excluded("drivers/stagingx.c",
                                                                                 ["drivers/staging"])


# ---------------------------------------------------------------- errors: one line, file and line

@pytest.mark.parametrize("text, line, words", [
    ('fail-on = "new"\ncolour = "always"\n', 2, "unknown key 'colour'"),
    ('fail-on = "sometimes"\n', 1, "'sometimes' is not one of new-error, new, any, never"),
    ('fail-on = 1\n', 1, "expected a string, not 1"),
    ('# comment\ndisable = [\n  "damaged-patch",\n  "no-such-kind",\n]\n', 4, "unknown finding kind 'no-such-kind'"),
    ('profile = "vax"\n', 1, "'vax' is not one of"),
    ('defines = ["CONFIG X"]\n', 1, "'CONFIG X' is not NAME or NAME=VALUE"),
    ('exclude = ["/abs/path"]\n', 1, "is not a tree-relative path or glob"),
    ('disable = [1, 2]\n', 1, "expected a list of strings"),
    ('\n\n[tool.patchlint]\nfail-on = "new"\n', 3, "unknown table 'tool'"),
    ('fail-on = "new"\nfail-on =\n', 2, "not valid TOML"),
])
def test_config_errors_name_the_file_and_line(tree, home, text, line, words):
    path = tree / ".patchlint.toml"
    path.write_text(text)
    with pytest.raises(PatchlintError) as exc:
        load_config(str(tree), env=home)
    assert exc.value.source == str(path) and exc.value.line == line
    assert words in exc.value.message
    assert "\n" not in exc.value.render()


def test_key_line_ignores_keys_inside_tables_and_finds_quoted_keys():
    text = '[other]\nfail-on = 1\n'
    assert key_line(text, "fail-on") is None and key_line(text, "other") == 1
    assert key_line('"fail-on" = "new"\n', "fail-on") == 1


def test_command_line_errors_are_one_line_exit_2(home):
    proc = run(["config", "--disable", "nope"], home)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "--disable: unknown finding kind 'nope'" in proc.stderr


def test_bad_user_config_is_exit_2_naming_it(tree, home):
    user_file(home).write_text("fail-on = 'new'\nverbose = true\n")
    proc = run(["config", "--tree", str(tree)], home)
    assert proc.returncode == 2
    assert proc.stderr == f"patchlint: {user_file(home)}:2: unknown key 'verbose'; known keys: fail-on, disable, " \
                          "profile, defines, exclude, model, scenarios\n"


# ---------------------------------------------------------------- patchlint config

def test_config_command_shows_values_and_origins_as_toml(tree, home):
    user_file(home).write_text('profile = "x86_64"\n')
    (tree / ".patchlint.toml").write_text('\nexclude = ["drivers/staging/"]\n')
    proc = run(["config", "--fail-on", "never"], home, cwd=tree)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert f"# user file: {user_file(home)}\n" in out and "# tree file: .patchlint.toml\n" in out
    rows = {line.split(" = ")[0]: line for line in out.splitlines() if not line.startswith("#")}
    assert rows["fail-on"].endswith("# command line") and '"never"' in rows["fail-on"]
    assert rows["exclude"].endswith("# .patchlint.toml:2")
    assert rows["profile"].endswith(f"# {user_file(home)}:1")
    assert rows["disable"].endswith("# default")
    assert tomllib.loads(out) == {"fail-on": "never", "disable": [], "profile": "x86_64", "defines": [],
                                  "exclude": ["drivers/staging/"], "model": True, "scenarios": []}


# ---------------------------------------------------------------- check applies the configuration

def test_check_applies_disable_exclude_and_fail_on(tree, home):
    rfc = str(SERIES / "storage-key-rfc.mbox")
    (tree / ".patchlint.toml").write_text(
        'disable = ["lock-order-inversion"]\nfail-on = "new-error"\nmodel = false\n')
    proc = run(["check", "--format", "json", "--tree", str(tree), rfc], home)
    assert proc.returncode == 0, proc.stderr  # only new warnings are left, and only new errors fail
    kinds = {f["kind"] for f in json.loads(proc.stdout)["findings"]}
    assert "lock-order-inversion" not in kinds and "spin-on-trylock" in kinds
    # terse prints what fails the check: at new-error, the warnings left do not
    assert run(["check", "--format", "terse", "--tree", str(tree), rfc], home).stdout == ""
    proc = run(["check", "--format", "terse", "--tree", str(tree), "--fail-on", "new", "--exclude", "mm/", rfc],
               home)
    assert proc.returncode == 0 and proc.stdout == ""  # everything is in mm/
    proc = run(["check", "--format", "terse", "--tree", str(tree), "--disable", "documented-order", rfc], home)
    assert proc.returncode == 1  # the command line's disable list replaces the tree's
    assert "LOCK_ORDER_INVERSION" in proc.stdout and "DOCUMENTED_ORDER" not in proc.stdout


def test_check_refuses_a_bad_tree_config_before_reading_the_series(tree, home):
    (tree / ".patchlint.toml").write_text("fail-on = 'soon'\n")
    proc = run(["check", "--tree", str(tree), "does-not-exist.mbox"], home)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"patchlint: {tree / '.patchlint.toml'}:1: fail-on: 'soon' is not one of")


# ---------------------------------------------------------------- explain

def test_every_kind_has_an_explanation_and_nothing_else_does():
    data = tomllib.loads(resources.files("patchlint").joinpath("data", "kinds.toml").read_text())
    assert list(data) == list(KINDS)
    for kind, info in kind_table().items():
        assert len(info.explanation.split()) >= 40, kind  # a paragraph, not a label
        assert info.level in ("error", "warning", "check")
        # as written, not as read (an unknown scenario is read as "none")
        assert data[kind].get("scenario", "none") in SCENARIOS and info.scenario == data[kind].get("scenario", "none")


def test_explain_command(home):
    proc = run(["explain", "lock-order-inversion"], home)
    assert proc.returncode == 0
    head, _, body = proc.stdout.partition("\n\n")
    assert head == "lock-order-inversion (LOCK_ORDER_INVERSION, usually error): Lock order inversion"
    assert " ".join(body.split()) == kind_table()["lock-order-inversion"].explanation
    listing = run(["explain"], home).stdout.splitlines()
    assert [line.split()[0] for line in listing] == list(KINDS)
    bad = run(["explain", "deadlocks"], home)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "unknown finding kind 'deadlocks'" in bad.stderr
