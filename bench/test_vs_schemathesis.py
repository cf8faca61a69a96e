"""assay against Schemathesis on the demo API: cases per second, and time to find the defects.

Usage: ``python bench/test_vs_schemathesis.py [--max-examples 100] [--seed 1] [--workers N]
[--phase fuzz] [--timeout 300] [--fixed] [--keep]``; bench/README.md says how runs are set
up and how each tool's output is read. Schemathesis is not a dependency of assay: it runs
from its own virtual environment (``bench/.venv-schemathesis``), created when missing.

Every tool run gets a fresh demo server and working directory, and the same seed. Figures:
the **rate** (one phase, the same ``--max-examples`` per operation: cases, wall time, cases
per second, ratio assay/Schemathesis) and the **defects** (default phases: which of
``assay.demo.DEFECTS`` each tool reports, and its wall time). pytest does not collect this
file (``testpaths = ["tests"]``); its name is the one the issue gives.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from assay.demo import DEFECTS, Defect, spec_text

TOKEN = "demo-token"
DEFAULT_VENV = Path(__file__).resolve().parent / ".venv-schemathesis"
# assay's phase names and Schemathesis's for the same kind of work.
ST_PHASES = {"examples": "examples", "coverage": "coverage", "fuzz": "fuzzing",
             "stateful": "stateful"}
COMPLETED = (0, 1)  # exit codes of a run that completed (1: the API failed checks)
ACCESS_LINE = re.compile(r'"[A-Z]+ \S+ HTTP/[\d.]+" \d{3}')

Pair = tuple[str, str]  # (operation, check)
# A finding as (pair the tool names, pair of the request that failed): the two differ when
# a tool files a failure under another operation than the request's (see failed_pairs).
Finding = tuple[Pair, Pair]


@dataclass(frozen=True, slots=True)
class Run:
    """One tool run: its command line, the port of its server, where its files go."""

    tool: str
    argv: list[str]
    port: int
    workdir: Path


@dataclass(slots=True)
class Outcome:
    """What one run gave: exit code, wall time, figures from its report, requests served."""

    returncode: int | None
    wall_s: float
    cases: int | None = None
    tool_s: float | None = None
    requests: int = 0
    findings: set[Finding] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


def ensure_schemathesis(venv: Path, requirement: str) -> Path:
    """The ``st`` executable in ``venv``, creating the venv and installing it if missing."""
    st = venv / "bin" / "st"
    if not st.exists():
        print(f"creating {venv} and installing {requirement} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", requirement],
                       check=True)
    return st


def capture(argv: list[str], required: bool = True) -> str | None:
    """The standard output of ``argv``; on failure exit, or print why and return None."""
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode == 0:
        return done.stdout
    message = f"`{shlex.join(argv)}` failed with {done.returncode}:\n{done.stderr[-2000:]}"
    if required:
        sys.exit(message)
    print(f"note: {message}")
    return None


def versions(python: str, names: tuple[str, ...]) -> str:
    """``name version`` for each distribution installed in the environment of ``python``."""
    code = ("import importlib.metadata as m, sys\n"
            "print(', '.join(f'{n} {m.version(n)}' for n in sys.argv[1:]))")
    return (capture([python, "-c", code, *names]) or "").strip()


def assay_executable() -> str:
    """The ``assay`` console script installed beside this interpreter."""
    beside = Path(sys.executable).parent / "assay"
    return str(beside) if beside.exists() else "assay"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (chosen up front so commands print exactly)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assay_run(help_text: str, spec: Path, workdir: Path,
              settings: dict[str, str]) -> tuple[Run, list[str]]:
    """An assay run with ``settings`` (flag -> value), leaving out flags assay lacks yet."""
    port = free_port()
    argv = [assay_executable(), "test", str(spec), "--url", f"http://127.0.0.1:{port}"]
    notes = []
    bearer = "--bearer" if re.search(r"--bearer\b", help_text) else "--auth-bearer"
    for flag, value in {**settings, bearer: TOKEN}.items():
        if re.search(rf"{re.escape(flag)}\b", help_text):
            argv += [flag, value]
        else:
            notes.append(f"assay test has no {flag} yet: left out")
    argv += ["--json", str(workdir / "report.json"), "--no-color"]
    return Run("assay", argv, port, workdir), notes


def schemathesis_run(st: Path, spec: Path, workdir: Path, settings: list[str],
                     events: bool) -> Run:
    """A Schemathesis run with the extra arguments ``settings``.

    ``events`` adds the NDJSON event log, the only output that names the operation and
    check of every failure, stateful ones included. Writing it costs Schemathesis about
    5-10% of a default run on the demo, so the rate runs go without it.
    """
    port = free_port()
    argv = [str(st), "run", str(spec), "--url", f"http://127.0.0.1:{port}",
            "-H", f"Authorization: Bearer {TOKEN}", *settings,
            "--report", "json,ndjson" if events else "json",
            "--report-json-path", str(workdir / "report.json")]
    if events:
        argv += ["--report-ndjson-path", str(workdir / "events.ndjson")]
    return Run("schemathesis", [*argv, "--no-color"], port, workdir)


def server_argv(port: int, app: str) -> list[str]:
    """The command that serves the demo ``app`` (``app`` seeded, ``fixed_app``) on ``port``."""
    # --log-level info keeps uvicorn's access log: one line per request, counted afterwards.
    return [sys.executable, "-m", "uvicorn", f"assay.demo.app:{app}", "--host", "127.0.0.1",
            "--port", str(port), "--log-level", "info"]


@contextmanager
def demo_server(port: int, app: str, log: Path) -> Iterator[None]:
    """Serve the demo ``app`` on ``port`` (access log into ``log``); always stop it after."""
    with log.open("wb") as sink:
        proc = subprocess.Popen(server_argv(port, app), stdout=sink, stderr=subprocess.STDOUT)
        try:
            wait_listening(proc, port, deadline=time.monotonic() + 20)
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_listening(proc: subprocess.Popen, port: int, deadline: float) -> None:
    """Return once ``port`` accepts connections; exit if the server died or took too long."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the demo server exited with {proc.returncode} (port {port})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"the demo server did not listen on port {port} within 20 s")


def run_bounded(run: Run, timeout: float) -> tuple[int | None, float]:
    """Run ``run`` in its workdir, output to a file: exit code (None on timeout), wall time."""
    with (run.workdir / "output.txt").open("wb") as sink:
        started = time.perf_counter()
        # A session of its own, so that stopping it stops any worker processes it made too.
        proc = subprocess.Popen(run.argv, cwd=run.workdir, stdout=sink, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            code: int | None = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            elapsed = time.perf_counter() - started
            # Also on Ctrl-C, which the tool's own session does not receive.
            stop_group(proc)
        return code, elapsed


def stop_group(proc: subprocess.Popen) -> None:
    """Kill what is left of the process group that ``proc`` leads."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def execute(run: Run, app: str, timeout: float,
            read: Callable[[Path, Outcome], None]) -> Outcome:
    """Serve a fresh demo, run the tool against it, read its report with ``read``."""
    run.workdir.mkdir(parents=True)
    server_log = run.workdir / "server.log"
    with demo_server(run.port, app, server_log):
        code, wall = run_bounded(run, timeout)
    outcome = Outcome(code, wall, requests=count_requests(server_log))
    if code is None:
        outcome.notes.append(f"timed out after {timeout:.0f} s and was stopped")
    elif code not in COMPLETED:
        tail = (run.workdir / "output.txt").read_text(errors="replace")[-1500:]
        outcome.notes.append(f"exited with {code}; last output:\n{tail}")
    else:
        read(run.workdir, outcome)
    return outcome


def count_requests(log: Path) -> int:
    """How many requests the server's access log records."""
    return sum(1 for line in log.read_text(errors="replace").splitlines()
               if ACCESS_LINE.search(line))


def read_assay(workdir: Path, outcome: Outcome) -> None:
    """Fill ``outcome`` from assay's JSON report: summary.cases and (operation, check) pairs."""
    report = json.loads((workdir / "report.json").read_text())
    outcome.cases = report["summary"]["cases"]
    outcome.tool_s = report["summary"].get("duration_s")
    outcome.findings = {((f["operation"], f["check"]),) * 2 for f in report.get("findings", [])}
    outcome.notes += [f"error: {e}" for e in report.get("errors", [])[:3]]


def read_schemathesis(workdir: Path, outcome: Outcome) -> None:
    """Fill ``outcome`` from Schemathesis's JSON report (cases) and its NDJSON events."""
    report = json.loads((workdir / "report.json").read_text())
    outcome.cases = report["test_cases"]["generated"]
    outcome.tool_s = report.get("running_time")
    log = workdir / "events.ndjson"
    if log.exists():
        with log.open() as events:
            for event in map(json.loads, events):
                if "ScenarioFinished" in event:
                    outcome.findings |= failed_pairs(event["ScenarioFinished"]["recorder"])


def failed_pairs(recorder: dict) -> set[Finding]:
    """The failed checks of one Schemathesis scenario, each under two operations.

    The operation Schemathesis names (for use_after_free, the DELETE; for
    unsupported_method, the declared operation) and the one of the request that failed (the
    GET that still found the deleted resource; ``PUT /books/search``). Both are fair
    readings of the same failure, so a defect matches either.
    """
    findings = set()
    for case_id, checks in recorder.get("checks", {}).items():
        case = recorder.get("cases", {}).get(case_id, {}).get("value", {})
        sent = f"{case.get('method', '')} {case.get('path', '')}".strip()
        for check in checks:
            if check.get("status") == "failure":
                failure = (check.get("failure_info") or {}).get("failure") or {}
                named = failure.get("operation") or sent
                findings.add(((named, check["name"]), (sent or named, check["name"])))
    return findings


def match_key(operation: str, check: str) -> Pair:
    """What a finding must share with a defect to be that defect."""
    # The method of an unsupported_method request is each tool's pick (PATCH, PUT, TRACE...):
    # what is wrong is the path that answers it, so the path alone is compared.
    return (operation.split(" ", 1)[-1] if check == "unsupported_method" else operation, check)


def defect_keys(defect: Defect) -> set[Pair]:
    """The keys of a defect: its operation and the others it also lives in (``also_in``)."""
    operations = (defect.operation, *getattr(defect, "also_in", ()))
    return {match_key(operation, defect.check) for operation in operations}


def defects_found(defects: tuple[Defect, ...], findings: set[Finding]) -> list[Defect]:
    """The defects that ``findings`` report, under either reading of each finding."""
    keys = {match_key(*pair) for finding in findings for pair in finding}
    return [d for d in defects if defect_keys(d) & keys]


def other_findings(defects: tuple[Defect, ...], findings: set[Finding]) -> list[Pair]:
    """The (operation, check) pairs reported that are none of ``defects``."""
    known = set().union(*map(defect_keys, defects))
    return sorted({named for named, sent in findings
                   if not {match_key(*named), match_key(*sent)} & known})


def per_second(outcome: Outcome, count: int | None) -> float | None:
    """``count`` per second of wall time, if known."""
    return count / outcome.wall_s if count is not None and outcome.wall_s > 0 else None


def show(value: float | int | None, fmt: str = "{:.1f}") -> str:
    """A figure for a table, or 'n/a'."""
    return "n/a" if value is None else fmt.format(value)


def print_rate(outcomes: dict[str, Outcome], phase: str, wanted: int) -> None:
    """The rate table and the assay/Schemathesis ratios."""
    print(f"\n== rate: phase {phase}, --max-examples {wanted} per operation ==")
    print(f"{'tool':<13}{'cases':>8}{'wall s':>9}{'cases/s':>10}{'tool s':>9}"
          f"{'requests':>10}{'req/s':>9}")
    for tool, o in outcomes.items():
        print(f"{tool:<13}{show(o.cases, '{}'):>8}{o.wall_s:>9.2f}"
              f"{show(per_second(o, o.cases)):>10}{show(o.tool_s, '{:.2f}'):>9}"
              f"{o.requests:>10}{show(per_second(o, o.requests)):>9}")
    a, s = outcomes.get("assay"), outcomes.get("schemathesis")
    for label, count in (("cases/s", lambda o: o.cases), ("requests/s", lambda o: o.requests)):
        mine = per_second(a, count(a)) if a else None
        theirs = per_second(s, count(s)) if s else None
        ratio = mine / theirs if mine and theirs else None
        print(f"ratio assay/schemathesis, {label}: {show(ratio, '{:.2f}x')} (goal: >= 3x)")


def print_defects(outcomes: dict[str, Outcome], app: str) -> None:
    """Per tool: wall time, which seeded defects it found, and its other findings."""
    print(f"\n== defects: default phases, demo {app} ==")
    for tool, o in outcomes.items():
        found = defects_found(DEFECTS, o.findings)
        verdict = "ALL" if len(found) == len(DEFECTS) else f"{len(found)} of {len(DEFECTS)}"
        print(f"{tool}: {verdict} seeded defects found; wall time {o.wall_s:.2f} s, "
              f"{show(o.cases, '{}')} cases, {o.requests} requests")
        # The fixed twin has no seeded defect: a list of them all "missed" would only mislead.
        for defect in DEFECTS if app == "app" else ():
            mark = "found " if defect in found else "MISSED"
            print(f"  {mark} {defect.name:<24} {defect.operation:<26} {defect.check}")
        others = other_findings(DEFECTS, o.findings)
        print(f"  other (operation, check) pairs reported: {len(others)}")
        for operation, check in others:
            print(f"    {operation:<30} {check}")


def print_notes(outcomes: dict[str, Outcome]) -> None:
    """Anything that went wrong or was left out, per tool."""
    for tool, o in outcomes.items():
        for note in o.notes:
            print(f"  note ({tool}): {note}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The benchmark's own options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="for both tools (default: all cores)")
    parser.add_argument("--phase", choices=sorted(ST_PHASES), default="fuzz",
                        help="the one phase of the rate comparison (default: fuzz)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per tool run")
    parser.add_argument("--fixed", dest="app", action="store_const", const="fixed_app",
                        default="app", help="serve the fixed twin (any finding is an extra)")
    parser.add_argument("--skip-rate", action="store_true")
    parser.add_argument("--skip-defects", action="store_true")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument("--schemathesis", default="schemathesis",
                        help="pip requirement when the venv is created (e.g. schemathesis==4.32.5)")
    parser.add_argument("--keep", action="store_true", help="keep the reports and logs")
    return parser.parse_args(argv)


def plan(args: argparse.Namespace, st: Path, spec: Path) -> list[tuple[str, Run]]:
    """Every run, as (comparison, run); assay's are left out when its CLI does not start."""
    help_text = capture([assay_executable(), "test", "--help"], required=False)
    common = {"--seed": str(args.seed), "--workers": str(args.workers)}
    rate = {"--phases": args.phase, "--max-examples": str(args.max_examples)}
    # --continue-on-failure: otherwise Schemathesis leaves an operation at its first failure,
    # while assay goes on to --max-examples (the same work for both).
    st_rate = ["--phases", ST_PHASES[args.phase], "--max-examples", str(args.max_examples),
               "--continue-on-failure"]
    st_common = [word for flag_value in common.items() for word in flag_value]
    runs: list[tuple[str, Run]] = []
    notes = [] if help_text is not None else ["assay's runs are left out"]
    for comparison, skip, settings, st_settings in (
            ("rate", args.skip_rate, {**rate, **common}, st_rate + st_common),
            ("defects", args.skip_defects, common, st_common)):
        if skip:
            continue
        if help_text is not None:
            run, more = assay_run(help_text, spec, spec.parent / f"{comparison}-assay", settings)
            runs.append((comparison, run))
            notes += more
        runs.append((comparison, schemathesis_run(
            st, spec, spec.parent / f"{comparison}-schemathesis", st_settings,
            events=comparison == "defects")))
    for note in dict.fromkeys(notes):
        print(f"note: {note}")
    return runs


def check_phase(outcome: Outcome, workdir: Path, phase: str) -> None:
    """Say so clearly when assay does not run the rate phase yet (unknown, or no cases)."""
    hint = "rerun with --phase examples to compare what exists"
    if outcome.returncode == 2 and "phase" in (workdir / "output.txt").read_text("utf-8", "replace"):
        outcome.notes.append(f"this build of assay does not know phase '{phase}' yet: {hint}")
    elif outcome.cases is not None:
        ran = json.loads((workdir / "report.json").read_text())["summary"].get("phases", {})
        if not ran.get(phase):
            outcome.notes.append(f"assay ran no case in phase '{phase}': {hint}")
            outcome.cases = None


def write_spec(path: Path) -> str:
    """Write the demo's document to ``path`` with ``assay demo spec``; the command used."""
    command = [assay_executable(), "demo", "spec"]
    text = capture(command, required=False)
    if text is None:
        # The demo package is standalone: its document does not need assay's CLI to work.
        text, command = spec_text(), [sys.executable, "-c", "assay.demo.spec_text()"]
    path.write_text(text)
    return f"{shlex.join(command)} > {path}"


def print_header(args: argparse.Namespace, spec_command: str, runs: list[tuple[str, Run]]) -> None:
    """Versions, machine, and the exact command lines of every run."""
    print(f"python {sys.version.split()[0]}; "
          f"{versions(sys.executable, ('assay', 'hypothesis', 'uvicorn', 'starlette'))}")
    print(f"schemathesis venv {args.venv}: "
          f"{versions(str(args.venv / 'bin' / 'python'), ('schemathesis', 'hypothesis'))}")
    print(f"cores: {os.cpu_count()}; timeout per run: {args.timeout:.0f} s; spec: {spec_command}")
    print("\ncommands (each against its own fresh server):")
    for comparison, run in runs:
        print(f"  [{comparison}] server: {shlex.join(server_argv(run.port, args.app))}")
        print(f"  [{comparison}] {run.tool}: {shlex.join(run.argv)}")


def run_all(args: argparse.Namespace, runs: list[tuple[str, Run]]) -> dict[str, dict]:
    """Execute every run in turn: {comparison: {tool: Outcome}}."""
    results: dict[str, dict[str, Outcome]] = {"rate": {}, "defects": {}}
    for comparison, run in runs:
        print(f"running {comparison} / {run.tool} ...", flush=True)
        read = read_assay if run.tool == "assay" else read_schemathesis
        outcome = execute(run, args.app, args.timeout, read)
        if comparison == "rate" and run.tool == "assay":
            check_phase(outcome, run.workdir, args.phase)
        results[comparison][run.tool] = outcome
    return results


def main(argv: list[str]) -> int:
    """Run both comparisons and print their figures; 1 if a tool run did not complete."""
    args = parse_args(argv[1:])
    st = ensure_schemathesis(args.venv, args.schemathesis)
    root = Path(tempfile.mkdtemp(prefix="assay-vs-st-"))
    try:
        spec_command = write_spec(root / "openapi.yaml")
        runs = plan(args, st, root / "openapi.yaml")
        print_header(args, spec_command, runs)
        results = run_all(args, runs)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    if results["rate"]:
        print_rate(results["rate"], args.phase, args.max_examples)
        print_notes(results["rate"])
    if results["defects"]:
        print_defects(results["defects"], args.app)
        print_notes(results["defects"])
    if args.keep:
        print(f"\nreports and logs: {root}")
    completed = all(o.returncode in COMPLETED for r in results.values() for o in r.values())
    return 0 if completed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
