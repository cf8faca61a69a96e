"""Does assay load's memory stay flat? A long run at 5000 requests/s, resident memory sampled.

Usage: ``python bench/load_memory.py [--minutes 10] [--rate 5000] [--interval 5] [--keep]``.

nginx serves a 2-byte body on core 0 (``bench/benchnginx.py``); ``assay load URL --rate
5000/s --duration 10m --workers 1`` runs on core 1. Every ``--interval`` seconds the script
reads the resident memory (``VmRSS`` of ``/proc/PID/status``) of the assay process and of
all its descendants (the worker process, multiprocessing's helpers) and prints the series.
Latencies are kept in histograms, not lists of samples, so after the first minute the
total should stay flat: the script prints the growth from minute 1 (or a third of the run,
for runs shorter than 3 minutes) to the end, and the slope of a straight line fitted
through the samples after it.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import benchnginx as bn

# Growth from minute 1 to the end below this fraction counts as flat.
FLAT_GROWTH = 0.05


@dataclass(frozen=True, slots=True)
class Sample:
    """Resident memory at ``t`` seconds after the start: total and per process (kB)."""

    t: float
    per_process: dict[int, tuple[str, int]]

    @property
    def total_kb(self) -> int:
        """The sum over the process tree."""
        return sum(kb for _, kb in self.per_process.values())


def tree(root: int) -> list[int]:
    """``root`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for pid, fields in bn.proc_stats():
        children.setdefault(int(fields[1]), []).append(pid)
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo += children.get(pid, [])
    return pids


def resident_kb(pid: int) -> tuple[str, int] | None:
    """(command name, VmRSS in kB) of ``pid``, None when it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    rss = fields.get("VmRSS", "0 kB").split()[0]
    return fields.get("Name", "?").strip(), int(rss)


def sample(root: int, started: float) -> Sample:
    """The resident memory of the tree under ``root`` now."""
    found = {pid: got for pid in tree(root) if (got := resident_kb(pid)) is not None}
    return Sample(time.monotonic() - started, found)


def assay_argv(args: argparse.Namespace, url: str, workdir: Path) -> list[str]:
    """``assay load URL --rate R/s --duration Mm --workers 1 --quiet --json report.json``."""
    return bn.assay_load_argv(url, workdir / "report.json", "--rate", f"{args.rate:g}/s",
                              "--duration", f"{args.minutes:g}m", "--workers", "1")


def watch(args: argparse.Namespace, server: bn.NginxServer, workdir: Path) -> list[Sample]:
    """Run assay, sampling its tree every ``--interval`` s and printing each sample."""
    argv = bn.pinned(bn.GENERATOR_CORE, assay_argv(args, server.url, workdir))
    print(f"assay: {shlex.join(argv)}\n\n{'t s':>6}{'total MB':>10}  per process (MB)",
          flush=True)
    proc = bn.start_group(argv, workdir / "output.log", env=bn.assay_env(), cwd=workdir)
    started, samples = time.monotonic(), []
    deadline = started + args.minutes * 60 + 120
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(args.interval - (time.monotonic() - started) % args.interval)
            if proc.poll() is not None:
                break
            samples.append(sample(proc.pid, started))
            print_sample(samples[-1])
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        bn.stop_group(proc)
    if proc.returncode not in (0, 1):
        print(f"note: assay exited with {proc.returncode}:\n{bn.tail(workdir / 'output.log')}")
    return samples


def print_sample(s: Sample) -> None:
    """One line of the series."""
    parts = "  ".join(f"{name}[{pid}] {kb / 1024:.1f}"
                      for pid, (name, kb) in sorted(s.per_process.items()))
    print(f"{s.t:>6.0f}{s.total_kb / 1024:>10.1f}  {parts}", flush=True)


def print_growth(samples: list[Sample], minutes: float) -> None:
    """Growth from minute 1 to the end, the fitted slope, and the verdict."""
    after = min(60.0, minutes * 60 / 3)
    later = [s for s in samples if s.t >= after]
    if len(later) < 2:
        print("\nnot enough samples after the warm-up to say (run longer)")
        return
    first, last = later[0], later[-1]
    growth = last.total_kb - first.total_kb
    fraction = growth / first.total_kb
    slope = statistics.linear_regression([s.t / 60 for s in later],
                                         [s.total_kb / 1024 for s in later]).slope
    print(f"\nresident memory (process tree): {first.total_kb / 1024:.1f} MB at t={first.t:.0f} s"
          f" -> {last.total_kb / 1024:.1f} MB at t={last.t:.0f} s: {growth / 1024:+.1f} MB "
          f"({fraction:+.1%}); fitted slope {slope:+.2f} MB/min; peak "
          f"{max(s.total_kb for s in samples) / 1024:.1f} MB")
    verdict = "FLAT" if fraction < FLAT_GROWTH else "GROWING"
    print(f"goal: flat after t={first.t:.0f} s (growth < {FLAT_GROWTH:.0%}): {verdict}")


def print_run(workdir: Path, served: int, args: argparse.Namespace) -> None:
    """What assay says it did, beside nginx's count."""
    try:
        load = bn.read_load(workdir / "report.json")
    except (OSError, ValueError, KeyError) as exc:
        print(f"\nassay's report is unreadable: {exc!r}")
        return
    print(f"\nassay: {load['requests']:,} requests, {load['rps']:,.1f}/s (target "
          f"{args.rate:g}/s), late starts {load['late_starts']:,}, errors {load['errors']:,}, "
          f"p99 {bn.show(load['latency_ms']['p99'], '{:.2f}')} ms; nginx served {served:,}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=5000.0)
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--nginx", default="/usr/sbin/nginx")
    parser.add_argument("--keep", action="store_true", help="keep assay's report and output")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Run assay for ``--minutes`` and print the memory series and its growth."""
    args = parse_args(argv[1:])
    bn.require_assay_load()
    root = Path(tempfile.mkdtemp(prefix="assay-load-memory-"))
    try:
        with bn.nginx_server(nginx=args.nginx) as server:
            print(f"python {sys.version.split()[0]}; "
                  f"{bn.tool_version([bn.assay_executable(), '--version'])}; "
                  f"{args.minutes:g} min at {args.rate:g}/s; nginx on core {bn.SERVER_CORE}, "
                  f"assay on core {bn.GENERATOR_CORE}; VmRSS every {args.interval:g} s")
            print(f"nginx: {shlex.join(server.argv)}")
            before = server.served()
            samples = watch(args, server, root)
            served = bn.served_between(before, server.served())
        print_run(root, served, args)
        print_growth(samples, args.minutes)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    if args.keep:
        print(f"outputs: {root}")
    return 0


if __name__ == "__main__":
    sys.exit(bn.run_main(main, sys.argv))
