"""Benchmark: the evaluation harness's own overhead per problem and its throughput.

Runs the whole runner (task building, scoring, trace file, flushed results line, progress
callback, then report.json / report.md / chart) over a full dataset with the `replay` system
answering from a fixture file instantly, at concurrency 1, 4 and 16, and prints the figures.
The replies are made up from the question text, never from the ground truth.

    .venv/bin/python benchmarks/bench_eval.py [--data-dir DIR] [--dataset optibench] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from optiagent.datasets import Dataset, load_dataset
from optiagent.evals.publish import rebuild_report
from optiagent.evals.replay import ReplaySystem
from optiagent.evals.runner import RunProgress, run_evaluation

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "datasets"


def write_fixture(dataset: Dataset, path: Path) -> None:
    """Write one made-up reply per problem (a number derived from the question's length)."""
    with path.open("w", encoding="utf-8") as handle:
        for problem in dataset.problems:
            reply = {"id": problem.id, "prediction": float(len(problem.question))}
            handle.write(json.dumps(reply) + "\n")


def run_once(dataset: Dataset, fixture: Path, out: Path, concurrency: int) -> dict[str, float]:
    """Run the whole harness once; return wall times of the run and of the report alone."""
    system = ReplaySystem.from_file(fixture)
    updates = 0

    def on_progress(_: RunProgress) -> None:
        nonlocal updates
        updates += 1

    started = time.perf_counter()
    asyncio.run(
        run_evaluation(dataset, system, out, concurrency=concurrency, on_progress=on_progress)
    )
    total = time.perf_counter() - started
    started = time.perf_counter()
    rebuild_report(out)
    report = time.perf_counter() - started
    assert updates == len(dataset.problems) + 1
    return {"total": total, "report": report}


def resume_scan(dataset: Dataset, fixture: Path, out: Path) -> float:
    """Return the wall time of resuming a finished run (read results, nothing to solve)."""
    system = ReplaySystem.from_file(fixture)
    started = time.perf_counter()
    asyncio.run(run_evaluation(dataset, system, out, resume=True, chart=False))
    return time.perf_counter() - started


def main() -> None:
    """Measure and print the harness figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_dir = os.environ.get("OPTIAGENT_DATA_DIR") or str(DEFAULT_DATA)
    parser.add_argument("--data-dir", type=Path, default=Path(default_dir))
    parser.add_argument("--dataset", default="optibench")
    parser.add_argument("--version", default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    dataset = load_dataset(args.dataset, args.version, args.data_dir)
    load_s = time.perf_counter() - started
    count = len(dataset.problems)
    print(f"dataset {dataset.name}/{dataset.version}: {count} problems, loaded in {load_s:.3f} s")

    with tempfile.TemporaryDirectory(prefix="bench_eval_") as scratch:
        root = Path(scratch)
        fixture = root / "replies.jsonl"
        write_fixture(dataset, fixture)
        warm = Dataset(dataset.spec, dataset.root, dataset.problems[:20], sha256="warm-up")
        asyncio.run(run_evaluation(warm, ReplaySystem.from_file(fixture), root / "warm"))

        print(
            f"{'concurrency':>11} {'run+report s':>13} {'report s':>9} "
            f"{'overhead ms/problem':>20} {'problems/s':>11} {'incl. report':>13}"
        )
        last_out = root / "warm"
        for concurrency in (1, 4, 16):
            samples = []
            for attempt in range(args.repeat):
                last_out = root / f"c{concurrency}-{attempt}"
                samples.append(run_once(dataset, fixture, last_out, concurrency))
            total = statistics.median(s["total"] for s in samples)
            report = statistics.median(s["report"] for s in samples)
            solving = max(total - report, 1e-9)
            print(
                f"{concurrency:>11} {total:>13.3f} {report:>9.3f} "
                f"{1000 * solving / count:>20.3f} {count / solving:>11.0f} {count / total:>13.0f}"
            )
        scan = resume_scan(dataset, fixture, last_out)
        print(f"resume of a finished run ({count} results, no chart): {scan:.3f} s")
        print(f"median of {args.repeat} runs each; 'overhead' excludes report + chart writing")


if __name__ == "__main__":
    main()
