"""pip installs ./pybio offline (no index: the build backend is the stdlib
alone), and the installed copy finds the library through $SSLBIO_LIBRARY or
a copy bundled at build time."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from support import CA, ROOT, SERVER_CERT, SERVER_KEY

import pybio

SMOKE = f"""
import pybio, ssl
s = pybio.Context(pybio.SERVER); s.load_cert_chain({SERVER_CERT!r}, {SERVER_KEY!r})
c = pybio.Context(pybio.CLIENT); c.load_verify_locations({CA!r})
a, b = c.connection(server_hostname="localhost"), s.connection()
for _ in range(5):
    for x in (a, b):
        try:
            x.do_handshake()
        except ssl.SSLWantReadError:
            pass
    b.feed(a.drain()); a.feed(b.drain())
a.write(b"installed"); b.feed(a.drain())
print(pybio.__file__, pybio.LIBRARY_PATH, b.read().decode())
"""


def pip_available():
    return subprocess.run([sys.executable, "-m", "pip", "--version"],
                          capture_output=True).returncode == 0


@unittest.skipUnless(pip_available(), "pip not available")
class PipInstall(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pybio-pip-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def install(self, target, env_extra=None):
        env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
                   **(env_extra or {}))
        env.pop("PYTHONPATH", None)
        r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--quiet",
                            "--target", target, os.path.join(ROOT, "pybio")],
                           capture_output=True, text=True, env=env, timeout=180, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def run_smoke(self, target, env_extra):
        env = {k: v for k, v in os.environ.items() if k not in ("SSLBIO_LIBRARY", "PYTHONPATH")}
        env.update(env_extra, PYTHONPATH=target)
        r = subprocess.run([sys.executable, "-c", SMOKE], capture_output=True, text=True,
                           env=env, timeout=60, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.split()

    def test_install_with_env_library(self):
        target = os.path.join(self.tmp, "site")
        self.install(target)
        self.assertTrue(os.path.exists(os.path.join(target, "pybio", "py.typed")))
        self.assertFalse(os.path.exists(os.path.join(target, "pybio", "libsslbio.so")))
        init, lib, text = self.run_smoke(target, {"SSLBIO_LIBRARY": pybio.LIBRARY_PATH})
        self.assertEqual(init, os.path.join(target, "pybio", "__init__.py"))
        self.assertEqual(lib, pybio.LIBRARY_PATH)
        self.assertEqual(text, "installed")

    def test_install_with_bundled_library(self):
        target = os.path.join(self.tmp, "site")
        self.install(target, {"PYBIO_BUNDLE_LIBRARY": os.path.abspath(pybio.LIBRARY_PATH)})
        bundled = os.path.join(target, "pybio", "libsslbio.so")
        self.assertTrue(os.path.exists(bundled))
        init, lib, text = self.run_smoke(target, {})
        self.assertEqual(lib, bundled)
        self.assertEqual(text, "installed")


if __name__ == "__main__":
    unittest.main()
