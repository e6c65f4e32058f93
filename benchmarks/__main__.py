"""Runs every benchmark (``python -m benchmarks [NAME ...]``) and writes the results as JSON.

Each module ``benchmarks/bench_<name>.py`` provides ``run(quick: bool) -> list[Result]``. ``--quick``
runs each on small data, to check that the benchmarks work rather than to measure. ``--repeat N``
runs each measurement of a benchmark that takes it (``national``) N times and reports the median.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import pkgutil
import platform
import sys
from pathlib import Path

import benchmarks
from benchmarks._harness import print_results


def _positive(text: str) -> int:
    """A count of at least one, for ``--repeat``."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Runs the named benchmarks (all when none is named) and returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmarks to run, e.g. load (default: all)")
    parser.add_argument("--quick", action="store_true", help="small data: check, don't measure")
    parser.add_argument(
        "--repeat",
        type=_positive,
        default=1,
        help="national: run each size's cascade N times and report the median run (default: 1)",
    )
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/latest.json"))
    args = parser.parse_args(argv)

    available = sorted(
        info.name.removeprefix("bench_")
        for info in pkgutil.iter_modules(benchmarks.__path__)
        if info.name.startswith("bench_")
    )
    unknown = sorted(set(args.names) - set(available))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(available)}")
    report = {"machine": {"python": sys.version.split()[0], "platform": platform.platform()}, "results": []}
    for name in args.names or available:
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"benchmarks.bench_{name}")
        options = {"repeat": args.repeat} if "repeat" in inspect.signature(module.run).parameters else {}
        results = module.run(quick=args.quick, **options)
        print_results(results)
        report["results"].extend({"benchmark": name, **result.as_dict()} for result in results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    print(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
