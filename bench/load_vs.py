"""assay load against wrk and Locust FastHttpUser: requests/s on one core, counted by nginx.

Usage: ``python bench/load_vs.py [--runs 3] [--seconds 10] [--connections 64]
[--tools assay,wrk,locust] [--settle 60] [--retries 2] [--keep]``.

nginx serves a 2-byte body with keep-alive, pinned to core 0 (``bench/benchnginx.py``);
each generator runs pinned to core 1, one after another, ``--seconds`` each, with
``--connections`` connections (users): ``assay load URL --vus N --duration S --workers 1``,
``wrk -t1 -cN -dS``, and Locust (single process, headless, a ``FastHttpUser`` without
wait time, ``-u N -r N -t S``). The runs are interleaved (assay, wrk, Locust, then again),
so a drift of the machine touches every tool alike.

The figure is nginx's own count (stub_status "requests" before and after the run, less the
status requests themselves) divided by ``--seconds``, median of ``--runs``. Printed beside
it: the steady rate (median of 1-second samples of the same counter while the load was on,
which start-up and ramp-up do not bend), and what each tool says it did. Goals: assay at
least 7x Locust FastHttpUser and at least 0.8x wrk on the same run.

The machine must be otherwise idle: before each run the script waits (up to ``--settle``
seconds) for a quiet second, measures during the run the CPU that other processes used
(``others``, in cores, beside each core's busy share), reruns a disturbed run up to
``--retries`` times, keeps the least disturbed attempt, and warns about any left.

Locust is not a dependency of assay: it runs from ``bench/.venv-locust`` (created when
missing).
"""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import benchnginx as bn

TOOLS = ("assay", "wrk", "locust")
# CPU used by other processes during a run (in cores) above which its figures are suspect.
DISTURBED_CORES = 0.05
LOCUSTFILE = '''\
from locust import FastHttpUser, task


class Root(FastHttpUser):
    """No wait_time: each user sends its next request as soon as the last one is answered."""

    @task
    def root(self):
        self.client.get("/")
'''


@dataclass(slots=True)
class Measure:
    """One tool run: nginx's count, the steady rate, the tool's own figures, notes."""

    tool: str
    served: int = 0
    seconds: float = 0.0
    steady_rps: float | None = None
    wall_s: float = 0.0
    own_requests: int | None = None
    own_rps: float | None = None
    cpu: str = ""
    others: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        """nginx's count over the planned duration."""
        return self.served / self.seconds if self.seconds else 0.0


@dataclass(frozen=True, slots=True)
class Tool:
    """How to run one generator and read what it says it did."""

    name: str
    argv: Callable[[str, Path], list[str]]
    read: Callable[[Path, Measure], None]
    env: dict[str, str] | None = None


class StatusSampler:
    """Reads nginx's request counter every ``interval_s`` in a thread, while in a ``with``.

    ``samples`` are (monotonic time, counter) pairs; ``steady_rps()`` is the median rate of
    the intervals in which the load was on, a figure that start-up and ramp-up do not bend.
    """

    def __init__(self, server: bn.NginxServer, interval_s: float = 1.0):
        self.server = server
        self.interval_s = interval_s
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> StatusSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.samples.append((time.monotonic(), self.server.served()))

    def rates(self) -> list[float]:
        """Requests per second of each interval between two samples (less the readings)."""
        pairs = zip(self.samples, self.samples[1:], strict=False)
        return [bn.served_between(c0, c1) / (t1 - t0) for (t0, c0), (t1, c1) in pairs]

    def steady_rps(self) -> float | None:
        """The median rate of the intervals wholly inside the busy stretch of the run.

        Busy intervals are those above a tenth of the fastest one; the first and the last
        of them are left out, as the load started or stopped somewhere inside them.
        """
        rates = self.rates()
        busy = [i for i, rate in enumerate(rates) if rate > max(rates, default=0) / 10]
        inner = rates[busy[0] + 1:busy[-1]] if len(busy) > 2 else []
        return statistics.median(inner) if inner else None


def assay_tool(args: argparse.Namespace) -> Tool:
    """``assay load URL --vus N --duration S --workers 1 --quiet --json report.json``."""
    def argv(url: str, workdir: Path) -> list[str]:
        return bn.assay_load_argv(url, workdir / "report.json", "--vus", str(args.connections),
                                  "--duration", f"{args.seconds:g}s", "--workers", "1")

    def read(workdir: Path, measure: Measure) -> None:
        load = bn.read_load(workdir / "report.json")
        measure.own_requests, measure.own_rps = load["requests"], load["rps"]
        if load.get("errors"):
            measure.notes.append(f"assay counted {load['errors']} errors: "
                                 f"{load.get('errors_by_kind')}")

    return Tool("assay", argv, read, bn.assay_env())


def wrk_tool(args: argparse.Namespace) -> Tool:
    """``wrk -t1 -cN -dS URL`` (one thread: one core)."""
    def argv(url: str, workdir: Path) -> list[str]:
        return [args.wrk, "-t1", f"-c{args.connections}", f"-d{args.seconds:g}s", url]

    def read(workdir: Path, measure: Measure) -> None:
        text = (workdir / "output.log").read_text(errors="replace")
        count = re.search(r"(\d+) requests in", text)
        rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
        measure.own_requests = int(count.group(1)) if count else None
        measure.own_rps = float(rate.group(1)) if rate else None
        errors = re.search(r"Socket errors:.*|Non-2xx.*", text)
        if errors:
            measure.notes.append(f"wrk: {errors.group(0).strip()}")

    return Tool("wrk", argv, read)


def locust_tool(args: argparse.Namespace, root: Path) -> Tool:
    """Locust headless, one process, FastHttpUser without wait time, N users at once."""
    locust = bn.ensure_locust(args.locust_venv)
    locustfile = root / "locustfile_vs.py"
    locustfile.write_text(LOCUSTFILE)

    def argv(url: str, workdir: Path) -> list[str]:
        return bn.locust_argv(locust, locustfile, url.rstrip("/"), args.connections,
                              args.seconds, workdir / "locust")

    def read(workdir: Path, measure: Measure) -> None:
        row = bn.read_locust_stats(workdir / "locust")
        measure.own_requests = int(row["Request Count"])
        measure.own_rps = float(row["Requests/s"])
        if int(row["Failure Count"]):
            measure.notes.append(f"locust counted {row['Failure Count']} failures")

    return Tool("locust", argv, read)


def measure(tool: Tool, server: bn.NginxServer, workdir: Path, seconds: float) -> Measure:
    """Run ``tool`` pinned to the generator core; count what nginx served meanwhile."""
    workdir.mkdir(parents=True)
    argv = bn.pinned(bn.GENERATOR_CORE, tool.argv(server.url, workdir))
    result = Measure(tool.name, seconds=seconds)
    before = server.served()
    with server.cpu_watch() as cpu, StatusSampler(server) as sampler:
        code, result.wall_s = bn.run_group(argv, workdir / "output.log", seconds + 60,
                                           env=tool.env, cwd=workdir)
    after, result.cpu, result.others = server.served(), cpu.summary(), cpu.others_cores
    result.served = bn.served_between(before, after) - len(sampler.samples)
    result.steady_rps = sampler.steady_rps()
    if code not in (0, 1):
        result.notes.append(f"{tool.name} exited with {code}:\n"
                            f"{bn.tail(workdir / 'output.log', 1500)}")
        return result
    try:
        tool.read(workdir, result)
    except (OSError, ValueError, KeyError) as exc:
        result.notes.append(f"could not read {tool.name}'s own figures: {exc!r}")
    return result


def measure_calm(args: argparse.Namespace, tool: Tool, server: bn.NginxServer, workdir: Path,
                 number: int) -> Measure:
    """``measure`` once the machine is quiet; again (``--retries``) when others disturbed it.

    Of the attempts, the one that other processes disturbed least is kept.
    """
    attempts: list[Measure] = []
    for attempt in range(args.retries + 1):
        busy = bn.wait_quiet(args.settle)
        print(f"run {number}/{args.runs}: {tool.name}"
              + (f" (retry {attempt}: others used {attempts[-1].others:.2f} core)"
                 if attempt else "")
              + (f" (machine still busy: {busy:.2f} core)" if busy >= DISTURBED_CORES else "")
              + " ...", flush=True)
        attempts.append(measure(tool, server, workdir / str(attempt), args.seconds))
        if attempts[-1].others <= DISTURBED_CORES:
            break
    return min(attempts, key=lambda m: m.others)


def ratio(mine: float | None, theirs: float | None) -> float | None:
    """mine / theirs when both are known and theirs is not zero."""
    return mine / theirs if mine is not None and theirs else None


def print_runs(runs: list[dict[str, Measure]]) -> None:
    """One line per tool run."""
    print(f"\n{'run':>3}  {'tool':<7}{'nginx req':>12}{'req/s':>10}{'steady/s':>10}"
          f"{'tool req':>12}{'tool req/s':>11}{'wall s':>8}  cpu busy during the run")
    for number, run in enumerate(runs, 1):
        for m in run.values():
            print(f"{number:>3}  {m.tool:<7}{m.served:>12,}{m.rps:>10,.0f}"
                  f"{bn.show(m.steady_rps):>10}{bn.show(m.own_requests, '{:,}'):>12}"
                  f"{bn.show(m.own_rps):>11}{m.wall_s:>8.1f}  {m.cpu}")
            for note in m.notes:
                print(f"     note: {note}")
    disturbed = sum(1 for run in runs for m in run.values() if m.others > DISTURBED_CORES)
    if disturbed:
        print(f"warning: in {disturbed} tool run(s) other processes used more than "
              f"{DISTURBED_CORES:g} core (even after --retries): those figures are low; "
              "rerun on a quiet machine")


def print_summary(runs: list[dict[str, Measure]], tools: list[str]) -> None:
    """Medians per tool, the ratios, and the goal verdicts."""
    medians = {t: bn.median([run[t].rps for run in runs if t in run]) for t in tools}
    steady = {t: bn.median([r[t].steady_rps for r in runs if r.get(t) and r[t].steady_rps])
              for t in tools}
    print(f"\n== median of {len(runs)} run(s), requests/s counted by nginx ==")
    for tool in tools:
        print(f"  {tool:<7}{bn.show(medians[tool]):>10} req/s   (steady {bn.show(steady[tool])})")
    for other, goal in (("locust", 7.0), ("wrk", 0.8)):
        if "assay" not in tools or other not in tools:
            continue
        per_run = [ratio(r["assay"].rps, r[other].rps) for r in runs]
        same_run = bn.median([x for x in per_run if x is not None])
        overall = ratio(medians["assay"], medians[other])
        verdict = "MET" if same_run is not None and same_run >= goal else "NOT MET"
        print(f"  assay/{other}: {bn.show(same_run, '{:.2f}x')} (median of per-run ratios; "
              f"ratio of medians {bn.show(overall, '{:.2f}x')}; steady "
              f"{bn.show(ratio(steady['assay'], steady[other]), '{:.2f}x')}) "
              f"goal >= {goal:g}x: {verdict}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=64,
                        help="connections: assay --vus, wrk -c, Locust -u (default 64)")
    parser.add_argument("--tools", default=",".join(TOOLS),
                        help="comma-separated subset of assay,wrk,locust")
    parser.add_argument("--wrk", default="/usr/bin/wrk")
    parser.add_argument("--nginx", default="/usr/sbin/nginx")
    parser.add_argument("--locust-venv", type=Path, default=bn.LOCUST_VENV)
    parser.add_argument("--settle", type=float, default=60.0,
                        help="before each run, wait up to this many seconds for an idle machine")
    parser.add_argument("--retries", type=int, default=2,
                        help="reruns of a tool run that other processes disturbed (default 2)")
    parser.add_argument("--keep", action="store_true", help="keep every tool's output")
    args = parser.parse_args(argv)
    args.tools = [t for t in args.tools.split(",") if t]
    unknown = set(args.tools) - set(TOOLS)
    if unknown:
        parser.error(f"--tools: unknown {sorted(unknown)}; expected some of {list(TOOLS)}")
    return args


def build_tools(args: argparse.Namespace, root: Path) -> list[Tool]:
    """The generators asked for, in the order they run."""
    makers = {"assay": lambda: assay_tool(args), "wrk": lambda: wrk_tool(args),
              "locust": lambda: locust_tool(args, root)}
    return [makers[name]() for name in args.tools]


def print_header(args: argparse.Namespace, tools: list[Tool], server: bn.NginxServer) -> None:
    """Versions, the setup, and the exact command of every tool."""
    print(f"python {sys.version.split()[0]}; assay: "
          f"{bn.tool_version([bn.assay_executable(), '--version'])}; "
          f"nginx: {bn.tool_version([args.nginx, '-v'])}; wrk: {bn.tool_version([args.wrk, '-v'])}")
    if "locust" in args.tools:
        print(f"locust: {bn.tool_version([str(args.locust_venv / 'bin' / 'locust'), '--version'])}"
              " (one process, pinned like the others)")
    print(f"{args.runs} run(s) of {args.seconds:g} s per tool, {args.connections} connections; "
          f"server on core {bn.SERVER_CORE}, generators on core {bn.GENERATOR_CORE}")
    print(f"nginx: {shlex.join(server.argv)}")
    for tool in tools:
        argv = bn.pinned(bn.GENERATOR_CORE, tool.argv(server.url, Path("RUN")))
        print(f"{tool.name}: {shlex.join(argv)}")


def main(argv: list[str]) -> int:
    """Run every tool ``--runs`` times against one nginx; print the table and the verdicts."""
    args = parse_args(argv[1:])
    if "assay" in args.tools:
        bn.require_assay_load()
    root = Path(tempfile.mkdtemp(prefix="assay-load-vs-"))
    try:
        tools = build_tools(args, root)
        with bn.nginx_server(nginx=args.nginx) as server:
            print_header(args, tools, server)
            runs: list[dict[str, Measure]] = []
            for number in range(1, args.runs + 1):
                runs.append({})
                for tool in tools:
                    runs[-1][tool.name] = measure_calm(args, tool, server,
                                                       root / f"{number}-{tool.name}", number)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print_runs(runs)
    print_summary(runs, args.tools)
    if args.keep:
        print(f"\noutputs: {root}")
    return 0


if __name__ == "__main__":
    sys.exit(bn.run_main(main, sys.argv))
