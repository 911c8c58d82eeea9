"""An order-preserving multipart/form-data parser (Box cares whether metadata precedes the file)."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message


@dataclass
class Part:
    name: str
    filename: str | None
    data: bytes


def _params(header_value: str, header: str = "content-type") -> Message:
    message = Message()
    message[header] = header_value
    return message


def boundary_of(content_type: str) -> str | None:
    """The boundary of a ``multipart/form-data`` content type, else None."""
    message = _params(content_type)
    if message.get_content_type() != "multipart/form-data":
        return None
    boundary = message.get_param("boundary")
    return boundary if isinstance(boundary, str) and boundary else None


def parse(boundary: str, body: bytes) -> list[Part]:
    """The parts of a multipart body, in order; raises ValueError when malformed."""
    delimiter = b"--" + boundary.encode("latin-1")
    sections = body.split(delimiter)
    if len(sections) < 3 or not sections[-1].startswith(b"--"):
        msg = "malformed multipart body"
        raise ValueError(msg)
    parts = []
    for section in sections[1:-1]:
        if not section.startswith(b"\r\n") or not section.endswith(b"\r\n"):
            msg = "malformed multipart part"
            raise ValueError(msg)
        head, sep, data = section[2:-2].partition(b"\r\n\r\n")
        if not sep:
            msg = "multipart part without headers"
            raise ValueError(msg)
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = _params(headers.get("content-disposition", ""), "content-disposition")
        name = disposition.get_param("name", header="content-disposition")
        filename = disposition.get_param("filename", header="content-disposition")
        if not isinstance(name, str):
            msg = "multipart part without a name"
            raise ValueError(msg)
        parts.append(Part(name, filename if isinstance(filename, str) else None, data))
    return parts
