"""Tracebacks of node errors as a user reads them: from the user's code on."""

from __future__ import annotations

import os
import traceback

import grafo_core
from grafo_tui.model_views import error_summary

_ENGINE_DIR = os.path.dirname(grafo_core.__file__) + os.sep


def node_traceback(error: BaseException) -> str:
    """Return the formatted traceback of a node's error, without the
    engine's frames that lead into the node's own code."""
    try:
        report = traceback.TracebackException.from_exception(error)
        chained: traceback.TracebackException | None = report
        while chained is not None:
            _drop_engine_frames(chained)
            chained = chained.__cause__ or chained.__context__
        return "".join(report.format()).rstrip()
    except Exception:  # formatting calls str(), which may raise
        return error_summary(error)


def _drop_engine_frames(report: traceback.TracebackException) -> None:
    """Drop the leading frames in grafo_core; keep them all when the error
    comes from the engine itself (a type check, an injected fault)."""
    stack = report.stack
    for index, frame in enumerate(stack):
        if not frame.filename.startswith(_ENGINE_DIR):
            if index:
                report.stack = traceback.StackSummary.from_list(stack[index:])
            return
