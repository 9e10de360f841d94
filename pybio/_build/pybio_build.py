"""A PEP 517/660 build backend for pybio in the standard library alone.

Why not setuptools: building a wheel with setuptools needs the ``wheel``
package, and pip's isolated build would download setuptools -- neither is
possible offline. This backend has no requirements, so ``pip install
./pybio`` works with no index at all. It packs the package's ``*.py``,
``py.typed`` and README into a wheel, with libsslbio inside it unless the
installed pybio will find one elsewhere:

* ``PYBIO_BUNDLE_LIBRARY=/path/to/libsslbio.so``: that library is bundled;
* else, when ``$SSLBIO_LIBRARY`` is set or the system has a libsslbio
  (``ctypes.util.find_library("sslbio")``, e.g. after ``make install``):
  a pure-Python wheel (``py3-none-any``) that loads that one;
* else libsslbio is compiled from the C sources beside this folder
  (``../capi/*.c``, ``../include/sslbio.h``) with the C compiler (``$CC``,
  default ``cc``) and OpenSSL's flags from ``pkg-config --cflags --libs
  libssl libcrypto``, and bundled. No Go toolchain is involved. A missing
  compiler, pkg-config, OpenSSL's development files (libssl-dev) or C
  sources (an sdist or a lone copy of pybio/) fails the build with a message
  naming what is missing. ``$CFLAGS`` and ``$LDFLAGS`` are honoured.

A wheel with the library is tagged for this platform; pybio loads the
bundled copy when ``$SSLBIO_LIBRARY`` is not set. Editable installs never
bundle: they use the repository's build/ like ``PYTHONPATH=.`` does.
"""

from __future__ import annotations

import base64
import glob
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the pybio/ folder
NAME = "pybio"


def _project():
    meta = {"name": NAME, "version": None, "description": "", "requires-python": ">=3.8"}
    with open(os.path.join(SRC, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    try:
        import tomllib
        meta.update(tomllib.loads(text).get("project", {}))
    except ImportError:  # Python < 3.11: the few keys used, by hand
        for key in ("name", "version", "description", "requires-python"):
            m = re.search(rf'^{re.escape(key)}\s*=\s*"([^"]*)"', text, re.M)
            if m:
                meta[key] = m.group(1)
    if not meta["version"]:
        raise RuntimeError("pyproject.toml: [project] version is missing")
    return meta


def _metadata(meta) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {meta['name']}",
        f"Version: {meta['version']}",
        f"Summary: {meta.get('description', '')}",
        f"Requires-Python: {meta.get('requires-python', '')}",
    ]
    readme = os.path.join(SRC, "README.md")
    if os.path.exists(readme):
        lines.append("Description-Content-Type: text/markdown")
        with open(readme, encoding="utf-8") as f:
            return "\n".join(lines) + "\n\n" + f.read()
    return "\n".join(lines) + "\n"


def _dist_info(meta) -> str:
    return f"{meta['name']}-{meta['version']}.dist-info"


def _package_files():
    """(path on disk, path in the wheel) of the package's own files."""
    out = []
    for name in sorted(os.listdir(SRC)):
        full = os.path.join(SRC, name)
        if os.path.isfile(full) and (name.endswith((".py", ".pyi")) or name == "py.typed"):
            out.append((full, f"{NAME}/{name}"))
    return out


class _Wheel:
    def __init__(self, path: str):
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)
        self.records = []

    def add(self, arcname: str, data: bytes) -> None:
        info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zip.writestr(info, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        self.records.append(f"{arcname},sha256={digest},{len(data)}")

    def close(self, dist_info: str) -> None:
        record = f"{dist_info}/RECORD"
        self.records.append(f"{record},,")
        info = zipfile.ZipInfo(record, date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        self.zip.writestr(info, "\n".join(self.records) + "\n")
        self.zip.close()


def _tag(bundled: bool) -> str:
    if not bundled:
        return "py3-none-any"
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return f"py3-none-{plat}"


def _write_dist_info(wheel: _Wheel, meta, tag: str) -> None:
    di = _dist_info(meta)
    wheel.add(f"{di}/METADATA", _metadata(meta).encode())
    wheel.add(f"{di}/WHEEL", (
        "Wheel-Version: 1.0\nGenerator: pybio_build\n"
        f"Root-Is-Purelib: {'true' if tag.endswith('any') else 'false'}\nTag: {tag}\n").encode())
    wheel.add(f"{di}/top_level.txt", f"{NAME}\n".encode())


class BuildError(RuntimeError):
    """The wheel cannot be built; the message names what is missing."""


def _run(argv, what: str) -> str:
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode != 0:
        out = (r.stderr or r.stdout).strip()
        raise BuildError(f"pybio: {what} failed ({shlex.join(argv[:1])} exited "
                         f"{r.returncode}):\n{out[-4000:]}")
    return r.stdout


def compile_library(out_dir: str) -> str:
    """Compile ../capi/*.c into out_dir/libsslbio.so with the C compiler and
    OpenSSL's pkg-config flags; returns its path."""
    root = os.path.dirname(SRC)
    capi, include = os.path.join(root, "capi"), os.path.join(root, "include")
    sources = sorted(glob.glob(os.path.join(capi, "*.c")))
    header = os.path.join(include, "sslbio.h")
    if not sources or not os.path.exists(header):
        raise BuildError(
            "pybio: no libsslbio to bundle, and the C sources to compile one are not beside "
            f"this pybio folder ({SRC}): expected {capi}/*.c and {header}. An sdist or a "
            "copy of pybio/ alone has none. Install from the sslbio repository (pip install "
            "./pybio there), bundle a built library (PYBIO_BUNDLE_LIBRARY=/abs/path/"
            "libsslbio.so), or install libsslbio where the system finds it (make install) "
            "or set SSLBIO_LIBRARY, for a pure-Python wheel.")
    cc = shlex.split(os.environ.get("CC") or "cc")
    if not cc or shutil.which(cc[0]) is None:
        raise BuildError(
            f"pybio: cannot compile libsslbio: no C compiler ({' '.join(cc) or 'CC'!r} not found "
            "on PATH). Install one (Debian/Ubuntu: apt-get install gcc) or set CC.")
    pkg_config = os.environ.get("PKG_CONFIG") or "pkg-config"
    if shutil.which(pkg_config) is None:
        raise BuildError(
            f"pybio: cannot compile libsslbio: {pkg_config!r} not found on PATH (it gives "
            "OpenSSL's flags). Install it (Debian/Ubuntu: apt-get install pkg-config "
            "libssl-dev) or set PKG_CONFIG.")
    probe = subprocess.run([pkg_config, "--exists", "--print-errors", "libssl", "libcrypto"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        raise BuildError(
            "pybio: cannot compile libsslbio: pkg-config cannot find libssl/libcrypto, "
            "OpenSSL's development files. Install libssl-dev (Debian/Ubuntu) or "
            "openssl-devel (Fedora/RHEL), or point PKG_CONFIG_PATH at libssl.pc. "
            f"pkg-config said: {probe.stderr.strip()}")
    cflags = shlex.split(_run([pkg_config, "--cflags", "libssl", "libcrypto"], "pkg-config"))
    libs = shlex.split(_run([pkg_config, "--libs", "libssl", "libcrypto"], "pkg-config"))
    with open(header, encoding="utf-8") as f:
        abi = re.search(r"#define SSLBIO_ABI_VERSION (\d+)", f.read())
    link = []
    if sys.platform.startswith("linux"):  # as the Makefile links it
        link = [f"-Wl,-soname,libsslbio.so.{abi.group(1) if abi else 1}",
                "-Wl,--version-script=" + os.path.join(capi, "sslbio.map"), "-Wl,--no-undefined"]
    out = os.path.join(out_dir, "libsslbio.so")
    argv = (cc + ["-O2", "-std=gnu11", "-fPIC", "-fvisibility=hidden", "-shared", "-I", include]
            + shlex.split(os.environ.get("CFLAGS", "")) + cflags + sources + ["-o", out] + link
            + shlex.split(os.environ.get("LDFLAGS", "")) + libs + ["-lpthread"])
    print(f"pybio: compiling libsslbio: {shlex.join(argv)}", file=sys.stderr)
    _run(argv, "compiling libsslbio")
    return out


def _library_to_bundle(workdir: str):
    """The libsslbio.so to put in the wheel, or None for a pure wheel (see
    the module docstring)."""
    bundle = os.environ.get("PYBIO_BUNDLE_LIBRARY") or None
    if bundle:
        if not os.path.isabs(bundle):
            raise BuildError("PYBIO_BUNDLE_LIBRARY must be an absolute path "
                             "(the build runs in a directory of pip's choosing)")
        return bundle
    if os.environ.get("SSLBIO_LIBRARY"):
        return None
    import ctypes.util
    if ctypes.util.find_library("sslbio"):
        return None
    return compile_library(workdir)


def _build(wheel_directory: str, editable: bool) -> str:
    with tempfile.TemporaryDirectory(prefix="pybio-build-") as workdir:
        bundle = None if editable else _library_to_bundle(workdir)
        return _write_wheel(wheel_directory, editable, bundle)


def _write_wheel(wheel_directory: str, editable: bool, bundle) -> str:
    meta = _project()
    tag = _tag(bool(bundle))
    filename = f"{meta['name']}-{meta['version']}-{tag}.whl"
    wheel = _Wheel(os.path.join(wheel_directory, filename))
    if editable:
        # The folder that holds pybio/ goes on sys.path.
        wheel.add(f"__editable__.{NAME}.pth", (os.path.dirname(SRC) + "\n").encode())
    else:
        for full, arcname in _package_files():
            with open(full, "rb") as f:
                wheel.add(arcname, f.read())
        if bundle:
            with open(bundle, "rb") as f:
                wheel.add(f"{NAME}/libsslbio.so", f.read())
    _write_dist_info(wheel, meta, tag)
    wheel.close(_dist_info(meta))
    return filename


# ---- PEP 517 / PEP 660 hooks -------------------------------------------------

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    meta = _project()
    di = os.path.join(metadata_directory, _dist_info(meta))
    os.makedirs(di, exist_ok=True)
    with open(os.path.join(di, "METADATA"), "w", encoding="utf-8") as f:
        f.write(_metadata(meta))
    return _dist_info(meta)


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _build(wheel_directory, editable=False)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _build(wheel_directory, editable=True)


def build_sdist(sdist_directory, config_settings=None):
    import tarfile

    meta = _project()
    base = f"{meta['name']}-{meta['version']}"
    path = os.path.join(sdist_directory, base + ".tar.gz")
    with tarfile.open(path, "w:gz") as tar:
        for name in ("pyproject.toml", "README.md"):
            full = os.path.join(SRC, name)
            if os.path.exists(full):
                tar.add(full, f"{base}/{name}")
        for full, arcname in _package_files():
            tar.add(full, f"{base}/{os.path.basename(arcname)}")
        tar.add(os.path.abspath(__file__), f"{base}/_build/{os.path.basename(__file__)}")
        pkg_info = tarfile.TarInfo(f"{base}/PKG-INFO")
        data = _metadata(meta).encode()
        pkg_info.size = len(data)
        import io
        tar.addfile(pkg_info, io.BytesIO(data))
    return os.path.basename(path)
