"""Bundling a TypeScript Worker: ours against wrangler 4.86, both with no network.

    .venv/bin/python -m bench.bundle_bench [--runs 15]

The app is the TypeScript fixture (`tests/fixtures/ts-app`: hono, two local modules, D1, KV, R2, a cron, its
packages installed by `npm ci`), copied once into a scratch folder. Timed, as whole processes, the tools taking
turns run by run:

- **ours**: `python -m deployer plan APP` without credentials: read the configuration, check the app folder,
  bundle with the pinned esbuild, print the plan's local part (no API call);
- **wrangler**: `wrangler deploy --dry-run --outdir OUT`: read the configuration, bundle (the same esbuild
  version, with its own middleware and unenv polyfills for `nodejs_compat`), stop before any API call.

Also printed: each tool's bundle size (ours from the plan's line; wrangler's `OUT/index.js`), and whether ours is
the same over all runs (the code digest relies on it).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from devkit.example import REPO, TYPESCRIPT_APP

_WRANGLER = REPO / "node_modules" / ".bin" / "wrangler"
_BUNDLE_LINE = re.compile(r"bundle: built with esbuild \S+ \(.*?\): (\S+), ([\d,]+) bytes")


@dataclass
class Samples:
    seconds: list[float] = field(default_factory=list)
    sizes: set[int] = field(default_factory=set)

    def median(self) -> float:
        return statistics.median(self.seconds)

    def spread(self) -> str:
        return f"{min(self.seconds):.3f}–{max(self.seconds):.3f}"


def _timed(command: list[str], *, cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"{command[0]} failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")
    return elapsed, completed.stdout + completed.stderr


def run(runs: int) -> dict[str, Samples]:
    results = {"ours": Samples(), "wrangler": Samples()}
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "WRANGLER_SEND_METRICS": "false"}
    with tempfile.TemporaryDirectory(prefix="bundle-bench-") as scratch:
        app = Path(scratch) / "ts-comments"
        shutil.copytree(TYPESCRIPT_APP, app, symlinks=True)
        home = Path(scratch) / "home"
        home.mkdir()
        env["HOME"] = str(home)
        for run_number in range(runs):
            order = ["ours", "wrangler"] if run_number % 2 == 0 else ["wrangler", "ours"]
            for tool in order:
                if tool == "ours":
                    seconds, output = _timed([sys.executable, "-m", "deployer", "plan", str(app)], cwd=REPO, env=env)
                    match = _BUNDLE_LINE.search(output)
                    if match is None:
                        raise RuntimeError(f"no bundle line in the plan:\n{output[-2000:]}")
                    results["ours"].sizes.add(int(match[2].replace(",", "")))
                else:
                    out = Path(scratch) / f"out-{run_number}"
                    command = [str(_WRANGLER), "deploy", "--dry-run", "--outdir", str(out)]
                    seconds, _ = _timed(command, cwd=app, env=env)
                    results["wrangler"].sizes.add((out / "index.js").stat().st_size)
                results[tool].seconds.append(seconds)
    return results


def report(results: dict[str, Samples], runs: int) -> str:
    ours, wrangler = results["ours"], results["wrangler"]
    lines = [
        "| tool | runs | median (s) | min–max (s) | bundle bytes |",
        "|---|---:|---:|---|---:|",
        f"| ours (`python -m deployer plan`, no credentials) | {runs} | **{ours.median():.3f}** | {ours.spread()} | "
        f"{', '.join(f'{size:,}' for size in sorted(ours.sizes))} |",
        f"| wrangler 4.86 (`deploy --dry-run --outdir`) | {runs} | **{wrangler.median():.3f}** | {wrangler.spread()} | "
        f"{', '.join(f'{size:,}' for size in sorted(wrangler.sizes))} |",
        "",
        f"ours / wrangler: **{ours.median() / wrangler.median():.2f}**; ours built "
        f"{'the same bytes in every run' if len(ours.sizes) == 1 else 'bundles of different sizes'}.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    print(report(run(args.runs), args.runs))


if __name__ == "__main__":
    main()
