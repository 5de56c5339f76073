"""Time `critcore mem DIR --search` over a whole checkpoint's memory (default: the 20 MB of
08-bigmem-many-vmas), as whole processes, best of N; check the matches against a naive scan."""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "08-bigmem-many-vmas"
sys.path.insert(0, str(REPO))


def critcore_env() -> dict:
    # Run from cached bytecode, as an installed package does (as bench/explore.py does).
    env = dict(os.environ, PYTHONPYCACHEPREFIX=str(OUT / "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def best_wall(argv, env, runs: int):
    """(best wall seconds, stdout of the last run, exit status) of `runs` whole processes."""
    best, out, rc = None, b"", 0
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run(argv, env=env, cwd=str(REPO), stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        best = wall if best is None else min(best, wall)
        out, rc = p.stdout, p.returncode
    return best, out, rc


def naive_count(corpus: Path, needle: bytes) -> int:
    """Matches of `needle` in every task's memory, found by reading each contiguous run of
    dumped bytes whole: the reference for the streaming search."""
    from critcore.explore import Checkpoint
    from critcore.explore.memmodel import Hole
    cp = Checkpoint(str(corpus))
    mem = cp.memory()
    total = 0
    for pid in cp.live_pids():
        vmas = mem.vmas(pid)
        run, end = [], None
        for item in list(mem.chunks(pid, vmas[0].start, vmas[-1].end, 1 << 30)) + [None]:
            if item is None or isinstance(item, Hole) or item[0] != end:
                total += len(re.findall(re.escape(needle), b"".join(run)))
                run, end = [], None
            if item is not None and not isinstance(item, Hole):
                run.append(item[1])
                end = item[0] + len(item[1])
    mem.close()
    return total


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="checkpoint directory")
    ap.add_argument("--runs", type=int, default=5, help="runs per command; the best counts")
    ap.add_argument("--python", default=sys.executable, help="interpreter that runs critcore")
    ap.add_argument("--json", type=Path, help="also save the results here")
    args = ap.parse_args(argv)
    if not args.corpus.is_dir():
        print("no checkpoint at %s" % args.corpus)
        return 1
    env, d = critcore_env(), str(args.corpus)
    from critcore.explore import Checkpoint
    pid = str(Checkpoint(d).live_pids()[0])
    pages = sum(p.stat().st_size for p in args.corpus.glob("pages-*.img"))
    ours = [args.python, "-m", "critcore", "mem", d]
    jobs = [  # (label, argv, needle or None: the match count is checked for a needle)
        ("--search (absent string)", ours + ["--search", "critcore-no-such-string"],
         b"critcore-no-such-string"),
        ("--search bigmem", ours + ["--search", "bigmem"], b"bigmem"),
        ("--search-regex", ours + ["--search-regex", r"[A-Z_]{4,}=x+"], None),
        ("--search --json", ours + ["--search", "bigmem", "--json"], None),
        ("table: mem DIR %s" % pid, ours + [pid], None),
        ("start-up: -c pass", [args.python, "-c", "pass"], None),
    ]
    print("checkpoint: %s, %.1f MB of pages (%d runs each, best wall time)"
          % (d, pages / 1e6, args.runs))
    print("%-28s %10s %10s %8s  %s" % ("command", "wall", "MB/s", "matches", "check"))
    failed, rows = False, []
    for label, cmd, needle in jobs:
        wall, out, rc = best_wall(cmd, env, args.runs)
        matches = out.count(b"\n") if "--search" in label and "--json" not in label else None
        check = "exit %d" % rc if rc else ""
        if needle is not None and not rc:
            want = naive_count(args.corpus, needle)
            check = "ok (naive scan: %d)" % want if want == matches else \
                "CHECK FAILED (naive scan: %d)" % want
        failed |= bool(rc) or check.startswith("CHECK FAILED")
        print("%-28s %8.1fms %10s %8s  %s" % (
            label, wall * 1e3, "%.0f" % (pages / 1e6 / wall) if "search" in label else "-",
            "-" if matches is None else matches, check))
        rows.append({"command": label, "argv": cmd[1:], "wall": wall, "matches": matches,
                     "check": check})
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"corpus": d, "pages_bytes": pages, "runs": args.runs,
                                         "results": rows}, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
