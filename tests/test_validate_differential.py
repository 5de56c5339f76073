"""Differential test: the encoder's own checks and the generated JSON Schema (plus checks.py) must
accept and reject the same documents: decoded corpus JSON, hand-made invalid ones, mutations."""
from __future__ import annotations

import copy
import json
import os
import random

import pytest

import critcore
from critcore.errors import CritError
from critcore.message import RESERVED_KEY
from critcore.validate import Validator

from conftest import DATA, DATA_IMAGES, SHARED_CORPUS, SHARED_IMAGES, image_base
import test_validate_invalid as invalid

MUTATIONS = int(os.environ.get("CRITCORE_DIFF_MUTATIONS", "1000"))


def encoder_accepts(doc) -> bool:
    try:
        critcore.dumps(doc)
        return True
    except CritError:
        return False


def schema_errors(doc, full=True):
    return Validator.of().errors(doc, limit=10 ** 6, full=full)


def golden_docs(root, pairs):
    """(name, document) of every golden JSON, plain and pretty (identical texts once)."""
    seen = set()
    for scen, name in pairs:
        for suffix in (".json", ".pretty.json"):
            text = (root / scen / "golden" / (image_base(name) + suffix)).read_bytes()
            if text not in seen:
                seen.add(text)
                yield "%s/%s%s" % (scen, name, suffix), json.loads(text)


def _agree(docs):
    checked, disagree = 0, []
    for what, doc in docs:
        ok, errors = encoder_accepts(doc), schema_errors(doc)
        checked += 1
        if ok != (not errors):
            disagree.append((what, ok, [str(e) for e in errors[:3]]))
    return checked, disagree


def test_bundled_corpus_json_is_valid_for_both():
    checked, disagree = _agree(golden_docs(DATA, DATA_IMAGES))
    assert checked > 100
    assert disagree == []


@pytest.mark.skipif(SHARED_CORPUS is None, reason="../shared/corpus not present")
def test_shared_corpus_json_is_valid_for_both():
    checked, disagree = _agree(golden_docs(SHARED_CORPUS, SHARED_IMAGES))
    assert checked > len(SHARED_IMAGES)
    assert disagree == []


@pytest.mark.parametrize("name", [n for n, _ in invalid.CASES])
def test_invalid_documents_are_rejected_by_both(name):
    doc, expected = dict(invalid.CASES)[name]()
    assert not encoder_accepts(doc)
    full = schema_errors(doc)
    assert sorted(map(str, full)) == sorted(map(str, schema_errors(doc, full=False)))
    assert {e.path for e in full} == {p for p, _ in expected}


# ---------------------------------------------------------------- seeded mutations

VALUES = [
    None, True, False, 0, -1, 1, 1.5, 1.0, -0.0, 2 ** 31, 2 ** 32, 2 ** 32 - 1, 2 ** 63,
    2 ** 64, 2 ** 64 - 1, -2 ** 63 - 1, 65535, 65536, 1e300, float("inf"), "", " ", "0x10",
    "0X1F", "0x", "0x-1", "-0x1", "-1", "007", "1e3", " 1", "1\n", "0x10\n", "abc", "+1", "1_0",
    "0b1", "\u0663", "PROT_READ", "PROT_READ | PROT_WRITE", "PROT_READ | PROT_BANANA",
    "PROT_READ|0x100000000", "PROT_READ |", " | ", "MAP_PRIVATE | MAP_ANON | 0x8", "8:1", "8:",
    "4096:1", "4095:1048575", "4095:1048576", "08:01", "0x801", "1.2.3.4", "::1", "1.2.3.4.5",
    "fe80::1%eth0", "::ffff:1.2.3.4", "01.2.3.4", "AAAA", "AA==", "A===", "AAAA\n", "AA=\n=",
    "AB==CD==", "ABCD=", "\udc80", "\ud800", "\u00e9", "UNIX", "INET6", "ESTABLISHED", "Alive",
    "Zombie", "TCP", "X86_64", "REG", [], {}, [1], ["1.2.3.4"], ["1.2.3.4", 1], ["::1"],
    [1, 2, 3, 4], ["0x10"], [1, "0x10"], [{}], {"unknown": [[99, 0, 1]]},
    {"unknown": [[1, 0, 1]]}, {"unknown": [[99, 2, "aGk=\n"]]}, {"unknown": [[99, 2, "!"]]},
    {"unknown": [[99, 5, 2 ** 32]]}, {"unknown": [[99, True, 1]]}, {"unknown": [[99.0, 1.0, 1.0]]},
    {"packed": ["x"]}, {"unpacked": []}, {"zzz": 1}, {"unknown": [[2 ** 29, 0, 1]]},
]
KEYS = ["extra", "zz", RESERVED_KEY, "in_pagemaps", "chunks", "magic", "entries"]


def _nodes(x, path=()):
    yield path
    if isinstance(x, dict):
        for k, y in x.items():
            yield from _nodes(y, path + (k,))
    elif isinstance(x, list):
        for i, y in enumerate(x):
            yield from _nodes(y, path + (i,))


def _near(rng, cur):
    """A value close to `cur`: often still valid, so both sides get to accept too."""
    if type(cur) is int:
        return rng.choice([cur + 1, cur - 1, -cur, hex(cur) if cur >= 0 else "0x-%x" % -cur,
                           str(cur), float(cur), cur * 2 ** 32, "%#X" % cur])
    if type(cur) is str:
        return rng.choice([cur + "x", cur[:-1], cur.upper(), cur.lower(), cur + "\n", " " + cur,
                           cur.replace(" ", ""), cur + cur, cur.replace("\n", "")])
    return rng.choice(VALUES)


def mutate(rng, doc):
    doc = copy.deepcopy(doc)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        path = rng.choice(list(_nodes(doc)))
        if not path:
            continue
        parent = doc
        for p in path[:-1]:
            parent = parent[p]
        key, r = path[-1], rng.random()
        cur = parent[key]
        if r < 0.4:
            parent[key] = copy.deepcopy(rng.choice(VALUES))
        elif r < 0.6:
            parent[key] = _near(rng, cur)
        elif r < 0.75:
            del parent[key]
        elif r < 0.8 and isinstance(parent, list):
            parent.append(copy.deepcopy(cur))
        elif isinstance(cur, dict):
            cur[rng.choice(KEYS)] = copy.deepcopy(rng.choice(VALUES))
        elif isinstance(parent, dict):
            parent[rng.choice(KEYS)] = copy.deepcopy(rng.choice(VALUES))
    return doc


def small_docs():
    docs = []
    for what, doc in golden_docs(DATA, DATA_IMAGES):
        if len(json.dumps(doc)) < 20000:
            docs.append((what, doc))
    return docs


def test_seeded_mutations_agree():
    rng = random.Random(4)
    docs = small_docs()
    counts = {"accepted": 0, "rejected": 0}
    disagree = []
    for n in range(MUTATIONS):
        what, doc = rng.choice(docs)
        m = mutate(rng, doc)
        ok = encoder_accepts(m)
        full = schema_errors(m)
        counts["accepted" if ok else "rejected"] += 1
        if ok != (not full):
            disagree.append((n, what, ok, [str(e) for e in full[:3]]))
        elif not ok and n % 5 == 0:
            # jsonschema over only what the encoder rejects finds the same errors.
            assert sorted(map(str, full)) == sorted(map(str, schema_errors(m, full=False)))
    assert disagree == []
    assert counts["accepted"] > MUTATIONS // 10 and counts["rejected"] > MUTATIONS // 2
