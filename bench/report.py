"""Markdown tables of the results, and the machine they were measured on."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.manifest_bench import ManifestResult
from bench.scenarios import Measured, ScenarioResult
from bench.tools import WRANGLER

__all__ = ["machine", "manifest_table", "scenario_table", "summary_table", "timeline"]

_MANIFEST_TARGET = 1.3


def _first_line(command: list[str]) -> str:
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    except OSError as exc:
        return f"unavailable ({exc})"
    return (completed.stdout.strip() or completed.stderr.strip()).splitlines()[0]


def machine() -> list[str]:
    """CPU model, cores, RAM, OS, Python, Node and wrangler versions, as Markdown bullet lines."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in cpuinfo.read_text().splitlines()
                if line.startswith("model name")
            ),
            cpu,
        )
    ram = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = next(
            (int(line.split()[1]) for line in meminfo.read_text().splitlines() if line.startswith("MemTotal")), 0
        )
        ram = f"{kib / 1024 / 1024:.1f} GiB"
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores; RAM {ram}; {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; Node {_first_line(['node', '--version'])}; "
        f"wrangler {_first_line([str(WRANGLER), '--version'])}",
    ]


def _seconds(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.3f} s ({min(values):.3f}–{max(values):.3f})"


def _count(values: Sequence[float]) -> str:
    low, high = min(values), max(values)
    return f"{int(low):,}" if low == high else f"{statistics.median(values):,.0f} ({int(low):,}–{int(high):,})"


def _ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}" if theirs else ("–" if ours == 0 else "∞")


def scenario_table(result: ScenarioResult) -> list[str]:
    """One scenario: both tools side by side (median and range of the wall time) and our/wrangler ratios."""
    runs = result.runs
    ours, theirs = runs["ours"], runs["wrangler"]
    lines = [
        f"### {result.scenario.title} ({len(ours)} runs each)",
        "",
        "| | ours | wrangler 4.86 | ours / wrangler |",
        "|---|---:|---:|---:|",
        f"| wall time, median (min–max) | {_seconds([m.seconds for m in ours])} | "
        f"{_seconds([m.seconds for m in theirs])} | "
        f"**{_ratio(result.median_seconds('ours'), result.median_seconds('wrangler'))}** |",
    ]
    for label, name in (
        ("requests", "requests"),
        ("asset bytes uploaded", "asset_bytes"),
        ("all request bytes", "request_bytes"),
        ("dependent rounds", "rounds"),
    ):
        mine = [float(getattr(m.stats, name)) for m in ours]
        other = [float(getattr(m.stats, name)) for m in theirs]
        lines.append(
            f"| {label} | {_count(mine)} | {_count(other)} | "
            f"{_ratio(statistics.median(mine), statistics.median(other))} |"
        )
    phases: list[tuple[str, Callable[[Measured], float]]] = [
        ("start-up and local work: spawn → first request", lambda m: m.before_first_request),
        ("API time: first request → last answer", lambda m: m.stats.api_seconds),
        ("exit: last answer → process gone", lambda m: m.after_last_answer),
    ]
    for label, phase in phases:
        mine, other = [phase(m) for m in ours], [phase(m) for m in theirs]
        ratio = _ratio(statistics.median(mine), statistics.median(other))
        lines.append(f"| {label} | {_seconds(mine)} | {_seconds(other)} | {ratio} |")
    if "ours-inprocess" in runs:
        inproc = [m.seconds for m in runs["ours-inprocess"]]
        lines.append(
            f"| ours in-process (warm imports, no start-up) | {_seconds(inproc)} | | "
            f"{_ratio(statistics.median(inproc), result.median_seconds('wrangler'))} |"
        )
    if "candidate" in runs:
        candidate = runs["candidate"]
        requests = _count([float(m.stats.requests) for m in candidate])
        rounds = _count([float(m.stats.rounds) for m in candidate])
        ratio = _ratio(result.median_seconds("candidate"), result.median_seconds("wrangler"))
        lines.append(
            f"| candidate deployer: wall time; requests, rounds | {_seconds([m.seconds for m in candidate])}; "
            f"{requests}, {rounds} | | {ratio} |"
        )
    return lines


def summary_table(results: Sequence[ScenarioResult], manifest: ManifestResult | None) -> list[str]:
    """Every scenario's median wall times, the ratio, and the issue's target where there is one."""
    lines = [
        "| scenario | ours | wrangler 4.86 | ours / wrangler | target | met |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for result in results:
        ours, theirs = result.median_seconds("ours"), result.median_seconds("wrangler")
        target = result.scenario.target
        met = (
            "–"
            if target is None
            else ("yes" if ours / theirs <= target else f"**no** (by {ours / theirs / target:.2f}×)")
        )
        lines.append(
            f"| {result.scenario.title} | {ours:.3f} s | {theirs:.3f} s | {ours / theirs:.2f} | "
            f"{'–' if target is None else f'≤ {target}'} | {met} |"
        )
    if manifest is not None:
        ratio = manifest.ratio
        met = "yes" if ratio <= _MANIFEST_TARGET else f"**no** (by {ratio / _MANIFEST_TARGET:.2f}×)"
        lines.append(
            f"| Manifest of {manifest.files:,} files ({manifest.total_bytes / 1e6:.0f} MB) vs bare loop | "
            f"{statistics.median(manifest.manifest_seconds):.3f} s | bare loop "
            f"{statistics.median(manifest.bare_seconds):.3f} s | {ratio:.2f} | ≤ {_MANIFEST_TARGET} | {met} |"
        )
    return lines


def manifest_table(result: ManifestResult) -> list[str]:
    """The manifest benchmark: both timings (median and range) and the ratio."""
    return [
        f"### Manifest of {result.files:,} files ({result.total_bytes / 1e6:.0f} MB), warm cache "
        f"({len(result.manifest_seconds)} runs each)",
        "",
        "| | wall time, median (min–max) |",
        "|---|---:|",
        f"| `deployer.manifest.build_manifest` | {_seconds(result.manifest_seconds)} |",
        f"| bare loop: os.walk + read + blake3(base64 + ext) | {_seconds(result.bare_seconds)} |",
        f"| ratio (target ≤ {_MANIFEST_TARGET}) | **{result.ratio:.2f}** |",
    ]


def timeline(result: ScenarioResult, tool: str) -> list[str]:
    """The API calls of `tool`'s median run, in start order, with their times relative to the first."""
    runs = sorted(result.runs[tool], key=lambda m: m.seconds)
    median = runs[len(runs) // 2]
    lines = [f"{result.scenario.key} / {tool}: wall {median.seconds:.3f} s, {median.stats.rounds} rounds"]
    for method, path, started, finished in median.stats.calls:
        short = path.split("/accounts/", 1)[-1].split("/", 1)[-1]
        lines.append(f"    {started * 1000:8.1f} → {finished * 1000:8.1f} ms  {method:<6} {short}")
    return lines
