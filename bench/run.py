"""Benchmark critcore against crit: generate large mm/pagemap images from a real checkpoint,
time whole CLI processes (best of N) for both tools, check outputs, print a PASS/FAIL table."""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, List, Optional

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "08-bigmem-many-vmas"
PAGE = 4096
N_VMAS = 50_000          # VMAs in the single mm entry
N_PAGEMAP = 200_000      # pagemap entries after the pagemap head (what `info` counts)
JSON_KINDS = (("plain", [], ".json"), ("pretty", ["--pretty"], ".pretty.json"))

sys.path.insert(0, str(REPO))  # generate with the checkout's critcore, as the timed runs do
import critcore  # noqa: E402


# ---------------------------------------------------------------- generation

def copy_shifts(span: int, seed: int) -> Iterator[int]:
    """Endless, seeded downward shifts: copy k sits below copy k-1 with a random page gap."""
    rng = random.Random(seed)
    shift = 0
    while True:
        shift -= span + rng.randint(16, 1024) * PAGE
        yield shift


def grow(items: list, lo: int, hi: int, count: int, seed: int,
         addr: Callable[[dict], int], move: Callable[[dict, int], dict]) -> list:
    """Grow sorted `items` to `count` with shifted copies of those at [lo, hi), placed below
    that block in address order (mmap grows down); the lowest copy may be partial."""
    if count < len(items):
        raise ValueError("the corpus already has %d entries, more than %d" % (len(items), count))
    before = [x for x in items if addr(x) < lo]
    block = [x for x in items if lo <= addr(x) < hi]
    after = [x for x in items if addr(x) >= hi]
    copies, need = [], count - len(items)
    for shift in copy_shifts(hi - lo, seed):
        if need <= 0:
            break
        part = block[-need:] if need < len(block) else block
        copies.append([move(x, shift) for x in part])
        need -= len(part)
    return before + [x for c in reversed(copies) for x in c] + block + after


def check_layout(what: str, spans: List[tuple]) -> None:
    """Addresses must increase without overlaps (so no copy reaches down into the heap)."""
    if spans[0][0] < 0:
        raise AssertionError("%s: negative address" % what)
    for (s0, e0), (s1, _) in zip(spans, spans[1:]):
        if not (s0 < e0 <= s1):
            raise AssertionError("%s: overlapping or unordered at %#x-%#x / %#x"
                                 % (what, s0, e0, s1))


def mmap_block(mm: dict) -> tuple:
    """[lo, hi) of the VMAs between the heap and the stack: the block that gets replicated."""
    vmas = mm["vmas"]
    mid = [v for v in vmas if v["end"] > mm["mm_brk"] and v["end"] <= mm["mm_start_stack"]]
    if not mid:
        raise ValueError("no VMAs between the heap and the stack to replicate")
    return mid[0]["start"], mid[-1]["end"]


def only(corpus: Path, pattern: str) -> Path:
    found = sorted(corpus.glob(pattern))
    if len(found) != 1:
        raise FileNotFoundError("expected one %s in %s, found %d" % (pattern, corpus, len(found)))
    return found[0]


def critcore_cmd(*args: str, python: str = sys.executable) -> List[str]:
    return [python, "-m", "critcore", *args]


def crit_python(crit: str) -> Optional[str]:
    """The interpreter named in crit's #! line, or None when crit is not a script."""
    try:
        with open(shutil.which(crit) or crit, "rb") as fh:
            line = fh.readline().decode("utf-8", "replace")
    except OSError:
        return None
    parts = line[2:].split() if line.startswith("#!") else []
    if parts and os.path.basename(parts[0]) == "env" and len(parts) > 1:
        return shutil.which(parts[1])
    return parts[0] if parts else None


# critcore's runtime dependencies (pyproject.toml), for a venv on another interpreter.
DEPENDENCIES = ("construct", "PyYAML", "jsonschema")


def critcore_python(choice: str, crit: Optional[str]) -> str:
    """The interpreter that runs critcore. "crit" means crit's own (a different build of the
    same Python can differ by 20% or more: an optimised distribution build against one built
    without PGO), given critcore's dependencies in a venv under OUT, so that both tools run on
    the same interpreter, as a user installing critcore next to crit would."""
    python = (crit_python(crit) if crit else None) if choice == "crit" else choice
    if python is None:
        return sys.executable
    python = shutil.which(python) or python
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        return sys.executable
    check = [python, "-c", "import sys; print(sys.version.split()[0])"]
    version = subprocess.run(check, check=True, capture_output=True, text=True).stdout.strip()
    venv = OUT / ("venv-%s-%s" % (os.path.basename(python), version))
    venv_python = str(venv / "bin" / "python")
    have = "import %s" % ", ".join(d.lower().replace("pyyaml", "yaml") for d in DEPENDENCIES)
    if not os.path.exists(venv_python):
        subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True)
    if subprocess.run([venv_python, "-c", have], capture_output=True).returncode != 0:
        print("installing critcore's dependencies into %s" % venv, flush=True)
        subprocess.run([sys.executable, "-m", "pip", "--python", venv_python, "install", "-q",
                        *DEPENDENCIES], check=True)
    return venv_python


def critcore_env() -> dict:
    """Run from cached bytecode, as an installed package (and Debian's crit) does, even when
    PYTHONDONTWRITEBYTECODE is set; the cache lives in OUT, not in the checkout."""
    env = dict(os.environ, PYTHONPYCACHEPREFIX=str(OUT / "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def generate(corpus: Path, seed: int) -> dict:
    """Write the big images, their plain and pretty JSON (by critcore decode) and inventory.img
    into OUT; returns {name: path}."""
    OUT.mkdir(parents=True, exist_ok=True)
    mm_img = critcore.loads(only(corpus, "mm-*.img").read_bytes())
    pm_img = critcore.loads(only(corpus, "pagemap-*.img").read_bytes())
    mm = mm_img["entries"][0]
    lo, hi = mmap_block(mm)

    vmas = grow(mm["vmas"], lo, hi, N_VMAS, seed, lambda v: v["start"],
                lambda v, s: dict(v, start=v["start"] + s, end=v["end"] + s))
    check_layout("mm", [(v["start"], v["end"]) for v in vmas])
    head, pmes = pm_img["entries"][0], pm_img["entries"][1:]
    pmes = grow(pmes, lo, hi, N_PAGEMAP, seed, lambda p: p["vaddr"],
                lambda p, s: dict(p, vaddr=p["vaddr"] + s))
    check_layout("pagemap", [(p["vaddr"], p["vaddr"] + p.get("nr_pages", 1) * PAGE) for p in pmes])

    paths = {"inventory": OUT / "inventory.img"}
    shutil.copyfile(corpus / "inventory.img", paths["inventory"])
    for name, img in (("mm", {"magic": mm_img["magic"], "entries": [dict(mm, vmas=vmas)]}),
                      ("pagemap", {"magic": pm_img["magic"], "entries": [head] + pmes})):
        image = paths[name] = OUT / ("%s-big.img" % name)
        image.write_bytes(critcore.dumps(img))
        for kind, flags, suffix in JSON_KINDS:
            dest = paths["%s.%s" % (name, kind)] = OUT / ("%s-big%s" % (name, suffix))
            subprocess.run(critcore_cmd("decode", *flags, "-i", str(image), "-o", str(dest)),
                           cwd=REPO, env=critcore_env(), check=True, stdin=subprocess.DEVNULL)
        if json.loads(paths[name + ".plain"].read_bytes()) != img:
            raise AssertionError("critcore decode of %s does not give back the encoded JSON" % name)
    return paths


# ---------------------------------------------------------------- timing

class Crash(Exception):
    pass


def run_once(argv: List[str], env: Optional[dict]) -> tuple:
    """Run argv once from the repo root; ({"wall": s, "cpu": user+sys s}, stdout)."""
    r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    proc = subprocess.run(argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wall, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise Crash("exit %d: %s" % (proc.returncode, lines[-1] if lines else "(no stderr)"))
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return {"wall": wall, "cpu": cpu}, proc.stdout


def first_diff(a, b, path: str = "$") -> Optional[str]:
    """Where two JSON values first differ (a is critcore's, b is crit's), or None."""
    if a == b:
        return None
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in b or k not in a:
                return "%s.%s only in %s" % (path, k, "critcore" if k in a else "crit")
            d = first_diff(a[k], b[k], "%s.%s" % (path, k))
            if d:
                return d
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return first_diff(x, y, "%s[%d]" % (path, i))
        return "%s: %d items vs %d" % (path, len(a), len(b))
    return "%s: critcore %.40r, crit %.40r" % (path, a, b)


def compare(mine: bytes, theirs: bytes, is_json: bool) -> str:
    if mine == theirs:
        return "identical to critcore's"
    if not is_json:
        return "differs from critcore's (%d vs %d bytes)" % (len(mine), len(theirs))
    try:
        diff = first_diff(json.loads(mine), json.loads(theirs))
    except ValueError as e:
        return "not JSON: %s" % e
    return "same JSON, different text" if diff is None else "differs: " + diff


@dataclass
class Op:
    label: str
    key: str                   # names the per-tool output file
    args: List[str]            # CLI arguments; "{out}" becomes a per-tool output path
    limit: float               # PASS when critcore / reference <= limit
    expect: Callable[[bytes], Optional[str]]  # checks critcore's output: None or a problem
    is_json: bool = True       # output is JSON (for the crit comparison)
    ref_startup: bool = False  # the reference is crit's start-up time, not this op's
    row: dict = field(default_factory=dict)


def equals(path: Path, what: str) -> Callable[[bytes], Optional[str]]:
    want = path.read_bytes()
    return lambda got: None if got == want else "output differs from %s" % what


def json_equals(value, what: str) -> Callable[[bytes], Optional[str]]:
    def check(got: bytes) -> Optional[str]:
        try:
            return None if json.loads(got) == value else "output differs from %s" % what
        except ValueError as e:
            return "output is not JSON: %s" % e
    return check


def build_ops(p: dict, corpus: Path) -> List[Op]:
    golden = corpus / "golden" / "inventory.json"
    inventory = (json.loads(golden.read_bytes()) if golden.is_file()
                 else critcore.loads(p["inventory"].read_bytes()))
    ops = []
    for name in ("mm", "pagemap"):
        for kind, flags, _ in JSON_KINDS:
            ops.append(Op(" ".join(["decode", *flags, name]), "decode-%s-%s" % (name, kind),
                          ["decode", *flags, "-i", str(p[name]), "-o", "{out}"], 0.2,
                          equals(p["%s.%s" % (name, kind)], "the generated %s JSON" % kind)))
    for name in ("mm", "pagemap"):
        for kind, _, _ in JSON_KINDS:
            ops.append(Op("encode %s (%s JSON)" % (name, kind), "encode-%s-%s" % (name, kind),
                          ["encode", "-i", str(p["%s.%s" % (name, kind)]), "-o", "{out}"], 0.5,
                          equals(p[name], "the generated image"), is_json=False))
    # start-up runs before info: info's reference is crit's start-up time
    ops.append(Op("start-up: decode -i inventory.img", "startup",
                  ["decode", "-i", str(p["inventory"])], 1.0,
                  json_equals(inventory, "golden/inventory.json")))
    ops.append(Op("info pagemap (ref: crit start-up)", "info", ["info", str(p["pagemap"])], 1.5,
                  json_equals({"magic": "PAGEMAP", "count": N_PAGEMAP}, "the expected count"),
                  ref_startup=True))
    return ops


class Timing:
    """One tool's runs of one op: every time, its last output, or how it crashed."""

    def __init__(self, tool: str, argv0: List[str], env: Optional[dict], op: Op):
        self.out = OUT / "runs" / ("%s.%s.%s" % (tool, op.key, "json" if op.is_json else "img"))
        self.out.parent.mkdir(exist_ok=True)
        self.argv = argv0 + [str(self.out) if a == "{out}" else a for a in op.args]
        self.env, self.op = env, op
        self.times: List[dict] = []
        self.stdout = b""
        self.crash: Optional[Crash] = None

    def run(self) -> None:
        if self.crash is None:
            try:
                t, self.stdout = run_once(self.argv, self.env)
                self.times.append(t)
            except Crash as e:
                self.crash = e

    def best(self, what: str = "wall") -> Optional[float]:
        return min(t[what] for t in self.times) if self.times and not self.crash else None

    def output(self) -> bytes:
        return self.out.read_bytes() if "{out}" in self.op.args else self.stdout


def bench(ops: List[Op], crit: Optional[str], runs: int, python: str = sys.executable) -> None:
    """Time every op with critcore and crit (if any), check outputs, fill in op.row.
    The two tools take turns, run by run, so that a busy spell of the machine falls on both."""
    startup = startup_cpu = None
    for op in ops:
        row = op.row = {"op": op.label, "critcore_s": None, "crit_s": None, "ratio": None,
                        "cpu_ratio": None, "target": op.limit, "status": "n/a", "notes": []}
        print("  %-38s" % op.label, end="", flush=True)
        mine = Timing("critcore", critcore_cmd(python=python), critcore_env(), op)
        theirs = Timing("crit", [crit], None, op) if crit else None
        for _ in range(runs):
            mine.run()
            if theirs is not None:
                theirs.run()
        row["critcore_runs"] = mine.times
        if mine.crash:
            row["status"] = "CRASH"
            row["notes"].append("critcore crashed: %s" % mine.crash)
        else:
            row["critcore_s"] = mine.best()
            problem = op.expect(mine.output())
            row["check"] = problem or "ok"
            if problem:
                row["notes"].append("CHECK FAILED: " + problem)
        ref_cpu = None
        if theirs is not None:
            row["crit_runs"] = theirs.times
            if theirs.crash:
                row["notes"].append("crit failed (%s)%s" % (
                    theirs.crash, "; the reference is crit's start-up time" if op.ref_startup else ""))
            elif op.ref_startup:
                row["notes"].append("crit's own time: %.3f s (the target uses start-up)"
                                    % theirs.best())
            else:
                row["crit_s"], ref_cpu = theirs.best(), theirs.best("cpu")
                if op.key == "startup":
                    startup, startup_cpu = row["crit_s"], ref_cpu
                if not mine.crash:
                    row["notes"].append("info: crit's output "
                                        + compare(mine.output(), theirs.output(), op.is_json))
            if op.ref_startup:
                row["crit_s"], ref_cpu = startup, startup_cpu
        if row["critcore_s"] is not None and row["crit_s"]:
            row["ratio"] = row["critcore_s"] / row["crit_s"]
            row["cpu_ratio"] = mine.best("cpu") / ref_cpu if ref_cpu else None
            row["status"] = "PASS" if row["ratio"] <= op.limit else "FAIL"
        print(" %8s  %8s" % (fmt(row["critcore_s"]), fmt(row["crit_s"])), flush=True)


def fmt(x: Optional[float], spec: str = "%.3f") -> str:
    return "-" if x is None else spec % x


def print_table(ops: List[Op], runs: int) -> None:
    print("\n%-38s %11s %9s %7s %8s  %-6s %s" % ("operation", "critcore s", "crit s", "ratio",
                                                  "target", "result", "cpu ratio"))
    print("-" * 94)
    for op in ops:
        r = op.row
        print("%-38s %11s %9s %7s %8s  %-6s %s" % (
            r["op"], fmt(r["critcore_s"]), fmt(r["crit_s"]), fmt(r["ratio"], "%.2fx"),
            "<=%.1fx" % r["target"], r["status"], fmt(r["cpu_ratio"], "%.2fx")))
    print("(wall clock of whole processes, best of %d, the tools taking turns; the result "
          "is judged on wall time, and the\ncpu ratio compares best user+sys CPU times, which "
          "a busy machine disturbs less)" % runs)
    notes = [(op.row["op"], n) for op in ops for n in op.row["notes"]]
    if notes:
        print("\nnotes:")
        for label, note in notes:
            print("  %s: %s" % (label, note))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS,
                    help="checkpoint directory with mm-*.img, pagemap-*.img, inventory.img")
    ap.add_argument("--runs", type=int, default=3, help="runs per measurement; the best counts")
    ap.add_argument("--crit", default=shutil.which("crit"),
                    help="reference crit (default: crit on PATH)")
    ap.add_argument("--python", default="crit",
                    help="interpreter that runs critcore: a path, or 'crit' (default) for the "
                         "one in crit's #! line, in a venv with critcore's dependencies")
    ap.add_argument("--seed", type=int, default=0, help="seed for the gaps between copied blocks")
    ap.add_argument("--json", type=Path, help="also save the results here")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if args.crit and not shutil.which(args.crit):
        ap.error("--crit %s: not an executable" % args.crit)

    try:
        t0 = time.perf_counter()
        paths = generate(args.corpus, args.seed)
        print("generated %d-VMA mm and %d-entry pagemap in %s (%.1f s)"
              % (N_VMAS, N_PAGEMAP, OUT, time.perf_counter() - t0))
        ops = build_ops(paths, args.corpus)
    except (OSError, ValueError, AssertionError, subprocess.CalledProcessError,
            critcore.CritError) as e:
        print("bench: generation failed: %s" % e, file=sys.stderr)
        return 1
    try:
        python = critcore_python(args.python, args.crit)
    except (OSError, subprocess.CalledProcessError) as e:
        print("bench: no interpreter for critcore (%s); try --python %s" % (e, sys.executable),
              file=sys.stderr)
        return 1
    crit_py = crit_python(args.crit) if args.crit else None
    print("reference crit: %s%s" % (args.crit or "not found; critcore timings only",
                                   " (on %s)" % crit_py if crit_py else ""))
    print("critcore runs on: %s" % python)
    bench(ops, args.crit, args.runs, python)
    print_table(ops, args.runs)

    if args.json:
        args.json.write_text(json.dumps({
            "python": sys.version.split()[0], "machine": platform.machine(),
            "critcore_python": python, "crit_python": crit_py,
            "crit": args.crit, "runs": args.runs, "seed": args.seed, "corpus": str(args.corpus),
            "vmas": N_VMAS, "pagemap_entries": N_PAGEMAP,
            "results": [op.row for op in ops]}, indent=2) + "\n")
    if any(op.row.get("check", "ok") != "ok" for op in ops):
        print("\nsome critcore output checks FAILED (see notes)")
    return 1 if any(op.row["status"] == "CRASH" for op in ops) else 0


if __name__ == "__main__":
    sys.exit(main())
