"""Runs ../shared/tools/corpus-check over the whole shared CRIU corpus, when it is present;
every decode/show/nopl/info/recode/x/errors check there must pass."""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import CORPUS_CHECK, REPO, SHARED_CORPUS


@pytest.mark.skipif(SHARED_CORPUS is None or not CORPUS_CHECK.is_file(),
                    reason="../shared/corpus or ../shared/tools/corpus-check not present")
def test_corpus_check_passes():
    # sys.executable is the interpreter running pytest (the venv's python3), so
    # corpus-check sees the same installed dependencies; it imports critcore from cwd.
    proc = subprocess.run([sys.executable, str(CORPUS_CHECK), "-v"], cwd=str(REPO),
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600)
    lines = proc.stdout.strip().splitlines()
    tail = "\n".join(lines[-60:])
    status, last = proc.returncode, (lines[-1] if lines else "")
    assert status == 0, tail
    assert last.endswith(" 0 failed"), tail
