"""`python -m bench`: the benchmark run `make bench` starts."""

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from bench.run import main
from bench.settings import BenchSettings


def parse(argv: list[str]) -> BenchSettings:
    """Read the command line into BenchSettings."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes and short runs, for developing the harness")
    parser.add_argument("--10m", dest="big", action="store_true",
                        help="also run the 10M-triple step (or set COPROKG_BENCH_10M=1)")
    parser.add_argument("--only", nargs="+", metavar="SECTION",
                        help="run only these sections: " + ", ".join(BenchSettings.sections))
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic data (default 0)")
    parser.add_argument("--results", type=Path, metavar="DIR",
                        help="write the tables here instead of bench/results/ (e.g. for a partial re-run)")
    args = parser.parse_args(argv)
    try:
        settings = BenchSettings.from_args(args.quick, args.big, tuple(args.only) if args.only else None, args.seed)
    except ValueError as e:
        parser.error(str(e))
    return replace(settings, results_dir=args.results) if args.results else settings


if __name__ == "__main__":
    sys.exit(main(parse(sys.argv[1:])))
