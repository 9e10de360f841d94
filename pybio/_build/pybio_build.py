"""A PEP 517/660 build backend for pybio in the standard library alone.

Why not setuptools: building a wheel with setuptools needs the ``wheel``
package, and pip's isolated build would download setuptools -- neither is
possible offline. This backend has no requirements, so ``pip install
./pybio`` works with no index at all. It packs the package's ``*.py``,
``py.typed`` and README into a pure-Python wheel (``py3-none-any``).

Set ``PYBIO_BUNDLE_LIBRARY=/path/to/libsslbio.so`` while building to put the
library inside the wheel (then tagged for this platform); pybio loads such
a bundled copy when ``$SSLBIO_LIBRARY`` is not set.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import sysconfig
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


def _build(wheel_directory: str, editable: bool) -> str:
    meta = _project()
    bundle = None if editable else os.environ.get("PYBIO_BUNDLE_LIBRARY") or None
    if bundle and not os.path.isabs(bundle):
        raise RuntimeError("PYBIO_BUNDLE_LIBRARY must be an absolute path "
                           "(the build runs in a directory of pip's choosing)")
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
