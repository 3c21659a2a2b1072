"""Turning Dagster's step-failure records into the one line a person needs: the file, the step and the cause.

A step failure is a chain: Dagster's wrapper ("Error occurred while executing op ...") around the
exception our code raised, which may itself wrap a low-level one (``raise SourceFormatError("<file>:
not UTF-8 text ...") from UnicodeDecodeError``). The message worth showing is the **outermost one our code
raised** (it names the file); the low-level cause is kept only as its kind (:func:`cause_of`: decode,
truncation, empty, disk full, permission, lock, ...), so nothing that names the file is dropped.
"""

from __future__ import annotations

import re

# (kind, words that identify it in an exception's class name or message), most specific first
_CAUSES = (
    ("disk full", ("no space left on device", "enospc", "disk is full", "disk full", "errno 28")),
    ("permission", ("permission denied", "permissionerror", "eacces", "read-only file system")),
    ("lock", ("could not set lock", "conflicting lock", "writerbusy", "another writer holds")),
    ("decode", ("unicodedecodeerror", "not utf-8", "codec can't decode", "invalid start byte")),
    ("truncation", ("truncated", "badzipfile", "invalid zip archive", "could not find eocd", "cut off", "unexpected end", "incompleteread", "file is not a zip file")),
    ("empty", ("emptydataerror", "no columns to parse", "empty body", "empty file", "is empty")),
    ("timeout", ("timed out", "deadline", "timeout")),
    ("contract", ("schemaerror", "schemaerrors", "contract", "failed the checks")),
)


def _chain(error) -> list:
    chain = []
    while error is not None:
        chain.append(error)
        error = getattr(error, "cause", None) or getattr(error, "context", None)
    return chain


def _is_wrapper(error) -> bool:
    return (getattr(error, "cls_name", "") or "").startswith("Dagster")


def cause_of(error) -> str | None:
    """The kind of the root cause (``'decode'``, ``'disk full'`` ...), or None when it is none of the known kinds."""
    for kind, words in _CAUSES:
        for link in reversed(_chain(error)):  # the innermost error says most about the cause
            text = f"{getattr(link, 'cls_name', '') or ''} {getattr(link, 'message', '') or ''}".lower()
            if any(word in text for word in words):
                return kind
    return None


def user_message(error) -> str:
    """The message of the outermost exception our code raised (not Dagster's wrapper, not the low-level cause)."""
    chain = _chain(error)
    own = next((link for link in chain if not _is_wrapper(link)), chain[-1])
    message = (own.message or "").strip()
    # SerializableErrorInfo.message is "ClassName: text"; keep the class only when the text does not explain itself
    cls = getattr(own, "cls_name", None)
    if cls:
        message = re.sub(rf"^[\w.]*\b{re.escape(cls)}: ", "", message, count=1)
    return message or (cls or "unknown error")


def one_line(step: str, error) -> str:
    """``<step> failed: <first line of the message> [cause: <kind>]``, the form the CLI prints."""
    message = user_message(error)
    first = message.splitlines()[0] if message else ""
    more = " (…)" if len(message.splitlines()) > 1 else ""
    cause = cause_of(error)
    return f"{step} failed: {first}{more}" + (f" [cause: {cause}]" if cause else "")
