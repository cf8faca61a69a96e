"""How true are assay load's percentiles? A server that stalls 250 ms every second, 1000 req/s.

Usage: ``python bench/load_accuracy.py [--runs 3] [--seconds 20] [--rate 1000]
[--tools assay,locust] [--locust-users 500] [--keep]``.

``bench/stall_server.py`` (pinned to core 0) holds every response due in the first 250 ms of
each second until that window ends. At a constant arrival rate, 75% of the requests are
answered at once and 25% wait a time spread evenly over 0-250 ms: p90 is about 150 ms and
p99 about 240 ms. The server also measures each request's hold time, so the truth of every
run is printed beside the nominal one.

The generators, pinned to core 1, one after another:

- assay, open model: ``assay load URL --rate 1000/s --duration S --workers 1``; its
  ``latency_ms`` counts from the planned send time, so a stall is not hidden by the
  requests it kept from being sent (coordinated omission).
- Locust (one process): ``--locust-users`` FastHttpUsers with ``constant_throughput`` so
  that together they start ~``--rate`` requests per second; p90 and p99 from its CSV stats
  (Locust rounds times above 100 ms to 10 ms). Each user waits for its response before
  its next one, so a user needs a period (users / rate) above the 250 ms stall to keep pace.

Goal: assay's p90 and p99 within 15% of 150 ms and 240 ms.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import tempfile
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import benchnginx as bn

TOOLS = ("assay", "locust")
NOMINAL = {"p90": 150.0, "p99": 240.0}
TOLERANCE = 0.15
LOCUSTFILE = '''\
import os

from locust import FastHttpUser, constant_throughput, task


class Paced(FastHttpUser):
    """Starts at most BENCH_USER_RATE tasks per second (the users together: the target rate)."""

    wait_time = constant_throughput(float(os.environ["BENCH_USER_RATE"]))

    @task
    def root(self):
        self.client.get("/")
'''


@dataclass(slots=True)
class Reading:
    """One tool run: the tool's percentiles (ms), the server's truth, and the run's figures."""

    tool: str
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    max: float | None = None
    requests: int | None = None
    rps: float | None = None
    truth: dict = field(default_factory=dict)
    extra: str = ""
    notes: list[str] = field(default_factory=list)


def stall_argv(port: int, stall_ms: float) -> list[str]:
    """The stall server's command, pinned to the server core."""
    script = bn.BENCH / "stall_server.py"
    return bn.pinned(bn.SERVER_CORE, [sys.executable, str(script), "--port", str(port),
                                      "--stall-ms", f"{stall_ms:g}", "--period-ms", "1000"])


@contextmanager
def stall_server(root: Path, stall_ms: float) -> Iterator[tuple[str, list[str]]]:
    """Run the stall server; yield its URL and command; always stop it afterwards."""
    port = bn.free_port()
    argv = stall_argv(port, stall_ms)
    log = root / "stall_server.log"
    proc = bn.start_group(argv, log)
    try:
        bn.wait_listening(proc, port, "the stall server", log)
        yield f"http://127.0.0.1:{port}/", argv
    finally:
        bn.stop_group(proc)


def server_stats(url: str, reset: bool) -> dict:
    """The stall server's hold-time summary (and forget it, with ``reset``)."""
    path = "__reset" if reset else "__stats"
    with urllib.request.urlopen(f"{url}{path}", timeout=10) as page:
        return json.loads(page.read())


def assay_argv(args: argparse.Namespace, url: str, workdir: Path) -> list[str]:
    """``assay load URL --rate R/s --duration S --workers 1 --quiet --json report.json``."""
    return bn.assay_load_argv(url, workdir / "report.json", "--rate", f"{args.rate:g}/s",
                              "--duration", f"{args.seconds:g}s", "--workers", "1")


def read_assay(workdir: Path, reading: Reading) -> None:
    """Percentiles and figures from assay's JSON report."""
    load = bn.read_load(workdir / "report.json")
    latency = load["latency_ms"]
    reading.p50, reading.p90, reading.p99 = latency["p50"], latency["p90"], latency["p99"]
    reading.max, reading.requests, reading.rps = latency["max"], load["requests"], load["rps"]
    service = load.get("service_time_ms", {})
    reading.extra = (f"service p90 {bn.show(service.get('p90'), '{:.1f}')} "
                     f"p99 {bn.show(service.get('p99'), '{:.1f}')} ms; late starts "
                     f"{load.get('late_starts')}; max backlog {load.get('max_backlog')}; "
                     f"errors {load.get('errors')}")


def locust_run_argv(args: argparse.Namespace, locust: Path, locustfile: Path, url: str,
                    workdir: Path) -> list[str]:
    """Locust headless with ``--locust-users`` paced users."""
    return bn.locust_argv(locust, locustfile, url.rstrip("/"), args.locust_users, args.seconds,
                          workdir / "locust")


def read_locust(workdir: Path, reading: Reading) -> None:
    """Percentiles and figures from Locust's CSV stats."""
    row = bn.read_locust_stats(workdir / "locust")
    reading.p50, reading.p90 = float(row["50%"]), float(row["90%"])
    reading.p99, reading.max = float(row["99%"]), float(row["Max Response Time"])
    reading.requests, reading.rps = int(row["Request Count"]), float(row["Requests/s"])
    reading.extra = f"failures {row['Failure Count']}"


def run_tool(tool: str, argv: list[str], url: str, workdir: Path, args: argparse.Namespace,
             env: dict[str, str]) -> Reading:
    """Run one generator pinned to core 1 against a freshly reset server; read both sides."""
    workdir.mkdir(parents=True)
    reading = Reading(tool)
    server_stats(url, reset=True)
    code, _ = bn.run_group(bn.pinned(bn.GENERATOR_CORE, argv), workdir / "output.log",
                           args.seconds + 60, env=env, cwd=workdir)
    reading.truth = server_stats(url, reset=True)
    if code not in (0, 1):
        reading.notes.append(f"{tool} exited with {code}:\n{bn.tail(workdir / 'output.log')}")
        return reading
    try:
        (read_assay if tool == "assay" else read_locust)(workdir, reading)
    except (OSError, ValueError, KeyError) as exc:
        reading.notes.append(f"could not read {tool}'s figures: {exc!r}")
    return reading


def within(value: float | None, target: float) -> bool:
    """``value`` is within the tolerance of ``target``."""
    return value is not None and abs(value - target) <= TOLERANCE * target


def deviation(value: float | None, target: float | None) -> str:
    """``value`` against ``target`` as a signed percentage."""
    if value is None or not target:
        return "n/a"
    return f"{(value - target) / target * 100:+.0f}%"


def print_readings(runs: list[dict[str, Reading]]) -> None:
    """Per run and tool: the tool's percentiles, the server's truth, and the deviations."""
    print(f"\n{'run':>3}  {'tool':<7}{'requests':>9}{'req/s':>8}{'p50':>7}{'p90':>7}{'p99':>7}"
          f"{'max':>7}  |{'true p90':>9}{'true p99':>9}{'held':>7}  | p90 vs 150, p99 vs 240")
    for number, run in enumerate(runs, 1):
        for r in run.values():
            t = r.truth
            print(f"{number:>3}  {r.tool:<7}{bn.show(r.requests, '{:,}'):>9}"
                  f"{bn.show(r.rps):>8}{bn.show(r.p50, '{:.1f}'):>7}"
                  f"{bn.show(r.p90, '{:.1f}'):>7}{bn.show(r.p99, '{:.1f}'):>7}"
                  f"{bn.show(r.max, '{:.0f}'):>7}  |{bn.show(t.get('p90'), '{:.1f}'):>9}"
                  f"{bn.show(t.get('p99'), '{:.1f}'):>9}"
                  f"{bn.show(t.get('held_fraction'), '{:.1%}'):>7}  | "
                  f"{deviation(r.p90, NOMINAL['p90'])}, {deviation(r.p99, NOMINAL['p99'])}")
            if r.extra:
                print(f"     {r.extra}; server saw {t.get('requests')} requests")
            for note in r.notes:
                print(f"     note: {note}")


def print_verdict(runs: list[dict[str, Reading]], tools: list[str]) -> None:
    """Medians per tool against the nominal and measured truth; assay's goal verdict."""
    print(f"\n== median of {len(runs)} run(s) (ms) ==")
    for tool in tools:
        got = {q: bn.median([getattr(r[tool], q) for r in runs
                             if getattr(r[tool], q) is not None]) for q in NOMINAL}
        truth = {q: bn.median([r[tool].truth[q] for r in runs if r[tool].truth.get(q)])
                 for q in NOMINAL}
        line = ", ".join(f"{q} {bn.show(got[q], '{:.1f}')} (nominal {NOMINAL[q]:g}: "
                         f"{deviation(got[q], NOMINAL[q])}; measured truth "
                         f"{bn.show(truth[q], '{:.1f}')}: {deviation(got[q], truth[q])})"
                         for q in NOMINAL)
        print(f"  {tool:<7}{line}")
        if tool == "assay":
            ok = all(within(got[q], NOMINAL[q]) for q in NOMINAL)
            print(f"  goal: assay's p90 and p99 within {TOLERANCE:.0%} of 150 and 240 ms: "
                  f"{'MET' if ok else 'NOT MET'}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=1000.0, help="requests/s (default 1000)")
    parser.add_argument("--stall-ms", type=float, default=250.0)
    parser.add_argument("--tools", default=",".join(TOOLS), help="subset of assay,locust")
    parser.add_argument("--locust-users", type=int, default=500,
                        help="Locust users; each paced to rate/users per second (default 500)")
    parser.add_argument("--locust-venv", type=Path, default=bn.LOCUST_VENV)
    parser.add_argument("--keep", action="store_true", help="keep every tool's output")
    args = parser.parse_args(argv)
    args.tools = [t for t in args.tools.split(",") if t]
    if set(args.tools) - set(TOOLS):
        parser.error(f"--tools: expected some of {list(TOOLS)}")
    if args.stall_ms != 250:
        print(f"note: --stall-ms {args.stall_ms:g}: the nominal 150/240 ms no longer apply; "
              "compare with the measured truth")
    return args


Command = Callable[[Path], list[str]]  # a tool's command line for a run's workdir


def plan(args: argparse.Namespace, root: Path, url: str) -> dict[str, tuple[Command, dict]]:
    """Per tool: its command against ``url`` and its environment."""
    commands: dict[str, tuple[Command, dict]] = {}
    if "assay" in args.tools:
        commands["assay"] = (partial(assay_argv, args, url), bn.assay_env())
    if "locust" in args.tools:
        locust = bn.ensure_locust(args.locust_venv)
        locustfile = root / "locustfile_paced.py"
        locustfile.write_text(LOCUSTFILE)
        env = {**bn.assay_env(), "BENCH_USER_RATE": f"{args.rate / args.locust_users:g}"}
        commands["locust"] = (partial(locust_run_argv, args, locust, locustfile, url), env)
    return commands


def main(argv: list[str]) -> int:
    """Run each tool ``--runs`` times against the stall server; print figures and verdict."""
    args = parse_args(argv[1:])
    if "assay" in args.tools:
        bn.require_assay_load()
    root = Path(tempfile.mkdtemp(prefix="assay-load-accuracy-"))
    runs: list[dict[str, Reading]] = []
    try:
        with stall_server(root, args.stall_ms) as (url, server_argv):
            commands = plan(args, root, url)
            print(f"python {sys.version.split()[0]}; {args.runs} run(s) of {args.seconds:g} s "
                  f"at {args.rate:g} requests/s; server on core {bn.SERVER_CORE}, generators "
                  f"on core {bn.GENERATOR_CORE}\nstall server: {shlex.join(server_argv)}")
            for tool, (command, env) in commands.items():
                shown = bn.pinned(bn.GENERATOR_CORE, command(Path("RUN")))
                print(f"{tool}: {shlex.join(shown)}"
                      + (f" (BENCH_USER_RATE={env['BENCH_USER_RATE']})" if tool == "locust"
                         else ""))
            for number in range(1, args.runs + 1):
                runs.append({})
                for tool, (command, env) in commands.items():
                    print(f"run {number}/{args.runs}: {tool} ...", flush=True)
                    workdir = root / f"{number}-{tool}"
                    runs[-1][tool] = run_tool(tool, command(workdir), url, workdir, args, env)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print_readings(runs)
    print_verdict(runs, args.tools)
    if args.keep:
        print(f"\noutputs: {root}")
    return 0


if __name__ == "__main__":
    sys.exit(bn.run_main(main, sys.argv))
