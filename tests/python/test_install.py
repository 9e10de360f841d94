"""pip installs ./pybio offline (no index: the build backend is the stdlib
alone). The installed copy finds the library through $SSLBIO_LIBRARY, a copy
bundled at build time, or -- when neither that nor a system library is
there -- one the backend compiled from ../capi with the C compiler, with no
Go toolchain on PATH. A build that cannot compile says what is missing."""

from __future__ import annotations

import ctypes.util
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


class InstallCase(unittest.TestCase):
    """pip install into a temporary --target, and the smoke test run there."""

    def setUp(self):
        if not pip_available():
            self.skipTest("pip not available")
        self.tmp = tempfile.mkdtemp(prefix="pybio-pip-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def install(self, target, env_extra=None, source=None, env=None, ok=True):
        env = dict(env if env is not None else os.environ, PIP_NO_INDEX="1",
                   PIP_DISABLE_PIP_VERSION_CHECK="1", **(env_extra or {}))
        env.pop("PYTHONPATH", None)
        r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index",
                            "--no-build-isolation", "--quiet", "--target", target,
                            source or os.path.join(ROOT, "pybio")],
                           capture_output=True, text=True, env=env, timeout=180, cwd=self.tmp)
        if ok:
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def run_smoke(self, target, env_extra, env=None):
        env = {k: v for k, v in (env if env is not None else os.environ).items()
               if k not in ("SSLBIO_LIBRARY", "PYTHONPATH")}
        env.update(env_extra, PYTHONPATH=target)
        r = subprocess.run([sys.executable, "-c", SMOKE], capture_output=True, text=True,
                           env=env, timeout=60, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.split()


class PipInstall(InstallCase):
    def test_install_with_env_library(self):
        # $SSLBIO_LIBRARY at build time: a pure wheel that loads that library.
        target = os.path.join(self.tmp, "site")
        self.install(target, {"SSLBIO_LIBRARY": pybio.LIBRARY_PATH})
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


def path_without_go() -> str:
    """$PATH less every directory holding a `go` or named go."""
    keep = [d for d in os.environ.get("PATH", "").split(os.pathsep)
            if d and not os.path.exists(os.path.join(d, "go")) and "go" not in d.split(os.sep)]
    return os.pathsep.join(keep)


def env_without_go() -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("SSLBIO_LIBRARY", "PYBIO_BUNDLE_LIBRARY", "PYTHONPATH", "GOROOT",
                        "GOPATH", "GOFLAGS", "CC", "PKG_CONFIG")}
    env["PATH"] = path_without_go()
    return env


def copy_sources(dest: str, with_c: bool = True) -> str:
    """pybio/ (and capi/, include/ with with_c) copied to dest, with no build/
    beside them; returns the copy of pybio/."""
    skip = shutil.ignore_patterns("__pycache__", "*.so", "*.o")
    for part in ("pybio", "capi", "include") if with_c else ("pybio",):
        shutil.copytree(os.path.join(ROOT, part), os.path.join(dest, part), ignore=skip)
    return os.path.join(dest, "pybio")


@unittest.skipUnless(shutil.which("cc") and shutil.which("pkg-config"), "cc or pkg-config missing")
class CompiledAtInstall(InstallCase):
    """No library anywhere: pip's build compiles ../capi with cc."""

    def setUp(self):
        if ctypes.util.find_library("sslbio"):
            self.skipTest("a system libsslbio is installed: the wheel would use it")
        super().setUp()

    def test_pip_install_compiles_libsslbio_without_go(self):
        env = env_without_go()
        self.assertIsNone(shutil.which("go", path=env["PATH"]))
        source = copy_sources(os.path.join(self.tmp, "repo"))
        target = os.path.join(self.tmp, "site")
        self.install(target, source=source, env=env)
        bundled = os.path.join(target, "pybio", "libsslbio.so")
        self.assertTrue(os.path.exists(bundled))
        with open(os.path.join(target, "pybio-0.1.0.dist-info", "WHEEL")) as f:
            wheel = f.read()
        self.assertIn("Root-Is-Purelib: false", wheel)
        self.assertNotIn("none-any", wheel)  # tagged for this platform
        init, lib, text = self.run_smoke(target, {}, env=env)
        self.assertEqual(init, os.path.join(target, "pybio", "__init__.py"))
        self.assertEqual(lib, bundled)
        self.assertEqual(text, "installed")

    def build(self, source, env_extra):
        """Call the backend's build_wheel as pip does; returns (code, output)."""
        out = os.path.join(self.tmp, "wheels")
        os.makedirs(out, exist_ok=True)
        code = (f"import sys; sys.path.insert(0, {os.path.join(source, '_build')!r}); "
                f"import pybio_build; pybio_build.build_wheel({out!r})")
        env = env_without_go()
        env.update(env_extra)
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=env, timeout=120, cwd=self.tmp)
        return r.returncode, r.stdout + r.stderr

    def test_missing_parts_are_named(self):
        source = copy_sources(os.path.join(self.tmp, "repo"))
        cases = {
            "no compiler": ({"CC": "/nonexistent/cc"}, "no C compiler"),
            "no pkg-config": ({"PKG_CONFIG": "/nonexistent/pkg-config"}, "pkg-config"),
            "no libssl-dev": ({"PKG_CONFIG_LIBDIR": os.path.join(self.tmp, "empty"),
                               "PKG_CONFIG_PATH": ""}, "libssl-dev"),
        }
        for what, (env_extra, words) in cases.items():
            with self.subTest(what):
                code, out = self.build(source, env_extra)
                self.assertNotEqual(code, 0)
                self.assertIn("BuildError", out)
                self.assertIn(words, out)

    def test_pybio_alone_says_the_sources_are_missing(self):
        # An sdist or a copy of pybio/ without ../capi: a clear error, through pip too.
        source = copy_sources(os.path.join(self.tmp, "alone"), with_c=False)
        code, out = self.build(source, {})
        self.assertNotEqual(code, 0)
        for words in ("capi", "PYBIO_BUNDLE_LIBRARY", "SSLBIO_LIBRARY"):
            self.assertIn(words, out)
        r = self.install(os.path.join(self.tmp, "site"), source=source, env=env_without_go(),
                         ok=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("C sources", r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
