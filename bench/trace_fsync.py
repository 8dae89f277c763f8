#!/usr/bin/env python3
"""Splits each commit's fdatasync into the block requests it waits for, per system.

Runs a command (a benchmark suite run, or one --case run) with the kernel's tracepoints for
ext4's fsync, the block layer's requests and the scheduler's wake-ups enabled through tracefs,
then reads the trace. Each process that made 150 data syncs or more is one run of a case; the
runs are named in turn from --names, as the suite runs its systems round by round.

For the syncs that make the usual three requests (the data write "WS", the inode block "WSM"
and the cache flush "FF"), it prints the medians, in microseconds, of:
  total        the fdatasync, from ext4_sync_file_enter to _exit;
  to_data      from the enter to the data write's issue (the kernel's work before it);
  data         the data write on the device (issue to completion);
  to_inode     from the data write's completion to the inode block's issue;
  inode        the inode block on the device;
  to_flush     from the inode block's completion to the flush's issue;
  flush        the flush on the device;
  to_exit      from the flush's completion to the exit;
"syncs" gives how many of the data syncs traced made those three requests. The others mostly
make a fourth (a second metadata write, or a discard), and which runs make them changes with
the state of the filesystem, not with the system. Over all its syncs, a system's row also gives
the median wait of the syncing thread from its wake-up to running (wake_wait), and the task that
most often ran just before it.

A second table follows ext4's conversion of the data write's unwritten extents
(ext4_end_io_rsv_work, on an unbound kernel worker), which to_inode waits for: in how many of
the three-request syncs the worker ran on another CPU than the one that completed the data
write ("away"), to_inode's median for those syncs and for the others, and how many syncs of
each run had the worker away.

Usage, as root, after a scripts/bench build (docs/performance.md, "What limits the targets"):
  python3 bench/trace_fsync.py --names brook,brook-log,raw -- \\
      build-bench/bench/brook_bench --only append-sync-batch --systems brook,brook-log,raw \\
      --repeat 6 --results /tmp/trace-results
"""
import argparse
import collections
import re
import statistics
import subprocess
import sys

TRACING = "/sys/kernel/tracing"
EVENTS = [
    "ext4/ext4_sync_file_enter",
    "ext4/ext4_sync_file_exit",
    "block/block_rq_issue",
    "block/block_rq_complete",
    "sched/sched_wakeup",
    "sched/sched_switch",
    "workqueue/workqueue_execute_start",
]
LINE = re.compile(r"^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+): (\w+): (.*)$")
ISSUE = re.compile(r"\S+ (\S+) \d+ \(\) (\d+) \+ \d+")
COMPLETE = re.compile(r"\S+ \S+ \(\) (\d+) \+ \d+")
PHASES = ["total", "to_data", "data", "to_inode", "inode", "to_flush", "flush", "to_exit"]


def write(path, text):
    with open(f"{TRACING}/{path}", "w") as f:
        f.write(text)


def trace(command):
    """Runs `command` with the events on; returns the trace's lines. Leaves tracing as it found
    it: the events off, the buffer empty and at its former size."""
    with open(f"{TRACING}/buffer_size_kb") as f:
        buffer_kb = f.read().split()[0]
    write("tracing_on", "0")
    write("trace", "")
    write("buffer_size_kb", "65536")
    for event in EVENTS:
        write(f"events/{event}/enable", "1")
    try:
        write("tracing_on", "1")
        subprocess.run(command, check=True)
        with open(f"{TRACING}/trace") as f:
            return f.read().splitlines()
    finally:
        write("tracing_on", "0")
        for event in EVENTS:
            write(f"events/{event}/enable", "0")
        write("trace", "")
        write("buffer_size_kb", buffer_kb)


def parse(lines):
    events = []
    for line in lines:
        m = LINE.match(line)
        if m:
            events.append(
                (float(m.group(4)) * 1e6, int(m.group(2)), int(m.group(3)), m.group(5), m.group(6)))
    return events


def runs(events, names):
    """Maps the pid of each case run to its system's name."""
    syncs = collections.Counter()
    first = {}
    for t, pid, _, name, rest in events:
        if name == "ext4_sync_file_enter" and "datasync 1" in rest:
            syncs[pid] += 1
            first.setdefault(pid, t)
    pids = sorted((p for p in first if syncs[p] >= 150), key=first.get)
    return {pid: names[i % len(names)] for i, pid in enumerate(pids)}


def analyse(events, system_of):
    phases = collections.defaultdict(lambda: collections.defaultdict(list))
    all_syncs = collections.Counter()
    wake_waits = collections.defaultdict(list)
    before_wake = collections.defaultdict(collections.Counter)
    open_syncs = {}  # pid -> (enter time, [[issue, complete, kind]])
    in_flight = {}  # sector -> the request's list
    woken = {}  # pid -> wake-up time
    conversions = collections.defaultdict(lambda: {"away": [], "local": []})  # to_inode by case
    away_by_run = collections.Counter()
    for t, pid, cpu, name, rest in events:
        if name == "ext4_sync_file_enter" and pid in system_of and "datasync 1" in rest:
            open_syncs[pid] = (t, [])
        elif name == "ext4_sync_file_exit" and pid in open_syncs:
            enter, requests = open_syncs.pop(pid)
            all_syncs[system_of[pid]] += 1
            if [r[2] for r in requests] == ["WS", "WSM", "FF"] and all(r[1] for r in requests):
                (d0, d1, _, data_cpu, worker_cpu), (i0, i1, *_), (f0, f1, *_) = requests
                values = [t - enter, d0 - enter, d1 - d0, i0 - d1, i1 - i0, f0 - i1, f1 - f0, t - f1]
                for phase, value in zip(PHASES, values):
                    phases[system_of[pid]][phase].append(value)
                if worker_cpu is not None:
                    away = worker_cpu != data_cpu
                    conversions[system_of[pid]]["away" if away else "local"].append(i0 - d1)
                    away_by_run[pid] += away
        elif name == "block_rq_issue" and open_syncs:
            m = ISSUE.match(rest)
            if m:
                # One case runs at a time, and its syncing thread is the only one. A request is
                # [issue, completion, kind, completing CPU, CPU of the conversion after it].
                request = [t, None, m.group(1), None, None]
                next(iter(open_syncs.values()))[1].append(request)
                in_flight[m.group(2)] = request
        elif name == "block_rq_complete":
            m = COMPLETE.match(rest)
            if m and m.group(1) in in_flight:
                request = in_flight.pop(m.group(1))
                request[1], request[3] = t, cpu
        elif name == "workqueue_execute_start" and "ext4_end_io_rsv_work" in rest and open_syncs:
            requests = next(iter(open_syncs.values()))[1]
            if len(requests) == 1 and requests[0][1] is not None and requests[0][4] is None:
                requests[0][4] = cpu
        elif name == "sched_wakeup":
            m = re.search(r"pid=(\d+)", rest)
            if m and int(m.group(1)) in open_syncs:
                woken[int(m.group(1))] = t
        elif name == "sched_switch":
            m = re.search(r"prev_comm=(.*) prev_pid=\d+ .*next_pid=(\d+)", rest)
            if m and int(m.group(2)) in woken:
                waiting = int(m.group(2))
                wake_waits[system_of[waiting]].append(t - woken.pop(waiting))
                before_wake[system_of[waiting]][m.group(1)] += 1
    return phases, all_syncs, wake_waits, before_wake, conversions, away_by_run


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--names", required=True, help="the systems, in the order they run")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to trace")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to trace")
    events = parse(trace(command))
    system_of = runs(events, args.names.split(","))
    phases, all_syncs, wake_waits, before_wake, conversions, away_by_run = analyse(
        events, system_of)
    print(f"{'system':12}{'syncs':>12}" + "".join(f"{p:>9}" for p in PHASES) + f"{'wake_wait':>10}")
    for system in args.names.split(","):
        if not phases[system]:
            print(f"{system:12}  no syncs of three requests traced")
            continue
        row = f"{system:12}{len(phases[system]['total']):6d}/{all_syncs[system]:<5d}"
        row += "".join(f"{statistics.median(phases[system][p]):9.0f}" for p in PHASES)
        row += f"{statistics.median(wake_waits[system]):10.1f}"
        task, _ = before_wake[system].most_common(1)[0]
        print(f"{row}  (after {task})")
    print(f"\n{'system':12}{'away':>12}{'to_inode away':>15}{'local':>8}  away per run")
    for system in args.names.split(","):
        cases = conversions[system]
        count = len(cases["away"]) + len(cases["local"])
        if count == 0:
            continue
        away, local = (
            f"{statistics.median(cases[c]):.0f}" if cases[c] else "-" for c in ("away", "local"))
        per_run = " ".join(str(away_by_run[p]) for p, name in system_of.items() if name == system)
        row = f"{system:12}{len(cases['away']):6d}/{count:<5d}{away:>15}{local:>8}"
        print(f"{row}  {per_run}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
