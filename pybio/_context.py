"""Private: pybio.Context, the sslbio_ctx wrapper (see pybio/__init__.py)."""

from __future__ import annotations

import errno
import os
import ssl
from typing import Any, Callable, Iterable, Optional, Union

from . import _errors, _lib

StrPath = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

CLIENT = _lib.CLIENT
SERVER = _lib.SERVER

_VERSION_TO_C = {
    ssl.TLSVersion.MINIMUM_SUPPORTED: 0,
    ssl.TLSVersion.MAXIMUM_SUPPORTED: 0,
    ssl.TLSVersion.TLSv1_2: _lib.TLS1_2_VERSION,
    ssl.TLSVersion.TLSv1_3: _lib.TLS1_3_VERSION,
}


def _role_of(role: int) -> int:
    if role in (CLIENT, ssl.PROTOCOL_TLS_CLIENT):
        return CLIENT
    if role in (SERVER, ssl.PROTOCOL_TLS_SERVER):
        return SERVER
    raise ValueError(f"pybio.Context: role must be pybio.CLIENT or pybio.SERVER, not {role!r}")


def _pem_from_der(data: bytes) -> str:
    """PEM text of one or more concatenated DER certificates."""
    out = []
    i = 0
    while i < len(data):
        if data[i] != 0x30 or i + 2 > len(data):
            raise ssl.SSLError("cadata: not a DER certificate (expected an ASN.1 SEQUENCE)")
        first = data[i + 1]
        if first < 0x80:
            hdr, length = 2, first
        else:
            nlen = first & 0x7F
            if nlen == 0 or nlen > 4 or i + 2 + nlen > len(data):
                raise ssl.SSLError("cadata: bad DER length")
            hdr, length = 2 + nlen, int.from_bytes(data[i + 2:i + 2 + nlen], "big")
        end = i + hdr + length
        if end > len(data):
            raise ssl.SSLError("cadata: truncated DER certificate")
        out.append(ssl.DER_cert_to_PEM_cert(data[i:end]))
        i = end
    return "".join(out)


class Context:
    """A TLS configuration shared by many connections (an ``sslbio_ctx``).

    Mirrors :class:`ssl.SSLContext`::

        ctx = pybio.Context(pybio.CLIENT)
        ctx.load_verify_locations("ca.pem")
        conn = ctx.connection(server_hostname="example.org")

    ``role`` is :data:`pybio.CLIENT` or :data:`pybio.SERVER`
    (``ssl.PROTOCOL_TLS_CLIENT`` / ``ssl.PROTOCOL_TLS_SERVER`` are accepted too).
    Defaults are secure: TLS 1.2 minimum, no renegotiation, a client verifies
    the server's chain (against the system store unless a CA is loaded) and
    its host name.

    The context is frozen by its first connection: setters then raise
    :class:`ValueError`. It is reference counted in C: connections keep it
    alive, so the Python object may be closed or dropped at any time.
    """

    def __init__(self, role: int) -> None:
        self._h: Optional[int] = None
        role = _role_of(role)
        h = _lib.ctx_new(role)
        if not h:
            raise MemoryError("sslbio_ctx_new failed")
        self._init(h, role)

    def _init(self, h: int, role: int) -> None:
        self._h = h
        self._role = role
        client = role == CLIENT
        self._verify_mode = ssl.CERT_REQUIRED if client else ssl.CERT_NONE
        self._check_hostname = client
        self._minimum_version = ssl.TLSVersion.TLSv1_2
        self._maximum_version = ssl.TLSVersion.MAXIMUM_SUPPORTED
        self._alpn: Optional[list] = None
        self._sni_callback: Optional[Callable[..., Any]] = None
        self._keylog_filename: Optional[str] = None
        self._keylog_cb = None  # the C-callable keylog fn, kept alive here
        self._verify_callback: Optional[Callable[..., Any]] = None
        self._verify_cb = None  # the C-callable verify fn, kept alive here
        self._verify_results: dict = {}  # sslbio_conn* -> OpenSSL's result, until used

    @classmethod
    def from_handle(cls, handle: int, role: Optional[int] = None) -> "Context":
        """Wrap an existing ``sslbio_ctx*`` (an int, e.g. from C code or
        another Context's :attr:`handle`). Takes its own reference: the
        caller keeps (and eventually frees) its own.

        The role and the verify mode are the context's own
        (``sslbio_ctx_role`` / ``sslbio_ctx_get_verify``, which reads a
        wrapped ``SSL_CTX``'s flags); ``role``, when given, must agree. The
        handle must be a live ``sslbio_ctx*``: a wrong integer is detected
        when it points at readable memory, and crashes otherwise.
        """
        if not isinstance(handle, int) or handle == 0:
            raise ValueError("Context.from_handle: a non-zero sslbio_ctx* integer is required")
        expected = _role_of(role) if role is not None else None
        h = _lib.ctx_ref(handle)
        if not h:
            raise ValueError(f"Context.from_handle: {handle:#x} is not a live sslbio_ctx")
        actual = _lib.ctx_role(h)
        if expected is not None and expected != actual:
            _lib.ctx_free(h)
            raise ValueError(f"Context.from_handle: the context's role is {actual}, not {role!r}")
        self = cls.__new__(cls)
        self._init(h, actual)
        mode = _lib.ctx_get_verify(h)
        if mode == _lib.VERIFY_NONE:
            self._verify_mode = ssl.CERT_NONE
        elif mode == _lib.VERIFY_REQUIRE_PEER or actual == CLIENT:
            self._verify_mode = ssl.CERT_REQUIRED
        else:
            self._verify_mode = ssl.CERT_OPTIONAL
        self._check_hostname = actual == CLIENT and self._verify_mode != ssl.CERT_NONE
        return self

    # ---- identity ----

    @property
    def handle(self) -> int:
        """The ``sslbio_ctx*`` as an int, borrowed: valid while this object
        is open. C code that keeps it takes a reference (``sslbio_ctx_ref``)."""
        return self._live()

    @property
    def openssl_handle(self) -> int:
        """The underlying ``SSL_CTX*`` as an int (borrowed, expert use)."""
        return _lib.ctx_openssl(self._live()) or 0

    @property
    def role(self) -> int:
        """:data:`pybio.CLIENT` or :data:`pybio.SERVER`."""
        return self._role

    @property
    def server_side(self) -> bool:
        return self._role == SERVER

    def _live(self) -> int:
        h = self._h
        if h is None:
            raise ValueError("pybio.Context is closed")
        return h

    def close(self) -> None:
        """Drop this object's reference; connections keep theirs. Idempotent."""
        h, self._h = self._h, None
        if h is not None:
            _lib.ctx_free(h)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: the module may be gone
            pass

    def __enter__(self) -> "Context":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        role = {CLIENT: "CLIENT", SERVER: "SERVER"}.get(self._role, "?")
        state = "closed" if self._h is None else f"handle={self._h:#x}"
        return f"<pybio.Context {role} {state}>"

    # ---- setters ----

    def _check(self, status: int, what: str, path: Optional[bytes] = None) -> None:
        if status == _lib.OK:
            return
        message = _errors.ctx_failure(self._h, what)
        if status == _lib.ENOMEM:
            raise MemoryError(message)
        if path is not None and not os.path.exists(os.fsdecode(path)):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), os.fsdecode(path))
        if status == _lib.EINVAL:
            raise ValueError(message)
        exc = _errors.SSLError(ssl.SSL_ERROR_SSL, message)
        raise exc

    def load_cert_chain(self, certfile: StrPath, keyfile: Optional[StrPath] = None,
                        password: Union[None, str, bytes, Callable[[], Union[str, bytes]]] = None
                        ) -> None:
        """Load the certificate chain (PEM file: leaf first, then
        intermediates) and its private key (``keyfile``, or ``certfile`` when
        None). ``password`` decrypts an encrypted key (str, bytes, or a
        callable returning one), as in :meth:`ssl.SSLContext.load_cert_chain`.
        """
        h = self._live()
        cert = os.fsencode(certfile)
        key = os.fsencode(keyfile) if keyfile is not None else cert
        self._check(_lib.ctx_use_certificate_chain_file(h, cert), "certificate chain", cert)
        if password is None:
            self._check(_lib.ctx_use_private_key_file(h, key), "private key", key)
            return
        if callable(password):
            password = password()
        if isinstance(password, str):
            password = password.encode()
        if not isinstance(password, (bytes, bytearray)):
            raise TypeError("password should be a string, bytes or a callable returning one")
        secret = bytes(password)
        # The context keeps a copy (wiped when cleared) for the keys loaded
        # while it is set: this one only, as with ssl.
        self._check(_lib.ctx_set_key_password(h, secret, len(secret)), "key password")
        try:
            self._check(_lib.ctx_use_private_key_file(h, key), "private key", key)
        finally:
            _lib.ctx_set_key_password(h, None, 0)

    def load_cert_chain_pem(self, cert_pem: Union[str, bytes], key_pem: Union[str, bytes]) -> None:
        """Like :meth:`load_cert_chain` from PEM text in memory."""
        h = self._live()
        cert = cert_pem.encode() if isinstance(cert_pem, str) else bytes(cert_pem)
        key = key_pem.encode() if isinstance(key_pem, str) else bytes(key_pem)
        self._check(_lib.ctx_use_certificate_chain_pem(h, cert, len(cert)), "certificate chain")
        self._check(_lib.ctx_use_private_key_pem(h, key, len(key)), "private key")

    def load_verify_locations(self, cafile: Optional[StrPath] = None,
                              capath: Optional[StrPath] = None,
                              cadata: Union[None, str, bytes] = None) -> None:
        """Trust the CA certificates in ``cafile`` (PEM file), every
        certificate file in the directory ``capath``, and/or ``cadata``: PEM
        text (str, or bytes starting with ``-----BEGIN``) or DER bytes of one
        or more certificates, as for :meth:`ssl.SSLContext.load_verify_locations`.
        Once a CA is loaded the system store is no longer used.
        """
        h = self._live()
        if cafile is None and capath is None and cadata is None:
            raise TypeError("cafile, capath and cadata cannot be all omitted")
        if cafile is not None:
            path = os.fsencode(cafile)
            self._check(_lib.ctx_load_verify_file(h, path), "CA file", path)
        if capath is not None:
            loaded = 0
            directory = os.fsdecode(capath)
            for name in sorted(os.listdir(directory)):
                full = os.path.join(directory, name)
                if os.path.isfile(full) and _lib.ctx_load_verify_file(h, os.fsencode(full)) == 0:
                    loaded += 1
            if not loaded:
                raise _errors.SSLError(ssl.SSL_ERROR_SSL,
                                       f"capath {directory!r}: no loadable certificate file")
        if cadata is not None:
            if isinstance(cadata, str):
                pem = cadata.encode("ascii")
            else:
                data = bytes(cadata)
                pem = data if data.lstrip().startswith(b"-----BEGIN") else \
                    _pem_from_der(data).encode("ascii")
            self._check(_lib.ctx_load_verify_pem(h, pem, len(pem)), "CA data")

    def set_alpn_protocols(self, protocols: Iterable[str]) -> None:
        """Protocols to offer (client) or accept, in the server's order of
        preference (server), e.g. ``["h2", "http/1.1"]``."""
        names = [p.decode("ascii") if isinstance(p, bytes) else p for p in protocols]
        for name in names:
            if not name or len(name.encode()) > 255 or "," in name:
                raise ValueError(f"ALPN protocol {name!r}: 1..255 bytes, no comma")
        self._check(_lib.ctx_set_alpn(self._live(), ",".join(names).encode()), "ALPN")
        self._alpn = names

    def set_ciphers(self, ciphers: Optional[str], tls13_suites: Optional[str] = None) -> None:
        """OpenSSL cipher list for TLS 1.2 (``ciphers``, as
        :meth:`ssl.SSLContext.set_ciphers`) and, optionally, TLS 1.3 suites
        (``"TLS_AES_128_GCM_SHA256:..."``). None leaves a list as it is."""
        c12 = ciphers.encode() if ciphers is not None else None
        c13 = tls13_suites.encode() if tls13_suites is not None else None
        h = self._live()
        status = _lib.ctx_set_ciphers(h, c12, c13)
        if status == _lib.ERROR:
            raise _errors.SSLError(ssl.SSL_ERROR_SSL,
                                   "No cipher can be selected. " + _errors.ctx_failure(h, "ciphers"))
        self._check(status, "ciphers")

    # ---- properties mirroring ssl.SSLContext ----

    @property
    def verify_mode(self) -> ssl.VerifyMode:
        """``ssl.CERT_NONE`` / ``CERT_OPTIONAL`` / ``CERT_REQUIRED``.

        Client: NONE skips verification, the other two verify the server.
        Server: OPTIONAL asks for a client certificate and verifies it if
        sent; REQUIRED also refuses clients without one."""
        return self._verify_mode

    @verify_mode.setter
    def verify_mode(self, value: int) -> None:
        value = ssl.VerifyMode(value)
        if value == ssl.CERT_NONE and self._check_hostname:
            raise ValueError("Cannot set verify_mode to CERT_NONE when check_hostname is enabled.")
        if value == ssl.CERT_NONE:
            mode = _lib.VERIFY_NONE
        elif value == ssl.CERT_REQUIRED and self._role == SERVER:
            mode = _lib.VERIFY_REQUIRE_PEER
        else:
            mode = _lib.VERIFY_PEER
        self._check(_lib.ctx_set_verify(self._live(), mode), "verify mode")
        self._verify_mode = value

    @property
    def check_hostname(self) -> bool:
        """Client: match the certificate against ``server_hostname`` (default
        True). Enabling it turns ``verify_mode`` CERT_NONE into CERT_REQUIRED,
        as in :mod:`ssl`. Off, a verifying client still verifies the chain,
        may be made without ``server_hostname`` and then sends no SNI.

        A context setting (``sslbio_ctx_set_check_hostname``), applied when
        set: like the other setters it raises :class:`ValueError` once the
        first connection froze the context."""
        return self._check_hostname

    @check_hostname.setter
    def check_hostname(self, value: bool) -> None:
        value = bool(value)
        self._check(_lib.ctx_set_check_hostname(self._live(), 1 if value else 0),
                    "check hostname")
        if value and self._verify_mode == ssl.CERT_NONE:
            self._check_hostname = False
            self.verify_mode = ssl.CERT_REQUIRED
        self._check_hostname = value

    @property
    def minimum_version(self) -> ssl.TLSVersion:
        return self._minimum_version

    @minimum_version.setter
    def minimum_version(self, value: ssl.TLSVersion) -> None:
        self._set_versions(ssl.TLSVersion(value), self._maximum_version)
        self._minimum_version = ssl.TLSVersion(value)

    @property
    def maximum_version(self) -> ssl.TLSVersion:
        return self._maximum_version

    @maximum_version.setter
    def maximum_version(self, value: ssl.TLSVersion) -> None:
        self._set_versions(self._minimum_version, ssl.TLSVersion(value))
        self._maximum_version = ssl.TLSVersion(value)

    def _set_versions(self, lo: ssl.TLSVersion, hi: ssl.TLSVersion) -> None:
        for v in (lo, hi):
            if v not in _VERSION_TO_C:
                raise ValueError(f"{v!r} is not supported: pybio speaks TLS 1.2 and 1.3 only")
        self._check(_lib.ctx_set_versions(self._live(), _VERSION_TO_C[lo], _VERSION_TO_C[hi]),
                    "versions")

    # ---- hooks ----

    @property
    def sni_callback(self) -> Optional[Callable[..., Any]]:
        """Server: ``callback(conn, server_name, ctx)`` called at the
        ClientHello, as :attr:`ssl.SSLContext.sni_callback` (server_name
        None when the client sent none). Inside it ``conn.context =
        other_ctx`` switches the certificate (and the rest of the
        configuration). Return None to go on, or an int /
        :class:`ssl.AlertDescription` to abort the handshake with that
        alert (it then raises SSLError). An exception raised by the
        callback aborts the handshake (handshake_failure) and propagates
        out of the call that drove it. A setter: before the first
        connection."""
        return self._sni_callback

    @sni_callback.setter
    def sni_callback(self, fn: Optional[Callable[..., Any]]) -> None:
        if fn is not None and not callable(fn):
            raise TypeError("sni_callback must be callable or None")
        if self._role != SERVER:
            raise ValueError("sni_callback is for server contexts")
        self._check(_lib.ctx_set_client_hello_pause(self._live(), 0 if fn is None else 1),
                    "ClientHello pause")
        self._sni_callback = fn

    @property
    def keylog_filename(self) -> Optional[str]:
        """Append the TLS secrets to this file in the NSS key log format
        (as :attr:`ssl.SSLContext.keylog_filename`); None: off. A setter:
        before the first connection."""
        return self._keylog_filename

    @keylog_filename.setter
    def keylog_filename(self, filename: Optional[StrPath]) -> None:
        h = self._live()
        if filename is None:
            self._check(_lib.ctx_set_keylog(h, _lib.KEYLOG_FN(), None), "key log")
            self._keylog_filename = None
            self._keylog_cb = None
            return
        path = os.fspath(filename)
        # Like the stdlib: the file must be writable now; a header line
        # starts a new (empty) file.
        with open(path, "ab") as f:
            if f.tell() == 0:
                f.write(b"# TLS secrets log file, generated by OpenSSL / Python\n")

        def keylog(_user, line):
            try:
                with open(path, "ab") as f:
                    f.write(line + b"\n")
            except OSError:  # never raise into C; a lost line is not fatal
                pass

        cb = _lib.KEYLOG_FN(keylog)
        self._check(_lib.ctx_set_keylog(h, cb, None), "key log")
        self._keylog_cb = cb
        self._keylog_filename = os.fsdecode(path)

    def set_verify_callback(self, fn: Optional[Callable[..., Any]]) -> None:
        """Custom verification: ``fn(conn, chain, verify_result) -> bool``
        with the peer's certificates as DER, leaf first, and OpenSSL's
        verify result (0: its checks passed). Only ``True`` accepts; a
        rejection fails the handshake with
        :class:`ssl.SSLCertVerificationError` (verify_code 50 where OpenSSL
        had passed). Called once per handshake in which the peer sent
        certificates (a client always, a server that asked for one and got
        it), after OpenSSL's checks: it alone decides. An exception raised
        by fn rejects and propagates. None: OpenSSL's checks alone. A
        setter: before the first connection."""
        h = self._live()
        if fn is None:
            self._check(_lib.ctx_set_verify_callback(h, _lib.VERIFY_FN(), None), "verify callback")
            self._verify_callback = None
            self._verify_cb = None
            return
        if not callable(fn):
            raise TypeError("set_verify_callback needs a callable or None")
        want_verify = _lib.STATUS["WANT_VERIFY"]
        results = self._verify_results

        def verify(_user, conn, result):
            # Defer: the Python side decides in the same handshake call,
            # outside the engine (see Connection._verify), with OpenSSL's
            # result as the engine gave it here.
            results[conn] = result
            return want_verify

        cb = _lib.VERIFY_FN(verify)
        self._check(_lib.ctx_set_verify_callback(h, cb, None), "verify callback")
        self._verify_cb = cb
        self._verify_callback = fn

    def set_session_ticket_keys(self, keys: Iterable[bytes]) -> None:
        """Server: the session ticket keys, 32 random bytes each; the first
        seals new tickets, every one opens them. Contexts given the same
        keys accept each other's tickets. May be called at any time
        (rotation)."""
        keys = [bytes(k) for k in keys]
        if not keys:
            raise ValueError("set_session_ticket_keys needs at least one key")
        for k in keys:
            if len(k) != 32:
                raise ValueError(f"session ticket keys are 32 bytes each, not {len(k)}")
        blob = b"".join(keys)
        self._check(_lib.ctx_set_ticket_keys(self._live(), blob, len(blob)), "ticket keys")

    # ---- connections ----

    def connection(self, server_hostname: Optional[str] = None,
                   suppress_ragged_eofs: bool = False,
                   session: Optional[bytes] = None) -> "Connection":
        """A new sans-IO :class:`pybio.Connection` (an ``sslbio_conn``).

        Client: ``server_hostname`` is sent as SNI and checked against the
        certificate (``check_hostname``). ``session`` resumes a session
        saved from :attr:`Connection.session`. ``suppress_ragged_eofs``
        makes ``read()`` return b"" on transport EOF without close_notify
        instead of raising :class:`pybio.SSLEOFError`.
        """
        return _new_connection(self, server_hostname, suppress_ragged_eofs, session, None)

    def wrap_bio(self, transport: Any, server_hostname: Optional[str] = None,
                 suppress_ragged_eofs: bool = False,
                 session: Optional[bytes] = None) -> "Connection":
        """A :class:`pybio.Connection` that moves its ciphertext itself
        through ``transport`` (a "PyBIO"): ``transport.read(n)`` returns
        up to n bytes, ``b""`` at EOF or ``None`` when it would block;
        ``transport.write(data)`` returns the count taken or ``None`` when it
        would block. ``do_handshake``/``read``/``write``/``unwrap`` then raise
        ``SSLWantReadError``/``SSLWantWriteError`` only when the transport
        would block. An exception raised by the transport propagates out of
        the call that triggered it, with its traceback.
        """
        if not hasattr(transport, "read") or not hasattr(transport, "write"):
            raise TypeError("wrap_bio: transport needs read(n) and write(data) methods")
        return _new_connection(self, server_hostname, suppress_ragged_eofs, session, transport)


from ._connection import Connection, _new_connection  # noqa: E402  (cycle)
