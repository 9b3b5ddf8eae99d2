"""What the tests, the benchmarks and the scripts share; imported by none of `deployer` and `cfemu`.

- `example`: the repository, the example app (`examples/items-app`), its Worker name and a password for it;
- `cli`: running `python -m deployer COMMAND …` in a subprocess against a cfemu, as a user does;
- `outputs`: reading a `GITHUB_OUTPUT` file (multi-line values included);
- `checklist`: the seed's verification checklist, run over HTTP against a deployed items-app;
- `loopback`: an httpx client that reaches `*.workers.dev.localhost` URLs like a browser;
- `processes`: the process groups a cfemu server and its runtime leave, and waiting for them to go;
- `transcripts`: what test runs showed people, kept and scanned for secret values at the end;
- `demo`: the newcomer demo (`scripts/demo`).

Starting and stopping cfemu itself is `cfemu.launcher` (the emulator's own launcher).
"""
