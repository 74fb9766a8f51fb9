"""The anthropic SDK's own memory tool tests, fetched from its source distribution at test time.

Other projects' code is never copied into this repository. The SDK's tests for its local
filesystem memory tool ship in its sdist (``tests/lib/tools/memory_tools/test_filesystem.py``),
so this module downloads the sdist of the *installed* anthropic version with pip, extracts that
one file into a cache below ``.pytest_cache`` (ignored by git) and imports it. Later runs use
the cached file; a new SDK version gets its own.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from types import ModuleType

__all__ = ["SDK_TEST_FILE", "load_sdk_memory_tool_tests", "sdk_version"]

SDK_TEST_FILE = "tests/lib/tools/memory_tools/test_filesystem.py"
_CACHE = Path(__file__).resolve().parents[2] / ".pytest_cache" / "d" / "anthropic-sdk-tests"


def sdk_version() -> str:
    return importlib.metadata.version("anthropic")


def fetch_sdk_test_file(version: str, cache: Path = _CACHE) -> Path:
    """The SDK's memory tool test file for ``version``, downloaded once and cached."""
    target = cache / version / "test_filesystem.py"
    if target.exists():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            *(sys.executable, "-m", "pip", "download", f"anthropic=={version}"),
            *("--no-binary", ":all:", "--no-deps", "--dest", tmp),
            *("--quiet", "--disable-pip-version-check"),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        archives = list(Path(tmp).glob("anthropic-*.tar.gz"))
        if done.returncode != 0 or not archives:
            raise RuntimeError(
                f"could not download the anthropic {version} sdist for its memory tool tests "
                f"(pip exit {done.returncode}): {done.stderr.strip()[-2000:]}"
            )
        with tarfile.open(archives[0]) as archive:
            # Read the one member; nothing else from the archive touches the disk.
            member = next(m for m in archive.getmembers() if m.name.endswith("/" + SDK_TEST_FILE))
            extracted = archive.extractfile(member)
            assert extracted is not None, member.name
            data = extracted.read()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.part")
    partial.write_bytes(data)
    partial.replace(target)  # atomic: a concurrent run never imports half a file
    return target


def load_sdk_memory_tool_tests() -> ModuleType:
    """Import the SDK's test file (unmodified) as a module."""
    version = sdk_version()
    path = fetch_sdk_test_file(version)
    name = f"anthropic_sdk_memory_tool_tests_{version.replace('.', '_')}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
