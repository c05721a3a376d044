#!/usr/bin/env python3
"""Performance cliffs: does the JIT ever make a program slower than the interpreter?

Usage: python3 bench/cliffs.py [--runs N] [--ruff PATH] [--shared] [--shared-dir DIR]

Runs every adversarial program in bench/cliffs/ (types flipping every few iterations,
thousands of paths through one loop, recursion whose argument types change, mixed-type
arrays, a loop body too long to trace) with `--no-jit` and with the JIT on, alternating
the two so that machine noise hits both alike, and prints a Markdown table of median
times, the ratio JIT / interpreter, and the first lines of `--jit-stats` explaining
where the JIT gave up. With --shared it also runs the programs of the shared benchmark
suite, `<shared>/bench` (where the JIT must never be slower at all); the shared folder
is `<repo>/../shared` unless --shared-dir or RUFF_SHARED_DIR says otherwise.

Exit status: 0 when every adversarial program is at most 1.2x slower with the JIT and
every shared benchmark is not slower; 1 otherwise (or when outputs differ); 2 for a
setup error.
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in bench/ from the import below
import shared_dir  # noqa: E402

REPO = shared_dir.REPO
CLIFFS = REPO / "bench" / "cliffs"
DEFAULT_RUFF = REPO / "target" / "release" / "ruff"

# The adversarial set may lose a little to recording and compiling; the real programs
# may not lose at all (a small allowance for timer noise on a shared machine).
CLIFF_LIMIT = 1.2
SHARED_LIMIT = 1.05


def run(ruff, args, program):
    started = time.perf_counter()
    done = subprocess.run([str(ruff), "run", *args, str(program)], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{program.name}: ruff run {' '.join(args)} failed:\n{done.stderr}")
    return elapsed, done.stdout


def explanations(ruff, program, count=3):
    done = subprocess.run([str(ruff), "run", "--jit-stats", str(program)], capture_output=True, text=True)
    lines = done.stderr.splitlines()
    try:
        start = lines.index("why code left or stayed out of native code:") + 1
    except ValueError:
        return []
    return [line.strip()[2:] for line in lines[start:] if line.startswith("  - ")][:count]


def native_share(ruff, program):
    done = subprocess.run([str(ruff), "run", "--jit-stats", str(program)], capture_output=True, text=True)
    for line in done.stderr.splitlines():
        if line.startswith("loop iterations:"):
            return line.split("(")[-1].rstrip(")")
    return "?"


def measure(ruff, program, runs):
    """Median times with the JIT off and on, runs interleaved; checks both print the same."""
    off, on = [], []
    reference = None
    for _ in range(runs + 1):
        for args, times in ((["--no-jit"], off), ([], on)):
            elapsed, output = run(ruff, args, program)
            if reference is None:
                reference = output
            elif output != reference:
                sys.exit(f"{program.name}: output with {args or 'the JIT'} differs from the interpreter's")
            times.append(elapsed)
    # The first round is a warm-up (page cache, CPU frequency).
    return statistics.median(off[1:]), statistics.median(on[1:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per mode (default 5)")
    parser.add_argument("--ruff", type=Path, default=DEFAULT_RUFF, help="ruff binary")
    parser.add_argument("--shared", action="store_true", help="also run the shared benchmark suite")
    shared_dir.add_argument(parser)
    args = parser.parse_args()
    if not args.ruff.exists():
        print(f"no ruff binary at {args.ruff} (cargo build --release)", file=sys.stderr)
        return 2
    rows = [(p, CLIFF_LIMIT) for p in sorted(CLIFFS.glob("*.ruff"))]
    if args.shared:
        suite = args.shared_dir / "bench"
        shared_programs = sorted(suite.glob("*/*.ruff"))
        if not shared_programs:
            print(f"--shared: no programs in {suite} (see --shared-dir)", file=sys.stderr)
            return 2
        rows += [(p, SHARED_LIMIT) for p in shared_programs]
    print("| program | --no-jit (s) | JIT (s) | JIT / --no-jit | limit | native share | why (from --jit-stats) |")
    print("|---|---:|---:|---:|---:|---:|---|")
    failed = False
    for program, limit in rows:
        off, on = measure(args.ruff, program, args.runs)
        ratio = on / off
        failed |= ratio > limit
        why = "; ".join(explanations(args.ruff, program)) or "-"
        mark = "" if ratio <= limit else " **(over)**"
        print(
            f"| {program.stem} | {off:.3f} | {on:.3f} | {ratio:.2f}{mark} | {limit:.2f} "
            f"| {native_share(args.ruff, program)} | {why} |",
            flush=True,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
