"""Field names of the config schema at a YAML path, for "unknown key" messages with hints."""

from __future__ import annotations

import difflib
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel


def strip_optional(annotation: Any) -> Any:
    """``X`` from ``Annotated[X, ...]`` and ``X | None``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin is Union or origin is types.UnionType:
            options = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation


def keys_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """Field names of the (nested) model at ``loc`` below ``model``; [] if not a model."""
    annotation: Any = model
    for item in loc:
        annotation = strip_optional(annotation)
        origin = get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(item))
            if field is None:
                return []
            annotation = field.annotation
        elif origin is list and isinstance(item, int):
            annotation = get_args(annotation)[0]
        elif origin is dict:
            annotation = get_args(annotation)[1]
        else:
            return []
    annotation = strip_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def unknown_key_message(model: type[BaseModel], loc: tuple[str | int, ...]) -> str:
    """``unknown key 'x'`` with a close match (``did you mean``) or the known keys."""
    key = str(loc[-1])
    message = f"unknown key {key!r}"
    known = keys_at(model, loc[:-1])
    if not known:
        return message
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f"{message} (did you mean {close[0]!r}?)"
    return f"{message} (known keys: {', '.join(known)})"
