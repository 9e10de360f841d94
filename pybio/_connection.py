"""Private: pybio.Connection, the sslbio_conn wrapper (see pybio/__init__.py).

The hot paths (feed/drain/read/write) are written for the fewest Python and
ctypes operations per call, since per-call overhead is what separates a
ctypes binding from a C extension:

* the C functions are pre-bound module globals, and once the handshake is
  done read/write/feed/drain call the "raw twins" of _lib (no argtypes
  conversion, GIL kept: each call handles at most one TLS record);
* the handle and the buffer address are ready-made pointer arguments
  (``c_void_p.from_param``), which ctypes copies as they are instead of
  converting (and allocating) on every call; lengths go as plain ints;
* one per-connection ctypes buffer serves read() and drain(); a large
  read() decrypts straight into a new bytes object;
* an established connection switches its class to _Established, whose
  read/write skip the handshake-state checks, and the common "would block"
  is raised right there, without the generic error path.
"""

from __future__ import annotations

import ssl
from ctypes import (
    addressof,
    byref,
    c_char,
    c_size_t,
    c_void_p,
    create_string_buffer,
    memmove,
    string_at,
)
from typing import Any, Dict, List, Optional, Tuple, Union

from . import _errors, _lib, _x509

# GIL-releasing, declared variants: used until the handshake completes.
_read_nogil = _lib.conn_read
_write_nogil = _lib.conn_write
# Hot-path twins (argtypes=None, GIL kept; see _lib.RAW): ctypes instances only.
_raw_read = _lib.raw_conn_read
_raw_write = _lib.raw_conn_write
_raw_feed = _lib.raw_conn_feed
_raw_drain = _lib.raw_conn_drain
_raw_pending_out = _lib.raw_conn_pending_out
_write_drain_nogil = _lib.conn_write_drain
_feed_read_nogil = _lib.conn_feed_read
_raw_write_drain = _lib.raw_conn_write_drain
_raw_feed_read = _lib.raw_conn_feed_read
_handshake = _lib.conn_handshake
_shutdown = _lib.conn_shutdown
_wants = _lib.conn_wants
_mv_at = _lib.memoryview_at
_from_status = _errors.from_status
_SSLWantReadError = _errors.SSLWantReadError
_SSLWantWriteError = _errors.SSLWantWriteError

_WANT_READ = _lib.WANT_READ
_WANT_WRITE = _lib.WANT_WRITE
_CLOSED = _lib.CLOSED
_TRUNCATED = _lib.TRUNCATED
_ERROR = _lib.ERROR
_WANT_CLIENT_HELLO = _lib.STATUS["WANT_CLIENT_HELLO"]
_WANT_VERIFY = _lib.STATUS["WANT_VERIFY"]
_ALERT_HANDSHAKE_FAILURE = 40
_ALERT_INTERNAL_ERROR = 80

#: The channel binding types get_channel_binding() knows.
CHANNEL_BINDING_TYPES = ("tls-unique", "tls-exporter")
_PyBUF_READ = _lib.PyBUF_READ
_PyBUF_WRITE = _lib.PyBUF_WRITE
_ERRNO_WANT_READ = ssl.SSL_ERROR_WANT_READ
_ERRNO_WANT_WRITE = ssl.SSL_ERROR_WANT_WRITE
_WANT_READ_MSG = _errors._WANT_READ_MSG
_WANT_WRITE_MSG = _errors._WANT_WRITE_MSG

# The buffer drain() and read() share starts small, enough for handshake
# flights and small messages, so an idle connection holds little; the first
# drain that fills it moves to _BIG_BUF, which takes everything the engine
# can have pending (17 KiB and a record) in one call. read() grows it on
# demand.
_MIN_BUF = 4 * 1024
_BIG_BUF = 32 * 1024

_RAW_MAX = _lib.RAW_MAX
_bytes_new = _lib.bytes_new
# read(n) of an established connection with n >= _DIRECT_MIN decrypts into a
# new bytes object of min(n, _RECORD) bytes: one read returns at most one
# record's plaintext, so a full record comes back with no copy at all.
_DIRECT_MIN = 8192
_RECORD = 16384


def _hostname_bytes(name: Optional[str]) -> Optional[bytes]:
    if name is None:
        return None
    if isinstance(name, bytes):
        name = name.decode("ascii")
    if not isinstance(name, str):
        raise TypeError(f"server_hostname must be str, not {type(name).__name__}")
    if not name or "\x00" in name:
        raise ValueError("server_hostname cannot be an empty string or contain NUL")
    if name.startswith("."):
        raise ValueError("server_hostname cannot start with a dot")
    try:
        return name.encode("ascii")
    except UnicodeEncodeError:
        return name.encode("idna")


def _c_buffer(data: Any) -> Tuple[Any, int]:
    """(pointer argument, length) for a bytes-like object: a byref() into a
    writable contiguous buffer (no copy; the byref keeps it exported for the
    call), else a bytes copy."""
    view = memoryview(data)
    n = view.nbytes
    if n and not view.readonly and view.c_contiguous:
        return byref(c_char.from_buffer(view)), n
    return view.tobytes(), n


class _TransportState:
    """What the transport callbacks share with the Connection: the transport
    and the exception a callback raised (re-raised by the Connection). The
    callbacks hold this object, not the Connection, so no cycle is made."""

    __slots__ = ("transport", "exc")

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self.exc: Optional[BaseException] = None


def _callbacks(state: _TransportState):
    t_read = state.transport.read
    t_write = state.transport.write

    def recv(_user, buf, cap):
        try:
            data = t_read(cap)
            if data is None:
                return _WANT_READ
            if type(data) is not bytes:
                data = bytes(data)
            n = len(data)
            if n > cap:
                raise ValueError(f"transport.read({cap}) returned {n} bytes")
            if n:
                memmove(buf, data, n)
            return n
        except BaseException as exc:  # noqa: B036 - stored, re-raised by the caller
            state.exc = exc
            return _ERROR

    def send(_user, buf, n):
        try:
            taken = t_write(string_at(buf, n))
            if taken is None:
                return _WANT_WRITE
            taken = int(taken)
            if taken == 0:
                return _WANT_WRITE
            if taken < 0 or taken > n:
                raise ValueError(f"transport.write() of {n} bytes returned {taken}")
            return taken
        except BaseException as exc:  # noqa: B036
            state.exc = exc
            return _ERROR

    return _lib.RECV_FN(recv), _lib.SEND_FN(send)


class Connection:
    """One TLS connection (an ``sslbio_conn``): a sans-IO engine.

    Made by :meth:`Context.connection` (you move the ciphertext: ``feed``
    what arrived, ``drain`` what to send) or :meth:`Context.wrap_bio` (the
    engine calls a transport object itself). The application side mirrors
    :class:`ssl.SSLObject`: ``do_handshake``, ``read``, ``write``,
    ``unwrap``, ``version``, ``cipher``, ``getpeercert``...

    After every call, drain until :attr:`pending_out` is 0. One thread at
    a time per connection.
    """

    __slots__ = ("_h", "_hp", "_buf", "_bufp", "_cap", "_rlen", "_est", "_fread",
                 "_fwrite", "_fwrite_drain", "_ffeed_read", "_moved", "_movedp",
                 "_context", "_server_side", "_server_hostname", "_suppress", "_io", "_cbs",
                 "_verified", "_peer_cache", "__weakref__")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("pybio.Connection has no public constructor: "
                        "use Context.connection() or Context.wrap_bio()")

    # ---- lifetime ----

    @property
    def handle(self) -> int:
        """The ``sslbio_conn*`` as an int, borrowed: valid while this object
        is open. Use it from one thread at a time."""
        if self._h is None:
            raise ValueError("pybio.Connection is closed")
        return self._h

    @property
    def openssl_handle(self) -> int:
        """The underlying ``SSL*`` as an int (borrowed, expert use)."""
        return _lib.conn_openssl(self.handle) or 0

    @property
    def closed(self) -> bool:
        return self._h is None

    def close(self) -> None:
        """Free the engine (its context reference too). Idempotent. The
        transport of :meth:`Context.wrap_bio` is not closed."""
        h = self._h
        if h is not None:
            self._h = None
            self._hp = None
            self._clear_buffers()
            # OpenSSL's result of a verification still pending (see _verify).
            self._context._verify_results.pop(h, None)
            _lib.conn_free(h)
            # The C side no longer calls the callbacks: release them (and
            # the transport) now.
            self._cbs = None
            self._io = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: module globals may be gone
            pass

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        side = "server" if self._server_side else "client"
        state = "closed" if self._h is None else f"handle={self._h:#x}"
        return f"<pybio.Connection {side} {state}>"

    # ---- errors ----

    def _clear_buffers(self) -> None:
        self._buf = None
        self._bufp = None
        self._cap = 0
        self._rlen = None  # read() length the buffer was last set up for

    def _set_handshake_calls(self) -> None:
        """Until the handshake completes, the data calls release the GIL
        (a handshake step costs a millisecond); _establish() switches them."""
        self._est = False
        self._fread = _read_nogil
        self._fwrite = _write_nogil
        self._fwrite_drain = _write_drain_nogil
        self._ffeed_read = _feed_read_nogil

    def _establish(self) -> None:
        """The handshake is complete: switch read/write to the raw twins
        (the class becomes _Established, whose read/write call them with no
        state checks)."""
        self._est = True
        self._fread = _raw_read
        self._fwrite = _raw_write
        self._fwrite_drain = _raw_write_drain
        self._ffeed_read = _raw_feed_read
        if type(self) is Connection:
            self.__class__ = _Established

    def _error(self, status: int, op: str) -> BaseException:
        if status == _WANT_READ:  # the common case: no lookups, no C calls
            io = self._io
            if io is None or io.exc is None:
                return _SSLWantReadError(_ERRNO_WANT_READ, _WANT_READ_MSG)
        elif status == _WANT_WRITE:
            io = self._io
            if io is None or io.exc is None:
                return _SSLWantWriteError(_ERRNO_WANT_WRITE, _WANT_WRITE_MSG)
        io = self._io
        if io is not None and io.exc is not None:
            exc, io.exc = io.exc, None
            return exc
        if self._hp is None:
            return ValueError("I/O operation on a closed pybio.Connection")
        return _from_status(self._hp, status, op)

    # ---- network side ----

    def feed(self, data: Buffer) -> int:
        """Give the engine ciphertext that arrived from the peer. Returns the
        count accepted, possibly less than ``len(data)`` when the engine's
        input buffer is full: keep the rest and feed it after the next
        read()/do_handshake(). Bytes fed before the handshake are kept."""
        if type(data) is bytes:
            n = len(data)
            if 0 < n <= _RAW_MAX:  # the hot path
                r = _raw_feed(self._hp, data, n)
                if r >= 0:
                    return r
                raise self._error(r, "feed")
        else:
            data, n = _c_buffer(data)
        if not n:
            return 0
        r = _raw_feed(self._hp, data, min(n, _RAW_MAX))
        if r >= 0:
            return r
        raise self._error(r, "feed")

    def feed_eof(self) -> None:
        """The transport reached EOF: no more ciphertext will come."""
        r = _lib.conn_feed_eof(self._hp)
        if r:
            raise self._error(r, "feed_eof")

    def drain(self) -> bytes:
        """All ciphertext waiting to be sent (b"" when none)."""
        # Before the first drain there is no buffer: cap 0 makes the engine
        # return 0, and the buffer is made on that (rare) path.
        n = _raw_drain(self._hp, self._bufp, self._cap)
        if n > 0:
            if n < self._cap:
                return self._buf[:n]
            parts = [self._buf[:n]]
            if self._cap < _BIG_BUF:  # bulk traffic: one call per drain from now on
                self._grow(_BIG_BUF)
            while True:
                n = _raw_drain(self._hp, self._bufp, self._cap)
                if n <= 0:
                    break
                parts.append(self._buf[:n])
            return b"".join(parts)
        if n == 0:
            if self._buf is None and self._hp is not None:
                self._grow(_MIN_BUF)
                return self.drain()
            return b""
        raise self._error(n, "drain")

    @property
    def pending_out(self) -> int:
        """Bytes of ciphertext waiting to be drained."""
        r = _raw_pending_out(self._hp)
        if r >= 0:
            return r
        raise self._error(r, "pending_out")

    def _grow(self, cap: int):
        """(Re)allocate the buffer read() and drain() share, >= cap bytes."""
        cap = max(cap, _MIN_BUF)
        self._buf = buf = (c_char * cap)()
        # Its address as a ready-made pointer argument (see _new_connection).
        self._bufp = c_void_p.from_param(addressof(buf))
        self._cap = cap
        return buf

    # ---- zero-copy network side ----

    def feed_buffer(self) -> memoryview:
        """A writable memoryview of the engine's free input space (may be
        empty when full; may be smaller than the free space when the ring
        buffer wraps). Valid only until the next call on this connection:
        write received bytes into it, then :meth:`feed_commit` their count."""
        ptr = c_void_p()
        n = _lib.conn_feed_buffer(self._hp, byref(ptr))
        if n < 0:
            raise self._error(n, "feed_buffer")
        return _mv_at(ptr, n, _PyBUF_WRITE) if n else memoryview(b"")

    def feed_commit(self, n: int) -> None:
        """Commit n bytes written into the last :meth:`feed_buffer` view."""
        r = _lib.conn_feed_commit(self._hp, n)
        if r < 0:
            raise self._error(r, "feed_commit")

    def drain_buffer(self) -> memoryview:
        """A read-only memoryview of ciphertext to send (empty when none; may
        be shorter than :attr:`pending_out` when the buffer wraps). Valid
        only until the next call; :meth:`drain_commit` the count sent."""
        ptr = c_void_p()
        n = _lib.conn_drain_buffer(self._hp, byref(ptr))
        if n < 0:
            raise self._error(n, "drain_buffer")
        return _mv_at(ptr, n, _PyBUF_READ) if n else memoryview(b"")

    def drain_commit(self, n: int) -> None:
        """Consume n bytes of the last :meth:`drain_buffer` view."""
        r = _lib.conn_drain_commit(self._hp, n)
        if r < 0:
            raise self._error(r, "drain_commit")

    def feed_into(self, sock: Any) -> Optional[int]:
        """Receive from ``sock`` (``recv_into`` or ``readinto``) straight into
        the engine, without a copy. Returns the count received; 0 when the
        transport reached EOF (:meth:`feed_eof` is then called for you);
        None when the engine's input buffer is full (read plaintext first).
        ``BlockingIOError`` of a non-blocking socket propagates."""
        hp = self._hp
        ptr = c_void_p()
        n = _lib.conn_feed_buffer(hp, byref(ptr))
        if n <= 0:
            if n == 0:
                return None
            raise self._error(n, "feed_into")
        view = _mv_at(ptr, n, _PyBUF_WRITE)
        try:
            recv_into = getattr(sock, "recv_into", None)
            got = recv_into(view) if recv_into is not None else sock.readinto(view)
        finally:
            view.release()
        if got is None:
            raise BlockingIOError("feed_into: the transport would block")
        if got == 0:
            _lib.conn_feed_eof(hp)
            return 0
        r = _lib.conn_feed_commit(hp, got)
        if r < 0:
            raise self._error(r, "feed_into")
        return got

    def drain_to(self, sock: Any) -> int:
        """Send pending ciphertext to ``sock`` (``send`` or ``write``)
        straight from the engine's buffer. Returns the count sent (0 when
        nothing was pending). Stops early when the socket takes less than
        offered; raises ``BlockingIOError`` only when nothing could be sent."""
        hp = self._hp
        send = getattr(sock, "send", None) or sock.write
        total = 0
        ptr = c_void_p()
        while True:
            n = _lib.conn_drain_buffer(hp, byref(ptr))
            if n <= 0:
                if n < 0:
                    raise self._error(n, "drain_to")
                return total
            view = _mv_at(ptr, n, _PyBUF_READ)
            try:
                sent = send(view)
            except BlockingIOError:
                if total:
                    return total
                raise
            finally:
                view.release()
            if sent is None:
                if total:
                    return total
                raise BlockingIOError("drain_to: the transport would block")
            if sent:
                _lib.conn_drain_commit(hp, sent)
                total += sent
            if sent < n:
                return total

    # ---- application side ----

    def do_handshake(self) -> None:
        """Run the handshake. Raises :class:`SSLWantReadError` until it is
        complete (drain, feed, call again). Not needed before read()/write(),
        which drive it."""
        r = _handshake(self._hp)
        if r:
            if r == _WANT_READ and self._io is None:
                raise _SSLWantReadError(_ERRNO_WANT_READ, _WANT_READ_MSG)
            if r == _WANT_CLIENT_HELLO or r == _WANT_VERIFY:
                r = self._run_hooks(r)
            if r:
                raise self._error(r, "handshake")
        if not self._est:
            self._establish()

    def _run_hooks(self, r: int) -> int:
        """The handshake paused (r is WANT_CLIENT_HELLO or WANT_VERIFY):
        call the Python hook, answer, resume; until it no longer pauses.
        Returns the handshake's status. An exception raised by a hook
        fails the handshake (its alert queued to drain) and propagates."""
        while r == _WANT_CLIENT_HELLO or r == _WANT_VERIFY:
            if r == _WANT_CLIENT_HELLO:
                self._client_hello()
            else:
                self._verify()
            r = _handshake(self._hp)
        return r

    def _client_hello(self) -> None:
        ctx = self._context
        fn = ctx._sni_callback
        try:
            alert = None if fn is None else fn(self, self.server_name, ctx)
        except BaseException:
            _lib.conn_reject_client_hello(self._hp, _ALERT_HANDSHAKE_FAILURE)
            _handshake(self._hp)  # fail now: the alert is queued to drain
            raise
        if alert is not None:
            if not isinstance(alert, int) or not 0 <= alert <= 255:
                alert = _ALERT_INTERNAL_ERROR
            _lib.conn_reject_client_hello(self._hp, int(alert))

    def _verify(self) -> None:
        ctx = self._context
        fn = ctx._verify_callback
        result = ctx._verify_results.pop(self._h, None)
        if result is None:
            result = _lib.conn_verify_result(self._hp)
        try:
            if fn is None:  # a context switched to one without a callback
                accept = result == 0
            else:
                self._peer_cache = None
                accept = fn(self, self.peer_chain(), result) is True
        except BaseException:
            _lib.conn_verify_done(self._hp, 0)
            _handshake(self._hp)  # fail now: the alert is queued to drain
            raise
        _lib.conn_verify_done(self._hp, 1 if accept else 0)

    def read(self, len: int = 1024, buffer: Any = None) -> Union[bytes, int]:  # noqa: A002
        """Up to ``len`` bytes of plaintext; with ``buffer``, read into it and
        return the count. Returns b"" (or 0) once the peer's close_notify
        arrived. Raises :class:`SSLWantReadError` when no plaintext is
        available yet, :class:`SSLEOFError` on transport EOF without
        close_notify (unless ``suppress_ragged_eofs``)."""
        if buffer is not None:
            return self._read_into(len, buffer)
        if len != self._rlen:
            if len <= 0:
                if len < 0:
                    raise ValueError("size should not be negative")
                return b""
            if len > self._cap:
                if len > _RAW_MAX:
                    len = _RAW_MAX
                self._grow(len)
            self._rlen = len
        n = self._fread(self._hp, self._bufp, self._rlen)
        if n > 0:
            if not self._est:
                self._establish()
            return self._buf[:n]
        if self._read_end(n):
            return self.read(len)
        return b""

    def _read_into(self, size: int, buffer: Any) -> int:
        view = memoryview(buffer)
        if view.readonly or not view.c_contiguous:
            raise TypeError("read(buffer=...) needs a writable contiguous buffer")
        nbytes = view.nbytes
        if size is None or size <= 0 or size > nbytes:
            size = nbytes
        if size == 0:
            return 0
        n = self._fread(self._hp, byref(c_char.from_buffer(view)), min(size, _RAW_MAX))
        if n > 0:
            if not self._est:
                self._establish()
            return n
        if self._read_end(n):
            return self._read_into(size, buffer)
        return 0

    def _read_end(self, n: int) -> bool:
        """A read returned status n: return False for a clean close, True
        when a hook ran and the handshake completed (read again), else
        raise."""
        if n == _CLOSED:
            return False
        if n == _TRUNCATED and self._suppress:
            return False
        if n == _WANT_CLIENT_HELLO or n == _WANT_VERIFY:
            n = self._run_hooks(n)
            if not n:
                return True
        raise self._error(n, "read")

    def write(self, data: Buffer) -> int:
        """Encrypt plaintext; returns the count accepted (> 0, possibly less
        than ``len(data)``: the engine takes at most one record's worth while
        its output waits to be drained). 0 for empty data."""
        if type(data) is bytes:
            n = len(data)
        else:
            data, n = _c_buffer(data)
        if not n:
            return 0
        r = self._fwrite(self._hp, data, n if n <= _RAW_MAX else _RAW_MAX)
        if r > 0:
            if not self._est:
                self._establish()
            return r
        if r == _WANT_CLIENT_HELLO or r == _WANT_VERIFY:
            r = self._run_hooks(r)
            if not r:
                return self.write(data)
        raise self._error(r, "write")

    # ---- batched calls: one C call where two follow each other ----

    def write_drain(self, data: Buffer) -> Tuple[int, bytes]:
        """:meth:`write` then :meth:`drain`, in one C call: returns the count
        of ``data`` accepted and the ciphertext to send. While the handshake
        or the engine's output needs the peer, the count is 0 and the bytes
        are whatever must be sent meanwhile (no SSLWantReadError /
        SSLWantWriteError). Other errors raise, as write() does, with the
        alert left for drain()."""
        if type(data) is bytes:
            n = len(data)
        else:
            data, n = _c_buffer(data)
        if not n:
            return 0, self.drain()
        if self._buf is None:
            if self._hp is None:
                raise self._error(_ERROR, "write")
            self._grow(_MIN_BUF)
        cap = self._cap
        r = self._fwrite_drain(self._hp, data, n if n <= _RAW_MAX else _RAW_MAX,
                               self._bufp, cap, self._movedp)
        return self._write_drain_end(r, self._moved.value)

    def _write_drain_end(self, r: int, d: int) -> Tuple[int, bytes]:
        """write_drain's result from the C call's (r, drained)."""
        if r == _WANT_CLIENT_HELLO or r == _WANT_VERIFY:
            # A hook ran: the count is 0 (call again), the output is
            # whatever the resumed handshake left to send.
            out = self._buf[:d] if d else b""
            r = self._run_hooks(r)
            if r and (self._io is not None or (r != _WANT_READ and r != _WANT_WRITE)):
                raise self._error(r, "write")
            if not r and not self._est:
                self._establish()
            return 0, out + self.drain()
        if r < 0 and not ((r == _WANT_READ or r == _WANT_WRITE) and self._io is None):
            raise self._error(r, "write")  # nothing was drained
        out = self._buf[:d] if d else b""
        if d == self._cap:  # the buffer filled up: more may be waiting
            out += self.drain()
        if r > 0:
            if not self._est:
                self._establish()
            return r, out
        return 0, out

    def feed_read(self, data: Buffer, size: int = 1024) -> Tuple[int, Optional[bytes]]:
        """:meth:`feed` then :meth:`read` (up to ``size`` bytes), in one C
        call: returns the count of ``data`` accepted (keep and feed the rest
        later, as with feed()) and the plaintext: bytes, b"" once the peer's
        close_notify arrived, or None when none is ready yet (where read()
        would raise SSLWantReadError / SSLWantWriteError: check
        :meth:`wants`). Drain afterwards, as after every call."""
        if type(data) is bytes:
            n = len(data)
        else:
            data, n = _c_buffer(data)
        if size <= 0:
            if size < 0:
                raise ValueError("size should not be negative")
            return self.feed(data), b""
        if size > _RAW_MAX:
            size = _RAW_MAX
        if self._est and size >= _DIRECT_MIN:  # decrypt straight into the result
            if size > _RECORD:
                size = _RECORD
            dst = ptr = _bytes_new(None, size)
        else:
            if self._buf is None or size > self._cap:
                if self._hp is None:
                    raise self._error(_ERROR, "read")
                self._grow(size)
            dst, ptr = None, self._bufp
        r = self._ffeed_read(self._hp, data, n if n <= _RAW_MAX else _RAW_MAX,
                             self._movedp, ptr, size)
        fed = self._moved.value
        if r > 0:
            if not self._est:
                self._establish()
            if dst is None:
                return fed, self._buf[:r]
            return fed, dst if r == size else dst[:r]
        return fed, self._feed_read_end(r)

    def _feed_read_end(self, r: int) -> Optional[bytes]:
        """feed_read's plaintext for a read status r: None or b"", or raise."""
        if r == _WANT_CLIENT_HELLO or r == _WANT_VERIFY:
            r = self._run_hooks(r)  # then: none ready yet (see wants())
            if not r:
                if not self._est:
                    self._establish()
                return None
        if (r == _WANT_READ or r == _WANT_WRITE) and self._io is None:
            return None
        self._read_end(r)
        return b""

    def shutdown(self) -> bool:
        """Send close_notify (drain it). Returns True once both sides'
        close_notify were exchanged, False while the peer's is awaited
        (feed and call again). Reading still works meanwhile (half-close)."""
        r = _shutdown(self._hp)
        if r == 0:
            return True
        if r == _WANT_READ:
            return False
        raise self._error(r, "shutdown")

    def unwrap(self) -> None:
        """Like :meth:`ssl.SSLObject.unwrap`: the close_notify exchange,
        raising :class:`SSLWantReadError` until the peer's arrived."""
        r = _shutdown(self._hp)
        if r:
            raise self._error(r, "shutdown")

    def flush(self) -> None:
        """:meth:`Context.wrap_bio` connections: push pending ciphertext to
        the transport; raises :class:`SSLWantWriteError` if it would block."""
        r = _lib.conn_flush(self._hp)
        if r:
            raise self._error(r, "flush")

    def pending(self) -> int:
        """Bytes of decrypted plaintext buffered (readable without feeding)."""
        n = _lib.conn_pending_plaintext(self.handle_ptr)
        if n < 0:
            raise self._error(n, "pending")
        return n

    def wants(self) -> int:
        """Bitmask for an event loop: :data:`pybio.WANTS_READ` (needs
        ciphertext), :data:`pybio.WANTS_WRITE` (ciphertext pending),
        :data:`pybio.HAS_PLAINTEXT` (a read returns now: data, close or error)."""
        return _wants(self.handle_ptr)

    @property
    def handle_ptr(self) -> c_void_p:
        if self._hp is None:
            raise ValueError("pybio.Connection is closed")
        return self._hp

    def key_update(self, update_peer: bool = False) -> None:
        """TLS 1.3: queue a KeyUpdate (drain afterwards); ``update_peer``
        asks the peer to update its keys too."""
        r = _lib.conn_key_update(self.handle_ptr, 1 if update_peer else 0)
        if r:
            raise self._error(r, "key_update")

    def reset(self, server_hostname: Optional[str] = None) -> None:
        """Reuse the engine for a new connection of the same context
        (cheaper than a new one): buffers, error and session are forgotten."""
        r = _lib.conn_reset(self.handle_ptr, _hostname_bytes(server_hostname))
        if r:
            raise self._error(r, "reset")
        self._server_hostname = server_hostname
        self._peer_cache = None
        self._set_handshake_calls()
        if type(self) is _Established:
            self.__class__ = Connection
        if self._io is not None:
            self._io.exc = None

    # ---- information ----

    @property
    def context(self):
        """The :class:`pybio.Context` this connection uses: the one it was
        made from, or the one an ``sni_callback`` switched to."""
        return self._context

    @context.setter
    def context(self, ctx) -> None:
        """Server, inside :attr:`Context.sni_callback` only (as the stdlib's
        ``SSLObject.context = ...``): go on with ``ctx``'s certificate, key,
        CA list, verify mode, ALPN, ticket keys and callbacks."""
        from ._context import Context, SERVER

        if not isinstance(ctx, Context):
            raise TypeError("context must be a pybio.Context")
        if ctx._role != SERVER or not self._server_side:
            raise ValueError("switching the context is for server connections and contexts")
        r = _lib.conn_use_context(self.handle_ptr, ctx._live())
        if r == _lib.EINVAL:
            raise ValueError("the context can only be switched inside sni_callback "
                             "(while the handshake is paused at the ClientHello)")
        if r:
            raise self._error(r, "use_context")
        self._context = ctx
        self._verified = ctx._verify_mode != ssl.CERT_NONE

    # ---- keying material ----

    def export_keying_material(self, label: Union[str, bytes], length: int,
                               context: Optional[bytes] = None) -> bytes:
        """RFC 5705 / RFC 8446 7.5 exporter: ``length`` bytes of keying
        material for ``label`` (str or bytes) and ``context`` (None: no
        context, distinct from b"" in TLS 1.2). After the handshake only."""
        if isinstance(label, str):
            label = label.encode("ascii")
        label = bytes(label)
        if b"\0" in label:
            raise ValueError("export_keying_material: the label contains a NUL byte")
        length = int(length)
        if length <= 0:
            raise ValueError("export_keying_material: length must be positive")
        hp = self.handle_ptr
        if not _lib.conn_is_handshake_done(hp):
            raise ValueError("export_keying_material: the handshake has not completed")
        if context is not None:
            context = bytes(context)
        out = create_string_buffer(length)
        r = _lib.conn_export_keying_material(hp, out, length, label, context,
                                             0 if context is None else len(context))
        if r == _lib.EINVAL:
            raise ValueError("export_keying_material: the handshake has not completed")
        if r:
            raise _errors.SSLError(ssl.SSL_ERROR_SSL,
                                   "export_keying_material: OpenSSL refused the export "
                                   f"(label {label!r}, length {length})")
        return out.raw

    def get_channel_binding(self, cb_type: str = "tls-unique") -> Optional[bytes]:
        """Channel binding data as :meth:`ssl.SSLObject.get_channel_binding`:
        ``"tls-unique"`` (RFC 5929; TLS 1.2. None on TLS 1.3, where RFC 9266
        leaves it undefined: the stdlib returns OpenSSL's first Finished
        there, which pybio cannot reach through include/sslbio.h alone; use
        "tls-exporter") or ``"tls-exporter"`` (RFC 9266: 32 bytes of the
        exporter, label "EXPORTER-Channel-Binding", empty context). None
        before the handshake."""
        if cb_type not in CHANNEL_BINDING_TYPES:
            raise ValueError(f"{cb_type} channel binding type not implemented")
        hp = self.handle_ptr
        if not _lib.conn_is_handshake_done(hp):
            return None
        if cb_type == "tls-exporter":
            return self.export_keying_material(b"EXPORTER-Channel-Binding", 32, b"")
        n = _lib.conn_tls_unique(hp, None, 0)
        if n < 0:
            raise self._error(n, "tls_unique")
        if n == 0:  # TLS 1.3: not defined (RFC 9266); see the docstring
            return None
        buf = create_string_buffer(n)
        n = _lib.conn_tls_unique(hp, buf, n)
        if n < 0:
            raise self._error(n, "tls_unique")
        return buf.raw[:n]

    @property
    def server_side(self) -> bool:
        return self._server_side

    @property
    def server_hostname(self) -> Optional[str]:
        return self._server_hostname

    @property
    def server_name(self) -> Optional[str]:
        """Server side: the name the client sent (SNI), None if it sent none
        or before the handshake; client side: the name given
        (``server_hostname``), None if none."""
        name = _lib.conn_server_name(self.handle_ptr)
        return name.decode("ascii", "replace") if name else None

    @property
    def suppress_ragged_eofs(self) -> bool:
        return self._suppress

    def is_handshake_done(self) -> bool:
        return bool(_lib.conn_is_handshake_done(self.handle_ptr))

    def version(self) -> Optional[str]:
        """``"TLSv1.3"`` / ``"TLSv1.2"``, None before the handshake."""
        v = _lib.conn_version(self.handle_ptr)
        return v.decode() if v else None

    def cipher(self) -> Optional[Tuple[str, str, int]]:
        """(name, protocol, secret bits) as :meth:`ssl.SSLObject.cipher`;
        None before the handshake. The protocol is the negotiated version
        (the stdlib names the version that introduced the suite: the same
        for every TLS 1.2 AEAD and TLS 1.3 suite)."""
        h = self.handle_ptr
        name = _lib.conn_cipher(h)
        if not name:
            return None
        return name.decode(), self.version() or "", _lib.conn_cipher_bits(h)

    def selected_alpn_protocol(self) -> Optional[str]:
        p = _lib.conn_alpn(self.handle_ptr)
        return p.decode() if p else None

    def compression(self) -> None:
        """Always None: compression is disabled."""
        return None

    def getpeercert(self, binary_form: bool = False) -> Union[None, bytes, Dict[str, Any]]:
        """The peer's certificate: DER bytes with ``binary_form``, else the
        dict of :meth:`ssl.SSLObject.getpeercert` (``{}`` when the certificate
        was not verified), None when the peer sent none. The dict is decoded
        from the DER by pybio's own reader (pybio._x509), to the stdlib's
        keys and formats."""
        h = self.handle_ptr
        if not _lib.conn_is_handshake_done(h):
            raise ValueError("handshake not done yet")
        if self._peer_cache is None:
            der = self._peer_der(0) if _lib.conn_peer_cert_count(h) > 0 else None
            self._peer_cache = (der, None)
        der, decoded = self._peer_cache
        if der is None:
            return None
        if binary_form:
            return der
        if not self._verified:
            return {}
        if decoded is None:
            decoded = _x509.decode(der)
            self._peer_cache = (der, decoded)
        return dict(decoded)  # values are immutable: a shallow copy is the caller's own

    def peer_chain(self) -> List[bytes]:
        """The certificates the peer sent, as DER, leaf first ([] if none;
        after a resumption at least the leaf)."""
        n = _lib.conn_peer_cert_count(self.handle_ptr)
        if n < 0:
            raise self._error(n, "peer_chain")
        return [self._peer_der(i) for i in range(n)]

    def _peer_der(self, index: int) -> bytes:
        h = self._hp
        need = _lib.conn_peer_cert_der(h, index, None, 0)
        if need < 0:
            raise self._error(need, "peer certificate")
        buf = create_string_buffer(need)
        got = _lib.conn_peer_cert_der(h, index, buf, need)
        if got != need:
            raise self._error(got if got < 0 else _ERROR, "peer certificate")
        return buf.raw

    # ---- sessions ----

    @property
    def session(self) -> Optional[bytes]:
        """The DER session for resumption, None until resumable (TLS 1.3:
        after the server's ticket was read, i.e. after a read())."""
        h = self.handle_ptr
        need = _lib.conn_session(h, None, 0)
        if need < 0:
            raise self._error(need, "session")
        if need == 0:
            return None
        buf = create_string_buffer(need)
        got = _lib.conn_session(h, buf, need)
        if got != need:
            raise _errors.SSLError(ssl.SSL_ERROR_SSL, "session changed while being read")
        return buf.raw

    @session.setter
    def session(self, der: bytes) -> None:
        self.set_session(der)

    def set_session(self, der: bytes) -> None:
        """Client, before the handshake: resume a session from
        :attr:`session` (refused for a session issued for another server
        name)."""
        data = bytes(der)
        r = _lib.conn_set_session(self.handle_ptr, data, len(data))
        if r:
            raise self._error(r, "set_session")

    @property
    def session_reused(self) -> bool:
        """True if the handshake resumed a session (False before it completes)."""
        return bool(_lib.conn_session_reused(self.handle_ptr))


class _Established(Connection):
    """A Connection whose handshake is complete: the same object, with the
    hot read()/write() calling the raw twins directly. Never made directly:
    Connection._establish() switches the class, reset() switches it back."""

    __slots__ = ()

    def read(self, len: int = 1024, buffer: Any = None) -> Union[bytes, int]:  # noqa: A002
        if buffer is not None or len != self._rlen:
            return Connection.read(self, len, buffer)
        if len < _DIRECT_MIN:  # small: the reusable buffer, then a slice
            n = _raw_read(self._hp, self._bufp, len)
            if n > 0:
                return self._buf[:n]
        else:  # large: decrypt straight into a new bytes object, no extra copy
            size = len if len < _RECORD else _RECORD
            data = _bytes_new(None, size)
            n = _raw_read(self._hp, data, size)
            if n == size:
                return data
            if n > 0:
                return data[:n]
        if n == _WANT_READ and self._io is None:  # the common "no data yet": raise here
            raise _SSLWantReadError(_ERRNO_WANT_READ, _WANT_READ_MSG)
        self._read_end(n)
        return b""

    read.__doc__ = Connection.read.__doc__

    def write(self, data: Buffer) -> int:
        if type(data) is bytes:
            n = len(data)
            if 0 < n <= _RAW_MAX:
                r = _raw_write(self._hp, data, n)
                if r > 0:
                    return r
                if r == _WANT_WRITE and self._io is None:
                    raise _SSLWantWriteError(_ERRNO_WANT_WRITE, _WANT_WRITE_MSG)
                raise self._error(r, "write")
        return Connection.write(self, data)

    write.__doc__ = Connection.write.__doc__

    def write_drain(self, data: Buffer) -> Tuple[int, bytes]:
        if type(data) is bytes:
            n = len(data)
            if 0 < n <= _RAW_MAX:
                r = _raw_write_drain(self._hp, data, n, self._bufp, self._cap, self._movedp)
                d = self._moved.value
                if r > 0 and d < self._cap:
                    return r, self._buf[:d]
                return self._write_drain_end(r, d)
        return Connection.write_drain(self, data)

    write_drain.__doc__ = Connection.write_drain.__doc__

    def feed_read(self, data: Buffer, size: int = 1024) -> Tuple[int, Optional[bytes]]:
        if type(data) is bytes and 0 < size and len(data) <= _RAW_MAX:
            if size < _DIRECT_MIN:  # small: the reusable buffer, then a slice
                if size <= self._cap:
                    r = _raw_feed_read(self._hp, data, len(data), self._movedp, self._bufp, size)
                    if r > 0:
                        return self._moved.value, self._buf[:r]
                    return self._moved.value, self._feed_read_end(r)
            else:  # large: decrypt straight into the result, as read() does
                if size > _RECORD:
                    size = _RECORD
                dst = _bytes_new(None, size)
                r = _raw_feed_read(self._hp, data, len(data), self._movedp, dst, size)
                if r > 0:
                    return self._moved.value, dst if r == size else dst[:r]
                return self._moved.value, self._feed_read_end(r)
        return Connection.feed_read(self, data, size)

    feed_read.__doc__ = Connection.feed_read.__doc__


def _new_connection(ctx, server_hostname: Optional[str], suppress_ragged_eofs: bool,
                    session: Optional[bytes], transport: Any) -> Connection:
    from ._context import SERVER, CLIENT

    ch = ctx._live()
    role = ctx._role
    if role == SERVER and server_hostname is not None:
        raise ValueError("server_hostname can only be specified in client mode")
    if role == CLIENT and ctx._check_hostname and server_hostname is None:
        raise ValueError("check_hostname requires server_hostname")
    h = _lib.conn_new(ch, _hostname_bytes(server_hostname))
    if not h:
        msg = _errors.ctx_failure(ch, "new connection")
        raise ValueError(msg)
    self = Connection.__new__(Connection)
    self._h = h
    # The handle as a ready-made pointer argument: c_void_p.from_param(int)
    # gives a ctypes "cparam" that a call copies as is, where a c_void_p
    # instance would be converted (an allocation) on every call.
    self._hp = c_void_p.from_param(h)
    self._clear_buffers()
    self._set_handshake_calls()
    # The count a batched call returns through its size_t* argument, and
    # that argument ready-made (as self._hp).
    self._moved = c_size_t()
    self._movedp = c_void_p.from_param(addressof(self._moved))
    self._context = ctx
    self._server_hostname = server_hostname
    self._suppress = bool(suppress_ragged_eofs)
    self._io = None
    self._cbs = None
    self._peer_cache = None
    self._verified = ctx._verify_mode != ssl.CERT_NONE
    self._server_side = role == SERVER
    if transport is not None:
        state = _TransportState(transport)
        recv_cb, send_cb = _callbacks(state)
        r = _lib.conn_set_transport(h, recv_cb, send_cb, None)
        if r:
            exc = self._error(r, "set_transport")
            self.close()
            raise exc
        self._io = state
        self._cbs = (recv_cb, send_cb)  # alive as long as the engine may call them
    if session is not None:
        try:
            self.set_session(session)
        except BaseException:
            self.close()
            raise
    return self
