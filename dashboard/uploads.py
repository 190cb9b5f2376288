"""Checks on a file dropped on ``dcc.Upload`` before it reaches the loader.

``dcc.Upload`` hands the server a data URL (``data:<type>;base64,<payload>``); base64 makes the
payload 4/3 the size of the file, which ``request_size_limit`` accounts for.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import PurePath

from dashboard.i18n import _, format_number

ACCEPTED_SUFFIXES = (".json", ".jsonl", ".ndjson")
_ENVELOPE_BYTES = 1024 * 1024
"""Room for the rest of a callback request (other inputs, ids) around the upload itself."""


class UploadError(ValueError):
    """An upload that is refused before loading; the message is for the user."""


def limit_bytes(max_upload_mb: float) -> int:
    """The upload limit in bytes."""
    return int(max_upload_mb * 1024 * 1024)


def request_size_limit(max_upload_mb: float) -> int:
    """A Flask ``MAX_CONTENT_LENGTH`` that lets through a file at the limit, base64-encoded in a request."""
    return (limit_bytes(max_upload_mb) * 4 + 2) // 3 + _ENVELOPE_BYTES


def too_large_message(filename: str, size: int, max_upload_mb: float) -> str:
    """The message for a file over the limit."""
    return too_large_text().format(
        name=filename, size=format_number(size / 1024 / 1024, "0.0"), limit=format_number(max_upload_mb)
    )


def too_large_text() -> str:
    """The message for a file over the limit, with ``{name}``, ``{size}`` and ``{limit}`` (both in MB) to fill in
    (by the page too, which checks sizes before it sends a file)."""
    return _("{name} is {size} MB; files up to {limit} MB can be loaded (setting data.max_upload_mb).")


def decoded_size(contents: str) -> int:
    """Size in bytes of the file inside a base64 data URL, without decoding it."""
    payload = contents.partition(",")[2]
    padding = len(payload) - len(payload.rstrip("="))
    return len(payload) * 3 // 4 - padding


def decode_upload(contents: str | None, filename: str | None, max_upload_mb: float) -> bytes:
    """The file's bytes; raises ``UploadError`` with a clear message for anything unusable."""
    name = filename or _("the file")
    if not contents:
        raise UploadError(_("No file was received."))
    suffix = PurePath(name).suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        raise UploadError(_("{name}: only JSON (.json) and JSON Lines (.jsonl, .ndjson) files can be loaded.").format(
            name=name))
    header, sep, payload = contents.partition(",")
    if not sep or not header.startswith("data:") or ";base64" not in header:
        raise UploadError(_("{name}: the upload arrived in an unexpected form; try again.").format(name=name))
    size = decoded_size(contents)
    if size > limit_bytes(max_upload_mb):
        raise UploadError(too_large_message(name, size, max_upload_mb))
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise UploadError(_("{name}: the upload arrived damaged (bad base64); try again.").format(name=name)) from None
    if not data:
        raise UploadError(_("{name} is empty.").format(name=name))
    return data
