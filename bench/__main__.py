"""`python -m bench`: deploy scenarios for our deployer and wrangler against cfemu, and the manifest benchmark.

Every scenario runs each tool against a fresh cfemu (50 ms round-trip latency per API request by default) and
reports requests, asset bytes, dependent rounds, the median wall time and our/wrangler ratios; then the
manifest of 20,000 files (200 MB) is built and compared with a bare read-and-hash loop. The results are
printed as Markdown (also written to `--markdown FILE`), the raw numbers as JSON with `--json FILE`.
Everything the bench starts (cfemu, wrangler, node, esbuild) runs in process groups it stops itself, and its
files live in a temporary directory removed at the end (`--keep` keeps it).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.manifest_bench import ManifestResult, run_manifest_bench
from bench.report import machine, manifest_table, scenario_table, summary_table, timeline
from bench.scenarios import SCENARIOS, ScenarioResult, run_scenario
from bench.tools import Ours, OursInProcess, Tool, Wrangler


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="repetitions of the small scenarios (default 5)")
    parser.add_argument("--big-runs", type=int, default=5, help="repetitions of the 5,000-file deploy (default 5)")
    parser.add_argument("--manifest-runs", type=int, default=5, help="repetitions of the manifest benchmark (5)")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="cfemu round-trip latency (default 50)")
    parser.add_argument("--bandwidth", default=None, help="cfemu bandwidth, e.g. 10MB (default unlimited)")
    parser.add_argument(
        "--only", nargs="+", choices=[s.key for s in SCENARIOS], default=None, help="run only these scenarios"
    )
    parser.add_argument("--no-manifest", action="store_true", help="skip the manifest benchmark")
    parser.add_argument("--no-inprocess", action="store_true", help="skip the in-process runs of our deployer")
    parser.add_argument(
        "--candidate",
        type=Path,
        default=None,
        metavar="DIR",
        help="also run the deployer package in DIR (e.g. a copy with a fix) as a third tool, in the same runs",
    )
    parser.add_argument("--timeline", action="store_true", help="print each tool's API calls (median run)")
    parser.add_argument("--markdown", type=Path, help="also write the Markdown report to this file")
    parser.add_argument("--json", type=Path, help="write the raw measurements as JSON to this file")
    parser.add_argument(
        "--work-dir",
        type=Path,
        help="where to make the bench's own temporary dir (default: /dev/shm if writable, else the system's)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    return parser


def _default_base() -> str | None:
    """/dev/shm when it is a writable directory, else the system temp dir.

    On tmpfs the emulator's fsyncs (one per stored asset) cost nothing; on a disk they add tens of ms per
    bucket, varying from run to run with the disk's write-back, to both tools alike.
    """
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _raw(results: Sequence[ScenarioResult], manifest: ManifestResult | None) -> dict[str, object]:
    return {
        "scenarios": {
            r.scenario.key: {
                tool: [
                    {
                        "seconds": m.seconds,
                        "before_first_request": m.before_first_request,
                        "after_last_answer": m.after_last_answer,
                        **dataclasses.asdict(m.stats),
                    }
                    for m in runs
                ]
                for tool, runs in r.runs.items()
            }
            for r in results
        },
        "manifest": dataclasses.asdict(manifest) if manifest else None,
    }


def _stop_on_signals() -> None:
    """SIGTERM and SIGINT raise in the main thread, so every `finally` stops its processes and removes files.

    SIGINT is reset too: a shell starts background jobs with it ignored.
    """

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _stop_on_signals()
    command = "python -m bench" + (" " + shlex.join(argv if argv is not None else sys.argv[1:])).rstrip()
    if args.work_dir is not None:
        args.work_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="cf-bench-", dir=args.work_dir or _default_base()))
    tools: list[Tool] = [Ours(), Wrangler()]
    if not args.no_inprocess:
        tools.append(OursInProcess())
    if args.candidate is not None:
        tools.append(Ours(args.candidate.resolve(), key="candidate", label=f"candidate ({args.candidate})"))
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    results: list[ScenarioResult] = []
    manifest: ManifestResult | None = None
    try:
        for scenario in SCENARIOS:
            if args.only and scenario.key not in args.only:
                continue
            _progress(f"{scenario.title} …")
            runs = args.big_runs if scenario.big else args.runs
            results.append(
                run_scenario(
                    scenario,
                    tools,
                    runs=runs,
                    work=work,
                    latency_ms=args.latency_ms,
                    bandwidth=args.bandwidth,
                    progress=_progress,
                )
            )
        if not args.no_manifest:
            _progress("Manifest of 20,000 files …")
            manifest = run_manifest_bench(work, runs=args.manifest_runs)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    network = f"{args.latency_ms:g} ms round trip per API request" + (
        f", {args.bandwidth}/s shared each way" if args.bandwidth else ", unlimited bandwidth"
    )
    lines = [
        f"Command: `{command}` (took {time.perf_counter() - started:.0f} s)",
        f"Network: {network}",
        *machine(),
        f"- Load average (1 min) at start {load_before:.2f}, at end {os.getloadavg()[0]:.2f} (the machine is shared;"
        " a busy neighbour shows up as a wide min–max range)",
        "",
        *summary_table(results, manifest),
        "",
    ]
    for result in results:
        lines += [*scenario_table(result), ""]
    if manifest is not None:
        lines += [*manifest_table(manifest), ""]
    if args.timeline:
        for result in results:
            for tool in [key for key in ("ours", "wrangler", "candidate") if key in result.runs]:
                lines += ["```", *timeline(result, tool), "```", ""]
    report = "\n".join(lines)
    print(report)
    if args.markdown:
        args.markdown.write_text(report + "\n")
    if args.json:
        args.json.write_text(json.dumps(_raw(results, manifest), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
