"""pybio's status codes and kinds of failure are the header's tables:
SSLBIO_STATUS_TABLE and SSLBIO_KIND_TABLE of include/sslbio.h, parsed here,
against what pybio read from the library at import (sslbio_strstatus /
sslbio_strkind), row by row, names and values."""

from __future__ import annotations

import os
import re
import unittest

from support import ROOT

import pybio
from pybio import _lib

HEADER = os.path.join(ROOT, "include", "sslbio.h")
ROW = re.compile(r'X\(\s*(\w+)\s*,\s*(-?\d+)\s*,\s*"([^"]*)"\s*\)')


def header_table(macro: str):
    """[(NAME, value, text)] of one X-macro table of the header."""
    with open(HEADER) as f:
        text = f.read()
    m = re.search(r"#define\s+" + macro + r"\(X\)(.*?)(?:\n\s*\n|\n#)", text, flags=re.S)
    if m is None:
        raise AssertionError(f"{macro} not found in {HEADER}")
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    rows = [(name, int(value), words) for name, value, words in ROW.findall(body)]
    if not rows:
        raise AssertionError(f"{macro}: no rows parsed")
    return rows


class StatusTable(unittest.TestCase):
    def setUp(self):
        self.rows = header_table("SSLBIO_STATUS_TABLE")

    def test_pybio_statuses_are_the_header_rows(self):
        self.assertEqual(_lib.STATUS, {name: value for name, value, _ in self.rows})
        for name, value, _ in self.rows:
            self.assertEqual(getattr(_lib, name), value, name)

    def test_strstatus_of_every_row(self):
        for name, value, _ in self.rows:
            self.assertEqual(_lib.strstatus(value).decode(), "SSLBIO_" + name)
        values = [v for _, v, _ in self.rows]
        for outside in (min(values) - 1, max(values) + 1, -1000, 1000):
            self.assertEqual(_lib.strstatus(outside).decode(), "unknown status")

    def test_the_values_pybio_relies_on(self):
        # Counts are >= 0, so every status but OK must be negative.
        for name, value, _ in self.rows:
            self.assertEqual(value == 0, name == "OK", name)
        self.assertEqual(pybio.SSLError.status, _lib.ERROR)
        self.assertEqual(pybio.SSLWantReadError.status, _lib.WANT_READ)


class KindTable(unittest.TestCase):
    def setUp(self):
        self.rows = header_table("SSLBIO_KIND_TABLE")

    def test_pybio_kinds_are_the_header_rows(self):
        self.assertEqual(_lib.KINDS, {value: words for _, value, words in self.rows})
        self.assertEqual(_lib.KIND, {words: value for _, value, words in self.rows})

    def test_strkind_of_every_row(self):
        for _, value, words in self.rows:
            self.assertEqual(_lib.strkind(value).decode(), words)
        values = [v for _, v, _ in self.rows]
        for outside in (min(values) - 1, max(values) + 1, 1000):
            self.assertEqual(_lib.strkind(outside).decode(), "unknown kind")

    def test_exception_kinds_are_library_names(self):
        for cls in (pybio.SSLWantReadError, pybio.SSLWantWriteError, pybio.SSLZeroReturnError):
            self.assertIn(cls.kind, _lib.KIND, cls)


class MissingRows(unittest.TestCase):
    """A library whose tables lack what pybio acts on is refused at import,
    with the missing names in the message."""

    def test_missing_status(self):
        def strstatus(v):
            return b"unknown status" if v == _lib.WANT_WRITE else _lib.strstatus(v)
        with self.assertRaises(ImportError) as cm:
            _lib.read_tables(strstatus, None)
        self.assertIn("WANT_WRITE", str(cm.exception))
        self.assertIn("status", str(cm.exception))

    def test_missing_kind(self):
        def strkind(k):
            return b"unknown kind" if k == _lib.KIND["verify"] else _lib.strkind(k)
        with self.assertRaises(ImportError) as cm:
            _lib.read_tables(None, strkind)
        self.assertIn("'verify'", str(cm.exception))

    def test_extra_rows_are_read_too(self):
        def strstatus(v):
            return b"SSLBIO_EXTRA" if v == -42 else _lib.strstatus(v)
        status, kinds = _lib.read_tables(strstatus, None)
        self.assertEqual(status["EXTRA"], -42)
        self.assertEqual(kinds, _lib.KINDS)


if __name__ == "__main__":
    unittest.main()
