"""The deploy scenarios and the loop that runs them: fresh emulator per run, tools interleaved.

A run of one scenario with one tool:

1. start cfemu on a fresh data dir with the network model, and create the app's D1 database through the API
   (wrangler needs its id in wrangler.toml; both tools start from this same state: no Worker, one empty
   database, no assets);
2. copy the prepared app and write the database id into its wrangler.toml;
3. for the redeploy scenarios, deploy once with the same tool (not timed) and make the scenario's edit;
4. time the deploy, then read what it asked of the API from the emulator (requests, asset bytes, rounds);
5. stop the emulator (its whole process group) and delete the run's files.

The tools take turns (ours, wrangler, ours in-process; the order rotates with each repetition) so that a slow
moment of the machine does not land on one tool only.
"""

from __future__ import annotations

import shutil
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.apps import DATABASE_NAME, change_code, change_one_asset, copy_app, make_app, set_database_id
from bench.emulator import RequestStats, bench_emulator
from bench.tools import Span, Tool

__all__ = ["SCENARIOS", "Measured", "Scenario", "ScenarioResult", "run_scenario"]


@dataclass(frozen=True, slots=True)
class Scenario:
    """One deploy situation: the app to build, whether a first deploy precedes the timed one, and the edit."""

    key: str
    title: str
    files: int  # asset files in public/ (0: the example's own three)
    total_bytes: int
    redeploy: bool  # deploy once (untimed) before the timed deploy
    edit: Callable[[Path], None] | None
    big: bool = False  # fewer repetitions (`--big-runs`)
    target: float | None = None  # the target for ours/wrangler wall time, if any


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("first", "First deploy of the example app (3 assets)", 0, 0, redeploy=False, edit=None),
    Scenario("nochange", "No-change redeploy", 0, 0, redeploy=True, edit=None),
    Scenario("code", "Code-only change (worker.js)", 0, 0, redeploy=True, edit=change_code),
    Scenario(
        "one-of-2000",
        "One of 2,000 asset files changed",
        2_000,
        4_000_000,
        redeploy=True,
        edit=change_one_asset,
        target=0.3,
    ),
    Scenario(
        "first-5000",
        "First deploy of 5,000 files (20 MB)",
        5_000,
        20_000_000,
        redeploy=False,
        edit=None,
        big=True,
        target=0.5,
    ),
)


@dataclass(frozen=True, slots=True)
class Measured:
    """One timed deploy: its wall time and what it asked of the API."""

    span: Span
    stats: RequestStats

    @property
    def seconds(self) -> float:
        """Wall time, from spawn (or call) to exit."""
        return self.span.seconds

    @property
    def before_first_request(self) -> float:
        """Start-up and local work: from spawn to the first request's arrival (the whole run if none)."""
        if not self.stats.requests:
            return self.span.seconds
        return self.stats.first_started - self.span.started

    @property
    def after_last_answer(self) -> float:
        """From the last answer to exit (0 when there was no request)."""
        return self.span.finished - self.stats.last_finished if self.stats.requests else 0.0


@dataclass(slots=True)
class ScenarioResult:
    """Every timed deploy of one scenario, by tool key."""

    scenario: Scenario
    runs: dict[str, list[Measured]] = field(default_factory=dict)

    def median_seconds(self, tool: str) -> float:
        return statistics.median(m.seconds for m in self.runs[tool])

    def median_stat(self, tool: str, name: str) -> float:
        return statistics.median(float(getattr(m.stats, name)) for m in self.runs[tool])


def _prepare_template(scenario: Scenario, work: Path) -> Path:
    template = work / "templates" / scenario.key
    if not template.exists():
        make_app(template, files=scenario.files, total_bytes=scenario.total_bytes)
    return template


def run_scenario(
    scenario: Scenario,
    tools: Sequence[Tool],
    *,
    runs: int,
    work: Path,
    latency_ms: float,
    bandwidth: str | None,
    progress: Callable[[str], None] = lambda _: None,
) -> ScenarioResult:
    """Run `scenario` `runs` times with every tool; see the module docstring."""
    template = _prepare_template(scenario, work)
    result = ScenarioResult(scenario, {tool.key: [] for tool in tools})
    for repetition in range(runs):
        turn = repetition % len(tools)
        for tool in [*tools[turn:], *tools[:turn]]:
            run_dir = work / f"{scenario.key}-{tool.key}-{repetition}"
            run_dir.mkdir(parents=True)
            try:
                with bench_emulator(run_dir, latency_ms=latency_ms, bandwidth=bandwidth) as emulator:
                    app = copy_app(template, run_dir / "app")
                    set_database_id(app, emulator.create_database(DATABASE_NAME))
                    home = run_dir / "home"
                    if scenario.redeploy:
                        tool.deploy(app, emulator, home, first=True)
                    if scenario.edit is not None:
                        scenario.edit(app)
                    mark = emulator.mark()
                    span = tool.deploy(app, emulator, home, first=not scenario.redeploy)
                    measured = Measured(span, emulator.stats_since(mark))
            finally:
                shutil.rmtree(run_dir, ignore_errors=True)
            result.runs[tool.key].append(measured)
            progress(
                f"  {scenario.key:<12} {tool.key:<15} run {repetition + 1}/{runs}: {measured.seconds:6.3f} s, "
                f"{measured.stats.requests} requests, {measured.stats.rounds} rounds"
            )
    return result
