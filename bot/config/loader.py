"""Load a YAML config file into a validated ``Config``; every problem names its YAML path and line.

``load_config`` reads the file with ruamel.yaml's round-trip loader (whose mappings and sequences
remember where each key and item was written), turns it into plain Python values, validates it
with ``Config.model_validate`` and, when that fails, raises one ``ConfigError`` listing *all*
problems, each as ``path.to.field (line N): message``. YAML errors (syntax, duplicate keys, an
empty file, a top level that is not a mapping) are reported the same way, before validation.

Numbers written with a decimal point reach the schema as ``Decimal(repr(float))``, i.e. exactly as
written for any ordinary number: ``ratio: 0.7`` is ``Decimal("0.7")``, never
``Decimal(0.6999999999999999555910790149937...)``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
from ruamel.yaml.scalarbool import ScalarBoolean

from bot.config.models import ERROR_AT, STARTUP_CHECKS, Config
from bot.config.schema_paths import unknown_key_message

YAML_PATH = "<yaml>"  # the path of a problem with the YAML text itself
FILE_PATH = "<file>"  # the path of a problem reading the file
_MERGE_TAG = "tag:yaml.org,2002:merge"
_SECRET_WORDS = ("secret", "api_key", "password", "token", "_env")
_URL_PASSWORD = re.compile(r"(?<=://)([^/:@\s]*):[^@/\s]*@")
_MAX_SHOWN = 60
_PLAIN_MESSAGES = {  # clearer words for pydantic's messages about the shape of a value
    "model_type": "expected a mapping (indented 'key: value' lines)",
    "model_attributes_type": "expected a mapping (indented 'key: value' lines)",
    "dict_type": "expected a mapping (indented 'key: value' lines)",
    "list_type": "expected a list ('- item' lines)",
}

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class ConfigProblem:
    """One problem: a dotted YAML path (or ``<yaml>``/``<file>``), its 1-based line, a message."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path} (line {self.line})"
        return f"{where}: {self.message}"


class ConfigError(Exception):
    """The config cannot be used; ``problems`` lists every problem found, in line order.

    ``source`` is the file, when there is one (``str(error)`` does not repeat it).
    """

    def __init__(self, problems: Iterable[ConfigProblem], source: Path | None = None) -> None:
        self.problems: list[ConfigProblem] = list(problems)
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


def load_config(path: Path, *, startup_checks: bool = False) -> Config:
    """Read, parse and validate the config file at ``path``.

    Relative paths inside the config (``exchange.sim.replay.path``, ``exchange.api_key_file``,
    ``exchange.secret_file``) are resolved relative to the directory of the config file, not to
    the current directory, and ``~`` is expanded; absolute paths are kept as written. (The SQLite
    file in ``database.url`` is a URL, left to the database layer.)

    ``startup_checks``: also refuse what ``run`` would refuse as it starts that can be known
    from the file alone (a rule's market that a simulated exchange with fixed prices does not
    list); for ``check-config`` and the daemon, not for the backtest (its markets are its data's).

    Raises ``ConfigError`` for a missing or unreadable file, invalid YAML and every schema problem.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        reason = "it does not exist"
    except UnicodeDecodeError as error:
        reason = f"it is not UTF-8 text (byte {error.start})"
    except OSError as error:
        reason = error.strerror or type(error).__name__
    else:
        return parse_config(
            text, base_dir=path.absolute().parent, source=path, startup_checks=startup_checks
        )
    problem = ConfigProblem(FILE_PATH, None, f"cannot read config file {path}: {reason}")
    raise ConfigError([problem], source=path)


def parse_config(
    text: str, base_dir: Path, source: Path | None = None, *, startup_checks: bool = False
) -> Config:
    """Parse and validate config YAML ``text``; relative paths in it are taken from ``base_dir``.

    ``load_config`` without the file: raises ``ConfigError`` (with ``source``) in the same cases.
    """
    try:
        node = _yaml().compose(text)
        duplicates = _duplicate_keys(node) if node is not None else []
        if duplicates:
            raise ConfigError(duplicates, source)
        document = _yaml().load(text)
    except MarkedYAMLError as error:
        raise ConfigError([_syntax_problem(error)], source) from None
    except YAMLError as error:  # e.g. a control character in the text: no line is known
        raise ConfigError([ConfigProblem(YAML_PATH, None, str(error).strip())], source) from None
    if document is None:
        raise ConfigError([ConfigProblem(YAML_PATH, None, "the config file is empty")], source)
    if not isinstance(document, CommentedMap):
        line = node.start_mark.line + 1 if node is not None else None
        message = (
            "the top level must be a mapping of sections (exchange:, rules:, ...), "
            f"not {_kind(document)}"
        )
        raise ConfigError([ConfigProblem(YAML_PATH, line, message)], source)
    try:
        context = {"base_dir": base_dir, STARTUP_CHECKS: startup_checks}
        return Config.model_validate(_plain(document), context=context)
    except ValidationError as error:
        problems = [_problem(detail, document) for detail in error.errors(include_url=False)]
        raise ConfigError(_in_line_order(problems), source) from None


def _yaml() -> YAML:
    return YAML(typ="rt")  # round trip: keeps line numbers; duplicate keys are an error


def _in_line_order(problems: list[ConfigProblem]) -> list[ConfigProblem]:
    return sorted(problems, key=lambda problem: (problem.line is None, problem.line or 0))


# --- YAML-level problems -----------------------------------------------------------------------


def _syntax_problem(error: MarkedYAMLError) -> ConfigProblem:
    mark = error.problem_mark or error.context_mark
    line = mark.line + 1 if mark is not None else None
    message = str(error.problem or error.context or "invalid YAML").strip()
    if error.problem and error.context and error.context_mark is not None:
        message += f" ({error.context.strip()} on line {error.context_mark.line + 1})"
    return ConfigProblem(YAML_PATH, line, message)


def _duplicate_keys(root: Any) -> list[ConfigProblem]:
    """Every key written twice in one mapping, found in the composed (not yet built) node tree."""
    problems: list[ConfigProblem] = []
    visited: set[int] = set()  # aliases share nodes, and may even be recursive
    pending: list[tuple[Any, Loc]] = [(root, ())]
    while pending:
        node, loc = pending.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, SequenceNode):
            pending.extend((item, (*loc, index)) for index, item in enumerate(node.value))
        elif isinstance(node, MappingNode):
            first_lines: dict[tuple[str, str], int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, ScalarNode) or str(key_node.tag) == _MERGE_TAG:
                    continue  # complex keys are left to the schema; merged maps are walked alone
                key, line = str(key_node.value), key_node.start_mark.line + 1
                identity = (str(key_node.tag), key)
                if identity in first_lines:
                    message = f"duplicate key {key!r} (first on line {first_lines[identity]})"
                    problems.append(ConfigProblem(_dotted((*loc, key)), line, message))
                else:
                    first_lines[identity] = line
                pending.append((value_node, (*loc, key)))
    return _in_line_order(problems)


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text {_show(value)}"
    return f"the value {_show(value)}"


# --- ruamel values to plain Python ---------------------------------------------------------------


def _plain(value: Any) -> Any:
    """ruamel's round-trip values as plain dict/list/str/int/Decimal/bool/None for pydantic."""
    if isinstance(value, dict):
        return {_plain_key(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, bool | ScalarBoolean):  # ScalarBoolean (an anchored bool) is an int
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        number = float(value)
        return Decimal(repr(number)) if math.isfinite(number) else number
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dt.date):  # YAML timestamps (a datetime is a date): keep them as text
        return value.isoformat()
    return value  # None, or something the schema will reject with its own message


def _plain_key(key: Any) -> Any:
    plain = _plain(key)
    try:
        hash(plain)
    except TypeError:  # a complex key ("? [a, b]"): no field has one, the schema rejects it
        return str(plain)
    return plain


# --- pydantic errors to problems -----------------------------------------------------------------


def _problem(detail: ErrorDetails, document: CommentedMap) -> ConfigProblem:
    loc: Loc = tuple(detail["loc"])
    kind = detail["type"]
    ctx = detail.get("ctx") or {}
    if kind == ERROR_AT:
        loc = (*loc, *ctx.get("at", ()))
        return ConfigProblem(_dotted(loc), _line(document, loc), detail["msg"])
    is_key = bool(loc) and loc[-1] == "[key]"
    if is_key:
        loc = loc[:-1]
    if kind == "extra_forbidden":
        message = _unknown_key(loc)
    elif kind == "missing":
        message = f"missing required key {loc[-1]!r}" if loc else detail["msg"]
    else:
        error = ctx.get("error")
        reason = str(error) if kind == "value_error" and error is not None else detail["msg"]
        reason = _PLAIN_MESSAGES.get(kind, reason)
        shown = None if _is_secret(loc) else _show(detail["input"])
        if shown is None:
            message = reason
        else:
            message = f"{'key ' if is_key else ''}{shown} is not valid: {reason}"
    return ConfigProblem(_dotted(loc), _line(document, loc), message)


def _dotted(loc: Loc) -> str:
    return ".".join(str(item) for item in loc) or "<config>"


def _line(document: CommentedMap, loc: Loc) -> int | None:
    """The 1-based line of the deepest node of ``loc`` that exists in the YAML.

    A key or item's own line; for a scalar value the value's line (usually the key's too). So an
    unknown key gives its line, a missing key its parent's, a model-level error its node's.
    """
    node: Any = document
    line = document.lc.line + 1 if isinstance(document.lc.line, int) else None
    for item in loc:
        if isinstance(node, CommentedMap) and _contains(node, item):
            value = node[item]
            value_line = None
            if value is not None and not isinstance(value, CommentedMap | CommentedSeq):
                value_line = _position_line(node.lc.value, item)
            line = value_line or _position_line(node.lc.key, item) or line
        elif isinstance(node, CommentedSeq) and isinstance(item, int) and 0 <= item < len(node):
            value = node[item]
            line = _position_line(node.lc.item, item) or line
        else:
            break
        node = value
    return line


def _contains(mapping: CommentedMap, key: object) -> bool:
    try:
        return key in mapping
    except TypeError:
        return False


def _position_line(position: Any, key: object) -> int | None:
    """The 1-based line of ``position(key)``, one of ruamel's ``.lc.key/value/item`` methods.

    None where ruamel has no position: keys merged in with ``<<`` have none.
    """
    try:
        line, _column = position(key)
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return line + 1 if isinstance(line, int) else None


def _unknown_key(loc: Loc) -> str:
    return unknown_key_message(Config, tuple(loc))


def _is_secret(loc: Loc) -> bool:
    return any(word in str(item).lower() for item in loc for word in _SECRET_WORDS)


def _show(value: object) -> str | None:
    """An offending value as the user wrote it (None for a non-empty mapping or list)."""
    if isinstance(value, dict | list):
        return None if value else ("{}" if isinstance(value, dict) else "[]")
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    text = _URL_PASSWORD.sub(r"\1:***@", str(value))
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 3] + "..."
    return repr(text)
