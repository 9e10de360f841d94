"""pybio's batched calls, Connection.write_drain() (write + drain) and
Connection.feed_read() (feed + read), against the stdlib's ssl module: in
memory (ssl.MemoryBIO + SSLObject as the peer, both roles) and over a
non-blocking socketpair (ssl.SSLSocket in a thread on the other end).

The pybio side of these tests moves its bytes with write_drain/feed_read
only (write_drain(b"") where nothing is left to write is a plain drain);
the stdlib side uses the helpers of support.py."""

from __future__ import annotations

import random
import select
import socket
import ssl
import threading
import unittest

from support import WANT, StdEnd, pybio_client, pybio_server, read_all, stdlib_client, \
    stdlib_echo, stdlib_server

import pybio

RECORD = 16384        # TLS's largest plaintext record
IN_CAP = 17 * 1024    # the engine's input buffer (sslbio/engine_internal.h SSLBIO__IN_CAP)
TLS12 = {"maximum_version": ssl.TLSVersion.TLSv1_2}
ROLES = (("pybio client", False), ("pybio server", True))
VERSIONS = (("TLS 1.3", {}), ("TLS 1.2", TLS12))


def new_pair(pybio_is_server: bool, suppress: bool = False, **versions):
    """(pybio Connection, StdEnd) not yet connected."""
    if pybio_is_server:
        conn = pybio_server(**versions).connection(suppress_ragged_eofs=suppress)
        peer = StdEnd(stdlib_client(**versions), False, server_hostname="localhost")
    else:
        conn = pybio_client(**versions).connection(server_hostname="localhost",
                                                   suppress_ragged_eofs=suppress)
        peer = StdEnd(stdlib_server(**versions), True)
    return conn, peer


def peer_step(peer: StdEnd) -> bytes:
    """Let the stdlib end progress its handshake; what it has to send."""
    if not peer.done:
        try:
            peer.do_handshake()
        except WANT:
            pass
    return peer.drain()


def batched_handshake(conn, peer, greeting: bytes = b"hello from pybio",
                      reply: bytes = b"hello from stdlib"):
    """Connect conn and peer, the pybio side using write_drain/feed_read only:
    pybio writes a greeting (taken stays 0 until the handshake lets it
    through); the stdlib end answers with a reply once it has read it.
    Returns every write_drain result of the pybio side, in order."""
    results = []
    taken = 0
    inbox = bytearray()          # ciphertext for conn that it has not accepted yet
    at_peer = bytearray()        # plaintext the stdlib end read
    at_conn = bytearray()        # plaintext conn read
    replied = False
    for _ in range(40):
        r = conn.write_drain(greeting if not taken else b"")
        results.append(r)
        taken += r[0]
        peer.feed(r[1])
        inbox += peer_step(peer)
        if peer.done:
            at_peer += read_all(peer)
            if bytes(at_peer) == greeting and not replied:
                peer.write(reply)
                replied = True
                inbox += peer.drain()
        while True:
            fed, pt = conn.feed_read(bytes(inbox))
            del inbox[:fed]
            if not pt:
                assert pt is None, f"unexpected close during the handshake ({pt!r})"
                break
            at_conn += pt
        if bytes(at_conn) == reply and not inbox and conn.pending_out == 0 \
                and not peer.pending_out:
            assert taken == len(greeting), (taken, len(greeting))
            return results
    raise AssertionError(f"batched handshake did not finish: taken={taken} "
                         f"at_peer={bytes(at_peer)!r} at_conn={bytes(at_conn)!r}")


def established(pybio_is_server: bool, **versions):
    conn, peer = new_pair(pybio_is_server, **versions)
    batched_handshake(conn, peer)
    return conn, peer


def recv_batched(conn, ciphertext, size: int = 65536) -> bytes:
    """feed_read all of ciphertext, honouring fed; the plaintext that came out
    (stops at None once everything was fed, or at a clean close)."""
    out = bytearray()
    rest = memoryview(ciphertext)
    while True:
        fed, pt = conn.feed_read(rest.tobytes(), size)
        rest = rest[fed:]
        if pt is None:
            if not rest:
                return bytes(out)
            if not fed:
                raise AssertionError(f"stuck: {len(rest)} bytes refused, no plaintext")
            continue
        if pt == b"":
            return bytes(out)
        out += pt


class BatchedHandshake(unittest.TestCase):
    def test_client_first_write_drain_is_client_hello(self):
        for name, versions in VERSIONS:
            with self.subTest(name):
                conn, peer = new_pair(False, **versions)
                try:
                    results = batched_handshake(conn, peer)
                    taken, hello = results[0]
                    self.assertEqual(taken, 0)
                    self.assertIsInstance(hello, bytes)
                    self.assertGreater(len(hello), 40)
                    # A handshake record holding a ClientHello.
                    self.assertEqual(hello[0], 0x16)
                    self.assertEqual(hello[5], 0x01)
                    self.assertEqual(int.from_bytes(hello[3:5], "big"), len(hello) - 5)
                    self.assertTrue(conn.is_handshake_done())
                    self.assertEqual(conn.version(), peer.version())
                    self.assertEqual(conn.version(), "TLSv1.2" if versions else "TLSv1.3")
                    self.assertIsInstance(conn, pybio.Connection)
                finally:
                    conn.close()

    def test_server_role(self):
        for name, versions in VERSIONS:
            with self.subTest(name):
                conn, peer = new_pair(True, **versions)
                try:
                    # Nothing arrived: nothing to send, nothing taken.
                    self.assertEqual(conn.write_drain(b"too early"), (0, b""))
                    hello = peer_step(peer)
                    self.assertEqual(conn.feed_read(hello), (len(hello), None))
                    taken, flight = conn.write_drain(b"still early")
                    self.assertEqual(taken, 0)
                    self.assertEqual(flight[:1], b"\x16")
                    self.assertEqual(flight[5], 0x02)  # ServerHello
                    self.assertEqual(conn.pending_out, 0)
                    # The rest of the handshake, and a greeting each way.
                    peer.feed(flight)
                    batched_handshake(conn, peer)
                    self.assertEqual(conn.version(), "TLSv1.2" if versions else "TLSv1.3")
                    self.assertEqual(peer.version(), conn.version())
                finally:
                    conn.close()

    def test_feed_read_drives_the_handshake(self):
        # feed_read(b"") on a fresh client is read(): it starts the handshake.
        conn, peer = new_pair(False)
        with conn:
            self.assertEqual(conn.feed_read(b""), (0, None))
            self.assertGreater(conn.pending_out, 0)
            hello = conn.write_drain(b"")
            self.assertEqual(hello[0], 0)
            self.assertEqual(hello[1][5], 0x01)
            peer.feed(hello[1])
            batched_handshake(conn, peer)

    def test_first_data_in_the_same_feed_as_the_handshake_end(self):
        # The client's Finished and 40000 bytes of data in one feed_read, with a
        # direct-path size: the handshake completes inside the call.
        for name, versions in VERSIONS:
            with self.subTest(name):
                conn, peer = new_pair(True, **versions)
                with conn:
                    inbox = bytearray(peer_step(peer))
                    for _ in range(10):
                        fed, pt = conn.feed_read(bytes(inbox), RECORD)
                        del inbox[:fed]
                        self.assertIsNone(pt)
                        peer.feed(conn.write_drain(b"")[1])
                        inbox += peer_step(peer)
                        if peer.done:
                            break
                    self.assertTrue(peer.done)
                    payload = random.Random(7).randbytes(40000)
                    peer.write(payload)
                    inbox += peer.drain()
                    fed, pt = conn.feed_read(bytes(inbox), RECORD)
                    self.assertEqual(pt, payload[:RECORD])
                    got = pt + recv_batched(conn, bytes(inbox[fed:]), RECORD)
                    self.assertEqual(got, payload)
                    self.assertTrue(conn.is_handshake_done())


class BatchedData(unittest.TestCase):
    def test_echo_64_bytes_1000_times(self):
        for role, server in ROLES:
            with self.subTest(role):
                rng = random.Random(64)
                conn, peer = established(server)
                with conn:
                    for i in range(1000):
                        msg = rng.randbytes(64)
                        taken, ct = conn.write_drain(msg)
                        self.assertEqual(taken, 64)
                        self.assertEqual(conn.pending_out, 0)
                        peer.feed(ct)
                        self.assertEqual(peer.read(1024), msg)
                        peer.write(msg[::-1])
                        back = peer.drain()
                        fed, pt = conn.feed_read(back, 64 if i % 2 else 1024)
                        self.assertEqual(fed, len(back))
                        self.assertEqual(pt, msg[::-1])
                    self.assertEqual(conn.feed_read(b""), (0, None))

    def test_1mib_random_chunks(self):
        kinds = (bytes, bytearray, lambda b: memoryview(bytearray(b)), memoryview)
        sizes = (1, 7, 100, 1024, 4096, 4097, 5000, 8191, 8192, 9000, RECORD, 65536)
        for role, server in ROLES:
            with self.subTest(role):
                rng = random.Random(1 << 20)
                payload = rng.randbytes(1 << 20)
                conn, peer = established(server)
                with conn:
                    # pybio -> stdlib: write_drain chunks of random sizes and types.
                    got = bytearray()
                    i = 0
                    while i < len(payload):
                        n = rng.randint(1, 40000)
                        chunk = rng.choice(kinds)(payload[i:i + n])
                        taken, ct = conn.write_drain(chunk)
                        self.assertGreater(taken, 0)
                        self.assertLessEqual(taken, len(payload[i:i + n]))
                        i += taken
                        self.assertEqual(conn.pending_out, 0)  # all of it drained
                        peer.feed(ct)
                        got += read_all(peer)
                    self.assertEqual(conn.pending_out, 0)
                    self.assertEqual(len(got), len(payload))
                    self.assertEqual(bytes(got), payload)

                    # stdlib -> pybio: ciphertext fed in random pieces of random
                    # types, read with random sizes (both read paths).
                    peer.write(payload)
                    ct = memoryview(peer.drain())
                    got = bytearray()
                    j = 0
                    idle = 0
                    while j < len(ct) or len(got) < len(payload):
                        idle += 1
                        self.assertLess(idle, 100, "no progress")
                        n = rng.randint(0, 30000)
                        piece = rng.choice(kinds)(ct[j:j + n].tobytes())
                        size = rng.choice(sizes)
                        fed, pt = conn.feed_read(piece, size)
                        self.assertLessEqual(fed, len(ct[j:j + n]))
                        j += fed
                        if fed:
                            idle = 0
                        if pt is None:
                            continue
                        idle = 0
                        self.assertIsInstance(pt, bytes)
                        self.assertNotEqual(pt, b"", "unexpected close")
                        self.assertLessEqual(len(pt), min(size, RECORD))
                        got += pt
                    self.assertEqual(len(got), len(payload))
                    self.assertEqual(bytes(got), payload)
                    self.assertEqual(conn.feed_read(b"", 65536), (0, None))

    def test_feed_read_empty_is_a_plain_read(self):
        for role, server in ROLES:
            with self.subTest(role):
                conn, peer = established(server)
                with conn:
                    for empty in (b"", bytearray(), memoryview(b"")):
                        self.assertEqual(conn.feed_read(empty), (0, None))
                    payload = bytes(range(256)) * 4
                    peer.write(payload)
                    ct = peer.drain()
                    fed, pt = conn.feed_read(ct, 100)
                    self.assertEqual((fed, pt), (len(ct), payload[:100]))
                    got = bytearray(pt)
                    for empty in (b"", bytearray(), memoryview(b"")) * 4:
                        fed, pt = conn.feed_read(empty, 100)
                        self.assertEqual(fed, 0)
                        if pt is None:
                            break
                        got += pt
                    self.assertEqual(bytes(got), payload)
                    self.assertEqual(conn.feed_read(b"", 100), (0, None))
                    # read() agrees: nothing is buffered.
                    with self.assertRaises(ssl.SSLWantReadError):
                        conn.read(100)

    def test_direct_and_small_sizes(self):
        for role, server in ROLES:
            with self.subTest(role):
                payload = random.Random(3).randbytes(2 * RECORD + 5000)
                conn, peer = established(server)
                with conn:
                    rest = b""

                    def fr(size):
                        # feed_read what is left of the ciphertext (more than
                        # the engine takes at once), keeping what it refused.
                        nonlocal rest
                        fed, pt = conn.feed_read(rest, size)
                        rest = rest[fed:]
                        return pt

                    peer.write(payload)  # records of 16384, 16384, 5000 bytes
                    rest = peer.drain()
                    results = [fr(RECORD),   # a whole record
                               fr(8192),     # half a record
                               fr(100000),   # the other half (at most a record)
                               fr(9000)]     # 5000 < 9000
                    self.assertEqual([len(r) for r in results], [RECORD, 8192, 8192, 5000])
                    self.assertEqual(rest, b"")
                    self.assertEqual(conn.feed_read(b"", RECORD), (0, None))
                    for r in results:
                        self.assertIs(type(r), bytes)
                    self.assertEqual(b"".join(results), payload)

                    # Small sizes, mixed with large ones: every returned object
                    # keeps its content (no aliasing of a reused buffer).
                    peer.write(payload)
                    rest = peer.drain()
                    sizes = [1, 7, 1024, 4097, 8191, 8192, 12000, 1, 16384, 100, 20000, 5000]
                    results = []
                    k = 0
                    while True:
                        pt = fr(sizes[k % len(sizes)])
                        if pt is None:
                            break
                        self.assertLessEqual(len(pt), sizes[k % len(sizes)])
                        results.append(pt)
                        k += 1
                    self.assertEqual(rest, b"")
                    self.assertEqual(b"".join(results), payload)
                    self.assertEqual(results[0], payload[:1])
                    self.assertEqual(results[1], payload[1:8])

    def test_size_zero_feeds_only(self):
        conn, peer = established(False)
        with conn:
            peer.write(b"data")
            ct = peer.drain()
            self.assertEqual(conn.feed_read(ct, 0), (len(ct), b""))  # as read(0)
            self.assertEqual(conn.feed_read(b"", 10), (0, b"data"))

    def test_partial_record_then_the_rest(self):
        for role, server in ROLES:
            with self.subTest(role):
                conn, peer = established(server)
                with conn:
                    payload = b"partial record " * 50
                    for size in (1024, RECORD):
                        for split in (1, 5, 6, 100, None):
                            peer.write(payload)
                            ct = peer.drain()
                            cut = len(ct) - 1 if split is None else split
                            self.assertEqual(conn.feed_read(ct[:cut], size), (cut, None))
                            fed, pt = conn.feed_read(ct[cut:], size)
                            self.assertEqual(fed, len(ct) - cut)
                            self.assertEqual(pt, payload)
                    # A record fed one byte at a time.
                    peer.write(b"byte by byte")
                    ct = peer.drain()
                    for b in ct[:-1]:
                        self.assertEqual(conn.feed_read(bytes([b])), (1, None))
                    self.assertEqual(conn.feed_read(ct[-1:]), (1, b"byte by byte"))

    def test_backpressure(self):
        for role, server in ROLES:
            for size in (1024, RECORD):
                with self.subTest(role, size=size):
                    payload = random.Random(size).randbytes(200_000)
                    conn, peer = established(server)
                    with conn:
                        peer.write(payload)
                        ct = peer.drain()
                        fed, pt = conn.feed_read(ct, size)
                        self.assertLess(fed, len(ct))
                        self.assertLessEqual(fed, IN_CAP)
                        self.assertEqual(pt, payload[:size])
                        got = bytearray(pt)
                        rest = ct[fed:]
                        refused = 0
                        # Feeding the rest later (as much as is accepted each time).
                        while rest or len(got) < len(payload):
                            fed, pt = conn.feed_read(rest, size)
                            if fed < len(rest):
                                refused += 1
                            rest = rest[fed:]
                            if pt is None:
                                self.assertTrue(rest, "everything fed, plaintext missing")
                                self.assertGreater(fed, 0, "stuck: refused, no plaintext")
                                continue
                            got += pt
                        self.assertGreater(refused, 0)
                        self.assertEqual(bytes(got), payload)
                        self.assertEqual(conn.feed_read(b"", size), (0, None))


class BatchedClose(unittest.TestCase):
    def test_close_notify(self):
        for role, server in ROLES:
            with self.subTest(role):
                conn, peer = established(server)
                with conn:
                    peer.write(b"last words")
                    with self.assertRaises(ssl.SSLWantReadError):
                        peer.unwrap()
                    ct = peer.drain()
                    self.assertEqual(conn.feed_read(ct), (len(ct), b"last words"))
                    self.assertEqual(conn.feed_read(b""), (0, b""))
                    self.assertEqual(conn.feed_read(b"", RECORD), (0, b""))
                    # Our close_notify completes the exchange.
                    self.assertTrue(conn.shutdown())
                    peer.feed(conn.write_drain(b"")[1])
                    peer.unwrap()

    def test_close_notify_alone(self):
        for role, server in ROLES:
            with self.subTest(role):
                conn, peer = established(server)
                with conn:
                    with self.assertRaises(ssl.SSLWantReadError):
                        peer.unwrap()
                    ct = peer.drain()
                    self.assertEqual(conn.feed_read(ct, RECORD), (len(ct), b""))

    def _truncated(self, server: bool, mid_record: bool, suppress: bool = False):
        conn, peer = new_pair(server, suppress=suppress)
        batched_handshake(conn, peer)
        peer.write(b"truncated " * 20)
        ct = peer.drain()
        cut = len(ct) // 2 if mid_record else len(ct)
        fed, pt = conn.feed_read(ct[:cut])
        self.assertEqual(fed, cut)
        if not mid_record:
            self.assertEqual(pt, b"truncated " * 20)
        conn.feed_eof()
        return conn

    def test_truncation_seen_by_read_after_feed_read(self):
        # The engine state feed_read leaves is right: read() reports it.
        for role, server in ROLES:
            for mid in (False, True):
                with self.subTest(role, mid_record=mid):
                    with self._truncated(server, mid) as conn:
                        with self.assertRaises(ssl.SSLEOFError) as cm:
                            conn.read(100)
                        self.assertIsInstance(cm.exception, pybio.SSLEOFError)

    # feed_read(b"") after feed_eof() is a plain read (it raised "feed after
    # feed_eof" before 6a4f81a: the 0-byte feed was refused after EOF).
    def test_truncation_raises_eof_error(self):
        for role, server in ROLES:
            for mid in (False, True):
                for size in (100, RECORD):
                    with self.subTest(role, mid_record=mid, size=size):
                        with self._truncated(server, mid) as conn:
                            caught = None
                            try:
                                conn.feed_read(b"", size)
                            except ssl.SSLError as exc:  # the handler existing code has
                                caught = exc
                            self.assertIsInstance(caught, ssl.SSLEOFError)
                            self.assertIsInstance(caught, pybio.SSLEOFError)
                            with self.assertRaises(ssl.SSLEOFError):  # sticky
                                conn.feed_read(b"", size)

    def test_truncation_suppressed(self):
        for role, server in ROLES:
            for mid in (False, True):
                with self.subTest(role, mid_record=mid):
                    with self._truncated(server, mid, suppress=True) as conn:
                        self.assertEqual(conn.feed_read(b"", 100), (0, b""))

    def test_close_notify_then_transport_eof(self):
        conn, peer = established(False)
        with conn:
            with self.assertRaises(ssl.SSLWantReadError):
                peer.unwrap()
            ct = peer.drain()
            self.assertEqual(conn.feed_read(ct[:3]), (3, None))
            conn.feed(ct[3:])
            conn.feed_eof()
            self.assertEqual(conn.feed_read(b""), (0, b""))


class BatchedErrors(unittest.TestCase):
    def test_garbage_after_handshake(self):
        garbage = b"\x17\x03\x03\x00\x40" + bytes(range(64))  # a record, bad MAC
        for role, server in ROLES:
            for name, versions in VERSIONS:
                with self.subTest(role, version=name):
                    conn, peer = established(server, **versions)
                    with conn:
                        with self.assertRaises(ssl.SSLError) as cm:
                            conn.feed_read(garbage)
                        exc = cm.exception
                        self.assertIsInstance(exc, pybio.SSLError)
                        self.assertNotIsInstance(exc, (ssl.SSLWantReadError,
                                                       ssl.SSLWantWriteError,
                                                       ssl.SSLEOFError,
                                                       ssl.SSLZeroReturnError))
                        # The fatal alert is still there for drain(); the stdlib
                        # peer understands it.
                        alert = conn.drain()
                        self.assertTrue(alert)
                        peer.feed(alert)
                        with self.assertRaises(ssl.SSLError) as cm:
                            peer.read(100)
                        self.assertIn("BAD_RECORD_MAC", str(cm.exception))
                        # The connection stays failed.
                        with self.assertRaises(ssl.SSLError):
                            conn.write_drain(b"more")
                        with self.assertRaises(ssl.SSLError):
                            conn.feed_read(b"")

    def test_garbage_during_handshake(self):
        # A too-short hello: a fatal decode_error alert (plaintext record).
        for role, server in ROLES:
            with self.subTest(role):
                conn, _ = new_pair(server)
                with conn:
                    hello_type = 0x01 if server else 0x02
                    garbage = b"\x16\x03\x03\x00\x05" + bytes([hello_type, 0, 0, 1, 0])
                    if not server:
                        self.assertEqual(conn.write_drain(b"x")[0], 0)  # ClientHello out
                    with self.assertRaises(ssl.SSLError) as cm:
                        conn.feed_read(garbage)
                    self.assertNotIsInstance(cm.exception, WANT)
                    alert = conn.drain()
                    self.assertEqual(alert[:1], b"\x15")      # alert record
                    self.assertEqual(alert[-2], 2)            # fatal
                    self.assertEqual(alert[-1], 50)           # decode_error

    def test_write_drain_error_leaves_the_alert(self):
        # The error surfaces in write_drain (its write drives the handshake):
        # it raises, and the alert is not swallowed by the batched drain.
        conn = pybio_server().connection()
        with conn:
            garbage = b"\x16\x03\x03\x00\x05\x01\x00\x00\x01\x00"
            self.assertEqual(conn.feed(garbage), len(garbage))
            with self.assertRaises(ssl.SSLError) as cm:
                conn.write_drain(b"x")
            self.assertNotIsInstance(cm.exception, WANT)
            self.assertGreater(conn.pending_out, 0)
            alert = conn.drain()
            self.assertEqual((alert[:1], alert[-2], alert[-1]), (b"\x15", 2, 50))

    def test_write_drain_closed(self):
        for data in (b"x", bytearray(b"x"), memoryview(b"x"), b""):
            with self.subTest(type=type(data).__name__, n=len(data)):
                conn, _ = new_pair(False)
                conn.close()
                with self.assertRaises(ValueError):
                    conn.write_drain(data)

    # Before 6a4f81a this raised TypeError: the C call returned SSLBIO_EINVAL
    # without zeroing *drained, and the stale count made _write_drain_end slice
    # the buffer close() had dropped.
    def test_write_drain_closed_after_data(self):
        conn, _ = established(False)
        taken, ct = conn.write_drain(b"x")
        self.assertEqual(taken, 1)
        self.assertTrue(ct)
        conn.close()
        with self.assertRaises(ValueError):
            conn.write_drain(b"x")

    def test_feed_read_closed(self):
        for is_established in (False, True):
            for size in (100, RECORD):
                with self.subTest(established=is_established, size=size):
                    if is_established:
                        conn, _ = established(False)
                    else:
                        conn, _ = new_pair(False)
                    conn.close()
                    with self.assertRaises(ValueError):
                        conn.feed_read(b"x", size)
                    with self.assertRaises(ValueError):
                        conn.feed_read(b"", size)

    def test_negative_size(self):
        for is_established in (False, True):
            with self.subTest(established=is_established):
                if is_established:
                    conn, peer = established(False)
                    peer.write(b"kept")
                    data = peer.drain()
                else:
                    conn, peer = new_pair(True)
                    data = peer_step(peer)
                with conn:
                    for bad in (-1, -RECORD):
                        with self.assertRaises(ValueError):
                            conn.feed_read(data, bad)
                        with self.assertRaises(ValueError):
                            conn.feed_read(bytearray(data), bad)
                    # Nothing was fed by the refused calls.
                    fed, pt = conn.feed_read(data)
                    self.assertEqual(fed, len(data))
                    self.assertEqual(pt, b"kept" if is_established else None)


class BatchedOverSocket(unittest.TestCase):
    def _echo(self, pybio_is_server: bool, total: int = 256 * 1024):
        ours, theirs = socket.socketpair()
        errors = []
        if pybio_is_server:
            conn = pybio_server().connection()
            args = (stdlib_client(), theirs, False, errors)
        else:
            conn = pybio_client().connection(server_hostname="localhost")
            args = (stdlib_server(), theirs, True, errors)
        t = threading.Thread(target=stdlib_echo, args=args, kwargs={"timeout": 30, "strict_close": True},
                             daemon=True)
        t.start()
        rng = random.Random(256 + pybio_is_server)
        payload = rng.randbytes(total)
        ours.setblocking(False)
        try:
            sent = 0                 # payload bytes taken by write_drain
            wire = bytearray()       # ciphertext not yet sent
            inbox = bytearray()      # ciphertext received, not yet accepted
            got = bytearray()
            blocked = False          # write_drain took nothing: wait for the peer
            closed = False           # the peer's close_notify arrived
            eof = False
            first = None
            shut = False
            read_sizes = random.Random(1024)
            while not closed:
                progress = False
                if not wire:
                    if sent < total and not blocked:
                        n = rng.randint(1, 40000)
                        taken, ct = conn.write_drain(payload[sent:sent + n])
                        if first is None:
                            first = (taken, ct)
                        sent += taken
                        blocked = taken == 0
                        wire += ct
                        progress = bool(taken or ct)
                    elif len(got) == total and not shut:
                        self.assertFalse(conn.shutdown())  # ours out, theirs awaited
                        shut = True
                        progress = True
                    if conn.pending_out:  # after feed_read or shutdown
                        wire += conn.write_drain(b"")[1]
                if wire:
                    try:
                        n = ours.send(wire)
                        del wire[:n]
                        progress = progress or n > 0
                    except BlockingIOError:
                        pass
                while not closed:
                    fed, pt = conn.feed_read(bytes(inbox), read_sizes.choice((1024, 4096, RECORD)))
                    del inbox[:fed]
                    if fed:
                        blocked = False
                        progress = True
                    if pt is None:
                        break
                    if pt == b"":
                        closed = True
                        break
                    got += pt
                    blocked = False
                    progress = True
                if closed or progress:
                    continue
                self.assertFalse(eof, "the peer closed without close_notify")
                r, w, _ = select.select([ours], [ours] if wire else [], [], 30)
                if not r and not w:
                    raise TimeoutError(f"no progress: sent={sent} got={len(got)}")
                if r:
                    data = ours.recv(65536)
                    if not data:
                        eof = True
                    inbox += data
            self.assertEqual(first[0], 0)  # the handshake came first
            if pybio_is_server:
                self.assertEqual(first[1], b"")      # nothing arrived yet
            else:
                self.assertEqual(first[1][5], 0x01)  # the ClientHello
            self.assertEqual(len(got), total)
            self.assertEqual(bytes(got), payload)
            self.assertTrue(shut)
        finally:
            conn.close()
            ours.close()
            t.join(30)
        self.assertFalse(t.is_alive())
        self.assertEqual(errors, [])

    def test_echo_256k(self):
        for role, server in ROLES:
            with self.subTest(role):
                self._echo(server)


if __name__ == "__main__":
    unittest.main()
