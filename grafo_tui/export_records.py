"""Convert engine events, runner messages and their values to JSON-safe dicts."""

from __future__ import annotations

import dataclasses
import json
import math
import traceback
from collections.abc import Mapping
from typing import Any

from grafo_core import events
from grafo_core.events import short_repr
from grafo_tui.output_capture import OutputWritten
from grafo_tui.pipeline_messages import Notice, PipelineEnded
from grafo_tui.watchdog import LoopBlocked, LoopUnblocked

encode_string = json.encoder.encode_basestring_ascii
ENCODER = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":"))
_BASE_FIELDS = frozenset({"run_id", "node_id", "time"})
_REPR_FIELDS = frozenset({"value", "output"})
"""Fields that carry the pipeline's own objects, always written as short reprs."""


def event_record(event: events.Event) -> dict[str, Any]:
    """Return `event` as a JSON-safe dict: type, run_id, node_id, time, own fields.

    Values and outputs become short reprs, exceptions a dict of type, message
    and formatted traceback, and mappings (a node's kwargs) name -> short repr.
    """
    record: dict[str, Any] = {
        "type": type(event).__name__,
        "run_id": event.run_id,
        "node_id": event.node_id,
        "time": event.time,
    }
    for name in _own_field_names(type(event)):
        value = getattr(event, name)
        record[name] = short_repr(value) if name in _REPR_FIELDS else json_safe(value)
    if isinstance(event, events.NodeSucceeded):
        record["output_type"] = event.output_type
    return record


def message_record(message: Any, now: float) -> dict[str, Any] | None:
    """Return a queue item as a JSON-safe dict, or `None` for items not exported.

    Runner messages without a time of their own get `now`. `ExecutorAttached`
    is left out because the run's `RunStarted` follows it with the same facts.
    """
    if isinstance(message, events.Event):
        return event_record(message)
    record: dict[str, Any] = {
        "type": type(message).__name__,
        "run_id": None,
        "node_id": None,
        "time": now,
    }
    if isinstance(message, OutputWritten):
        record["node_id"] = message.node_id
        if message.time:
            record["time"] = message.time
        record["text"] = message.text
        record["stream"] = message.stream
    elif isinstance(message, Notice):
        record["text"] = message.text
    elif isinstance(message, PipelineEnded):
        record["error"] = None if message.error is None else str(message.error)
        record["failed_nodes"] = message.failed_nodes
    elif isinstance(message, LoopBlocked):
        # From the blocking detector, which runs only with the screen.
        record["node_id"] = message.node_id
        record["time"] = message.since
        record["file"] = message.file
        record["line"] = message.line
        record["function"] = message.function
    elif isinstance(message, LoopUnblocked):
        record["node_id"] = message.node_id
        record["seconds"] = message.seconds
    else:
        return None
    return record


def exception_record(error: BaseException) -> dict[str, str]:
    """Return the type, message and formatted traceback text of `error`."""
    try:
        message = str(error)
    except Exception:
        message = short_repr(error)
    try:
        text = "".join(traceback.format_exception(error))
    except Exception as exc:  # a broken __str__ deep in a chained exception
        text = f"<traceback unavailable: {type(exc).__name__}>"
    return {"type": _type_name(type(error)), "message": message, "traceback": text}


_PLAIN_TYPES = frozenset({int, float, str, bool, type(None)})


def chunk_repr(value: Any, limit: int = 120) -> str:
    """Return `short_repr(value, limit)`, faster for short ints, floats and strings.

    For these types reprlib returns the builtin repr unchanged when it is at
    most 60 characters long, so the fast path gives the same text.
    """
    if type(value) in _PLAIN_TYPES:
        text = repr(value)
        if len(text) <= min(60, limit):
            return text
    return short_repr(value, limit)


_field_names: dict[type, tuple[str, ...]] = {}


def _own_field_names(cls: type) -> tuple[str, ...]:
    names = _field_names.get(cls)
    if names is None:
        # Engine events are named tuples; runner messages are dataclasses.
        all_names = getattr(cls, "_fields", None) or tuple(
            item.name for item in dataclasses.fields(cls)
        )
        names = tuple(name for name in all_names if name not in _BASE_FIELDS)
        _field_names[cls] = names
    return names


def json_safe(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, BaseException):
        return exception_record(value)
    if isinstance(value, Mapping):
        return {str(key): short_repr(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [json_safe(item) for item in value]
    return short_repr(value)


def _type_name(cls: type) -> str:
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"
