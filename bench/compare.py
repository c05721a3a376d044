#!/usr/bin/env python3
"""Compare Ruff with C, Go, LuaJIT, PyPy and CPython on the shared benchmark suites.

Usage: python3 bench/compare.py [--suites micro,corpus] [--runs N] [--ruff PATH]
                                [--only a,b] [--jit-column] [--timeout S] [--no-ruff]
                                [--shared-dir DIR]

Two suites, both in the shared folder (`<repo>/../shared`): the micro-benchmarks of
`bench/` (our copies in bench/programs, checksums in bench/expected.txt) and the corpus
of `bench-awfy/` (Are-We-Fast-Yet and Benchmarks Game programs, each with its expected
output). Every command runs once as a warm-up and then N times; the median wall time and
the peak resident memory are kept and every output is checked. The result is one Markdown
table per suite on stdout; progress and errors go to stderr. See bench/README.md.

Exit status: 0 when every ruff run printed its expected output, 1 when a ruff run
failed, timed out or printed something else, 2 for a setup error.
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
from typing import Callable, Dict, List, NoReturn, Optional, Tuple

sys.dont_write_bytecode = True  # no __pycache__ in bench/ from the import below
import shared_dir  # noqa: E402

REPO = shared_dir.REPO
PROGRAMS = REPO / "bench" / "programs"
EXPECTED = REPO / "bench" / "expected.txt"
DEFAULT_RUFF = REPO / "target" / "release" / "ruff"

MICRO, CORPUS = "micro", "corpus"
SUITES = [MICRO, CORPUS]

MICRO_CORE = [
    "fib_rec", "fib_iter", "loop_sum", "array_sum", "nested_loops", "hash_map",
    "string_concat", "object_alloc", "sieve", "mandelbrot", "poly_sum", "quicksort",
]
MICRO_EXTRAS = ["startup", "string_builder"]

# Columns are named after the command: `ruff` is `ruff run` (the JIT on, as by default),
# `ruff --no-jit` the bytecode interpreter alone.
RUFF = "ruff"
RUFF_NO_JIT = "ruff --no-jit"
RUFF_COLUMNS = (RUFF, RUFF_NO_JIT)
C, GO, LUAJIT, LUAJIT_JOFF, PYPY, CPYTHON = (
    "C -O2", "Go", "LuaJIT", "LuaJIT -joff", "PyPy3", "CPython")

# (header, tool X, tool Y): the cell is time(X) / time(Y), shown when both tools have a
# column. The micro-benchmarks put the peer first (above 1: ruff is faster); the corpus
# puts ruff first, as issue 13 states its goals (at or below 1: ruff is as fast).
MICRO_RATIOS = [
    ("CPython/ruff --no-jit", CPYTHON, RUFF_NO_JIT),
    ("LuaJIT -joff/ruff --no-jit", LUAJIT_JOFF, RUFF_NO_JIT),
    ("ruff --no-jit/ruff", RUFF_NO_JIT, RUFF),
    ("LuaJIT/ruff", LUAJIT, RUFF),
    ("PyPy3/ruff", PYPY, RUFF),
]
CORPUS_RATIOS = [
    ("ruff/LuaJIT", RUFF, LUAJIT),
    ("ruff/PyPy3", RUFF, PYPY),
    ("ruff/ruff --no-jit", RUFF, RUFF_NO_JIT),
    ("ruff --no-jit/CPython", RUFF_NO_JIT, CPYTHON),
]

# The interpreted peers: (column, executable, its version flags (None: no version line),
# flags, source extension).
INTERPRETED_PEERS = [
    (LUAJIT, "luajit", ["-v"], [], "lua"),
    (LUAJIT_JOFF, "luajit", None, ["-joff"], "lua"),
    (PYPY, "pypy3", ["--version"], [], "py"),
    (CPYTHON, "python3", ["--version"], [], "py"),
]
# Where the corpus's Are-We-Fast-Yet harness lives, per source extension.
HARNESS_DIRS = {"lua": Path("peers") / "Lua", "py": Path("peers") / "Python"}


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


class CommandError(Exception):
    """A benchmark a tool cannot run: `label` goes in the table, `detail` under it."""

    def __init__(self, label: str, detail: str):
        super().__init__(detail)
        self.label = label
        self.detail = detail


# What a run's stdout must be: returns what is wrong with it, or None.
OutputCheck = Callable[[str], Optional[str]]


@dataclass
class Invocation:
    """How one tool runs one benchmark, and how its output is checked."""
    argv: List[str]
    cwd: Optional[Path]
    check: OutputCheck


@dataclass
class Tool:
    column: str
    command: Callable[[str], Invocation]  # benchmark name -> invocation; may raise CommandError
    version_argv: Optional[List[str]]     # prints the version on its first line


@dataclass
class Suite:
    """One table: its rows, the rows in its geometric mean, its columns."""
    title: str
    programs: List[str]
    core: List[str]
    tools: List[Tool]
    ratios: List[Tuple[str, str, str]]
    memory_columns: List[str]


def setup_error(message: str) -> NoReturn:
    print(f"compare.py: {message}", file=sys.stderr)
    sys.exit(2)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suites", default=",".join(SUITES),
                        help="comma-separated suites to run: micro (the micro-benchmarks of "
                             "<shared>/bench), corpus (<shared>/bench-awfy); default both")
    parser.add_argument("--runs", type=int, default=5,
                        help="timed runs per command, after one warm-up (default 5)")
    parser.add_argument("--ruff", type=Path,
                        help="ruff binary (default target/release/ruff, built if missing)")
    parser.add_argument("--only", help="comma-separated benchmark names to run")
    parser.add_argument("--jit-column", action="store_true",
                        help="micro-benchmarks: also run `ruff run` with the JIT on "
                             "(the corpus always has both ruff columns)")
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
    args.suites = [s.strip() for s in args.suites.split(",") if s.strip()]
    unknown = [s for s in args.suites if s not in SUITES]
    if unknown or not args.suites:
        parser.error(f"--suites: unknown suite(s) {', '.join(unknown)}; "
                     f"known: {', '.join(SUITES)}")
    return args


def read_expected() -> Dict[str, str]:
    expected = {}
    for line in EXPECTED.read_text().splitlines():
        if line.strip():
            name, checksum = line.split(maxsplit=1)
            expected[name] = checksum.strip()
    return expected


def corpus_programs(corpus: Path) -> List[str]:
    """Every NAME with NAME/NAME.ruff in the corpus folder; each needs its NAME.out."""
    if not corpus.is_dir():
        setup_error(f"no corpus at {corpus} (see --shared-dir, or --suites micro)")
    names = sorted(p.name for p in corpus.iterdir() if (p / f"{p.name}.ruff").is_file())
    if not names:
        setup_error(f"{corpus}: no NAME/NAME.ruff programs there")
    missing = [name for name in names if not (corpus / name / f"{name}.out").is_file()]
    if missing:
        setup_error(f"{corpus}: no expected output NAME.out for {', '.join(missing)}")
    return names


def select(only: Optional[str], suites: Dict[str, List[str]]) -> Dict[str, List[str]]:
    """Each suite's programs cut down to `--only` (suites left with none are dropped)."""
    if not only:
        return suites
    wanted = [name.strip() for name in only.split(",") if name.strip()]
    known = [name for programs in suites.values() for name in programs]
    unknown = [name for name in wanted if name not in known]
    if unknown:
        setup_error(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(known)}")
    cut = {suite: [n for n in programs if n in wanted] for suite, programs in suites.items()}
    return {suite: programs for suite, programs in cut.items() if programs}


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


def exact_output(expected: str) -> OutputCheck:
    """The run must print `expected` (surrounding whitespace aside)."""
    def check(stdout: str) -> Optional[str]:
        got = stdout.strip()
        return None if got == expected else f"expected {expected!r}, got {got[:200]!r}"
    return check


def harness_output(benchmark: str) -> OutputCheck:
    """The Are-We-Fast-Yet harness checks the result itself (it fails with a non-zero exit
    status when the result is wrong); its output must hold the line of a finished run."""
    marker = f"{benchmark}: iterations="

    def check(stdout: str) -> Optional[str]:
        return None if marker in stdout else f"no `{marker}...` line in {stdout[:200]!r}"
    return check


def ruff_tools(columns: List[str], program: Callable[[str], Path],
               check: Callable[[str], OutputCheck], ruff: Path) -> List[Tool]:
    """The ruff columns asked for, in the order given."""
    def tool(column: str) -> Tool:
        flags = ["--no-jit"] if column == RUFF_NO_JIT else []
        return Tool(column,
                    lambda name: Invocation([str(ruff), "run", *flags, str(program(name))],
                                            None, check(name)),
                    [str(ruff), "--version"])
    return [tool(column) for column in columns]


def compiled_command(compile_argv: Callable[[Path, Path], List[str]],
                     source: Callable[[str], Path], build_dir: Path,
                     check: Callable[[str], OutputCheck]) -> Callable[[str], Invocation]:
    """A command that compiles the benchmark into build_dir, then runs the binary."""
    def command(name: str) -> Invocation:
        binary = build_dir / name
        build = subprocess.run(compile_argv(source(name), binary), cwd=build_dir,
                               stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if build.returncode != 0:
            raise CommandError("BUILD FAILED", build.stderr.strip() or build.stdout.strip())
        return Invocation([str(binary)], None, check(name))
    return command


def real_interpreter(python: str) -> str:
    """The interpreter behind `python`: version-manager shims (pyenv) cost ~30 ms a start."""
    probe = subprocess.run([python, "-c", "import sys; print(sys.executable)"],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True)
    path = probe.stdout.strip()
    return path if probe.returncode == 0 and path else python


def find_executables(names: List[str]) -> Dict[str, str]:
    """The installed ones among `names` (Python ones resolved past shims); one line on
    stdout for each missing one."""
    found = {}
    for name in dict.fromkeys(names):
        path = shutil.which(name)
        if path is None:
            print(f"{name}: not installed, its columns skipped")
        else:
            found[name] = real_interpreter(path) if name in ("pypy3", "python3") else path
    return found


def interpreted_tools(executables: Dict[str, str],
                      command: Callable[[str, List[str], str], Callable[[str], Invocation]]
                      ) -> List[Tool]:
    """A Tool per installed interpreted peer; `command(executable, flags, extension)`
    says how that peer runs a benchmark."""
    tools = []
    for column, executable, version_flags, flags, extension in INTERPRETED_PEERS:
        if executable in executables:
            path = executables[executable]
            version = None if version_flags is None else [path, *version_flags]
            tools.append(Tool(column, command(path, flags, extension), version))
    return tools


def micro_suite(programs: List[str], ruff: Optional[Path], jit_column: bool,
                suite_dir: Path, executables: Dict[str, str], build_root: Path) -> Suite:
    """The micro-benchmarks: ruff runs bench/programs; the peers' sources are in suite_dir."""
    expected = read_expected()
    missing = [name for name in programs if name not in expected]
    if missing:
        setup_error(f"no checksum in {EXPECTED} for {', '.join(missing)}")

    def check(name: str) -> OutputCheck:
        return exact_output(expected[name])

    def source(extension: str) -> Callable[[str], Path]:
        return lambda name: suite_dir / name / f"{name}.{extension}"

    tools = []
    if ruff is not None:
        columns = [RUFF_NO_JIT] + ([RUFF] if jit_column else [])
        tools += ruff_tools(columns, lambda name: PROGRAMS / f"{name}.ruff", check, ruff)
    if not suite_dir.is_dir():
        print(f"{suite_dir}: no shared suite there, peer columns skipped (see --shared-dir)")
    else:
        def build_dir(tag: str) -> Path:
            path = build_root / tag
            path.mkdir()
            return path

        if "gcc" in executables:
            gcc = executables["gcc"]
            tools.append(Tool(C, compiled_command(
                lambda src, out: [gcc, "-O2", "-o", str(out), str(src), "-lm"],
                source("c"), build_dir("c"), check), [gcc, "--version"]))
        if "go" in executables:
            go = executables["go"]
            tools.append(Tool(GO, compiled_command(
                lambda src, out: [go, "build", "-o", str(out), str(src)],
                source("go"), build_dir("go"), check), [go, "version"]))
        tools += interpreted_tools(executables, lambda path, flags, extension: (
            lambda name: Invocation([path, *flags, str(source(extension)(name))], None,
                                    check(name))))
    return Suite(title=f"Micro-benchmarks ({suite_dir})", programs=programs,
                 core=[name for name in programs if name in MICRO_CORE], tools=tools,
                 ratios=MICRO_RATIOS, memory_columns=list(RUFF_COLUMNS))


def corpus_peer_command(corpus: Path, path: str, flags: List[str],
                        extension: str) -> Callable[[str], Invocation]:
    """How a peer runs a corpus program (see <corpus>/README.md): a Benchmarks Game program
    from NAME.lua / NAME.py in its folder, checked against NAME.out; an Are-We-Fast-Yet
    program through the original harness in peers/Lua or peers/Python, with NAME/ARGS."""
    def command(name: str) -> Invocation:
        folder = corpus / name
        args_file = folder / "ARGS"
        if args_file.is_file():
            harness_args = args_file.read_text().split()
            if not harness_args:
                raise CommandError("NO PEER", f"{args_file} is empty")
            return Invocation([path, *flags, f"harness.{extension}", *harness_args],
                              corpus / HARNESS_DIRS[extension], harness_output(harness_args[0]))
        source = folder / f"{name}.{extension}"
        if not source.is_file():
            raise CommandError("NO PEER", f"neither {args_file} nor {source} exists")
        expected = (folder / f"{name}.out").read_text().strip()
        return Invocation([path, *flags, source.name], folder, exact_output(expected))
    return command


def corpus_suite(programs: List[str], ruff: Optional[Path], corpus: Path,
                 executables: Dict[str, str]) -> Suite:
    """The corpus: every program in both ruff modes and in the interpreted peers."""
    def check(name: str) -> OutputCheck:
        return exact_output((corpus / name / f"{name}.out").read_text().strip())

    tools = []
    if ruff is not None:
        tools += ruff_tools([RUFF, RUFF_NO_JIT], lambda name: corpus / name / f"{name}.ruff",
                            check, ruff)
    tools += interpreted_tools(executables, lambda path, flags, extension:
                               corpus_peer_command(corpus, path, flags, extension))
    return Suite(title=f"Corpus ({corpus})", programs=programs, core=programs, tools=tools,
                 ratios=CORPUS_RATIOS, memory_columns=[tool.column for tool in tools])


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

    def run(self, argv: List[str], cwd: Optional[Path], timeout: float) -> Run:
        """Run argv in cwd with stdout and stderr captured; measure wall time and peak RSS."""
        self.report.unlink(missing_ok=True)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            helper = subprocess.run([str(self.helper), str(self.report), str(timeout), *argv],
                                    cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
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


def check_run(run: Run, check: OutputCheck, timeout: float) -> Optional[Cell]:
    """A Cell describing the problem with this run, or None if its output passes `check`."""
    if run.timed_out:
        return Cell(problem="TIMEOUT", detail=f"killed after {timeout:g} s")
    if run.exit_code != 0:
        tail = "\n".join(run.stderr.strip().splitlines()[-5:])
        return Cell(problem="FAILED", detail=f"exit status {run.exit_code}\n{tail}")
    wrong = check(run.stdout)
    return None if wrong is None else Cell(problem="WRONG", detail=wrong)


def measure(measurer: Measurer, tool: Tool, name: str, runs: int, timeout: float) -> Cell:
    """One warm-up run and `runs` timed runs; stops at the first bad run."""
    try:
        invocation = tool.command(name)
    except CommandError as error:
        return Cell(problem=error.label, detail=error.detail[:2000])
    cell = Cell()
    for index in range(runs + 1):
        run = measurer.run(invocation.argv, invocation.cwd, timeout)
        bad = check_run(run, invocation.check, timeout)
        if bad is not None:
            where = f" (in {invocation.cwd})" if invocation.cwd else ""
            bad.detail = f"`{' '.join(invocation.argv)}`{where}: {bad.detail}"
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


def render_table(suite: Suite, results: Dict[str, Dict[str, Cell]]) -> str:
    columns = [tool.column for tool in suite.tools]
    ratios = [r for r in suite.ratios if r[1] in columns and r[2] in columns]
    memory = [c for c in columns if c in suite.memory_columns]
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
    for name in suite.programs:
        cells = [f"**{results[name][c].problem}**" if results[name][c].problem
                 else format_seconds(time_of(name, c)) for c in columns]
        cells += [format_number(ratio_of(name, s, f), 2) for _, s, f in ratios]
        cells += [format_number(memory_of(name, c), 1) for c in memory]
        lines.append(row(name if name in suite.core else f"{name} (extra)", cells))

    core = suite.core
    if core:
        cells = [format_seconds(geometric_mean([time_of(n, c) for n in core]))
                 for c in columns]
        cells += [format_number(geometric_mean([ratio_of(n, s, f) for n in core]), 2)
                  for _, s, f in ratios]
        cells += [format_number(geometric_mean([memory_of(n, c) for n in core]), 1)
                  for c in memory]
        lines.append(row(f"**geometric mean ({len(core)} programs)**",
                         [f"**{c}**" for c in cells]))
    return "\n".join(lines)


def tool_versions(tools: List[Tool]) -> List[str]:
    """One line per executable (both ruff columns are one binary)."""
    lines = []
    shown = set()
    for tool in tools:
        if tool.version_argv is None or tuple(tool.version_argv) in shown:
            continue
        shown.add(tuple(tool.version_argv))
        try:
            probe = subprocess.run(tool.version_argv, stdin=subprocess.DEVNULL,
                                   capture_output=True, text=True, timeout=10)
            output = (probe.stdout + probe.stderr).strip()
            ok = probe.returncode == 0 and output
            version = output.splitlines()[0] if ok else "unknown (--version failed)"
        except (OSError, subprocess.TimeoutExpired) as error:
            version = f"unknown ({error})"
        label = RUFF if tool.column in RUFF_COLUMNS else tool.column
        lines.append(f"- {label}: {version}")
    return lines


def main() -> int:
    args = parse_args()
    shared = args.shared_dir
    programs = {}
    if MICRO in args.suites:
        programs[MICRO] = MICRO_CORE + MICRO_EXTRAS
    if CORPUS in args.suites:
        programs[CORPUS] = corpus_programs(shared / "bench-awfy")
    programs = select(args.only, programs)

    ruff = None if args.no_ruff else locate_ruff(args.ruff)
    wanted = (["gcc", "go"] if MICRO in programs else []) + [p[1] for p in INTERPRETED_PEERS]
    executables = find_executables(wanted)
    with tempfile.TemporaryDirectory(prefix="ruff-compare-") as build_root:
        suites = []
        if MICRO in programs:
            suites.append(micro_suite(programs[MICRO], ruff, args.jit_column, shared / "bench",
                                      executables, Path(build_root)))
        if CORPUS in programs:
            suites.append(corpus_suite(programs[CORPUS], ruff, shared / "bench-awfy",
                                       executables))
        if not any(suite.tools for suite in suites):
            setup_error("nothing to run")

        measurer = Measurer(Path(build_root))
        results: List[Dict[str, Dict[str, Cell]]] = []
        for suite in suites:
            results.append({})
            for name in suite.programs:
                results[-1][name] = {}
                for tool in suite.tools:
                    print(f"{name:>15} {tool.column:<13}", end=" ", file=sys.stderr, flush=True)
                    cell = measure(measurer, tool, name, args.runs, args.timeout)
                    results[-1][name][tool.column] = cell
                    if cell.problem:
                        print(f"*** {cell.problem} *** {cell.detail}", file=sys.stderr)
                    else:
                        print(f"{format_seconds(cell.median())} s, "
                              f"{cell.max_rss_kib / 1024:.1f} MiB", file=sys.stderr)

    print()
    print(f"Median wall time in seconds of {args.runs} run(s) after 1 warm-up; "
          "ratio X/Y = time(X) / time(Y), above 1 when Y is faster; "
          "peak MiB = largest peak resident set size (ru_maxrss) over the timed runs.")
    problems = []
    for suite, suite_results in zip(suites, results):
        print()
        print(f"## {suite.title}")
        print()
        print(render_table(suite, suite_results))
        problems += [(name, column, cell) for name in suite.programs
                     for column, cell in suite_results[name].items() if cell.problem]
    print()
    print("Versions:")
    print("\n".join(tool_versions([tool for suite in suites for tool in suite.tools])))

    if problems:
        print()
        print(f"**{len(problems)} PROBLEM(S): results marked in the tables are excluded "
              "from ratios and means**")
        for name, column, cell in problems:
            detail = cell.detail.replace("\n", "\n      ")
            print(f"- {name} / {column}: **{cell.problem}** {detail}")
    ruff_broken = any(column in RUFF_COLUMNS for _, column, _ in problems)
    return 1 if ruff_broken else 0


if __name__ == "__main__":
    sys.exit(main())
