"""``hedgebot config reference``: the configuration reference, generated from the schema.

Every key of ``bot.config.models.Config`` is listed with its type, default, bounds or allowed
values and the ``description`` of its field, one Markdown table per section, in the order of
the models. ``docs/configuration.md`` is this command's output, kept current by
``tests/config/test_config_reference.py``.

Paths: ``a.b`` is key ``b`` of the mapping ``a``; ``a[]`` an item of the list ``a``. The
sections of ``accounts[]`` that repeat a top-level section (``accounts[].hedge`` and so on)
refer to it instead of listing its keys again.
"""

from __future__ import annotations

import inspect
import re
import types
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, BeforeValidator, PlainValidator, WrapValidator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from bot.config.models import Config

REGENERATE = "hedgebot config reference > docs/configuration.md"

# Validated string types (``AfterValidator``s), by validator name: (type shown, format shown).
FORMATS: dict[str, tuple[str, str]] = {
    "_coin": ("coin", "upper-case symbol, e.g. `BTC`"),
    "_env_var_name": ("env var name", "a variable's name: `A-Z`, `0-9`, `_`"),
    "_resolve_path": ("path", "`~` expanded; relative to the config file"),
    "_timeframe": ("interval", "`<n>m`, `<n>h` or `<n>d`, e.g. `1h`"),
    "_utc_timestamp": ("timestamp", "ISO 8601 with a UTC offset, e.g. `2024-01-01T00:00:00Z`"),
    "_clock": ("time of day", "`HH:MM`, UTC"),
}
_SCALARS: dict[Any, str] = {
    bool: "boolean",
    int: "integer",
    float: "number",
    Decimal: "decimal",
    str: "string",
    Path: "path",
    Any: "any",
}
_BOUNDS = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}


@dataclass(frozen=True)
class KeyDoc:
    """One documented key: its path, its table row, and the model field it comes from."""

    path: str
    value_type: str
    default: str
    allowed: str
    description: str
    owner: type[BaseModel]
    field: str


@dataclass(frozen=True)
class SectionDoc:
    """One table: the keys of one model at one path."""

    title: str
    path: str
    about: str
    keys: tuple[KeyDoc, ...]


@dataclass
class _Shape:
    """A field's annotation taken apart: the core type, constraints, validators, nullability."""

    core: Any
    constraints: list[Any]
    formats: list[str]
    nullable: bool


def _unwrap(annotation: Any, metadata: list[Any] | None = None) -> _Shape:
    """Peel ``Annotated`` and ``| None`` off ``annotation``, collecting what they carry."""
    shape = _Shape(annotation, [], [], False)
    for item in metadata or []:
        _collect(shape, item)
    while True:
        origin = get_origin(shape.core)
        if origin is Annotated:
            core, *extras = get_args(shape.core)
            for item in extras:
                _collect(shape, item)
            shape.core = core
        elif origin is Union or origin is types.UnionType:
            options = [arg for arg in get_args(shape.core) if arg is not type(None)]
            shape.nullable = shape.nullable or len(options) < len(get_args(shape.core))
            if len(options) != 1:
                return shape  # a union of models (the rule kinds)
            shape.core = options[0]
        else:
            return shape


def _collect(shape: _Shape, item: Any) -> None:
    if isinstance(item, FieldInfo):
        for inner in item.metadata:
            _collect(shape, inner)
    elif isinstance(item, AfterValidator):
        shape.formats.append(getattr(item.func, "__name__", repr(item.func)))
    elif not isinstance(item, BeforeValidator | PlainValidator | WrapValidator):
        shape.constraints.append(item)


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The models a field holds: itself, its list items, or the members of a union."""
    core = _unwrap(annotation).core
    if isinstance(core, type) and issubclass(core, BaseModel):
        return [core]
    if get_origin(core) is list:
        return _models(get_args(core)[0])
    if get_origin(core) is Union or get_origin(core) is types.UnionType:
        return [model for arg in get_args(core) for model in _models(arg)]
    return []


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _constraint_values(constraints: list[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in constraints:
        for name in ("ge", "gt", "le", "lt", "min_length", "max_length", "pattern"):
            value = getattr(item, name, None)
            if value is not None:
                found[name] = value
    return found


def _bounds(found: dict[str, Any], *, is_list: bool) -> list[str]:
    """``[0, 1]``, ``(0, 0.5)``, ``≥ 1``; length (of a string) or item count; pattern."""
    notes: list[str] = []
    low = next(((k, found[k]) for k in ("ge", "gt") if k in found), None)
    high = next(((k, found[k]) for k in ("le", "lt") if k in found), None)
    if low is not None and high is not None:
        opening = "[" if low[0] == "ge" else "("
        closing = "]" if high[0] == "le" else ")"
        notes.append(f"{opening}{_number(low[1])}, {_number(high[1])}{closing}")
    elif low is not None or high is not None:
        name, value = low or high or ("", None)
        notes.append(f"{_BOUNDS[name]} {_number(value)}")
    shortest, longest = found.get("min_length"), found.get("max_length")
    unit = "item" if is_list else "character"
    if shortest is not None and longest is not None:
        notes.append(f"{shortest} to {longest} {unit}s")
    elif shortest is not None:
        notes.append(f"at least {shortest} {unit}{'' if shortest == 1 else 's'}")
    elif longest is not None:
        notes.append(f"at most {longest} {unit}s")
    if "pattern" in found:
        notes.append(f"pattern `{found['pattern']}`")
    return notes


def _describe(annotation: Any, metadata: list[Any] | None = None) -> tuple[str, str]:
    """(type, allowed) of a field's value, e.g. ``("map coin → decimal", "values > 0")``."""
    shape = _unwrap(annotation, metadata)
    core, allowed = shape.core, []
    origin = get_origin(core)
    if origin is Literal:
        values = get_args(core)
        kind = "string" if all(isinstance(v, str) for v in values) else "value"
        allowed.append(", ".join(f"`{v}`" for v in values))
    elif origin is list:
        item_type, item_allowed = _describe(get_args(core)[0])
        kind = "list" if item_type == "any" else f"list of {item_type}s"
        if item_allowed:
            allowed.append(f"items: {item_allowed}")
    elif origin is dict:
        key_type, key_allowed = _describe(get_args(core)[0])
        value_type, value_allowed = _describe(get_args(core)[1])
        kind = f"map {key_type} → {value_type}"
        allowed += [f"keys: {key_allowed}"] if key_allowed else []
        allowed += [f"values: {value_allowed}"] if value_allowed else []
    elif len(_models(core)) > 1:
        kind = "rule"  # a union of models, chosen by ``kind``
    elif _models(core):
        kind = "section"
    else:
        kind = _SCALARS.get(core, getattr(core, "__name__", str(core)))
    for name in shape.formats:
        kind, note = FORMATS[name]
        allowed.insert(0, note)
    allowed += _bounds(_constraint_values(shape.constraints), is_list=origin is list)
    if shape.nullable:
        kind += " or null"
    return kind, "; ".join(allowed)


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    value = field.get_default(call_default_factory=True, validated_data={})
    if isinstance(value, BaseModel):
        return "(its defaults)"
    return f"`{_yaml(value)}`"


def _yaml(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in value.items()) + "}"
    return _number(value)


def _text(docstring: str | None) -> str:
    """A docstring as Markdown: dedented, ``code`` as `code`."""
    return inspect.cleandoc(docstring or "").replace("``", "`")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _kind_title(path: str, model: type[BaseModel]) -> str:
    kind = model.model_fields["kind"]
    (value,) = get_args(_unwrap(kind.annotation).core)
    default = " (the default)" if kind.default is not PydanticUndefined else ""
    return f"`{path}` with `kind: {value}`{default}"


def _shared_section(owner: type[BaseModel], name: str, models: list[type[BaseModel]]) -> bool:
    """A section below the top level holding what a top-level key of the same name holds
    (``accounts[].hedge`` is a ``hedge`` section): documented once, at the top level."""
    if owner is Config or name not in Config.model_fields:
        return False
    return models == _models(Config.model_fields[name].annotation)


def _sections(model: type[BaseModel], path: str, title: str) -> Iterator[SectionDoc]:
    """The table of ``model`` at ``path``, then the tables of its sections, depth first."""
    keys: list[KeyDoc] = []
    below: list[tuple[type[BaseModel], str, str]] = []
    for name, field in model.model_fields.items():
        key = f"{path}.{name}" if path else name
        kind, allowed = _describe(field.annotation, field.metadata)
        models = _models(field.annotation)
        item = f"{key}[]" if get_origin(_unwrap(field.annotation).core) is list else key
        if models and _shared_section(model, name, models):
            kind += f", as `{name}[]`" if item.endswith("[]") else f", as `{name}`"
        elif len(models) > 1:
            below += [(sub, item, _kind_title(item, sub)) for sub in models]
        elif models:
            below.append((models[0], item, f"`{item}`"))
        description = field.description or ""
        keys.append(KeyDoc(key, kind, _default(field), allowed, description.strip(), model, name))
    yield SectionDoc(title, path, _text(model.__doc__), tuple(keys))
    for sub, sub_path, sub_title in below:
        yield from _sections(sub, sub_path, sub_title)


def reference_sections() -> list[SectionDoc]:
    """Every section of the schema, in the order of the models."""
    return list(_sections(Config, "", "Top level"))


def schema_keys() -> list[KeyDoc]:
    """Every documented key of the schema (a rule key once per rule kind)."""
    return [key for section in reference_sections() for key in section.keys]


def _anchor(title: str, used: dict[str, int]) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces as hyphens."""
    slug = re.sub(r"[^\w\- ]", "", title.replace("`", "").lower()).replace(" ", "-")
    count = used.get(slug, 0)
    used[slug] = count + 1
    return slug if count == 0 else f"{slug}-{count}"


INTRO = """\
# Configuration reference

<!-- Generated from the config schema (bot/config/) by `hedgebot config reference`: do not edit.
     Regenerate: {regenerate} -->

Every key of a hedgebot config file, generated from the schema itself (`bot/config/`) by
`hedgebot config reference`; `hedgebot check-config FILE` validates a file against it. A
config with any problem never trades.

How to read the tables:

- `a.b` is the key `b` inside the section `a`; `a[]` is an item of the list `a` (YAML
  `- ...` lines), so `rules[].asset` is the `asset` of each rule. A `section` is a mapping of
  the keys listed in its own table; `(its defaults)` means it may be left out.
- `map coin → decimal` is a mapping such as `{{BTC: 1.5, ETH: 20}}`.
- Numbers written with a decimal point are read as exact decimals (`ratio: 0.7` is 0.7).
  Fractions are written as such (`0.02` = 2 %); units are in the key names (`_usd`,
  `_seconds`, `_hours`, `_annualized`: a fraction per year).
- Bounds: `[0, 1]` includes both ends, `(0, 1]` excludes 0.
- Secrets are never written in the file: `*_env` keys name the environment variables that
  hold them, `*_file` keys the files.
- Rules are chosen by `kind`; each kind has its own table. An account in `accounts[]` takes
  the top-level section of every section it leaves out.

{count} keys in {sections} sections:

"""


def render_reference() -> str:
    """The whole reference, as Markdown (``docs/configuration.md``)."""
    sections = reference_sections()
    count = sum(len(section.keys) for section in sections)
    used: dict[str, int] = {}
    anchors = [_anchor(section.title, used) for section in sections]
    out = [INTRO.format(regenerate=REGENERATE, count=count, sections=len(sections))]
    for section, anchor in zip(sections, anchors, strict=True):
        out.append(f"- [{section.title}](#{anchor}) ({len(section.keys)})\n")
    for section in sections:
        out.append(f"\n## {section.title}\n\n")
        if section.about:
            out.append(section.about + "\n\n")
        out.append("| key | type | default | allowed | description |\n")
        out.append("|---|---|---|---|---|\n")
        for key in section.keys:
            cells = (f"`{key.path}`", key.value_type, key.default, key.allowed, key.description)
            out.append("| " + " | ".join(_cell(cell) for cell in cells) + " |\n")
    return "".join(out)
