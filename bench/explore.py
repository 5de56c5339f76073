"""Time `critcore x DIR ps|fds|mems|rss` against crit's on one checkpoint (whole processes, best
of N), plus critcore's own x sk, stats and --json; check critcore's text against the goldens."""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "08-bigmem-many-vmas"
COMPARED = ("ps", "fds", "mems", "rss")  # what crit's x can do too

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import crit_python, critcore_env, critcore_python  # noqa: E402


def run_once(argv, env, cwd):
    """(wall seconds, child CPU seconds, exit status) of one whole process, output discarded."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, p.returncode


def output(argv, env, cwd) -> bytes:
    return subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL).stdout


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="checkpoint directory")
    ap.add_argument("--runs", type=int, default=10, help="runs per command; the best counts")
    ap.add_argument("--crit", default=shutil.which("crit"),
                    help="reference crit (default: crit on PATH)")
    ap.add_argument("--python", default="crit",
                    help="interpreter that runs critcore (as in run.py; default: crit's own)")
    ap.add_argument("--json", type=Path, help="also save every run's times here")
    args = ap.parse_args(argv)

    env = critcore_env()
    d = str(args.corpus)
    python = critcore_python(args.python, args.crit)
    print("critcore runs on: %s" % python)
    ours = [python, "-m", "critcore"]
    jobs = []  # (label, critcore argv, crit argv or None, golden file or None)
    for what in COMPARED:
        golden = args.corpus / "golden" / ("x-%s.txt" % what)
        jobs.append(("x " + what, ours + ["x", d, what],
                     [args.crit, "x", d, what] if args.crit else None,
                     golden if golden.exists() else None))
    for what in COMPARED + ("sk",):
        jobs.append(("x %s --json" % what, ours + ["x", d, what, "--json"], None, None))
    jobs.append(("x sk", ours + ["x", d, "sk"], None, None))
    if (args.corpus / "stats-dump").exists():
        jobs.append(("stats", ours + ["stats", d], None, None))
    # Bare interpreter start-up of both sides: the floor under every row above.
    jobs.append(("start-up: -c pass", [python, "-c", "pass"],
                 [crit_python(args.crit) or sys.executable, "-c", "pass"] if args.crit else None, None))

    notes = []
    for label, cc, crit, golden in jobs:  # warm the page cache and the bytecode cache
        out = output(cc, env, str(REPO))
        if golden is not None and out != golden.read_bytes():
            notes.append("CHECK FAILED: critcore %s differs from %s" % (label, golden.name))
        if crit and "start-up" not in label and output(crit, os.environ, str(REPO)) != out:
            notes.append("note: crit's %s output differs from critcore's (crit %s)"
                         % (label, "3.17 predates 4.2's nr_pages" if "rss" in label else "?"))

    results = {}
    for _ in range(args.runs):
        # Interleaved, so that load from other processes hits both tools alike.
        for label, cc, crit, _golden in jobs:
            for tool, cmd, e in (("critcore", cc, env), ("crit", crit, os.environ)):
                if cmd is None:
                    continue
                wall, cpu, rc = run_once(cmd, e, str(REPO))
                if rc != 0:
                    notes.append("%s %s exited with %d" % (tool, label, rc))
                results.setdefault((label, tool), []).append((wall, cpu))

    print("checkpoint: %s (%d runs each, best wall time; CPU = user+sys of that process)"
          % (args.corpus, args.runs))
    print("%-22s %12s %12s %8s %12s %12s" % ("command", "critcore", "crit", "ratio",
                                              "critcore CPU", "crit CPU"))
    for label, cc, crit, _golden in jobs:
        mine = min(results[(label, "critcore")])
        ref = min(results[(label, "crit")]) if crit else None
        print("%-22s %10.1fms %12s %8s %10.1fms %12s" % (
            label, mine[0] * 1e3, "%.1fms" % (ref[0] * 1e3) if ref else "-",
            "%.2fx" % (mine[0] / ref[0]) if ref else "-", mine[1] * 1e3,
            "%.1fms" % (ref[1] * 1e3) if ref else "-"))
    for n in dict.fromkeys(notes):
        print(n)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(
            {"corpus": d, "runs": args.runs, "notes": list(dict.fromkeys(notes)),
             "times": [{"command": lbl, "tool": tool, "wall": [w for w, _ in v],
                        "cpu": [c for _, c in v]} for (lbl, tool), v in results.items()]},
            indent=2) + "\n")
    return 1 if any(n.startswith("CHECK FAILED") or "exited" in n for n in notes) else 0


if __name__ == "__main__":
    sys.exit(main())
