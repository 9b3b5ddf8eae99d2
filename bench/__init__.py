"""Benchmarks of our deployer against wrangler 4.86, both deploying to cfemu with an injected network.

Run `python -m bench` (see `bench.__main__` for the options); the results and the command are kept in
docs/BENCHMARKS.md. Modules: `emulator` (a cfemu process per run), `apps` (the apps deployed and their
edits), `tools` (how each tool is run and timed), `scenarios` (what is measured), `manifest_bench` (the
manifest against a bare hashing loop), `report` (the tables). `bench.startup` is a separate benchmark (the
action's container start-up, `python -m bench.startup`).
"""
