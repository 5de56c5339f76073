"""critcore.pretty.jsonout against json.dumps(indent=4), crit's own writer, on the shapes its
fast paths take and on strings built to look like the separators those paths rewrite."""
import json

import pytest

from critcore.pretty import jsonout

# Lists of non-empty scalar dicts: the C-encoder path (pagemap entries, VMAs).
LEAF_LISTS = [
    [{"a": 1}, {"b": 2}],
    [{"a": 1, "b": None, "c": 1.5, "d": True, "e": "\u00e9{\"}"}] * 3,
    [{"{": "}"}, {"}": "{"}],  # a key or value ending in '{' right before its quote
    [{"x": "}", "y": "{"}, {"}": "},", "{": ",{"}],
    [{"a": "},\n{"}, {"b": "{\"a\": 1}"}],  # a raw newline in a string is escaped
    [{"a": "},\n        {"}, {"b": "x"}],
    [{"k": float("nan")}, {"k": -0.0}, {"k": float("inf")}, {"k": 1e300}],
    [{1: 2}, {"x": 3}],  # non-string keys are converted as json does
    [{"vaddr": "0x7f0000001000", "flags": "PE_PRESENT", "nr_pages": 1}] * 4,
]
# Lists the fast path must leave to the general writer.
OTHER_LISTS = [
    [{"a": 1}, {}],
    [{"a": [1]}, {"b": 2}],
    [{"a": 1}, {"a": {"b": 1}}],
    [{"a": 1}, 5],
    [{"a": 1}],
]


@pytest.mark.parametrize("items", LEAF_LISTS)
def test_leaf_dict_lists_take_the_c_path(items):
    assert jsonout._leaf_dicts(items, 0, {}) is not None


@pytest.mark.parametrize("items", OTHER_LISTS)
def test_other_lists_fall_back(items):
    if len(items) > 1:
        assert jsonout._leaf_dicts(items, 0, {}) is None


@pytest.mark.parametrize("items", LEAF_LISTS + OTHER_LISTS)
def test_indented_matches_json_at_every_depth(items):
    for doc in (items, [items], {"x": {"y": items}}, {"entries": [{"vmas": items, "n": 1}]}):
        assert jsonout.render(doc, True) == json.dumps(doc, indent=4)
        assert jsonout.render(doc, False) == json.dumps(doc)
