"""pybio — Python face of sslbio, a sans-IO TLS engine (real OpenSSL over a
BIO pair), through ctypes over ``libsslbio.so``. Standard library only.

The shape follows the stdlib's :mod:`ssl` so existing code carries over::

    import pybio, ssl

    ctx = pybio.Context(pybio.CLIENT)
    ctx.load_verify_locations("ca.pem")
    conn = ctx.connection(server_hostname="localhost")
    try:
        conn.do_handshake()
    except ssl.SSLWantReadError:      # pybio.SSLWantReadError subclasses it
        sock.sendall(conn.drain())   # send the ClientHello ...
    conn.feed(sock.recv(65536))      # ... feed the reply, and so on

* :class:`Context` mirrors :class:`ssl.SSLContext` (``load_cert_chain``,
  ``load_verify_locations``, ``set_alpn_protocols``, ``verify_mode``,
  ``check_hostname``, ``minimum_version``/``maximum_version``,
  ``set_ciphers``) plus ``handle``/``from_handle`` to hand a context
  between Python and C.
* :class:`Connection` mirrors :class:`ssl.SSLObject` (``do_handshake``,
  ``read``, ``write``, ``unwrap``, ``version``, ``cipher``,
  ``selected_alpn_protocol``, ``getpeercert``, ``pending``), plus
  ``server_name``, ``peer_chain()`` and ``session_reused``, with the network
  side in the open: ``feed``, ``feed_eof``, ``drain``, ``pending_out``,
  zero-copy ``feed_into``/``drain_to``, and ``wants``, ``key_update``,
  ``session``/``set_session``, ``reset``.
* :meth:`Context.wrap_bio` drives the same API through a transport object
  with ``read(n)``/``write(data)`` ("PyBIO").
* Exceptions subclass the stdlib's, so ``except ssl.SSLError`` keeps working.

The library is found through ``$SSLBIO_LIBRARY``, then the repository's
``build/libsslbio.so`` (next to this package), then a copy bundled by
``pip install`` (which compiles one when none is given), then the system
library path. Only what ``include/sslbio.h`` declares is used.
"""

from __future__ import annotations

from . import _lib
from ._connection import Connection
from ._context import CLIENT, SERVER, Context
from ._errors import (
    SSLCertVerificationError,
    SSLEOFError,
    SSLError,
    SSLSyscallError,
    SSLWantReadError,
    SSLWantWriteError,
    SSLZeroReturnError,
)

__version__ = "0.1.0"

#: Version string of the loaded libsslbio (``sslbio_version()``).
LIBRARY_VERSION: str = _lib.VERSION
#: Path of the loaded libsslbio.
LIBRARY_PATH: str = _lib.path
#: ABI version pybio was written for (checked with ``sslbio_api()`` at import).
ABI_VERSION: int = _lib.ABI_VERSION

#: Bits of :meth:`Connection.wants`.
WANTS_READ: int = _lib.WANTS_READ
WANTS_WRITE: int = _lib.WANTS_WRITE
HAS_PLAINTEXT: int = _lib.HAS_PLAINTEXT

__all__ = [
    "CLIENT", "SERVER", "Context", "Connection",
    "SSLError", "SSLWantReadError", "SSLWantWriteError", "SSLZeroReturnError",
    "SSLEOFError", "SSLCertVerificationError", "SSLSyscallError",
    "WANTS_READ", "WANTS_WRITE", "HAS_PLAINTEXT",
    "LIBRARY_VERSION", "LIBRARY_PATH", "ABI_VERSION", "__version__",
]
