"""``assay monitor`` at scale: N HTTP monitors against a local server; CPU, lateness, bytes.

``assay monitor FILE --db sqlite:///PATH --port 0`` runs pinned to core 1 with ``--monitors``
monitors ``GET /?m=<i>`` (``expect: {status: 200}``, ``every: --every``) against nginx
(``benchnginx``; ``location = /`` answers "ok" whatever the query) on core 0, or a tiny
asyncio server when nginx is missing (``--server asyncio``). ``--notify`` adds a webhook
channel (``/?hook`` on the same server), so every monitor also feeds an alert machine.

``--warmup`` seconds are left out (imports, first runs, connections); then, for
``--duration`` seconds: the CPU of the agent's process group (/proc/PID/stat utime + stime
+ cutime + cstime) over wall time; after SIGINT, from the SQLite file, the lateness
(``at - planned_at``) of every run whose slot lies in the window, runs against
N * duration / every, failures; the bytes a result takes (pages of ``results`` and its
indexes per row, SQLite's ``dbstat``), a rollup row's (``apply_retention`` on a copy), and
the steady-state size: 7 days of raw results and a year of hourly rollups.

It first waits (``--settle``) for the 1-minute load average to drop under ``--max-load``
and reports the CPU other processes used meanwhile; ``--profile FILE`` runs py-spy on the
agent for the window and prints where its CPU went.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import benchnginx as bn

GOAL_CPU = 0.25  # of one core
GOAL_P99_MS = 50.0
STOP_MARGIN_S = 3.0  # after the window: runs of its last slots are stored before SIGINT
DAY_S = 86400.0
RAW_DAYS = 7
ROLLUP_HOURS = 365 * 24
ASYNC_SERVER = '''\
import asyncio, sys
ANSWER = b"HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: 2\\r\\n\\r\\nok"
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\\r\\n\\r\\n")
            for line in head.lower().split(b"\\r\\n"):  # a webhook's POST has a body
                if line.startswith(b"content-length:"):
                    await reader.readexactly(int(line.split(b":")[1]))
            writer.write(ANSWER)
            await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass
    finally:
        writer.close()
async def main(port):
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()
asyncio.run(main(int(sys.argv[1])))
'''


@dataclass(frozen=True, slots=True)
class Target:
    """The server the monitors probe: what it is, its port, its command, its group."""

    port: int
    argv: tuple[str, ...]
    pid: int


@contextmanager
def target_server(args: argparse.Namespace, workdir: Path) -> Iterator[Target]:
    """nginx (or, without it, the asyncio server) pinned to the server core."""
    if args.server == "nginx":
        with bn.nginx_server(nginx=args.nginx) as nginx:
            yield Target(nginx.port, nginx.argv, nginx.pid)
        return
    script = workdir / "target_server.py"
    script.write_text(ASYNC_SERVER)
    port = bn.free_port()
    argv = tuple(bn.pinned(bn.SERVER_CORE, [sys.executable, str(script), str(port)]))
    log = workdir / "target_server.log"
    proc = bn.start_group(argv, log)
    try:
        bn.wait_listening(proc, port, "the asyncio server", log)
        yield Target(port, argv, proc.pid)
    finally:
        bn.stop_group(proc)


def monitors_yaml(count: int, every_s: float, base_url: str, notify: bool) -> str:
    """The monitors file: ``count`` request monitors, and a webhook channel if ``notify``."""
    lines = [f"base_url: {base_url}", "monitors:"]
    for i in range(count):
        lines += [f"  - name: m{i:05d}",
                  f'    request: {{method: GET, path: "/?m={i}"}}',
                  "    expect: {status: 200}",
                  f"    every: {every_s:g}s"]
    if notify:
        lines += ["notify:", "  - name: bench", f'    webhook: "{base_url}/?hook"']
    return "\n".join(lines) + "\n"


def group_ticks_s(pgid: int) -> float:
    """CPU seconds of the live processes of group ``pgid`` and of the children they reaped
    (utime, stime, cutime, cstime)."""
    ticks = sum(sum(int(x) for x in f[11:15]) for _, f in bn.proc_stats() if int(f[2]) == pgid)
    return ticks / os.sysconf("SC_CLK_TCK")


def thread_ticks_s(pid: int, tid: int) -> float:
    """CPU seconds (utime + stime) of thread ``tid`` of ``pid``; 0 once it is gone."""
    try:
        text = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2:].split()  # the name may hold spaces and parentheses
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> float:
    """The 1-minute load average."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def wait_load(max_load: float, max_wait_s: float) -> float:
    """Wait up to ``max_wait_s`` for the 1-minute load average to drop under ``max_load``."""
    deadline = time.monotonic() + max_wait_s
    shown = 0.0
    while (load := load_average()) >= max_load and time.monotonic() < deadline:
        if time.monotonic() >= shown:
            print(f"  waiting for a quiet machine: load average {load:.2f}", flush=True)
            shown = time.monotonic() + 30
        time.sleep(2)
    return load


def wait_dashboard(proc: subprocess.Popen, log: Path, timeout_s: float = 120.0) -> str:
    """The agent's dashboard URL, once its first line ``dashboard <URL>`` is out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in bn.tail(log, 100_000).splitlines():
            if line.startswith("dashboard "):
                return line.split()[1]
        if proc.poll() is not None:
            sys.exit(f"assay monitor exited with {proc.returncode}:\n{bn.tail(log)}")
        time.sleep(0.1)
    sys.exit(f"assay monitor printed no dashboard line within {timeout_s:.0f} s:\n"
             f"{bn.tail(log)}")


@dataclass(slots=True)
class Window:
    """What was measured while the agent ran: CPU, the machine's load, 10-s CPU slices."""

    start: float = 0.0  # epoch
    end: float = 0.0
    cpu_s: float = 0.0
    wall_s: float = 0.0
    others_cores: float = 0.0
    others_agent_core: float = 0.0
    main_s: float = 0.0  # the agent's main thread (event loop)
    load_before: float = 0.0
    load_after: float = 0.0
    slices: list[float] = field(default_factory=list)  # CPU share of each 10-s slice

    @property
    def cpu_share(self) -> float:
        """Of one core."""
        return self.cpu_s / self.wall_s if self.wall_s else 0.0


@dataclass(frozen=True, slots=True)
class Sample:
    """CPU counters at one moment (seconds)."""

    at: float  # monotonic
    agent: float
    agent_main: float  # the agent's main thread: its event loop
    server: float
    bench: float  # this process
    machine: float  # every core, busy (user + nice + system)
    agent_core: float  # the agent's core, busy

    @classmethod
    def take(cls, agent: int, server: int) -> Sample:
        """The counters now, for the agent's and the server's process groups."""
        hz, cores, own = os.sysconf("SC_CLK_TCK"), bn.core_ticks(), os.times()
        return cls(time.monotonic(), group_ticks_s(agent),
                   thread_ticks_s(agent, agent),
                   bn.group_cpu_s(server), own.user + own.system,
                   sum(sum(t[:3]) for t in cores.values()) / hz,
                   sum(cores.get(f"cpu{bn.GENERATOR_CORE}", [0] * 3)[:3]) / hz)


def measure_window(proc: subprocess.Popen, log: Path, server_pid: int, start: float,
                   duration_s: float) -> Window:
    """Sleep until ``start`` (epoch), then measure for ``duration_s`` seconds."""
    window = Window(start=start, end=start + duration_s)
    time.sleep(max(0.0, start - time.time()))
    window.load_before = load_average()
    first = last = Sample.take(proc.pid, server_pid)
    while (left := window.end - time.time()) > 0:
        time.sleep(min(10.0, left))
        if proc.poll() is not None:
            sys.exit(f"assay monitor exited with {proc.returncode} during the run:\n"
                     f"{bn.tail(log)}")
        now = Sample.take(proc.pid, server_pid)
        window.slices.append((now.agent - last.agent) / (now.at - last.at))
        last = now
    window.load_after = load_average()
    window.wall_s = last.at - first.at
    window.cpu_s = last.agent - first.agent
    window.main_s = last.agent_main - first.agent_main
    ours = window.cpu_s + (last.server - first.server) + (last.bench - first.bench)
    window.others_cores = max(0.0, last.machine - first.machine - ours) / window.wall_s
    # What competed with the agent for its own core: the first suspect of late runs.
    window.others_agent_core = max(0.0, last.agent_core - first.agent_core - window.cpu_s
                                   ) / window.wall_s
    return window


def stop_agent(proc: subprocess.Popen, timeout_s: float = 60.0) -> int | None:
    """SIGINT, as Ctrl-C; the exit code, or None when it had to be killed."""
    bn.signal_group(proc, signal.SIGINT)
    try:
        return proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        bn.stop_group(proc)
        return None


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank ``q``-quantile of non-empty ``ordered``."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass(slots=True)
class Runs:
    """The runs whose slot lies in the window."""

    stored: int
    distinct_slots: int
    failures: int
    reasons: list[tuple[str, int]]
    lateness_ms: list[float]  # sorted


def read_runs(db: Path, window: Window) -> Runs:
    """The stored runs planned in ``[window.start, window.end)`` (plain SQL)."""
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT monitor_id, planned_at, at, ok, reason FROM results "
                           "WHERE planned_at >= ? AND planned_at < ?",
                           (window.start, window.end)).fetchall()
    reasons = Counter(reason or "?" for _, _, _, ok, reason in rows if not ok)
    return Runs(len(rows), len({(m, round(p, 6)) for m, p, *_ in rows}),
                sum(not row[3] for row in rows), reasons.most_common(3),
                sorted((at - planned) * 1000 for _, planned, at, _, _ in rows))


def btree_bytes(db: Path, table: str) -> tuple[int, int]:
    """(pages' bytes of ``table`` and its indexes, rows of ``table``) from ``dbstat``."""
    with sqlite3.connect(db) as con:
        names = [n for (n,) in con.execute("SELECT name FROM sqlite_schema WHERE tbl_name = ?",
                                           (table,))]
        marks = ",".join("?" * len(names))
        size = con.execute(f"SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN "
                           f"({marks})", names).fetchone()[0]
        rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return size, rows


@dataclass(slots=True)
class Bytes:
    """The database's size and what a result and a rollup row take."""

    file: int
    results: int
    result_bytes: int
    rollups: int = 0
    rollup_bytes: int = 0


def store_class() -> type:
    """``SqlStore`` of this checkout (its ``src`` first, as ``bn.assay_env`` does)."""
    sys.path.insert(0, str(bn.REPO / "src"))
    from assay.storage.sql import SqlStore
    return SqlStore


def database_bytes(db: Path, workdir: Path) -> Bytes:
    """Sizes after a checkpoint; rollups written by ``apply_retention`` on a copy."""
    sql_store = store_class()
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        last_at = con.execute("SELECT max(at) FROM results").fetchone()[0] or time.time()
    store = sql_store(f"sqlite:///{db}")
    try:
        sizes = Bytes(store.size_bytes() or 0, *reversed(btree_bytes(db, "results")))
    finally:
        store.close()
    copy = workdir / "retention-copy.db"
    shutil.copyfile(db, copy)
    store = sql_store(f"sqlite:///{copy}")
    try:
        # Raw results kept 0 s from two hours on: every (complete) hour is rolled up.
        store.apply_retention(last_at + 7200, 0.0, 10 * 365 * DAY_S)
    finally:
        store.close()
    sizes.rollup_bytes, sizes.rollups = btree_bytes(copy, "rollups")
    return sizes


def show_setup(args: argparse.Namespace, target: Target, agent_argv: list[str],
               monitors_file: Path) -> None:
    """Versions, the checkout, the setup and the exact command lines."""
    server = (bn.tool_version([args.nginx, "-v"]) if args.server == "nginx"
              else "asyncio server (nginx missing or --server asyncio)")
    print(f"python {platform.python_version()} ({sys.executable}); "
          f"{bn.tool_version([bn.assay_executable(), '--version'])}; "
          f"sqlite {sqlite3.sqlite_version}; {server}")
    checkout = bn.tool_version(["git", "-C", str(bn.REPO), "describe", "--always", "--dirty"])
    print(f"checkout {checkout} at {time.strftime('%Y-%m-%d %H:%M %Z')};"
          f" {os.cpu_count()} cores: target on core {bn.SERVER_CORE}, assay on core "
          f"{bn.GENERATOR_CORE}")
    print(f"target: {shlex.join(target.argv)}")
    print(f"assay:  {shlex.join(agent_argv)}")
    print(f"        (env PYTHONPATH={bn.REPO / 'src'}; monitors file {monitors_file})")
    print(f"{args.monitors} monitors `GET /?m=<i>`, expect status 200, every {args.every:g} s, "
          + ("one webhook channel (/?hook)" if args.notify else "no notify channels")
          + f"; warm-up {args.warmup:g} s excluded, measured {args.duration:g} s", flush=True)


def show_figures(args: argparse.Namespace, window: Window, runs: Runs, sizes: Bytes) -> bool:
    """The figures and verdicts; True when both goals are met."""
    expected = args.monitors * args.duration / args.every
    late = runs.lateness_ms
    p99 = percentile(late, 0.99) if late else float("inf")
    cpu_ok, late_ok = window.cpu_share < GOAL_CPU, p99 < GOAL_P99_MS
    verdict = {True: "PASS", False: "FAIL"}
    slices = ", ".join(f"{s:.0%}" for s in window.slices)
    print(f"\nmachine: load average {window.load_before:.2f} at the start, "
          f"{window.load_after:.2f} at the end; other processes used "
          f"{window.others_cores:.2f} core during the window, "
          f"{window.others_agent_core:.0%} of the agent's core"
          + ("  (DISTURBED: rerun on a quiet machine)"
             if window.others_cores > 0.1 or window.others_agent_core > 0.05 else ""))
    print(f"\nCPU used by assay     {window.cpu_share:7.1%} of one core "
          f"({window.cpu_s:.1f} s in {window.wall_s:.1f} s)   goal < {GOAL_CPU:.0%}: "
          f"{verdict[cpu_ok]}")
    print(f"  per thread          {window.main_s / window.wall_s:.1%} main (event loop: "
          f"schedule, probes, web), {(window.cpu_s - window.main_s) / window.wall_s:.1%} "
          f"others (the store writer...)")
    print(f"  per 10 s            {slices}")
    if late:
        print(f"lateness (ms)         p50 {percentile(late, 0.5):.1f}  p95 "
              f"{percentile(late, 0.95):.1f}  p99 {p99:.1f}  max {late[-1]:.1f}  "
              f"(min {late[0]:.1f})   goal p99 < {GOAL_P99_MS:g}: {verdict[late_ok]}")
    else:
        print(f"lateness              no run stored in the window   goal: {verdict[False]}")
    print(f"runs in the window    {runs.stored:,} stored, {runs.distinct_slots:,} distinct "
          f"slots, {expected:,.0f} expected; {runs.failures:,} failed")
    for reason, count in runs.reasons:
        print(f"  {count:,} x {reason}")
    show_bytes(args, sizes)
    return cpu_ok and late_ok


def show_bytes(args: argparse.Namespace, sizes: Bytes) -> None:
    """Bytes per result, per monitor per day, and the steady-state size."""
    per_day = DAY_S / args.every
    per_result = sizes.result_bytes / sizes.results if sizes.results else 0.0
    per_rollup = sizes.rollup_bytes / sizes.rollups if sizes.rollups else 0.0
    raw = args.monitors * per_day * RAW_DAYS * per_result
    rolled = args.monitors * ROLLUP_HOURS * per_rollup
    print(f"\ndatabase file         {sizes.file:,} bytes (file + WAL after a checkpoint) for "
          f"{sizes.results:,} results (warm-up and tail included): "
          f"{sizes.file / max(1, sizes.results):.0f} bytes per result, all tables")
    print(f"per result            {per_result:.1f} bytes (pages of `results` and its "
          f"indexes / rows, SQLite dbstat)")
    print(f"per monitor per day   {per_result * per_day / 1e6:.2f} MB raw "
          f"({per_day:,.0f} results); once rolled up {24 * per_rollup / 1e3:.1f} kB "
          f"(24 rollups x {per_rollup:.1f} bytes, measured on {sizes.rollups:,} rows "
          f"written by apply_retention on a copy)")
    print(f"steady state, {args.monitors} monitors: {raw / 1e9:.2f} GB raw ({RAW_DAYS} days) "
          f"+ {rolled / 1e9:.2f} GB rollups (a year) = {(raw + rolled) / 1e9:.2f} GB "
          f"(at the page fill measured here; retention's deleted pages are reused)")


def run_profile(args: argparse.Namespace, pid: int) -> subprocess.Popen | None:
    """py-spy recording the agent for the window (pinned to the server core)."""
    if not args.profile:
        return None
    argv = bn.pinned(bn.SERVER_CORE, [
        "py-spy", "record", "--pid", str(pid), "--nonblocking", "--threads", "--rate", "100",
        "--duration", f"{args.duration:.0f}", "--format", "raw", "-o", str(args.profile)])
    print(f"profile: {shlex.join(argv)}", flush=True)
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def frame_package(frame: str) -> str:
    """``assay/engine/monitor_run.py`` -> ``assay.engine``; ``httpx/_client.py`` -> ``httpx``."""
    where = frame[frame.rfind("(") + 1:].rstrip(")")
    parts = where.split("/")
    if parts[0] == "assay" and len(parts) > 2:
        return ".".join(parts[:2])
    return parts[0].removesuffix(".py") if len(parts) > 1 else f"({parts[0] or '?'})"


def show_profile(path: Path, cpu_share: float, top: int = 25) -> None:
    """Where the agent's CPU went, from py-spy's collapsed stacks (``thread (TID): NAME;
    frame;frame;... count``, outermost first): per thread, own time per package, and
    inclusive time of assay's functions. py-spy counts samples of busy threads, not CPU
    time: the shares of the samples are scaled to the CPU measured from /proc."""
    threads: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        thread, _, stack = stack.partition(": ")
        # Per function, not per line: "f (assay/x.py:12)" -> "f (assay/x.py)".
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        threads[re.sub(r"_\d+$", "", frames[0])] += int(count)
        own[frame_package(frames[-1])] += int(count)
        for frame in {f for f in frames if "(assay/" in f and "(assay/cli/" not in f}:
            inclusive[frame] += int(count)
    busy = sum(threads.values()) or 1
    print(f"\nprofile ({path}): {busy:,} busy samples; shares of them x the measured "
          f"{cpu_share:.1%} of one core:")
    for title, counts, limit in (("per thread", threads, 5), ("own time per package", own, 12),
                                 ("assay's functions, inclusive", inclusive, top)):
        print(f"  {title}:")
        for name, count in counts.most_common(limit):
            print(f"    {100 * cpu_share * count / busy:5.1f}%  {name}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monitors", type=int, default=1000)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between runs")
    parser.add_argument("--duration", type=float, default=120.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=15.0, help="unmeasured seconds first")
    parser.add_argument("--notify", action="store_true", help="add a webhook channel")
    parser.add_argument("--server", choices=("nginx", "asyncio"), default=None,
                        help="the target (default nginx when --nginx exists)")
    parser.add_argument("--nginx", default="/usr/sbin/nginx")
    parser.add_argument("--max-load", type=float, default=1.0,
                        help="wait for the 1-minute load average to drop under this")
    parser.add_argument("--settle", type=float, default=600.0,
                        help="wait at most this many seconds for it")
    parser.add_argument("--profile", type=Path, help="py-spy collapsed stacks to this file")
    parser.add_argument("--keep", action="store_true", help="keep the database and logs")
    args = parser.parse_args(argv)
    if args.server is None:
        args.server = "nginx" if Path(args.nginx).exists() else "asyncio"
    return args


def main(argv: list[str]) -> int:
    """Set up, run, measure, stop, read the database, print."""
    args = parse_args(argv[1:])
    workdir = Path(tempfile.mkdtemp(prefix="assay-monitor-scale-"))
    db, log, monitors_file = workdir / "monitor.db", workdir / "agent.log", workdir / "m.yaml"
    agent_argv = bn.pinned(bn.GENERATOR_CORE, [bn.assay_executable(), "monitor",
                                               str(monitors_file), "--db", f"sqlite:///{db}",
                                               "--port", "0"])
    proc = None
    try:
        with target_server(args, workdir) as target:
            monitors_file.write_text(monitors_yaml(args.monitors, args.every,
                                                   f"http://127.0.0.1:{target.port}",
                                                   args.notify))
            show_setup(args, target, agent_argv, monitors_file)
            load = wait_load(args.max_load, args.settle)
            print(f"load average {load:.2f}; starting assay monitor ...", flush=True)
            proc = bn.start_group(agent_argv, log, env=bn.assay_env(), cwd=workdir)
            wait_dashboard(proc, log)
            start = time.time() + args.warmup
            time.sleep(args.warmup)
            profiler = run_profile(args, proc.pid)
            window = measure_window(proc, log, target.pid, start, args.duration)
            time.sleep(STOP_MARGIN_S)
            code = stop_agent(proc)
            if profiler is not None:
                profiler.wait(timeout=60)
        print(f"assay monitor stopped on SIGINT: exit {code}")
        if code != 0:
            print(bn.tail(log))
        ok = show_figures(args, window, read_runs(db, window), database_bytes(db, workdir))
        if args.profile:
            show_profile(args.profile, window.cpu_share)
        return 0 if ok else 1
    finally:
        if proc is not None:
            bn.stop_group(proc, grace_s=1.0)
        if args.keep:
            print(f"\nkept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(bn.run_main(main, sys.argv))
