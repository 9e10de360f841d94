"""Private: finds and loads libsslbio, declares every C symbol.

This is the only module that knows the C signatures. Every public sslbio_*
function of include/sslbio.h is declared below with its argtypes and
restype; importing this module fails (ImportError) when the library is
missing, lacks a symbol, or does not provide ABI version 1.

Two views of the same dlopen() handle are used:

* ``_slow`` (ctypes.CDLL) releases the GIL for the duration of the call. It
  is used for calls that may do real work (handshake crypto, encrypting or
  decrypting a record, loading files) and for every call that may run the
  Python transport callbacks.
* ``_fast`` (ctypes.PyDLL) keeps the GIL. It is used for calls that only copy
  a few bytes or read a field, where releasing and re-taking the GIL would
  cost more than the call itself.

Nothing else is looked up: pybio uses only what include/sslbio.h declares.
The status codes and kinds of failure are not written down here either:
they are read from the library at import (sslbio_strstatus / sslbio_strkind
name every row of the header's SSLBIO_STATUS_TABLE / SSLBIO_KIND_TABLE).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
from ctypes import (
    POINTER,
    Structure,
    c_char_p,
    c_int,
    c_long,
    c_size_t,
    c_ulong,
    c_void_p,
)
from typing import Tuple

ENV_VAR = "SSLBIO_LIBRARY"
ABI_VERSION = 1

# ---- constants of include/sslbio.h -----------------------------------------
# The status codes (OK, WANT_READ, ...) and the kinds of failure are derived
# from the library after loading it (see _derive_tables below).

CLIENT = 1
SERVER = 2

VERIFY_NONE = 0
VERIFY_PEER = 1
VERIFY_REQUIRE_PEER = 2

WANTS_READ = 1
WANTS_WRITE = 2
HAS_PLAINTEXT = 4

TLS1_2_VERSION = 0x0303
TLS1_3_VERSION = 0x0304

# ---- finding the library ----------------------------------------------------


def _candidates():
    """(description, path-or-None) in the order they are tried; lazily, so
    the system search (which may run ldconfig) only happens when needed."""
    here = os.path.dirname(os.path.abspath(__file__))
    yield f"${ENV_VAR}", os.environ.get(ENV_VAR) or None
    repo = os.path.join(os.path.dirname(here), "build", "libsslbio.so")
    yield "the repo's build/libsslbio.so", repo if os.path.exists(repo) else None
    # A copy placed inside an installed package (see README).
    bundled = os.path.join(here, "libsslbio.so")
    if os.path.exists(bundled):
        yield "the package's own libsslbio.so", bundled
    yield ("the system library path (ctypes.util.find_library('sslbio'))",
           ctypes.util.find_library("sslbio"))


def _load() -> Tuple[ctypes.CDLL, ctypes.PyDLL, str]:
    tried = []
    for what, path in _candidates():
        if path is None:
            tried.append(f"{what}: not found")
            continue
        try:
            slow = ctypes.CDLL(path)
            fast = ctypes.PyDLL(path)
        except OSError as exc:
            if what.startswith("$"):
                # An explicit choice that fails is an error, not a fallback.
                raise ImportError(f"pybio: {ENV_VAR}={path!r} cannot be loaded: {exc}") from exc
            tried.append(f"{what}: {path}: {exc}")
            continue
        return slow, fast, path
    raise ImportError(
        "pybio: libsslbio not found. Tried, in order:\n  "
        + "\n  ".join(tried)
        + f"\nRun `make lib` in the sslbio repository, set {ENV_VAR} to the full path of "
        "libsslbio.so, install it where the dynamic linker finds it (`make install`), "
        "or `pip install ./pybio` from the repository, which compiles it with the C "
        "compiler (needs cc, pkg-config and libssl-dev)."
    )


_slow, _fast, path = _load()

# ---- the ABI table: sslbio_api(1) ------------------------------------------

# Field order of sslbio_api_v1 after `size` and `abi`; every one must match
# the address the dynamic linker gives for sslbio_<name>.
_API_V1_FIELDS = (
    "version", "strstatus", "ctx_new", "ctx_wrap_openssl", "ctx_openssl", "ctx_ref",
    "ctx_free", "ctx_use_certificate_chain_file", "ctx_use_private_key_file",
    "ctx_use_certificate_chain_pem", "ctx_use_private_key_pem", "ctx_load_verify_file",
    "ctx_load_verify_pem", "ctx_set_verify", "ctx_set_alpn", "ctx_set_versions",
    "ctx_set_ciphers", "ctx_set_ragged_eof", "ctx_error", "conn_new", "conn_free",
    "conn_feed", "conn_drain", "conn_pending_out", "conn_feed_eof", "conn_handshake",
    "conn_read", "conn_write", "conn_shutdown", "conn_wants", "conn_key_update",
    "conn_error", "conn_error_code", "conn_verify_result", "conn_version", "conn_cipher",
    "conn_alpn", "conn_is_handshake_done", "conn_peer_certificate_pem", "conn_openssl",
    "conn_session", "conn_set_session", "conn_set_transport", "conn_flush",
    "conn_feed_buffer", "conn_feed_commit", "conn_drain_buffer", "conn_drain_commit",
    "conn_reset", "conn_write_drain", "conn_feed_read", "strkind", "ctx_set_check_hostname",
    "ctx_set_key_password", "ctx_role", "ctx_get_verify", "conn_error_info", "conn_error_entry",
    "conn_protocol_version", "conn_cipher_id", "conn_cipher_bits", "conn_group",
    "conn_pending_plaintext",
    # hooks for servers and protocols
    "ctx_set_client_hello_pause", "conn_server_name", "conn_client_alpn", "conn_use_context",
    "conn_reject_client_hello", "ctx_set_keylog", "conn_export_keying_material",
    "conn_tls_unique", "ctx_set_verify_callback", "conn_verify_done", "conn_peer_cert_count",
    "conn_peer_cert_der", "conn_session_reused", "ctx_set_ticket_keys",
)


class ApiV1(Structure):
    """Mirror of ``sslbio_api_v1``."""

    _fields_ = [("size", c_size_t), ("abi", c_int)] + [(n, c_void_p) for n in _API_V1_FIELDS]


class ErrorInfo(Structure):
    """Mirror of ``sslbio_error_info`` (sslbio_conn_error_info)."""

    _fields_ = [
        ("status", c_int),
        ("kind", c_int),
        ("op", c_char_p),
        ("ssl_error", c_int),
        ("sys_errno", c_int),
        ("verify_result", c_long),
        ("verify_string", c_char_p),
        ("detail", c_char_p),
        ("entries", c_size_t),
        ("dropped", c_size_t),
    ]


class ErrorEntry(Structure):
    """Mirror of ``sslbio_error_entry`` (sslbio_conn_error_entry)."""

    _fields_ = [
        ("code", c_ulong),
        ("lib", c_char_p),
        ("lib_string", c_char_p),
        ("reason_string", c_char_p),
        ("reason", ctypes.c_char * 64),
        ("file", c_char_p),
        ("line", c_int),
        ("function", c_char_p),
        ("data", c_char_p),
    ]


# ---- declarations -------------------------------------------------------------

# Transport callbacks. CFUNCTYPE: the callback takes the GIL itself, so it
# works from GIL-releasing calls.
RECV_FN = ctypes.CFUNCTYPE(c_long, c_void_p, c_void_p, c_size_t)
SEND_FN = ctypes.CFUNCTYPE(c_long, c_void_p, c_void_p, c_size_t)
# Hooks: sslbio_keylog_fn(void *user, const char *line) and
# sslbio_verify_fn(void *user, sslbio_conn *conn, long verify_result) -> int.
KEYLOG_FN = ctypes.CFUNCTYPE(None, c_void_p, c_char_p)
VERIFY_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_void_p, c_long)

_P = c_void_p  # sslbio_ctx*, sslbio_conn*, SSL_CTX*, SSL*: opaque pointers
_S = True      # release the GIL
_F = False     # keep the GIL

# name: (restype, argtypes, releases the GIL)
SIGNATURES = {
    "sslbio_version": (c_char_p, [], _F),
    "sslbio_strstatus": (c_char_p, [c_int], _F),
    "sslbio_strkind": (c_char_p, [c_int], _F),
    "sslbio_api": (POINTER(ApiV1), [c_int], _F),
    # context
    "sslbio_ctx_new": (_P, [c_int], _F),
    "sslbio_ctx_wrap_openssl": (_P, [_P, c_int], _F),
    "sslbio_ctx_openssl": (_P, [_P], _F),
    "sslbio_ctx_ref": (_P, [_P], _F),
    "sslbio_ctx_free": (None, [_P], _F),
    "sslbio_ctx_use_certificate_chain_file": (c_int, [_P, c_char_p], _S),
    "sslbio_ctx_use_private_key_file": (c_int, [_P, c_char_p], _S),
    "sslbio_ctx_use_certificate_chain_pem": (c_int, [_P, c_char_p, c_size_t], _S),
    "sslbio_ctx_use_private_key_pem": (c_int, [_P, c_char_p, c_size_t], _S),
    "sslbio_ctx_load_verify_file": (c_int, [_P, c_char_p], _S),
    "sslbio_ctx_load_verify_pem": (c_int, [_P, c_char_p, c_size_t], _S),
    "sslbio_ctx_set_verify": (c_int, [_P, c_int], _F),
    "sslbio_ctx_set_alpn": (c_int, [_P, c_char_p], _F),
    "sslbio_ctx_set_versions": (c_int, [_P, c_int, c_int], _F),
    "sslbio_ctx_set_ciphers": (c_int, [_P, c_char_p, c_char_p], _F),
    "sslbio_ctx_set_ragged_eof": (c_int, [_P, c_int], _F),
    "sslbio_ctx_set_check_hostname": (c_int, [_P, c_int], _F),
    "sslbio_ctx_set_key_password": (c_int, [_P, c_void_p, c_size_t], _F),
    "sslbio_ctx_role": (c_int, [_P], _F),
    "sslbio_ctx_get_verify": (c_int, [_P], _F),
    "sslbio_ctx_error": (c_char_p, [_P], _F),
    # engine
    "sslbio_conn_new": (_P, [_P, c_char_p], _S),
    "sslbio_conn_free": (None, [_P], _F),
    "sslbio_conn_reset": (c_int, [_P, c_char_p], _S),
    "sslbio_conn_feed": (c_long, [_P, c_void_p, c_size_t], _F),
    "sslbio_conn_drain": (c_long, [_P, c_void_p, c_size_t], _F),
    "sslbio_conn_pending_out": (c_long, [_P], _F),
    "sslbio_conn_feed_eof": (c_int, [_P], _F),
    "sslbio_conn_feed_buffer": (c_long, [_P, POINTER(c_void_p)], _F),
    "sslbio_conn_feed_commit": (c_long, [_P, c_size_t], _F),
    "sslbio_conn_drain_buffer": (c_long, [_P, POINTER(c_void_p)], _F),
    "sslbio_conn_drain_commit": (c_long, [_P, c_size_t], _F),
    "sslbio_conn_handshake": (c_int, [_P], _S),
    "sslbio_conn_read": (c_long, [_P, c_void_p, c_size_t], _S),
    "sslbio_conn_write": (c_long, [_P, c_void_p, c_size_t], _S),
    "sslbio_conn_write_drain": (c_long, [_P, c_void_p, c_size_t, c_void_p, c_size_t, c_void_p], _S),
    "sslbio_conn_feed_read": (c_long, [_P, c_void_p, c_size_t, c_void_p, c_void_p, c_size_t], _S),
    "sslbio_conn_shutdown": (c_int, [_P], _F),
    "sslbio_conn_wants": (c_int, [_P], _F),
    "sslbio_conn_key_update": (c_int, [_P, c_int], _S),
    "sslbio_conn_error": (c_long, [_P, c_char_p, c_size_t], _F),
    "sslbio_conn_error_code": (c_ulong, [_P], _F),
    "sslbio_conn_verify_result": (c_long, [_P], _F),
    "sslbio_conn_error_info": (c_int, [_P, POINTER(ErrorInfo)], _F),
    "sslbio_conn_error_entry": (c_int, [_P, c_size_t, POINTER(ErrorEntry)], _F),
    "sslbio_conn_version": (c_char_p, [_P], _F),
    "sslbio_conn_cipher": (c_char_p, [_P], _F),
    "sslbio_conn_alpn": (c_char_p, [_P], _F),
    "sslbio_conn_is_handshake_done": (c_int, [_P], _F),
    "sslbio_conn_peer_certificate_pem": (c_long, [_P, c_char_p, c_size_t], _F),
    "sslbio_conn_protocol_version": (c_int, [_P], _F),
    "sslbio_conn_cipher_id": (c_long, [_P], _F),
    "sslbio_conn_cipher_bits": (c_int, [_P], _F),
    "sslbio_conn_group": (c_char_p, [_P], _F),
    "sslbio_conn_session_reused": (c_int, [_P], _F),
    "sslbio_conn_server_name": (c_char_p, [_P], _F),
    "sslbio_conn_peer_cert_count": (c_long, [_P], _F),
    "sslbio_conn_peer_cert_der": (c_long, [_P, c_size_t, c_void_p, c_size_t], _F),
    "sslbio_conn_pending_plaintext": (c_long, [_P], _F),
    "sslbio_conn_openssl": (_P, [_P], _F),
    "sslbio_conn_session": (c_long, [_P, c_void_p, c_size_t], _F),
    "sslbio_conn_set_session": (c_int, [_P, c_void_p, c_size_t], _F),
    "sslbio_conn_set_transport": (c_int, [_P, RECV_FN, SEND_FN, c_void_p], _F),
    "sslbio_conn_flush": (c_int, [_P], _S),
    # hooks for servers and protocols
    "sslbio_ctx_set_client_hello_pause": (c_int, [_P, c_int], _F),
    "sslbio_conn_client_alpn": (c_long, [_P, c_char_p, c_size_t], _F),
    "sslbio_conn_use_context": (c_int, [_P, _P], _F),
    "sslbio_conn_reject_client_hello": (c_int, [_P, c_int], _F),
    "sslbio_ctx_set_keylog": (c_int, [_P, KEYLOG_FN, c_void_p], _F),
    "sslbio_conn_export_keying_material": (c_int, [_P, c_void_p, c_size_t, c_char_p, c_void_p,
                                                   c_size_t], _F),
    "sslbio_conn_tls_unique": (c_long, [_P, c_void_p, c_size_t], _F),
    "sslbio_ctx_set_verify_callback": (c_int, [_P, VERIFY_FN, c_void_p], _F),
    "sslbio_conn_verify_done": (c_int, [_P, c_int], _F),
    "sslbio_ctx_set_ticket_keys": (c_int, [_P, c_void_p, c_size_t], _F),
}

# Hot-path twins: the same C functions a second time, as ``raw_<name>``,
# with the GIL kept and, where it is safe, ``argtypes = None``. Without
# argtypes ctypes skips the per-argument ``from_param`` calls: a handle is
# passed as the c_void_p it is, a buffer as its address, and a length as a
# Python int converted to a C int, which libffi widens (sign-extends) to the
# full 64-bit register on x86-64 and AArch64, so a size_t parameter receives
# it intact for 0 <= n < 2**31. Measured, this takes a third off the cost of
# a call. Elsewhere the twins keep their argtypes (same calls, slower).
# Callers pass exactly: a c_void_p handle, a ctypes array / byref() / bytes,
# and an int length below 2**31. Only pybio._connection calls them, and only
# on an established connection (at most one TLS record of work per call, so
# keeping the GIL is cheap); the handshake always runs with the GIL released.
RAW = ("sslbio_conn_read", "sslbio_conn_write", "sslbio_conn_feed", "sslbio_conn_drain",
       "sslbio_conn_pending_out", "sslbio_conn_write_drain", "sslbio_conn_feed_read")
RAW_UNTYPED = platform.machine().lower() in ("x86_64", "amd64", "aarch64", "arm64") \
    and ctypes.sizeof(c_void_p) == 8
RAW_MAX = 2**31 - 1  # largest length a raw twin is passed


def _declare():
    missing = []
    g = globals()
    for name, (restype, argtypes, release_gil) in SIGNATURES.items():
        lib = _slow if release_gil else _fast
        try:
            fn = getattr(lib, name)
        except AttributeError:
            missing.append(name)
            continue
        fn.restype = restype
        fn.argtypes = argtypes
        g[name[len("sslbio_"):]] = fn  # sslbio_conn_read -> _lib.conn_read
        if name in RAW:
            raw = _fast._FuncPtr((name, _fast))  # a distinct function object
            raw.restype = restype
            raw.argtypes = None if RAW_UNTYPED else argtypes
            g["raw_" + name[len("sslbio_"):]] = raw
    if missing:
        raise ImportError(f"pybio: {path} lacks {', '.join(missing)} (rebuild it with `make lib`)")


_declare()


def _check_abi() -> None:
    table = api(ABI_VERSION)
    if not table:
        raise ImportError(f"pybio: {path} does not provide ABI version {ABI_VERSION}")
    t = table.contents
    if t.abi != ABI_VERSION or t.size < ctypes.sizeof(ApiV1):
        raise ImportError(
            f"pybio: {path}: ABI table mismatch (abi {t.abi}, size {t.size}; "
            f"expected abi {ABI_VERSION}, size >= {ctypes.sizeof(ApiV1)})")
    for name in _API_V1_FIELDS:
        want = ctypes.cast(getattr(_fast, "sslbio_" + name), c_void_p).value
        if getattr(t, name) != want:
            raise ImportError(f"pybio: {path}: ABI table entry {name} does not match the symbol")


_check_abi()

VERSION: str = version().decode()

# ---- the status and kind tables, read from the library -----------------------

# sslbio_strstatus(v) is "SSLBIO_<NAME>" for every row (NAME, v, text) of the
# header's SSLBIO_STATUS_TABLE and "unknown status" elsewhere; sslbio_strkind(k)
# is the text of the row (NAME, k, text) of SSLBIO_KIND_TABLE ("verify", "no
# memory") and "unknown kind" elsewhere. Both tables hold small numbers
# (statuses 0 and below, kinds 0 and above): this window holds them all.
TABLE_SCAN = range(-256, 257)

#: Status name -> value, from the library: {"OK": 0, "WANT_READ": -1, ...}.
STATUS: dict = {}
#: Kind of failure value -> the library's name for it: {0: "none", 3: "verify", ...}.
KINDS: dict = {}
#: The same, name -> value: {"verify": 3, "no memory": 7, ...}.
KIND: dict = {}

# The statuses and kinds pybio itself acts on; a library without them is refused.
REQUIRED_STATUSES = ("OK", "WANT_READ", "WANT_WRITE", "CLOSED", "TRUNCATED", "ERROR", "EINVAL",
                     "ENOMEM")
REQUIRED_KINDS = ("none", "ssl", "syscall", "verify", "truncated", "transport", "invalid",
                  "no memory")


def read_tables(strstatus_fn=None, strkind_fn=None):
    """(status name -> value, kind value -> name) as the library names them,
    ImportError naming what is missing when a status or kind pybio acts on
    is not there. The functions default to the library's."""
    strstatus_fn = strstatus_fn or strstatus
    strkind_fn = strkind_fn or strkind
    status, kinds = {}, {}
    for value in TABLE_SCAN:
        name = strstatus_fn(value).decode()
        if name.startswith("SSLBIO_"):
            status[name[len("SSLBIO_"):]] = value
        text = strkind_fn(value).decode()
        if text != "unknown kind":
            kinds[value] = text
    missing = [n for n in REQUIRED_STATUSES if n not in status]
    if missing:
        raise ImportError(f"pybio: {path} lacks the status codes {', '.join(missing)} "
                          "(sslbio_strstatus does not name them; rebuild it with `make lib`)")
    missing = [n for n in REQUIRED_KINDS if n not in kinds.values()]
    if missing:
        raise ImportError(f"pybio: {path} lacks the kinds of failure "
                          f"{', '.join(repr(n) for n in missing)} (sslbio_strkind does not "
                          "name them; rebuild it with `make lib`)")
    return status, kinds


def _derive_tables() -> None:
    status, kinds = read_tables()
    STATUS.update(status)
    KINDS.update(kinds)
    KIND.update((text, value) for value, text in kinds.items())
    globals().update(STATUS)  # _lib.OK, _lib.WANT_READ, ... as module constants


_derive_tables()
# Declared for readers and type checkers; _derive_tables() has set them.
OK: int
WANT_READ: int
WANT_WRITE: int
CLOSED: int
TRUNCATED: int
ERROR: int
EINVAL: int
ENOMEM: int

# ---- helpers shared by the other modules -------------------------------------

# PyMemoryView_FromMemory: a memoryview over C memory, for the zero-copy
# feed/drain paths (the view is used inside one call and never handed out).
PyBUF_READ = 0x100
PyBUF_WRITE = 0x200
memoryview_at = ctypes.pythonapi.PyMemoryView_FromMemory
memoryview_at.restype = ctypes.py_object
memoryview_at.argtypes = [c_void_p, ctypes.c_ssize_t, c_int]


# PyBytes_FromStringAndSize(NULL, n): a new, not yet initialised bytes object
# that read() decrypts into directly (the object is ours alone until it is
# returned, which is how C code fills bytes objects too).
# Untyped where the raw twins are (see RAW_UNTYPED): called only as
# bytes_new(None, n) with 0 < n < 2**31, and 40% cheaper than typed.
bytes_new = ctypes.pythonapi._FuncPtr(("PyBytes_FromStringAndSize", ctypes.pythonapi))
bytes_new.restype = ctypes.py_object
bytes_new.argtypes = None if RAW_UNTYPED else [c_void_p, ctypes.c_ssize_t]


def strstatus_text(status: int) -> str:
    return strstatus(status).decode()


def strkind_text(kind: int) -> str:
    return strkind(kind).decode()
