"""Parsing `multipart/form-data` bodies the way the Workers API needs them.

Starlette's form parser drops the Content-Type of parts sent without a filename and caps part sizes, but
script uploads need every part's Content-Type (module type) and asset uploads carry parts of ~34 MiB of
base64. So bodies are parsed here with python-multipart's low-level parser into `Part`s in order.

A body that is not multipart, lacks a boundary, or does not parse to at least one complete part is
rejected with Cloudflare's text "Body can not be decoded as form data" (the seed's gotcha: this is what a
wrong boundary or a JSON-encoded body produces).
"""

from __future__ import annotations

from dataclasses import dataclass

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from cfemu.envelope import ApiError

__all__ = ["FORM_DATA_ERROR", "Part", "read_form_parts"]

# GUESS: the status and code of this error; the message text is Cloudflare's (seed gotcha).
FORM_DATA_ERROR = ApiError(400, 10021, "Body can not be decoded as form data")


@dataclass(frozen=True, slots=True)
class Part:
    """One form-data part: field name, optional filename, Content-Type (None if absent) and bytes."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes

    def text(self) -> str:
        """The part decoded as UTF-8 (raises the form-data error if it is not)."""
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            raise FORM_DATA_ERROR from None


class _Collector:
    def __init__(self) -> None:
        self.parts: list[Part] = []
        self.finished = False
        self._headers: dict[str, str] = {}
        self._field = bytearray()
        self._value = bytearray()
        self._data = bytearray()

    def on_part_begin(self) -> None:
        self._headers = {}
        self._data = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field.extend(data[start:end])

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value.extend(data[start:end])

    def on_header_end(self) -> None:
        self._headers[self._field.decode("latin-1").strip().lower()] = self._value.decode("utf-8", "replace")
        self._field = bytearray()
        self._value = bytearray()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._data.extend(data[start:end])

    def on_part_end(self) -> None:
        _, disposition = parse_options_header(self._headers.get("content-disposition", ""))
        name = disposition.get(b"name")
        if name is None:
            raise FORM_DATA_ERROR
        filename = disposition.get(b"filename")
        content_type = self._headers.get("content-type")
        self.parts.append(
            Part(
                name=name.decode("utf-8", "replace"),
                filename=None if filename is None else filename.decode("utf-8", "replace"),
                content_type=content_type.strip() if content_type else None,
                data=bytes(self._data),
            )
        )

    def on_end(self) -> None:
        self.finished = True


async def read_form_parts(request: Request) -> list[Part]:
    """All parts of a multipart/form-data request body, in order (see the module docstring)."""
    return parse_form_parts(request.headers.get("content-type", ""), await request.body())


def parse_form_parts(content_type: str, body: bytes) -> list[Part]:
    """All parts of a multipart/form-data `body` sent with `content_type`; `FORM_DATA_ERROR` when it is not one."""
    media_type, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if media_type != b"multipart/form-data" or not boundary:
        raise FORM_DATA_ERROR
    collector = _Collector()
    callbacks = {
        "on_part_begin": collector.on_part_begin,
        "on_header_field": collector.on_header_field,
        "on_header_value": collector.on_header_value,
        "on_header_end": collector.on_header_end,
        "on_part_data": collector.on_part_data,
        "on_part_end": collector.on_part_end,
        "on_end": collector.on_end,
    }
    try:
        parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        parser.write(body)
        parser.finalize()
    except ApiError:
        raise
    except Exception:
        # python-multipart raises several unrelated types for malformed bodies; all mean "not form data".
        raise FORM_DATA_ERROR from None
    if not collector.parts or not collector.finished:
        raise FORM_DATA_ERROR
    return collector.parts
