"""Private: pybio's exceptions and the translation of sslbio status codes.

Every class subclasses both :class:`pybio.SSLError` and the matching class of
the stdlib's :mod:`ssl`, so code written against ``ssl.SSLObject`` keeps
working: ``except ssl.SSLWantReadError`` catches
:class:`pybio.SSLWantReadError`, ``except ssl.SSLError`` catches them all.

Like the stdlib, ``errno`` is the ``ssl.SSL_ERROR_*`` number and ``str(exc)``
reads ``[LIB: REASON] message`` when OpenSSL named a reason; ``library`` and
``reason`` hold the two mnemonics (``"SSL"``, ``"CERTIFICATE_VERIFY_FAILED"``)
or ``None``. The message is the engine's one-line error (operation, OpenSSL
reasons, verify result), from the C formatter; the class follows the kind of
failure the engine recorded (sslbio_conn_error_info), and the mnemonics come
from its first ERR queue entry (sslbio_conn_error_entry).
"""

from __future__ import annotations

import ssl
from ctypes import byref, create_string_buffer
from typing import Optional

from . import _lib

__all__ = [
    "SSLError", "SSLWantReadError", "SSLWantWriteError", "SSLZeroReturnError",
    "SSLEOFError", "SSLCertVerificationError", "SSLSyscallError",
]


class SSLError(ssl.SSLError):
    """Base class of pybio's errors; a subclass of :class:`ssl.SSLError`.

    Attributes: ``library`` and ``reason`` (OpenSSL mnemonics or ``None``),
    ``code`` (the packed OpenSSL error code, 0 if none), ``status`` (the
    ``SSLBIO_*`` status that produced it), ``kind`` (the engine's kind of
    failure, named as ``sslbio_strkind`` names it: ``"verify"``, ``"ssl"``,
    ``"transport"``, ``"truncated"``...).
    """

    library: Optional[str] = None
    reason: Optional[str] = None
    code: int = 0
    status: int = _lib.ERROR
    kind: Optional[str] = None


class SSLWantReadError(SSLError, ssl.SSLWantReadError):
    """The engine needs ciphertext from the peer: feed it (or wait for the
    transport to be readable), then call again. Drain first: the engine may
    have produced ciphertext to send."""

    status = _lib.WANT_READ
    kind = "want read"


class SSLWantWriteError(SSLError, ssl.SSLWantWriteError):
    """The engine's outgoing buffer is full or the transport would block:
    drain / flush, then call again."""

    status = _lib.WANT_WRITE
    kind = "want write"


class SSLZeroReturnError(SSLError, ssl.SSLZeroReturnError):
    """The peer closed the TLS connection cleanly (close_notify) and the
    operation cannot go on (e.g. a handshake or write after the close)."""

    status = _lib.CLOSED
    kind = "closed"


class SSLEOFError(SSLError, ssl.SSLEOFError):
    """The transport reached EOF without the peer's close_notify: the data
    may have been truncated by an attacker."""


class SSLSyscallError(SSLError, ssl.SSLSyscallError):
    """The transport failed (a callback of ``wrap_bio`` reported an error)."""


class SSLCertVerificationError(SSLError, ssl.SSLCertVerificationError):
    """The peer's certificate (chain or host name) did not verify.

    ``verify_code`` is the X509 verify result (``X509_V_ERR_*``),
    ``verify_message`` its text.
    """

    verify_code: int = 0
    verify_message: Optional[str] = None


_WANT_READ_MSG = "The operation did not complete (read)"
_WANT_WRITE_MSG = "The operation did not complete (write)"
_ZERO_MSG = "TLS/SSL connection has been closed (EOF)"
_EOF_PREFIX = "EOF occurred in violation of protocol: "


def conn_message(h) -> str:
    """The engine's one-line message of its last error ('' if none): the C
    formatter's text (sslbio_conn_error), the one message of every face."""
    buf = create_string_buffer(256)
    need = _lib.conn_error(h, buf, 256)
    if need >= 256:
        buf = create_string_buffer(need + 1)
        _lib.conn_error(h, buf, need + 1)
    if need <= 0:
        return ""
    return buf.value.decode("utf-8", "replace")


def _text(value: Optional[bytes]) -> Optional[str]:
    return value.decode("utf-8", "replace") if value else None


def _make(cls, errno: int, message: str, status: int, kind: Optional[str] = None, entry=None):
    """An exception of class cls; entry (an ErrorEntry, the first of the ERR
    queue) gives library, reason and code. kind None keeps the class's."""
    library = reason = None
    code = 0
    if entry is not None:
        library, reason, code = _text(entry.lib), _text(entry.reason), entry.code
    text = f"[{library}: {reason}] {message}" if library and reason else message
    exc = cls(errno, text)
    exc.library, exc.reason, exc.code, exc.status = library, reason, code, status
    if kind is not None:
        exc.kind = kind
    return exc


def from_status(h, status: int, op: str = "") -> BaseException:
    """The exception for a negative sslbio status returned by a call on the
    connection handle h (a c_void_p). Reads the engine's error record: its
    kind picks the class, the C formatter gives the message."""
    if status == _lib.WANT_READ:
        return _make(SSLWantReadError, ssl.SSL_ERROR_WANT_READ, _WANT_READ_MSG, status)
    if status == _lib.WANT_WRITE:
        return _make(SSLWantWriteError, ssl.SSL_ERROR_WANT_WRITE, _WANT_WRITE_MSG, status)
    if status == _lib.CLOSED:
        return _make(SSLZeroReturnError, ssl.SSL_ERROR_ZERO_RETURN, _ZERO_MSG, status)
    info = _lib.ErrorInfo()
    if _lib.conn_error_info(h, byref(info)) != _lib.OK or info.status == _lib.OK:
        info = None  # no record (a NULL handle, or memory ran out before one was made)
    message = conn_message(h) or f"sslbio: {op or 'call'}: {_lib.strstatus_text(status)}"
    if info is None:
        kind = {_lib.TRUNCATED: "truncated", _lib.ENOMEM: "no memory",
                _lib.EINVAL: "invalid"}.get(status, "ssl")
    else:
        kind = _lib.KINDS.get(info.kind, "ssl")
    if kind == "no memory":
        return MemoryError(message)
    entry = None
    if info is not None and info.entries:
        entry = _lib.ErrorEntry()
        if _lib.conn_error_entry(h, 0, byref(entry)) != _lib.OK:
            entry = None
    if kind == "verify":
        exc = _make(SSLCertVerificationError, ssl.SSL_ERROR_SSL, message, status, kind, entry)
        exc.verify_code = info.verify_result
        exc.verify_message = _text(info.verify_string)
        return exc
    if kind == "truncated":
        return _make(SSLEOFError, ssl.SSL_ERROR_EOF, _EOF_PREFIX + message, status, kind, entry)
    if kind in ("transport", "syscall"):
        return _make(SSLSyscallError, ssl.SSL_ERROR_SYSCALL, message, status, kind, entry)
    if kind == "closed":
        return _make(SSLZeroReturnError, ssl.SSL_ERROR_ZERO_RETURN, message, status, kind, entry)
    return _make(SSLError, ssl.SSL_ERROR_SSL, message, status, kind, entry)


def ctx_failure(h, what: str) -> str:
    """The context's message of its last failed setter."""
    msg = _lib.ctx_error(h)
    return msg.decode("utf-8", "replace") if msg else f"sslbio: {what} failed"
