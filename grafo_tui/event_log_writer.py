"""Write every event and runner message as one line of JSON, for `--events`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TextIO

from grafo_core import events
from grafo_tui.export_records import (
    ENCODER,
    chunk_repr,
    encode_string,
    message_record,
)


class EventLogWriter:
    """Write one JSON object per line for each event and runner message."""

    def __init__(self, stream: TextIO, *, clock: Callable[[], float]) -> None:
        self._stream = stream
        self._clock = clock
        self._chunk_starts: dict[tuple[str, str | None], str] = {}
        self.lines = 0
        """Lines written so far."""

    def write(self, message: Any) -> None:
        """Append `message` as one line, unless `message_record` leaves it out."""
        if type(message) is events.ChunkEmitted:
            self._stream.write(self._chunk_line(message))
            self.lines += 1
            return
        record = message_record(message, self._clock())
        if record is None:
            return
        self._stream.write(ENCODER.encode(record) + "\n")
        self.lines += 1

    def _chunk_line(self, event: events.ChunkEmitted) -> str:
        # Chunks are nearly every line of a long run, so their line is built
        # from a cached start instead of a dict. It is the same JSON object as
        # `event_record` gives, which a test checks.
        key = (event.run_id, event.node_id)
        start = self._chunk_starts.get(key)
        if start is None:
            start = (
                '{"type":"ChunkEmitted","run_id":'
                + ENCODER.encode(event.run_id)
                + ',"node_id":'
                + ENCODER.encode(event.node_id)
                + ',"time":'
            )
            self._chunk_starts[key] = start
        value = encode_string(chunk_repr(event.value))
        return f'{start}{event.time!r},"index":{event.index},"value":{value}}}\n'

    def close(self) -> None:
        """Flush and close the file."""
        self._stream.close()
