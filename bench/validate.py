"""Benchmark encode's validation: `critcore encode` with its default checks and with --no-validate
against crit's encode of the 50,000-VMA mm document (plain and pretty), plus the error report."""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (bench/run.py: generation, timing helpers, paths)

TARGET = 1.0  # encode with default validation <= 1.0 x crit's encode time


def ensure_inputs(corpus: Path, seed: int) -> dict:
    names = {"mm": "mm-big.img", "mm.plain": "mm-big.json", "mm.pretty": "mm-big.pretty.json"}
    paths = {k: bench.OUT / v for k, v in names.items()}
    if not all(p.is_file() for p in paths.values()):
        print("generating %s (bench/run.py's documents)" % bench.OUT)
        paths.update(bench.generate(corpus, seed))
    return paths


def broken_copy(src: Path, dest: Path) -> Path:
    """The pretty document with three errors spread over it, for the error report's time."""
    doc = json.loads(src.read_bytes())
    vmas = doc["entries"][0]["vmas"]
    vmas[3]["prot"] = "PROT_BANANA"
    vmas[len(vmas) // 2]["start"] = "0xzz"
    del vmas[-1]["end"]
    dest.write_text(json.dumps(doc))
    return dest


def time_cmd(argv, runs: int, env=None, expect_status: int = 0) -> float:
    best = None
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = bench.subprocess.run(argv, cwd=bench.REPO, env=env, stdin=bench.subprocess.DEVNULL,
                                    stdout=bench.subprocess.PIPE, stderr=bench.subprocess.PIPE)
        dt = time.perf_counter() - t0
        if proc.returncode != expect_status:
            raise bench.Crash("%s: exit %d: %s" % (" ".join(argv[-4:]), proc.returncode,
                                                   proc.stderr.decode()[-300:]))
        best = dt if best is None else min(best, dt)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=bench.DEFAULT_CORPUS)
    ap.add_argument("--runs", type=int, default=5, help="runs per measurement; the best counts")
    ap.add_argument("--crit", default=shutil.which("crit"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--python", default="crit",
                    help="interpreter that runs critcore (as in run.py; default: crit's own)")
    ap.add_argument("--full", action="store_true",
                    help="also time `validate --full` (the whole JSON Schema; slow)")
    ap.add_argument("--json", type=Path, help="also save the results here")
    args = ap.parse_args()
    paths = ensure_inputs(args.corpus, args.seed)
    out = bench.OUT / "runs"
    out.mkdir(parents=True, exist_ok=True)
    env = bench.critcore_env()
    python = bench.critcore_python(args.python, args.crit)
    print("critcore runs on: %s" % python)

    def cc(*argv):
        return bench.critcore_cmd(*argv, python=python)
    rows = []
    print("%-34s %10s %10s %8s  %s" % ("encode of mm-big (50,000 VMAs)", "critcore s", "crit s",
                                       "ratio", "result"))
    for kind in ("plain", "pretty"):
        src = str(paths["mm." + kind])
        ref = paths["mm"].read_bytes()
        crit_s = None
        if args.crit:
            crit_s = time_cmd([args.crit, "encode", "-i", src, "-o", str(out / "crit.img")],
                              args.runs)
        for label, flags in (("default validation", []), ("--no-validate", ["--no-validate"])):
            dest = out / ("critcore.validate.%s.img" % kind)
            s = time_cmd(cc("encode", *flags, "-i", src, "-o", str(dest)), args.runs, env)
            if dest.read_bytes() != ref:
                raise SystemExit("critcore's %s encode differs from mm-big.img" % kind)
            ratio = s / crit_s if crit_s else None
            status = "-" if ratio is None else ("PASS" if ratio <= TARGET else "FAIL")
            if flags:
                status = "(info)" if ratio is not None else "-"
            rows.append({"op": "encode %s, %s" % (kind, label), "critcore_s": s,
                         "crit_s": crit_s, "ratio": ratio, "status": status})
            print("%-34s %10.3f %10s %8s  %s" % (
                "%s, %s" % (kind, label), s, "-" if crit_s is None else "%.3f" % crit_s,
                "-" if ratio is None else "%.2fx" % ratio, status))
    bad = broken_copy(paths["mm.pretty"], out / "mm-big.broken.json")
    s = time_cmd(cc("encode", "-i", str(bad), "-o", str(out / "broken.img")), 1, env, 1)
    rows.append({"op": "error report (3 errors)", "critcore_s": s})
    print("%-34s %10.3f   (all errors listed; jsonschema on the failing VMAs only)"
          % ("pretty, 3 errors: report", s))
    if args.full:
        s = time_cmd(cc("validate", "--full", "-q", str(paths["mm.pretty"])), 1, env)
        rows.append({"op": "validate --full pretty", "critcore_s": s})
        print("%-34s %10.3f   (jsonschema over every VMA)" % ("pretty: validate --full", s))
    print("(wall clock of whole processes, best of %d; target: default <= %.1fx crit)"
          % (args.runs, TARGET))
    if args.json:
        args.json.write_text(json.dumps({"runs": args.runs, "crit": args.crit,
                                         "results": rows}, indent=2) + "\n")
    return 1 if any(r.get("status") == "FAIL" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
