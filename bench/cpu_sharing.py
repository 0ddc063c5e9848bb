"""Benchmark of the machine, not of pressarchive: how much slower a CPU-bound Python process
runs while another one keeps the second core busy. Prints figures; asserts nothing.

Why it matters here: the no-op spider of ``bench/crawl_scale.py`` has the machine nearly to
itself, while our crawl keeps both cores busy (the crawl process and its ingest worker). On a
virtual machine whose two cores are threads of one physical core, or which shares caches and
memory bandwidth with its neighbours, each process then gets less done per CPU second, and
CPU seconds measured during the crawl are inflated accordingly.

The work is the kind a crawl does (dict and string churn), timed in CPU seconds of this
process (``time.process_time``), alone and beside a busy child, in turns.

Usage: python bench/cpu_sharing.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

BUSY = "while True:\n d = {}\n for i in range(300_000): d[str(i)] = i\n"


def work() -> float:
    """CPU seconds for a fixed amount of dict and string work."""
    start = time.process_time()
    for _ in range(3):
        table = {}
        for i in range(200_000):
            table[f"k{i}"] = i
        total = sum(len(key) for key in table)
    assert total > 0
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    alone, shared = [], []
    for _ in range(args.rounds):
        alone.append(work())
        busy = subprocess.Popen([sys.executable, "-c", BUSY])
        try:
            time.sleep(0.3)  # let it start
            shared.append(work())
        finally:
            busy.kill()
            busy.wait()
    print("CPU seconds, alone:      " + "  ".join(f"{t:.3f}" for t in alone))
    print("CPU seconds, other core busy: " + "  ".join(f"{t:.3f}" for t in shared))
    ratios = [s / a for a, s in zip(alone, shared)]
    print("slowdown beside a busy process, round by round: "
          + ", ".join(f"{r:.2f}x" for r in ratios)
          + f"; median {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
