"""Typed options of one benchmark run, read once from the command line and the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kg.config import ROOT

BENCH_DIR = ROOT / "bench"
# Sizes in triples: the default run, the quick development run, and the optional 10M step.
DEFAULT_SIZES = (100_000, 1_000_000)
QUICK_SIZES = (5_000, 20_000)
BIG_SIZE = 10_000_000


@dataclass(frozen=True)
class BenchSettings:
    """What to run and how hard; `quick` shrinks everything for development."""

    sizes: tuple[int, ...] = DEFAULT_SIZES
    seed: int = 0
    # Each latency figure is the median of this many interleaved rounds (fewer when a query is slow).
    latency_rounds: int = 9
    latency_budget_s: float = 12.0  # per query and size, across all systems
    load_runs: int = 3
    reasoning_runs: int = 3
    owlrl_size: int = 100_000  # owlrl needs about 15 minutes at 1M, so it runs at this size only
    yaml_cases: int = 1_000
    wrk_seconds: int = 5
    wrk_clients: tuple[int, ...] = (8, 32)
    sections: tuple[str, ...] = ("load", "yaml", "reasoning", "latency", "throughput", "memory")
    # Address-space cap of each measured process, so a reasoner that explodes fails alone instead of
    # waking the kernel's OOM killer on a machine others share (COPROKG_BENCH_MEMORY_GB overrides).
    memory_cap_gb: float = 10.0
    data_dir: Path = BENCH_DIR / "data"
    results_dir: Path = BENCH_DIR / "results"
    quick: bool = False

    @classmethod
    def from_args(cls, quick: bool, big: bool, sections: tuple[str, ...] | None, seed: int) -> "BenchSettings":
        """Build the settings for a run; COPROKG_BENCH_10M=1 (or --10m) adds the 10M-triple step."""
        big = big or os.environ.get("COPROKG_BENCH_10M", "") not in ("", "0")
        cap = os.environ.get("COPROKG_BENCH_MEMORY_GB", "")
        try:
            memory_cap_gb = float(cap) if cap else cls.memory_cap_gb
        except ValueError:
            raise ValueError(f"COPROKG_BENCH_MEMORY_GB must be a number of GiB, not {cap!r}") from None
        if quick:
            settings = cls(sizes=QUICK_SIZES, latency_rounds=5, latency_budget_s=3.0, load_runs=2, reasoning_runs=2,
                           owlrl_size=QUICK_SIZES[0], yaml_cases=50, wrk_seconds=2,
                           results_dir=BENCH_DIR / "results" / "quick.tmp", quick=True, seed=seed,
                           memory_cap_gb=memory_cap_gb)
        else:
            settings = cls(sizes=DEFAULT_SIZES + ((BIG_SIZE,) if big else ()), seed=seed, memory_cap_gb=memory_cap_gb)
        if sections:
            unknown = set(sections) - set(cls.sections)
            if unknown:
                raise ValueError(f"unknown section(s) {', '.join(sorted(unknown))}; allowed: {', '.join(cls.sections)}")
            from dataclasses import replace

            settings = replace(settings, sections=tuple(sections))
        return settings

    @property
    def largest(self) -> int:
        """The size that throughput and memory are measured at (1M by default, not 10M)."""
        return max(s for s in self.sizes if s <= DEFAULT_SIZES[-1])
