"""Every Python snippet of README.md runs on its own, as a reader would paste it.

A snippet that defines ``test_`` functions is run by pytest (with the jobyard plugin). Any other runs as a
script in a fresh interpreter, in an empty directory, with no AWS settings in its environment; where it names
the documented endpoint (``http://127.0.0.1:4600``, where ``jobyard serve`` listens) it talks to a fresh
server of this test's own instead.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jobyard.testing import serve

README = Path(__file__).resolve().parent.parent / "README.md"
ENDPOINT = "http://127.0.0.1:4600"
_FENCE = re.compile(r"^( *)```python\n(.*?)^\1```", re.M | re.S)


def snippets() -> list[tuple[int, str]]:
    text = README.read_text()
    return [(text.count("\n", 0, m.start()) + 1, textwrap.dedent(m.group(2))) for m in _FENCE.finditer(text)]


def clean_environment() -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "JOBYARD_")) and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    return env


def plugin_args() -> list[str]:
    from importlib.metadata import entry_points

    installed = any(ep.value == "jobyard.pytest_plugin" for ep in entry_points(group="pytest11"))
    return [] if installed else ["-p", "jobyard.pytest_plugin"]


def test_the_readme_has_its_snippets():
    found = snippets()
    assert len(found) >= 12, len(found)
    assert any("def test_" in code for _, code in found)   # the pytest section comes first
    assert "def test_" in found[0][1]


@pytest.mark.parametrize("line, code", snippets(), ids=[f"line-{line}" for line, _ in snippets()])
def test_snippet_runs_on_its_own(line, code, tmp_path):
    env = clean_environment()
    if re.search(r"^def test_", code, re.M):
        (tmp_path / "test_snippet.py").write_text(code)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin_args(), "test_snippet.py"]
        done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"README.md line {line}:\n{done.stdout}\n{done.stderr}"
        assert re.search(r"\b\d+ passed\b", done.stdout) and "failed" not in done.stdout, done.stdout
        return
    if ENDPOINT not in code:
        server = None
    else:
        server = serve()
        code = code.replace(ENDPOINT, server.__enter__().url)
    try:
        done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)
    finally:
        if server is not None:
            server.__exit__(None, None, None)
    assert done.returncode == 0, f"README.md line {line}:\n{done.stdout}\n{done.stderr}"
