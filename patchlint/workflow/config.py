"""Configuration: `.patchlint.toml` at the top of the tree, a user file
(`$XDG_CONFIG_HOME/patchlint/config.toml`), and the command line.

Each key is taken whole from the first of command line, tree file, user file
and defaults that sets it (lists are not merged, so `patchlint config` can
say exactly where every value came from).  An unknown key, a table, or a bad
value is an input error naming the file and the line (tomllib reports no
lines for values, so the key's line is found in the text here).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patchlint.cparse.profile import Profile, load_profile, profile_names
from patchlint.errors import PatchlintError
from patchlint.findings import FAIL_ON, KINDS, Finding

TREE_FILE = ".patchlint.toml"
USER_FILE = Path("patchlint") / "config.toml"

DEFAULT_ORIGIN = "default"
CLI_ORIGIN = "command line"

_DEFINE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(=\S*)?$")


@dataclass(frozen=True)
class Key:
    name: str
    kind: str  # "choice" | "kinds" | "profile" | "defines" | "globs" | "dirs" | "bool"
    help: str


KEYS: dict[str, Key] = {k.name: k for k in (
    Key("fail-on", "choice", "which findings make `check` exit 1: new-error, new (new errors and warnings), "
                             "any (anything not fixed or refuted by replay), never"),
    Key("disable", "kinds", "finding kinds not reported (`patchlint explain` lists them)"),
    Key("profile", "profile", "configuration profile (architecture) the C source is read for"),
    Key("defines", "defines", "extra macros defined for the profile: NAME or NAME=VALUE, e.g. CONFIG_NUMA"),
    Key("exclude", "globs", "paths whose findings are not reported: a directory (drivers/staging/) or a "
                            "glob (fnmatch, * crosses /)"),
    Key("model", "bool", "whether `check` replays the scenario catalog's races in the mm model"),
    Key("scenarios", "dirs", "directories of your own scenario files (*.litmus), run beside the shipped "
                             "catalog; a relative path is taken from the config file's directory"),
)}


def default_values() -> dict[str, Any]:
    return {"fail-on": "new", "disable": [], "profile": load_profile(None).name, "defines": [], "exclude": [],
            "model": True, "scenarios": []}


@dataclass(frozen=True)
class Setting:
    value: Any
    origin: str  # "default", "command line", or "path:line"


@dataclass(frozen=True)
class ConfigFile:
    role: str  # "user" | "tree"
    path: Path
    exists: bool


@dataclass(frozen=True)
class Config:
    settings: dict[str, Setting]
    files: tuple[ConfigFile, ...] = field(default=())

    def get(self, key: str) -> Any:
        return self.settings[key].value

    @property
    def fail_on(self) -> str:
        return self.get("fail-on")

    @property
    def disable(self) -> list[str]:
        return list(self.get("disable"))

    @property
    def profile(self) -> str:
        return self.get("profile")

    @property
    def exclude(self) -> list[str]:
        return list(self.get("exclude"))

    @property
    def model(self) -> bool:
        return bool(self.get("model"))

    @property
    def scenarios(self) -> list[str]:
        return list(self.get("scenarios"))

    def define_map(self) -> dict[str, str]:
        out = {}
        for d in self.get("defines"):
            name, _, value = d.partition("=")
            out[name] = value if "=" in d else "1"
        return out

    def load_profile(self) -> Profile:
        """The profile with the configured extra defines."""
        return load_profile(self.profile).with_defines(self.define_map())

    def filter(self, findings: list[Finding]) -> list[Finding]:
        """The findings this configuration reports: disabled kinds and excluded paths dropped."""
        disabled = set(self.disable)
        excludes = self.exclude
        return [f for f in findings if f.kind not in disabled and not (f.file and excluded(f.file, excludes))]


def excluded(path: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        directory = pattern.rstrip("/")
        if fnmatch.fnmatchcase(path, pattern) or path == directory or path.startswith(directory + "/"):
            return True
    return False


def user_config_path(env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME")
    if not base or not os.path.isabs(base):  # the XDG spec: a relative value is ignored
        base = str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / USER_FILE


def load_config(tree_dir: str | None, cli: dict[str, Any] | None = None,
                env: dict[str, str] | None = None) -> Config:
    """The effective configuration for a tree: command line > tree file > user file > defaults.

    `cli` maps keys to command-line values; None (or an empty list) means "not given"."""
    defaults = default_values()
    settings = {k: Setting(v, DEFAULT_ORIGIN) for k, v in defaults.items()}
    user = user_config_path(env)
    tree = Path(tree_dir or ".") / TREE_FILE
    files = (ConfigFile("user", user, user.is_file()), ConfigFile("tree", tree, tree.is_file()))
    for cf in files:
        if cf.exists:
            for key, setting in read_config_file(cf.path, _display(cf.path, tree_dir)).items():
                settings[key] = setting
    for key, value in (cli or {}).items():
        if value is None or value == []:
            continue
        settings[key] = Setting(_check_value(key, value, CLI_ORIGIN, _flag(key, value), None, Path.cwd()),
                                CLI_ORIGIN)
    return Config(settings, files)


def _flag(key: str, value: Any) -> str:
    """The option that set a key on the command line, as the user typed it."""
    if KEYS[key].kind == "bool":
        return f"--{key}" if value else f"--no-{key}"
    return f"--{key.removesuffix('s')}" if key != "scenarios" else "--scenarios"


def _display(path: Path, tree_dir: str | None) -> str:
    """How a config file is named in messages: as the user would type it."""
    if path.name == TREE_FILE:
        return str(Path(tree_dir or ".") / TREE_FILE)
    return str(path)


def read_config_file(path: Path, name: str | None = None) -> dict[str, Setting]:
    name = name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PatchlintError(name, "is not UTF-8 text", None, "TOML files are UTF-8") from None
    except OSError as exc:
        raise PatchlintError(name, f"cannot read: {exc.strerror}", None, "check the file's permissions") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        m = re.search(r"\(at line (\d+), column \d+\)", message)
        line = int(m.group(1)) if m else None
        message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)
        raise PatchlintError(name, f"not valid TOML: {message}", line, "see https://toml.io") from None
    out: dict[str, Setting] = {}
    for key, value in data.items():
        line = key_line(text, key)
        if key not in KEYS:
            what = "table" if isinstance(value, dict) else "key"
            raise PatchlintError(name, f"unknown {what} {key!r}", line, f"known keys: {', '.join(KEYS)}")
        checked = _check_value(key, value, name, key, lambda lit, _line=line: value_line(text, _line, lit),
                               path.parent)
        out[key] = Setting(checked, f"{name}:{line}" if line else name)
    return out


def _check_value(key: str, value: Any, source: str, label: str, line_of, base: Path | None = None) -> Any:
    """The value, normalised, or a PatchlintError naming `source` and the line.  Relative
    directories are taken from `base` (the config file's directory, or the working directory)."""
    spec = KEYS[key]

    def bad(message: str, literal: Any = None, hint: str | None = None) -> PatchlintError:
        line = line_of(literal) if line_of is not None else None
        return PatchlintError(source, f"{label}: {message}", line, hint)

    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise bad(f"expected true or false, not {_toml(value)}")
        return value

    if spec.kind in ("choice", "profile"):
        if not isinstance(value, str):
            raise bad(f"expected a string, not {_toml(value)}")
        choices = list(FAIL_ON) if spec.kind == "choice" else profile_names()
        if value not in choices:
            raise bad(f"{value!r} is not one of {', '.join(choices)}", value)
        return value
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise bad(f"expected a list of strings, not {_toml(value)}")
    for item in items:
        if spec.kind == "kinds" and item not in KINDS:
            raise bad(f"unknown finding kind {item!r}", item, f"known kinds: {', '.join(KINDS)}")
        if spec.kind == "defines" and not _DEFINE.match(item):
            raise bad(f"{item!r} is not NAME or NAME=VALUE", item)
        if spec.kind == "globs" and (not item or item.startswith("/")):
            raise bad(f"{item!r} is not a tree-relative path or glob", item)
        if spec.kind == "dirs" and not (Path(base or ".") / item).is_dir():
            raise bad(f"{item!r} is not a directory", item)
    if spec.kind == "dirs":
        items = [os.path.normpath(Path(base or ".") / item) for item in items]
    out = list(dict.fromkeys(items))  # keep order, drop repeats
    return sorted(out) if spec.kind == "kinds" else out


def _toml(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (str, int, float, bool, list)) else type(value).__name__


def key_line(text: str, key: str) -> int | None:
    """The 1-based line where a top-level key (or a table of that name) is written."""
    names = "|".join(re.escape(q) for q in (key, f'"{key}"', f"'{key}'"))
    plain = re.compile(rf"^\s*(?:{names})\s*[=.]")
    table = re.compile(rf"^\s*\[\[?\s*(?:{names})\s*[\].]")
    in_table = False
    for n, line in enumerate(text.splitlines(), 1):
        if table.match(line):
            return n
        if re.match(r"^\s*\[", line):
            in_table = True
        elif not in_table and plain.match(line):
            return n
    return None


def value_line(text: str, start: int | None, literal: Any) -> int | None:
    """The line at or after `start` holding a string literal (an element of a multi-line array)."""
    if start is None or not isinstance(literal, str):
        return start
    lines = text.splitlines()
    for n in range(start, len(lines) + 1):
        line = lines[n - 1]
        if f'"{literal}"' in line or f"'{literal}'" in line:
            return n
        if n > start and re.match(r"^\s*[\w\"'-]+\s*=|^\s*\[", line):
            break
    return start


def render_config(cfg: Config) -> str:
    """`patchlint config`: the effective values as TOML, each with where it came from."""
    out = ["# patchlint configuration; precedence: command line > tree > user > defaults"]
    for cf in cfg.files:
        out.append(f"# {cf.role} file: {cf.path}{'' if cf.exists else ' (not present)'}")
    rows = [(f"{key} = {_toml_value(s.value)}", s.origin) for key, s in cfg.settings.items()]
    width = max(len(r[0]) for r in rows)
    out.extend(f"{left:<{width}}  # {origin}" for left, origin in rows)
    return "\n".join(out) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)
