"""Shared helpers of the ``assay load`` benchmarks: nginx, pinning, process groups, tools.

The four ``bench/load_*.py`` scripts import this module (Python puts the script's folder on
``sys.path``). What it gives them:

- ``nginx_server()``: nginx from a temporary prefix on 127.0.0.1, ``worker_processes 1``,
  ``access_log off``, keep-alive with a very large ``keepalive_requests``, ``location = /``
  answering a 2-byte body and ``location = /nginx_status`` with ``stub_status``, pinned to
  one core with ``taskset``; its ``served()`` reads the request counter of stub_status.
- ``pinned()``, ``start_group()``, ``stop_group()``, ``run_group()``: commands pinned to a
  core, each in a session of its own so that stopping it (also on Ctrl-C) stops its
  children too.
- ``assay_load_argv()``, ``assay_env()``, ``require_assay_load()``, ``read_load()``: running
  ``assay load`` from this checkout and reading the ``load`` section of its JSON report.
- ``ensure_locust()``, ``read_locust_stats()``: Locust, a benchmark-only tool, from its own
  virtual environment ``bench/.venv-locust`` (created when missing).

Nothing here talks to anything but 127.0.0.1.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
LOCUST_VENV = BENCH / ".venv-locust"
SERVER_CORE = 0
GENERATOR_CORE = 1

NGINX_CONF = """\
{user}worker_processes 1;
worker_rlimit_nofile 65536;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{
    worker_connections 16384;
}}
http {{
    access_log off;
    keepalive_timeout 300s;
    # Far more than any run sends on one connection: no connection is ever closed by nginx.
    keepalive_requests 1000000000;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location = / {{
            default_type text/plain;
            return 200 "ok";
        }}
        location = /nginx_status {{
            stub_status;
        }}
    }}
}}
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (chosen up front so commands print exactly)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pinned(core: int, argv: Sequence[str]) -> list[str]:
    """``argv`` run on CPU ``core`` only (children inherit the affinity)."""
    return ["taskset", "-c", str(core), *argv]


def start_group(argv: Sequence[str], log: Path, env: dict[str, str] | None = None,
                cwd: Path | None = None) -> subprocess.Popen:
    """Start ``argv`` in a session of its own, its output (both streams) into ``log``."""
    with log.open("ab") as sink:
        return subprocess.Popen(list(argv), stdout=sink, stderr=subprocess.STDOUT, env=env,
                                cwd=cwd, start_new_session=True)


def stop_group(proc: subprocess.Popen, grace_s: float = 5.0) -> None:
    """Stop the process group that ``proc`` leads: SIGTERM, then SIGKILL after ``grace_s``."""
    signal_group(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        pass
    # Whatever is left: the leader, or worker processes that outlived it.
    signal_group(proc, signal.SIGKILL)
    proc.wait()


def signal_group(proc: subprocess.Popen, sig: int) -> None:
    """Send ``sig`` to the process group that ``proc`` leads, if any of it is left."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def run_group(argv: Sequence[str], log: Path, timeout_s: float, env: dict[str, str] | None = None,
              cwd: Path | None = None) -> tuple[int | None, float]:
    """Run ``argv`` to its end (or ``timeout_s``): its exit code (None on timeout), wall time."""
    started = time.perf_counter()
    proc = start_group(argv, log, env, cwd)
    try:
        code: int | None = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        code = None
    finally:
        elapsed = time.perf_counter() - started
        # Also on Ctrl-C: the tool's own session does not receive the terminal's SIGINT.
        stop_group(proc, grace_s=2.0)
    return code, elapsed


def wait_listening(proc: subprocess.Popen, port: int, what: str, log: Path,
                   timeout_s: float = 15.0) -> None:
    """Return once ``port`` accepts connections; exit with ``log``'s tail if ``proc`` died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited with {proc.returncode}:\n{tail(log)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{what} did not listen on 127.0.0.1:{port} within {timeout_s:.0f} s:\n{tail(log)}")


def run_main(main: Callable[[list[str]], int], argv: list[str]) -> int:
    """Run a benchmark's ``main``; Ctrl-C or SIGTERM end it with 130 once it cleaned up.

    SIGTERM is made to raise KeyboardInterrupt as Ctrl-C does, so that the ``finally``
    blocks stop the servers and tools either way.
    """
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
    try:
        return main(argv)
    except KeyboardInterrupt:
        print("\ninterrupted: servers and tools stopped", file=sys.stderr)
        return 130


def tail(path: Path, size: int = 2000) -> str:
    """The last ``size`` characters of a text file ('' when it does not exist)."""
    return path.read_text(errors="replace")[-size:] if path.exists() else ""


@dataclass(frozen=True, slots=True)
class NginxServer:
    """A running nginx: its port, its command line, its folder, its process group."""

    port: int
    argv: tuple[str, ...]
    prefix: Path
    pid: int

    def cpu_watch(self) -> CpuWatch:
        """A ``CpuWatch`` that counts this nginx as the server."""
        return CpuWatch(self.pid)

    @property
    def url(self) -> str:
        """The URL of the 2-byte response."""
        return f"http://127.0.0.1:{self.port}/"

    def served(self) -> int:
        """nginx's request counter (stub_status "requests"), this reading included."""
        return stub_requests(self.port)


def stub_requests(port: int) -> int:
    """The "requests" figure of the stub_status page on ``port``.

    The page reads::

        Active connections: 1
        server accepts handled requests
         7 7 42
        Reading: 0 Writing: 1 Waiting: 0

    and the request that reads it is already counted in it.
    """
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/nginx_status", timeout=10) as page:
        lines = page.read().decode().splitlines()
    return int(lines[2].split()[2])


def served_between(before: int, after: int) -> int:
    """Requests nginx served between two stub_status readings, less the second reading."""
    # ``before`` already counts its own status request; ``after`` counts its own too.
    return after - before - 1


def nginx_conf(prefix: Path, port: int) -> str:
    """The configuration text of the benchmark's nginx."""
    # The worker would drop to "nobody" and then could not enter the 0700 temporary prefix.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return NGINX_CONF.format(user=user, prefix=prefix, port=port)


@contextmanager
def nginx_server(core: int = SERVER_CORE, nginx: str = "/usr/sbin/nginx") -> Iterator[NginxServer]:
    """Serve the 2-byte body with nginx pinned to ``core``; always stopped afterwards."""
    prefix = Path(tempfile.mkdtemp(prefix="assay-bench-nginx-"))
    port = free_port()
    (prefix / "nginx.conf").write_text(nginx_conf(prefix, port))
    # -e: the start-up error log goes to the prefix too, not to /var/log/nginx.
    argv = tuple(pinned(core, [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                               "-e", str(prefix / "error.log")]))
    log = prefix / "output.log"
    proc = start_group(argv, log)
    try:
        wait_listening(proc, port, "nginx", prefix / "error.log")
        yield NginxServer(port, argv, prefix, proc.pid)
    finally:
        stop_group(proc)
        shutil.rmtree(prefix, ignore_errors=True)


def core_ticks() -> dict[str, list[int]]:
    """The per-core counters of /proc/stat: {"cpu0": [user, nice, system, idle, ...]}."""
    lines = Path("/proc/stat").read_text().splitlines()
    return {f[0]: [int(x) for x in f[1:9]] for f in map(str.split, lines)
            if f and f[0].startswith("cpu") and f[0] != "cpu"}


def proc_stats() -> Iterator[tuple[int, list[str]]]:
    """(pid, fields after the command name) of every live process, from /proc/PID/stat.

    The fields start with state, ppid, pgrp; utime and stime (clock ticks) are 11 and 12.
    """
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended meanwhile
        # The command name may hold spaces and parentheses: split after its closing one.
        yield int(stat.parent.name), text[text.rindex(")") + 2:].split()


def group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of group ``pgid``."""
    ticks = sum(int(f[11]) + int(f[12]) for _, f in proc_stats() if int(f[2]) == pgid)
    return ticks / os.sysconf("SC_CLK_TCK")


def reaped_cpu_s() -> float:
    """CPU seconds of this process and of every child it has waited for (and theirs)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), \
        resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class CpuWatch:
    """CPU use around one run, in a ``with`` that ends after the tool has been waited for.

    ``summary()`` gives each core's busy share, the time the host stole, and the CPU that
    processes other than this script, its tool and its server used meanwhile (in cores):
    above ~0.1 core, something else on the machine disturbed the run. A generator that
    does not keep its core near 100% busy is not the bottleneck.
    """

    def __init__(self, server_group: int):
        self.server_group = server_group
        self.others_cores = 0.0
        self._start: tuple = ()
        self._cores: dict[str, list[int]] = {}

    def _now(self) -> tuple:
        return (time.monotonic(), core_ticks(), reaped_cpu_s(), group_cpu_s(self.server_group))

    def __enter__(self) -> CpuWatch:
        self._start = self._now()
        return self

    def __exit__(self, *exc_info: object) -> None:
        (t0, cores0, ours0, server0), (t1, cores1, ours1, server1) = self._start, self._now()
        hz = os.sysconf("SC_CLK_TCK")
        self._cores = {core: [a - b for a, b in zip(cores1[core], cores0.get(core, cores1[core]),
                                                    strict=True)] for core in cores1}
        # user + nice + system only: irq and softirq time (loopback traffic) is charged to
        # no process, so it would count as "others".
        busy_s = sum(sum(d[:3]) for d in self._cores.values()) / hz
        self.others_cores = max(0.0, busy_s - (ours1 - ours0) - (server1 - server0)) / (t1 - t0)

    def summary(self) -> str:
        """``cpu0 97%, cpu1 99%; others 0.02 core`` (with steal when the host took any)."""
        shown = []
        for core, delta in sorted(self._cores.items()):
            total = sum(delta) or 1
            busy = sum(delta[:3]) + delta[5] + delta[6]
            stolen = f" (steal {delta[7] / total:.0%})" if delta[7] / total >= 0.01 else ""
            shown.append(f"{core} {busy / total:.0%}{stolen}")
        return f"{', '.join(shown)}; others {self.others_cores:.2f} core"


def wait_quiet(max_wait_s: float, threshold_cores: float = 0.1) -> float:
    """Wait (up to ``max_wait_s``) for a second in which the machine is nearly idle.

    Call it between runs, when nothing of the benchmark is busy. Returns the cores busy in
    the last second seen (below ``threshold_cores`` when the machine went quiet).
    """
    deadline = time.monotonic() + max_wait_s
    while True:
        before = core_ticks()
        time.sleep(1.0)
        after = core_ticks()
        busy = sum(sum(after[c][:3]) - sum(before[c][:3]) for c in after)
        cores = busy / os.sysconf("SC_CLK_TCK")
        if cores < threshold_cores or time.monotonic() >= deadline:
            return cores


def assay_executable() -> str:
    """The ``assay`` console script installed beside this interpreter."""
    beside = Path(sys.executable).parent / "assay"
    return str(beside) if beside.exists() else "assay"


def assay_env() -> dict[str, str]:
    """The environment for ``assay``, with this checkout's ``src`` first on the path.

    So the figures are those of this checkout, whatever an editable install points to.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO / "src"), env.get("PYTHONPATH", "")]))
    return env


def assay_load_argv(url: str, report: Path, *options: str) -> list[str]:
    """``assay load URL OPTIONS --quiet --json REPORT``."""
    return [assay_executable(), "load", url, *options, "--quiet", "--json", str(report)]


def require_assay_load() -> str:
    """The help text of ``assay load``; exit with a clear message when it does not run."""
    done = subprocess.run([assay_executable(), "load", "--help"], capture_output=True,
                          text=True, env=assay_env(), check=False)
    if done.returncode != 0:
        sys.exit("`assay load --help` does not run in this checkout yet "
                 f"(exit {done.returncode}):\n{(done.stderr or done.stdout)[-1500:]}")
    return done.stdout


def read_load(report: Path) -> dict:
    """The ``load`` section of an assay JSON report."""
    return json.loads(report.read_text())["load"]


def ensure_locust(venv: Path = LOCUST_VENV, requirement: str = "locust") -> Path:
    """The ``locust`` executable in ``venv``, creating the venv and installing it if missing.

    Locust is not a dependency of assay: it only runs here, as the thing compared against.
    """
    locust = venv / "bin" / "locust"
    if not locust.exists():
        print(f"creating {venv} and installing {requirement} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                        requirement], check=True)
    return locust


def locust_argv(locust: Path, locustfile: Path, host: str, users: int, seconds: float,
                csv_prefix: Path) -> list[str]:
    """A headless, single-process Locust run with ``users`` started at once."""
    return [str(locust), "-f", str(locustfile), "--headless", "-u", str(users),
            "-r", str(users), "-t", f"{seconds:g}s", "--host", host, "--only-summary",
            "--csv", str(csv_prefix), "--loglevel", "WARNING"]


def read_locust_stats(csv_prefix: Path) -> dict[str, str]:
    """The "Aggregated" row of Locust's ``PREFIX_stats.csv`` (column name -> text)."""
    path = csv_prefix.parent / f"{csv_prefix.name}_stats.csv"
    with path.open(newline="") as stats:
        rows = [row for row in csv.DictReader(stats) if row.get("Name") == "Aggregated"]
    if not rows:
        raise ValueError(f"{path}: no 'Aggregated' row")
    return rows[0]


def tool_version(argv: Sequence[str]) -> str:
    """The first line a ``--version``-style command prints ('?' when it does not run)."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=30,
                              env=assay_env(), check=False)
    except OSError:
        return "?"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else "?"


def median(values: Sequence[float]) -> float | None:
    """The median of ``values``, ``None`` when there are none."""
    return statistics.median(values) if values else None


def show(value: float | int | None, fmt: str = "{:,.0f}") -> str:
    """A figure for a table, or 'n/a'."""
    return "n/a" if value is None else fmt.format(value)
