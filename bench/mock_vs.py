"""assay mock against Prism: requests/s that wrk gets from each, same spec and endpoint.

Usage: ``python bench/mock_vs.py [--runs 3] [--duration 10] [--connections 64]
[--path /books/1] [--only prism|assay] [--warmup 3] [--settle 60] [--retries 2] [--keep]``.

Both servers mock ``src/assay/demo/openapi.yaml`` (``--spec``) from its examples, each pinned
to core 0 with ``taskset``; wrk (``wrk -t1 -cN -dS --latency``) runs pinned to core 1, one
server after the other, interleaved run by run so that a drift of the machine touches both
alike. Before the measured runs each server gets an unmeasured ``--warmup`` run of wrk (Node's
JIT and Python's caches warm up). The figure is wrk's ``Requests/sec``, median of ``--runs``;
beside it wrk's latency (average, p50, p99) and the ratio assay/Prism (goal: at least 3x).

- Prism (``@stoplight/prism-cli``, a benchmark-only tool from npm, not a dependency of
  assay) runs from ``bench/.prism/`` (installed there with ``npm install --prefix`` when
  missing): ``prism mock SPEC --host 127.0.0.1 --port N --verboseLevel silent``. Without
  ``-d/--dynamic`` Prism serves the spec's examples (static mode), as assay mock does by
  default; ``--verboseLevel silent`` turns its per-request log off (only its "Starting
  Prism…" banner is printed, into the run's log file). Prism prints nothing once listening
  at that level, so the script polls ``--path`` until it answers.
- assay mock: ``assay mock SPEC --port N`` (plus ``--assay-args``), from this checkout
  (``src`` first on ``PYTHONPATH``); ready once it printed its ``serving <URL>`` line, and
  ``--path`` is requested under that URL. When this checkout has no ``assay mock`` yet the
  script says so, prints Prism's figures alone and exits 0.

Before measuring, each server must answer ``--path`` with 200; wrk's non-2xx and socket
errors are shown beside every run. The machine must be otherwise idle: before each run the
script waits (up to ``--settle`` seconds) for a quiet second, measures the CPU other processes
used during the run, reruns a disturbed run up to ``--retries`` times and keeps the least
disturbed attempt. Nothing here talks to anything but 127.0.0.1.
"""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import benchnginx as bn

SERVERS = ("prism", "assay")
GOAL = 3.0
DEMO_SPEC = bn.REPO / "src" / "assay" / "demo" / "openapi.yaml"
PRISM_DIR = bn.BENCH / ".prism"
PRISM_PACKAGE = "@stoplight/prism-cli"
# CPU used by other processes during a run (in cores) above which its figures are suspect.
DISTURBED_CORES = 0.05
LATENCY_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


class MockUnavailable(Exception):
    """``assay mock`` is not in this checkout (``found`` False) or did not start serving."""

    def __init__(self, message: str, found: bool):
        super().__init__(message)
        self.found = found


@dataclass(frozen=True, slots=True)
class Server:
    """A running mock: its name, the URL wrk requests, its command line, its process group."""

    name: str
    url: str
    argv: tuple[str, ...]
    pid: int


@dataclass(slots=True)
class WrkRun:
    """What wrk said about one run, the CPU use around it, notes."""

    server: str
    requests: int | None = None
    rps: float | None = None
    latency_ms: dict[str, float] = field(default_factory=dict)
    cpu: str = ""
    others: float = 0.0
    notes: list[str] = field(default_factory=list)


def latency_ms(text: str) -> float:
    """A wrk duration (``850.12us``, ``1.20ms``, ``2.01s``) in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * LATENCY_UNITS_MS[match.group(2)]


def parse_wrk(text: str, run: WrkRun) -> None:
    """Fill ``run`` from wrk's output (``--latency``): requests, rate, latency, errors."""
    count = re.search(r"(\d+) requests in", text)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    run.requests = int(count.group(1)) if count else None
    run.rps = float(rate.group(1)) if rate else None
    average = re.search(r"^\s+Latency\s+(\S+)", text, re.MULTILINE)
    if average:
        run.latency_ms["avg"] = latency_ms(average.group(1))
    for share, value in re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.MULTILINE):
        run.latency_ms[f"p{share}"] = latency_ms(value)
    for problem in re.findall(r"^\s*(Socket errors:.*|Non-2xx or 3xx responses:.*)$", text,
                              re.MULTILINE):
        run.notes.append(f"wrk: {problem.strip()}")


def ensure_prism(folder: Path = PRISM_DIR, package: str = PRISM_PACKAGE) -> Path:
    """The ``prism`` executable in ``folder``, installing ``package`` there with npm if missing.

    Prism is not a dependency of assay: it only runs here, as the thing compared against.
    """
    prism = folder / "node_modules" / ".bin" / "prism"
    if not prism.exists():
        print(f"installing {package} into {folder} ...", flush=True)
        subprocess.run(["npm", "install", "--prefix", str(folder), package], check=True)
    return prism


def http_status(url: str, timeout_s: float = 5.0) -> int:
    """The status of ``GET url`` (raises OSError when nothing answers)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def wait_answering(proc: subprocess.Popen, url: str, what: str, log: Path,
                   timeout_s: float) -> int:
    """Poll ``url`` until it answers; its status. Exit with ``log``'s tail if ``proc`` died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited with {proc.returncode}:\n{bn.tail(log)}")
        try:
            return http_status(url)
        except OSError:
            time.sleep(0.1)
    sys.exit(f"{what} did not answer {url} within {timeout_s:.0f} s:\n{bn.tail(log)}")


def wait_serving(proc: subprocess.Popen, out: Path, err: Path, timeout_s: float) -> str:
    """The URL of the ``serving <URL>`` line that assay mock prints once listening."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in bn.tail(out, 100_000).splitlines():
            if line.startswith("serving "):
                return line.split()[1]
        if proc.poll() is not None:
            raise MockUnavailable(f"assay mock exited with {proc.returncode} before serving:\n"
                                  f"{bn.tail(out, 1000)}{bn.tail(err)}", found=True)
        time.sleep(0.05)
    raise MockUnavailable(f"assay mock printed no 'serving <URL>' line within {timeout_s:.0f} s:"
                          f"\n{bn.tail(out, 1000)}{bn.tail(err)}", found=True)


def start_split(argv: list[str], out: Path, err: Path,
                env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``argv`` in a session of its own, stdout into ``out`` and stderr into ``err``."""
    with out.open("ab") as stdout, err.open("ab") as stderr:
        return subprocess.Popen(argv, stdout=stdout, stderr=stderr, env=env,
                                start_new_session=True)


def prism_argv(prism: Path, spec: Path, port: int) -> list[str]:
    """Prism in static mode (examples), logging off, pinned to the server core."""
    return bn.pinned(bn.SERVER_CORE, [str(prism), "mock", str(spec), "--host", "127.0.0.1",
                                      "--port", str(port), "--verboseLevel", "silent"])


def assay_mock_argv(spec: Path, port: int, extra: str) -> list[str]:
    """``assay mock SPEC --port N EXTRA`` pinned to the server core."""
    return bn.pinned(bn.SERVER_CORE, [bn.assay_executable(), "mock", str(spec),
                                      "--port", str(port), *shlex.split(extra)])


@contextmanager
def prism_server(args: argparse.Namespace, workdir: Path) -> Iterator[Server]:
    """Prism serving ``--spec``, answering 200 on ``--path``; always stopped afterwards."""
    port = bn.free_port()
    argv = prism_argv(args.prism, args.spec, port)
    log = workdir / "prism.log"
    proc = bn.start_group(argv, log)
    try:
        url = f"http://127.0.0.1:{port}{args.path}"
        status = wait_answering(proc, url, "prism", log, timeout_s=60)
        if status != 200:
            sys.exit(f"prism answered {status} to GET {url}, not 200: pick another --path")
        yield Server("prism", url, tuple(argv), proc.pid)
    finally:
        bn.stop_group(proc)


def require_assay_mock() -> None:
    """Raise ``MockUnavailable(found=False)`` when ``assay mock --help`` does not run."""
    done = subprocess.run([bn.assay_executable(), "mock", "--help"], capture_output=True,
                          text=True, env=bn.assay_env(), check=False)
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines() or ["(no output)"]
        raise MockUnavailable(f"`assay mock --help` exited with {done.returncode}: {said[-1]}",
                              found=False)


@contextmanager
def assay_server(args: argparse.Namespace, workdir: Path) -> Iterator[Server]:
    """assay mock serving ``--spec``, answering 200 on ``--path``; always stopped afterwards."""
    require_assay_mock()
    port = bn.free_port()
    argv = assay_mock_argv(args.spec, port, args.assay_args)
    out, err = workdir / "assay.out", workdir / "assay.err"
    # Unbuffered, so that the "serving" line reaches the file as soon as it is printed.
    proc = start_split(argv, out, err, env={**bn.assay_env(), "PYTHONUNBUFFERED": "1"})
    try:
        url = wait_serving(proc, out, err, timeout_s=60).rstrip("/") + args.path
        status = http_status(url)
        if status != 200:
            raise MockUnavailable(f"assay mock answered {status} to GET {url}, not 200",
                                  found=True)
        yield Server("assay", url, tuple(argv), proc.pid)
    finally:
        bn.stop_group(proc)


def wrk_argv(args: argparse.Namespace, url: str, seconds: float) -> list[str]:
    """``wrk -t1 -cN -dS --latency URL`` pinned to the generator core (one thread, one core)."""
    return bn.pinned(bn.GENERATOR_CORE, [args.wrk, "-t1", f"-c{args.connections}",
                                         f"-d{seconds:g}s", "--latency", url])


def measure(args: argparse.Namespace, server: Server, workdir: Path, seconds: float) -> WrkRun:
    """One wrk run against ``server``, with the CPU use of the machine around it."""
    workdir.mkdir(parents=True)
    log = workdir / "wrk.log"
    run = WrkRun(server.name)
    with bn.CpuWatch(server.pid) as cpu:
        code, _ = bn.run_group(wrk_argv(args, server.url, seconds), log, seconds + 60)
    run.cpu, run.others = cpu.summary(), cpu.others_cores
    text = bn.tail(log, 100_000)
    if code != 0:
        run.notes.append(f"wrk exited with {code}:\n{text[-1500:]}")
    try:
        parse_wrk(text, run)
    except ValueError as exc:
        run.notes.append(f"could not read wrk's output: {exc}")
    return run


def measure_calm(args: argparse.Namespace, server: Server, workdir: Path, number: int) -> WrkRun:
    """``measure`` once the machine is quiet; again (``--retries``) when others disturbed it."""
    attempts: list[WrkRun] = []
    for attempt in range(args.retries + 1):
        busy = bn.wait_quiet(args.settle)
        print(f"run {number}/{args.runs}: {server.name}"
              + (f" (retry {attempt}: others used {attempts[-1].others:.2f} core)"
                 if attempt else "")
              + (f" (machine still busy: {busy:.2f} core)" if busy >= DISTURBED_CORES else "")
              + " ...", flush=True)
        attempts.append(measure(args, server, workdir / f"{number}-{server.name}-{attempt}",
                                args.duration))
        if attempts[-1].others <= DISTURBED_CORES:
            break
    return min(attempts, key=lambda run: run.others)


def show_ms(value: float | None) -> str:
    """A latency in milliseconds for a table, or 'n/a'."""
    return bn.show(value, "{:.2f} ms")


def print_runs(runs: list[dict[str, WrkRun]]) -> None:
    """One line per wrk run."""
    print(f"\n{'run':>3}  {'server':<7}{'requests':>11}{'req/s':>10}{'avg':>11}{'p50':>11}"
          f"{'p99':>11}  cpu busy during the run")
    for number, run in enumerate(runs, 1):
        for m in run.values():
            print(f"{number:>3}  {m.server:<7}{bn.show(m.requests, '{:,}'):>11}"
                  f"{bn.show(m.rps):>10}{show_ms(m.latency_ms.get('avg')):>11}"
                  f"{show_ms(m.latency_ms.get('p50')):>11}{show_ms(m.latency_ms.get('p99')):>11}"
                  f"  {m.cpu}")
            for note in m.notes:
                print(f"     note: {note}")
    disturbed = sum(1 for run in runs for m in run.values() if m.others > DISTURBED_CORES)
    if disturbed:
        print(f"warning: in {disturbed} run(s) other processes used more than "
              f"{DISTURBED_CORES:g} core (even after --retries): those figures are low; "
              "rerun on a quiet machine")


def server_median(runs: list[dict[str, WrkRun]], name: str, key: str | None = None
                  ) -> float | None:
    """The median over the runs of ``name``'s req/s, or of one of its latencies (``key``)."""
    values = [run[name].rps if key is None else run[name].latency_ms.get(key)
              for run in runs if name in run]
    return bn.median([v for v in values if v is not None])


def print_summary(runs: list[dict[str, WrkRun]], names: list[str]) -> None:
    """The table of medians per server, and the goal verdict when both ran."""
    medians = {name: server_median(runs, name) for name in names}
    prism = medians.get("prism")
    print(f"\n== median of {len(runs)} run(s), requests/s and latency as wrk measured them ==")
    print(f"  {'server':<7}{'runs':>5}{'req/s':>10}{'vs prism':>10}{'avg':>11}{'p50':>11}"
          f"{'p99':>11}")
    for name in names:
        ratio = medians[name] / prism if medians[name] is not None and prism else None
        print(f"  {name:<7}{sum(1 for run in runs if name in run):>5}"
              f"{bn.show(medians[name]):>10}{bn.show(ratio, '{:.2f}x'):>10}"
              + "".join(f"{show_ms(server_median(runs, name, key)):>11}"
                        for key in ("avg", "p50", "p99")))
    if "assay" in names and "prism" in names:
        per_run = [run["assay"].rps / run["prism"].rps for run in runs
                   if run["assay"].rps is not None and run["prism"].rps]
        same_run = bn.median(per_run)
        verdict = "MET" if same_run is not None and same_run >= GOAL else "NOT MET"
        print(f"  assay/prism: {bn.show(same_run, '{:.2f}x')} (median of per-run ratios) "
              f"goal >= {GOAL:g}x: {verdict}")


def print_header(args: argparse.Namespace, servers: dict[str, Server]) -> None:
    """Versions, the setup, and the exact command of every server and of wrk."""
    print(f"python {sys.version.split()[0]}; prism: "
          f"{bn.tool_version([str(args.prism), '--version'])} (node "
          f"{bn.tool_version(['node', '--version'])}); assay: "
          f"{bn.tool_version([bn.assay_executable(), '--version'])}; wrk: "
          f"{bn.tool_version([args.wrk, '-v'])}")
    print(f"{args.runs} run(s) of {args.duration:g} s per server after a {args.warmup:g} s "
          f"warm-up, {args.connections} connections, GET {args.path}; servers on core "
          f"{bn.SERVER_CORE}, wrk on core {bn.GENERATOR_CORE}")
    for server in servers.values():
        print(f"{server.name}: {shlex.join(server.argv)}")
        print(f"  wrk: {shlex.join(wrk_argv(args, server.url, args.duration))}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=64, help="wrk -c (default 64)")
    parser.add_argument("--path", default="/books/1",
                        help="the endpoint, under each server's base URL (default /books/1)")
    parser.add_argument("--only", choices=SERVERS, help="measure one server only")
    parser.add_argument("--spec", type=Path, default=DEMO_SPEC)
    parser.add_argument("--warmup", type=float, default=3.0,
                        help="seconds of unmeasured wrk load per server first (default 3)")
    parser.add_argument("--assay-args", default="",
                        help="more options for `assay mock`, one shell-quoted string: "
                        "--assay-args='--seed 1'")
    parser.add_argument("--prism-dir", type=Path, default=PRISM_DIR)
    parser.add_argument("--wrk", default="/usr/bin/wrk")
    parser.add_argument("--settle", type=float, default=60.0,
                        help="before each run, wait up to this many seconds for an idle machine")
    parser.add_argument("--retries", type=int, default=2,
                        help="reruns of a run that other processes disturbed (default 2)")
    parser.add_argument("--keep", action="store_true", help="keep the servers' and wrk's output")
    args = parser.parse_args(argv)
    if not args.path.startswith("/"):
        parser.error("--path must start with '/'")
    args.names = [args.only] if args.only else list(SERVERS)
    return args


def start_servers(args: argparse.Namespace, root: Path, stack: ExitStack
                  ) -> tuple[dict[str, Server], MockUnavailable | None]:
    """The servers asked for, entered into ``stack``; why assay mock is missing, if it is."""
    servers: dict[str, Server] = {}
    if "prism" in args.names:
        args.prism = ensure_prism(args.prism_dir)
        servers["prism"] = stack.enter_context(prism_server(args, root))
    else:
        args.prism = args.prism_dir / "node_modules" / ".bin" / "prism"
    missing = None
    if "assay" in args.names:
        try:
            servers["assay"] = stack.enter_context(assay_server(args, root))
        except MockUnavailable as exc:
            missing = exc
    return servers, missing


def run_all(args: argparse.Namespace, servers: dict[str, Server], root: Path
            ) -> list[dict[str, WrkRun]]:
    """The warm-up of each server, then ``--runs`` rounds of one measured run per server."""
    for server in servers.values():
        if args.warmup > 0:
            print(f"warm-up: {server.name} ...", flush=True)
            measure(args, server, root / f"warmup-{server.name}", args.warmup)
    runs: list[dict[str, WrkRun]] = []
    for number in range(1, args.runs + 1):
        runs.append({name: measure_calm(args, server, root, number)
                     for name, server in servers.items()})
    return runs


def main(argv: list[str]) -> int:
    """Measure the servers asked for; print the runs, the table and the verdict."""
    args = parse_args(argv[1:])
    root = Path(tempfile.mkdtemp(prefix="assay-mock-vs-"))
    try:
        with ExitStack() as stack:
            servers, missing = start_servers(args, root, stack)
            if missing is not None:
                print(f"assay mock: {missing}", flush=True)
            if servers:
                print_header(args, servers)
                runs = run_all(args, servers, root)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    if servers:
        print_runs(runs)
        print_summary(runs, list(servers))
    if args.keep:
        print(f"\noutputs: {root}")
    if missing is None:
        return 0
    alone = "only Prism was measured" if servers else "nothing was measured"
    if not missing.found:
        print(f"\nassay mock was not found in this checkout: {alone} ({missing})")
        return 0 if servers else 1
    print(f"\nassay mock did not serve, {alone}: {missing}")
    return 1


if __name__ == "__main__":
    sys.exit(bn.run_main(main, sys.argv))
