"""Private: pybio's exceptions and the translation of sslbio status codes.

Every class subclasses both :class:`pybio.SSLError` and the matching class of
the stdlib's :mod:`ssl`, so code written against ``ssl.SSLObject`` keeps
working: ``except ssl.SSLWantReadError`` catches
:class:`pybio.SSLWantReadError`, ``except ssl.SSLError`` catches them all.

Like the stdlib, ``errno`` is the ``ssl.SSL_ERROR_*`` number and ``str(exc)``
reads ``[LIB: REASON] message`` when OpenSSL named a reason; ``library`` and
``reason`` hold the two mnemonics (``"SSL"``, ``"CERTIFICATE_VERIFY_FAILED"``)
or ``None``. The message is the engine's one-line error (operation, OpenSSL
reasons, verify result).
"""

from __future__ import annotations

import ssl
from ctypes import create_string_buffer
from typing import Optional

from . import _lib

try:  # the stdlib's own mnemonic tables (the ones ssl.SSLError uses)
    from _ssl import err_codes_to_names as _ERR_NAMES, lib_codes_to_names as _LIB_NAMES
except ImportError:  # Python 3.13 no longer exports them: see names()
    _ERR_NAMES, _LIB_NAMES = {}, {}

# OpenSSL 3's library numbers (include/openssl/err.h, fixed across 3.x) and
# their mnemonics, as ssl.SSLError names them: used when _ssl has no tables.
_LIB_FALLBACK = {
    1: "NONE", 2: "SYS", 3: "BN", 4: "RSA", 5: "DH", 6: "EVP", 7: "BUF", 8: "OBJ", 9: "PEM",
    10: "DSA", 11: "X509", 13: "ASN1", 14: "CONF", 15: "CRYPTO", 16: "EC", 20: "SSL",
    32: "BIO", 33: "PKCS7", 34: "X509V3", 35: "PKCS12", 36: "RAND", 37: "DSO", 38: "ENGINE",
    39: "OCSP", 40: "UI", 41: "COMP", 42: "ECDSA", 43: "ECDH", 44: "OSSL_STORE", 45: "FIPS",
    46: "CMS", 47: "TS", 48: "HMAC", 50: "CT", 51: "ASYNC", 52: "KDF", 53: "SM2", 54: "ESS",
    55: "PROP", 56: "CRMF", 57: "PROV", 58: "CMP", 59: "OSSL_ENCODER", 60: "OSSL_DECODER",
    61: "HTTP",
}

__all__ = [
    "SSLError", "SSLWantReadError", "SSLWantWriteError", "SSLZeroReturnError",
    "SSLEOFError", "SSLCertVerificationError", "SSLSyscallError",
]


class SSLError(ssl.SSLError):
    """Base class of pybio's errors; a subclass of :class:`ssl.SSLError`.

    Attributes: ``library`` and ``reason`` (OpenSSL mnemonics or ``None``),
    ``code`` (the packed OpenSSL error code, 0 if none), ``status`` (the
    ``SSLBIO_*`` status that produced it).
    """

    library: Optional[str] = None
    reason: Optional[str] = None
    code: int = 0
    status: int = _lib.ERROR


class SSLWantReadError(SSLError, ssl.SSLWantReadError):
    """The engine needs ciphertext from the peer: feed it (or wait for the
    transport to be readable), then call again. Drain first: the engine may
    have produced ciphertext to send."""


class SSLWantWriteError(SSLError, ssl.SSLWantWriteError):
    """The engine's outgoing buffer is full or the transport would block:
    drain / flush, then call again."""


class SSLZeroReturnError(SSLError, ssl.SSLZeroReturnError):
    """The peer closed the TLS connection cleanly (close_notify) and the
    operation cannot go on (e.g. a handshake or write after the close)."""


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

# OpenSSL 3 packing (ERR_GET_LIB / ERR_GET_REASON / ERR_SYSTEM_FLAG).
_ERR_SYSTEM_FLAG = 0x80000000
_ERR_LIB_SYS = 2
_ERR_LIB_SSL = 20
_SSL_R_CERTIFICATE_VERIFY_FAILED = 134


def split_code(code: int):
    """(lib, reason) numbers of a packed OpenSSL error code."""
    if code & _ERR_SYSTEM_FLAG:
        return _ERR_LIB_SYS, code & 0x7FFFFFFF
    return (code >> 23) & 0xFF, code & 0x7FFFFF


def names(code: int):
    """(library, reason) mnemonics of a packed code, as ssl.SSLError has them."""
    if not code:
        return None, None
    lib, reason = split_code(code)
    if _LIB_NAMES:
        return _LIB_NAMES.get(lib), _ERR_NAMES.get((lib, reason))
    # Python >= 3.13: OpenSSL's reason string is its mnemonic in lower case
    # with spaces ("certificate verify failed"), for every reason the stdlib
    # tables name the same way.
    text = None
    if lib != _ERR_LIB_SYS and _lib.ssl_ERR_reason_error_string is not None:
        text = _lib.ssl_ERR_reason_error_string(code)
    reason_name = text.decode("ascii", "replace").upper().replace(" ", "_") if text else None
    return _LIB_FALLBACK.get(lib), reason_name


def conn_message(h) -> str:
    """The engine's one-line message of its last error ('' if none)."""
    buf = create_string_buffer(256)
    need = _lib.conn_error(h, buf, 256)
    if need >= 256:
        buf = create_string_buffer(need + 1)
        _lib.conn_error(h, buf, need + 1)
    if need <= 0:
        return ""
    return buf.value.decode("utf-8", "replace")


def verify_text(result: int) -> Optional[str]:
    if _lib.ssl_X509_verify_cert_error_string is None:
        return None
    s = _lib.ssl_X509_verify_cert_error_string(result)
    return s.decode("utf-8", "replace") if s else None


def _make(cls, errno: int, message: str, status: int, code: int = 0):
    library, reason = names(code)
    text = f"[{library}: {reason}] {message}" if library and reason else message
    exc = cls(errno, text)
    exc.library, exc.reason, exc.code, exc.status = library, reason, code, status
    return exc


def from_status(h, status: int, op: str = "") -> BaseException:
    """The exception for a negative sslbio status returned by a call on the
    connection handle h (a c_void_p). Reads the engine's error record."""
    if status == _lib.WANT_READ:
        return _make(SSLWantReadError, ssl.SSL_ERROR_WANT_READ, _WANT_READ_MSG, status)
    if status == _lib.WANT_WRITE:
        return _make(SSLWantWriteError, ssl.SSL_ERROR_WANT_WRITE, _WANT_WRITE_MSG, status)
    if status == _lib.CLOSED:
        return _make(SSLZeroReturnError, ssl.SSL_ERROR_ZERO_RETURN, _ZERO_MSG, status)
    if status == _lib.ENOMEM:
        return MemoryError(f"sslbio: {op or 'call'}: out of memory")
    message = conn_message(h) or f"sslbio: {op or 'call'}: {_lib.strstatus_text(status)}"
    code = _lib.conn_error_code(h)
    if status == _lib.TRUNCATED:
        return _make(SSLEOFError, ssl.SSL_ERROR_EOF,
                     "EOF occurred in violation of protocol: " + message, status, code)
    if status == _lib.EINVAL:
        return _make(SSLError, ssl.SSL_ERROR_SSL, message, status, code)
    verify = _lib.conn_verify_result(h)
    if verify > 0 and split_code(code) == (_ERR_LIB_SSL, _SSL_R_CERTIFICATE_VERIFY_FAILED):
        exc = _make(SSLCertVerificationError, ssl.SSL_ERROR_SSL, message, status, code)
        exc.verify_code = verify
        exc.verify_message = verify_text(verify)
        return exc
    if code == 0 and "transport" in message:
        return _make(SSLSyscallError, ssl.SSL_ERROR_SYSCALL, message, status, code)
    return _make(SSLError, ssl.SSL_ERROR_SSL, message, status, code)


def ctx_failure(h, what: str) -> str:
    """The context's message of its last failed setter."""
    msg = _lib.ctx_error(h)
    return msg.decode("utf-8", "replace") if msg else f"sslbio: {what} failed"
