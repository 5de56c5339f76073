"""Runs the `>>>` examples in critcore's docstrings, so the documented usage stays true.
Modules are found by walking the package; a module without examples simply has none to run."""
import doctest
import importlib
import pkgutil

import pytest

import critcore

MODULES = sorted(m.name for m in pkgutil.walk_packages(critcore.__path__, "critcore.")
                 if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
