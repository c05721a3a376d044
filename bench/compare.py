#!/usr/bin/env python3
"""Compare Ruff with C, Go, LuaJIT, PyPy and CPython on the shared benchmark suite.

Usage: python3 bench/compare.py [--runs N] [--ruff PATH] [--only a,b] [--jit-column]
                                [--timeout S] [--no-ruff] [--shared-dir DIR]

Every command runs once as a warm-up and then N times; the median wall time is kept
and every output is checked against bench/expected.txt. The result is a Markdown
table on stdout; progress and errors go to stderr. See bench/README.md.

Exit status: 0 when every ruff run printed its expected checksum, 1 when a ruff run
failed, timed out or printed a wrong checksum, 2 for a setup error.
"""

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, NoReturn, Optional

sys.dont_write_bytecode = True  # no __pycache__ in bench/ from the import below
import shared_dir  # noqa: E402

REPO = shared_dir.REPO
PROGRAMS = REPO / "bench" / "programs"
EXPECTED = REPO / "bench" / "expected.txt"
DEFAULT_RUFF = REPO / "target" / "release" / "ruff"

CORE = [
    "fib_rec", "fib_iter", "loop_sum", "array_sum", "nested_loops", "hash_map",
    "string_concat", "object_alloc", "sieve", "mandelbrot", "poly_sum", "quicksort",
]
EXTRAS = ["startup", "string_builder"]

RUFF = "ruff"
RUFF_JIT = "ruff-jit"
C, GO, LUAJIT, LUAJIT_JOFF, PYPY, CPYTHON = (
    "C -O2", "Go", "LuaJIT", "LuaJIT -joff", "PyPy3", "CPython")

# (header, tool X, tool Y): the cell is time(X) / time(Y), i.e. how many times faster Y
# is than X. Shown when both tools have a column.
RATIOS = [
    ("CPython/ruff", CPYTHON, RUFF),
    ("LuaJIT -joff/ruff", LUAJIT_JOFF, RUFF),
    ("ruff/ruff-jit", RUFF, RUFF_JIT),
    ("LuaJIT/ruff-jit", LUAJIT, RUFF_JIT),
    ("PyPy3/ruff-jit", PYPY, RUFF_JIT),
]


@dataclass
class Run:
    """Output, wall time and peak memory of one process."""
    seconds: float
    max_rss_kib: int
    exit_code: int
    timed_out: bool
    stdout: str
    stderr: str


@dataclass
class Cell:
    """All runs of one tool on one benchmark."""
    seconds: List[float] = field(default_factory=list)
    max_rss_kib: int = 0
    problem: Optional[str] = None  # short label for the table, e.g. "WRONG"
    detail: str = ""               # what went wrong, for the list under the table

    def median(self) -> Optional[float]:
        return statistics.median(self.seconds) if self.problem is None else None


class BuildError(Exception):
    pass


@dataclass
class Tool:
    column: str
    command: Callable[[str], List[str]]  # benchmark name -> argv; may raise BuildError
    version_argv: Optional[List[str]]    # prints the version on its first line


def setup_error(message: str) -> NoReturn:
    print(f"compare.py: {message}", file=sys.stderr)
    sys.exit(2)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5,
                        help="timed runs per command, after one warm-up (default 5)")
    parser.add_argument("--ruff", type=Path,
                        help="ruff binary (default target/release/ruff, built if missing)")
    parser.add_argument("--only", help="comma-separated benchmark names to run")
    parser.add_argument("--jit-column", action="store_true",
                        help="also run `ruff run` with the JIT on")
    parser.add_argument("--no-ruff", action="store_true",
                        help="run the peers only (to check the peers' setup)")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds before a single run is killed (default 120)")
    shared_dir.add_argument(parser)
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.no_ruff and (args.ruff or args.jit_column):
        parser.error("--no-ruff excludes --ruff and --jit-column")
    return args


def read_expected() -> Dict[str, str]:
    expected = {}
    for line in EXPECTED.read_text().splitlines():
        if line.strip():
            name, checksum = line.split(maxsplit=1)
            expected[name] = checksum.strip()
    return expected


def select_benchmarks(only: Optional[str]) -> List[str]:
    if not only:
        return CORE + EXTRAS
    wanted = [name.strip() for name in only.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in CORE + EXTRAS]
    if unknown:
        setup_error(f"unknown benchmark(s): {', '.join(unknown)}; "
                 f"known: {', '.join(CORE + EXTRAS)}")
    return [name for name in CORE + EXTRAS if name in wanted]


def locate_ruff(path: Optional[Path]) -> Path:
    if path is not None:
        if not (path.is_file() and os.access(path, os.X_OK)):
            setup_error(f"--ruff {path}: not an executable file")
        return path.resolve()
    if not DEFAULT_RUFF.exists():
        print(f"ruff: {DEFAULT_RUFF.relative_to(REPO)} missing, "
              "building it with `cargo build --release`", file=sys.stderr)
        build = subprocess.run(["cargo", "build", "--release"], cwd=REPO,
                               stdout=sys.stderr)
        if build.returncode != 0:
            setup_error("cargo build --release failed")
        print(f"ruff: {DEFAULT_RUFF.relative_to(REPO)} was missing, "
              "built it with `cargo build --release`")
    return DEFAULT_RUFF


def ruff_tools(ruff: Path, with_jit: bool) -> List[Tool]:
    def command(*flags: str) -> Callable[[str], List[str]]:
        return lambda name: [str(ruff), "run", *flags, str(PROGRAMS / f"{name}.ruff")]

    tools = [Tool(RUFF, command("--no-jit"), [str(ruff), "--version"])]
    if with_jit:
        tools.append(Tool(RUFF_JIT, command(), None))
    return tools


def compiled_command(compile_argv: Callable[[Path, Path], List[str]],
                     source: Callable[[str], Path],
                     build_dir: Path) -> Callable[[str], List[str]]:
    """A command that compiles the benchmark into build_dir, then runs the binary."""
    def command(name: str) -> List[str]:
        binary = build_dir / name
        build = subprocess.run(compile_argv(source(name), binary), cwd=build_dir,
                               stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if build.returncode != 0:
            raise BuildError(build.stderr.strip() or build.stdout.strip())
        return [str(binary)]
    return command


def real_interpreter(python: str) -> str:
    """The interpreter behind `python`: version-manager shims (pyenv) cost ~30 ms a start."""
    probe = subprocess.run([python, "-c", "import sys; print(sys.executable)"],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True)
    path = probe.stdout.strip()
    return path if probe.returncode == 0 and path else python


def peer_tools(suite: Path, build_root: Path) -> List[Tool]:
    """The peers whose executables are installed; one line per missing one on stdout."""
    def source(extension: str) -> Callable[[str], Path]:
        return lambda name: suite / name / f"{name}.{extension}"

    def interpreted(executable: str, *flags: str, extension: str) -> Callable[[str], List[str]]:
        return lambda name: [executable, *flags, str(source(extension)(name))]

    def build_dir(tag: str) -> Path:
        path = build_root / tag
        path.mkdir()
        return path

    # Each maker takes the path of the installed executable.
    def c_tool(gcc: str) -> Tool:
        return Tool(C, compiled_command(
            lambda src, out: [gcc, "-O2", "-o", str(out), str(src), "-lm"],
            source("c"), build_dir("c")), [gcc, "--version"])

    def go_tool(go: str) -> Tool:
        return Tool(GO, compiled_command(
            lambda src, out: [go, "build", "-o", str(out), str(src)],
            source("go"), build_dir("go")), [go, "version"])

    def luajit_tool(luajit: str) -> Tool:
        return Tool(LUAJIT, interpreted(luajit, extension="lua"), [luajit, "-v"])

    def luajit_joff_tool(luajit: str) -> Tool:
        return Tool(LUAJIT_JOFF, interpreted(luajit, "-joff", extension="lua"), None)

    def pypy_tool(pypy: str) -> Tool:
        pypy = real_interpreter(pypy)
        return Tool(PYPY, interpreted(pypy, extension="py"), [pypy, "--version"])

    def cpython_tool(python: str) -> Tool:
        python = real_interpreter(python)
        return Tool(CPYTHON, interpreted(python, extension="py"), [python, "--version"])

    makers = {"gcc": [c_tool], "go": [go_tool], "luajit": [luajit_tool, luajit_joff_tool],
              "pypy3": [pypy_tool], "python3": [cpython_tool]}
    tools = []
    for executable, tool_makers in makers.items():
        path = shutil.which(executable)
        if path is None:
            print(f"{executable}: not installed, "
                  f"{'column' if len(tool_makers) == 1 else 'columns'} skipped")
        else:
            tools += [make(path) for make in tool_makers]
    return tools


# Why a helper: a child forked by this script starts with the script's resident pages
# (about 15 MiB) already counted in its ru_maxrss, which hides the peak of any program
# smaller than that. The helper, a small exec'd C program, forks the command itself,
# so the command's ru_maxrss starts near zero. It also times the command and kills the
# command's process group on timeout or when interrupted.
MEASURE_C = r"""
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* measure REPORT TIMEOUT_SECONDS COMMAND ARGS...: runs COMMAND and writes
   "wall_seconds max_rss_kib wait_status timed_out" to the file REPORT. */
static pid_t child;
static volatile sig_atomic_t timed_out;

static void on_signal(int signo) {
    if (signo == SIGALRM) timed_out = 1;
    kill(-child, SIGKILL);
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: measure REPORT TIMEOUT CMD...\n"); return 2; }
    double timeout = atof(argv[2]);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    child = fork();
    if (child < 0) { perror("fork"); return 2; }
    if (child == 0) { setpgid(0, 0); execvp(argv[3], argv + 3); perror(argv[3]); _exit(127); }
    setpgid(child, 0);
    signal(SIGALRM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    struct itimerval timer = {{0, 0}, {(time_t)timeout,
                                       (suseconds_t)((timeout - (time_t)timeout) * 1e6)}};
    setitimer(ITIMER_REAL, &timer, NULL);
    int status;
    struct rusage usage;
    while (wait4(child, &status, 0, &usage) < 0) {
        if (errno != EINTR) { perror("wait4"); return 2; }
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    FILE *report = fopen(argv[1], "w");
    if (report == NULL) { perror(argv[1]); return 2; }
    fprintf(report, "%.9f %ld %d %d\n",
            (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9,
            usage.ru_maxrss, status, (int)timed_out);
    return fclose(report) == 0 ? 0 : 2;
}
"""


class Measurer:
    """Runs commands through the MEASURE_C helper, compiled once into work_dir."""

    def __init__(self, work_dir: Path):
        compiler = shutil.which("cc") or shutil.which("gcc")
        if compiler is None:
            setup_error("needs a C compiler (cc) for its measuring helper")
        source = work_dir / "measure.c"
        source.write_text(MEASURE_C)
        self.helper = work_dir / "measure"
        self.report = work_dir / "measure.report"
        build = subprocess.run([compiler, "-O2", "-o", str(self.helper), str(source)],
                               capture_output=True, text=True)
        if build.returncode != 0:
            setup_error(f"cannot compile the measuring helper:\n{build.stderr}")

    def run(self, argv: List[str], timeout: float) -> Run:
        """Run argv with stdout and stderr captured; measure wall time and peak RSS."""
        self.report.unlink(missing_ok=True)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            helper = subprocess.run([str(self.helper), str(self.report), str(timeout), *argv],
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=err)
            out.seek(0)
            err.seek(0)
            stdout = out.read().decode(errors="replace")
            stderr = err.read().decode(errors="replace")
        if helper.returncode != 0:
            setup_error(f"measuring helper failed on {argv}:\n{stderr}")
        seconds, max_rss_kib, status, timed_out = self.report.read_text().split()
        return Run(seconds=float(seconds),
                   max_rss_kib=int(max_rss_kib),
                   exit_code=os.waitstatus_to_exitcode(int(status)),
                   timed_out=timed_out == "1",
                   stdout=stdout,
                   stderr=stderr)


def check_run(run: Run, expected: str, timeout: float) -> Optional[Cell]:
    """A Cell describing the problem with this run, or None if it printed `expected`."""
    if run.timed_out:
        return Cell(problem="TIMEOUT", detail=f"killed after {timeout:g} s")
    if run.exit_code != 0:
        tail = "\n".join(run.stderr.strip().splitlines()[-5:])
        return Cell(problem="FAILED", detail=f"exit status {run.exit_code}\n{tail}")
    if run.stdout.strip() != expected:
        return Cell(problem="WRONG",
                    detail=f"expected {expected!r}, got {run.stdout.strip()[:200]!r}")
    return None


def measure(measurer: Measurer, tool: Tool, name: str, expected: str,
            runs: int, timeout: float) -> Cell:
    """One warm-up run and `runs` timed runs; stops at the first bad run."""
    try:
        argv = tool.command(name)
    except BuildError as error:
        return Cell(problem="BUILD FAILED", detail=str(error)[:2000])
    cell = Cell()
    for index in range(runs + 1):
        run = measurer.run(argv, timeout)
        bad = check_run(run, expected, timeout)
        if bad is not None:
            bad.detail = f"`{' '.join(argv)}`: {bad.detail}"
            return bad
        if index > 0:  # run 0 is the warm-up
            cell.seconds.append(run.seconds)
            cell.max_rss_kib = max(cell.max_rss_kib, run.max_rss_kib)
    return cell


def geometric_mean(values: List[Optional[float]]) -> Optional[float]:
    """None unless every value is present: a mean over a partial set would mislead."""
    if not values or any(v is None for v in values):
        return None
    return math.exp(statistics.fmean(math.log(v) for v in values))


def format_seconds(seconds: Optional[float]) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 0.01:
        return f"{seconds:.4f}"
    if seconds < 1:
        return f"{seconds:.3f}"
    return f"{seconds:.2f}" if seconds < 10 else f"{seconds:.1f}"


def format_number(value: Optional[float], digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def render_table(benchmarks: List[str], tools: List[Tool],
                 results: Dict[str, Dict[str, Cell]]) -> str:
    columns = [tool.column for tool in tools]
    ratios = [r for r in RATIOS if r[1] in columns and r[2] in columns]
    memory = [c for c in (RUFF, RUFF_JIT) if c in columns]
    header = (["benchmark"] + columns + [r[0] for r in ratios]
              + [f"{c} peak MiB" for c in memory])

    def time_of(name: str, column: str) -> Optional[float]:
        return results[name][column].median()

    def ratio_of(name: str, slower: str, faster: str) -> Optional[float]:
        a, b = time_of(name, slower), time_of(name, faster)
        return None if a is None or b is None else a / b

    def memory_of(name: str, column: str) -> Optional[float]:
        cell = results[name][column]
        return cell.max_rss_kib / 1024 if cell.problem is None else None

    def row(label: str, cells: List[str]) -> str:
        return "| " + " | ".join([label] + cells) + " |"

    lines = [row(header[0], header[1:]),
             "|---|" + "---:|" * (len(header) - 1)]
    for name in benchmarks:
        cells = [f"**{results[name][c].problem}**" if results[name][c].problem
                 else format_seconds(time_of(name, c)) for c in columns]
        cells += [format_number(ratio_of(name, s, f), 2) for _, s, f in ratios]
        cells += [format_number(memory_of(name, c), 1) for c in memory]
        lines.append(row(name if name in CORE else f"{name} (extra)", cells))

    core = [name for name in benchmarks if name in CORE]
    if core:
        cells = [format_seconds(geometric_mean([time_of(n, c) for n in core]))
                 for c in columns]
        cells += [format_number(geometric_mean([ratio_of(n, s, f) for n in core]), 2)
                  for _, s, f in ratios]
        cells += [format_number(geometric_mean([memory_of(n, c) for n in core]), 1)
                  for c in memory]
        lines.append(row(f"**geometric mean ({len(core)} core programs)**",
                         [f"**{c}**" for c in cells]))
    return "\n".join(lines)


def tool_versions(tools: List[Tool]) -> List[str]:
    lines = []
    for tool in tools:
        if tool.version_argv is None:
            continue
        try:
            probe = subprocess.run(tool.version_argv, stdin=subprocess.DEVNULL,
                                   capture_output=True, text=True, timeout=10)
            output = (probe.stdout + probe.stderr).strip()
            ok = probe.returncode == 0 and output
            version = output.splitlines()[0] if ok else "unknown (--version failed)"
        except (OSError, subprocess.TimeoutExpired) as error:
            version = f"unknown ({error})"
        lines.append(f"- {tool.column}: {version}")
    return lines


def main() -> int:
    args = parse_args()
    expected = read_expected()
    benchmarks = select_benchmarks(args.only)
    missing = [name for name in benchmarks if name not in expected]
    if missing:
        setup_error(f"no checksum in {EXPECTED} for {', '.join(missing)}")

    ruff = None if args.no_ruff else locate_ruff(args.ruff)
    with tempfile.TemporaryDirectory(prefix="ruff-compare-") as build_root:
        tools = [] if ruff is None else ruff_tools(ruff, args.jit_column)
        suite = args.shared_dir / "bench"
        if suite.is_dir():
            tools += peer_tools(suite, Path(build_root))
        else:
            print(f"{suite}: no shared suite there, peer columns skipped (see --shared-dir)")
        if not tools:
            setup_error("nothing to run")

        measurer = Measurer(Path(build_root))
        results: Dict[str, Dict[str, Cell]] = {}
        for name in benchmarks:
            results[name] = {}
            for tool in tools:
                print(f"{name:>15} {tool.column:<13}", end=" ", file=sys.stderr, flush=True)
                cell = measure(measurer, tool, name, expected[name], args.runs, args.timeout)
                results[name][tool.column] = cell
                if cell.problem:
                    print(f"*** {cell.problem} *** {cell.detail}", file=sys.stderr)
                else:
                    print(f"{format_seconds(cell.median())} s", file=sys.stderr)

    print()
    print(f"Median wall time in seconds of {args.runs} run(s) after 1 warm-up; "
          "ratio X/Y = time(X) / time(Y), above 1 when Y is faster.")
    print()
    print(render_table(benchmarks, tools, results))
    print()
    print("Versions:")
    print("\n".join(tool_versions(tools)))

    problems = [(name, column, cell) for name in benchmarks
                for column, cell in results[name].items() if cell.problem]
    if problems:
        print()
        print(f"**{len(problems)} PROBLEM(S): results marked in the table are excluded "
              "from ratios and means**")
        for name, column, cell in problems:
            detail = cell.detail.replace("\n", "\n      ")
            print(f"- {name} / {column}: **{cell.problem}** {detail}")
    ruff_broken = any(column in (RUFF, RUFF_JIT) for _, column, _ in problems)
    return 1 if ruff_broken else 0


if __name__ == "__main__":
    sys.exit(main())
