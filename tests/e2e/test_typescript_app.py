"""A TypeScript app as people write it (tests/fixtures/ts-app, the shape of Cloudflare's D1 template): src/index.ts
with an npm package (hono) and relative imports, a wrangler.jsonc with D1 migrations, a KV namespace, an R2 bucket
and a cron trigger. Bundled, deployed by the CLI to cfemu and used through the running Worker."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cfemu.launcher import Emulator, running_emulator
from devkit.cli import CliRun, run_cli
from devkit.example import copy_example, copy_typescript_app
from devkit.loopback import localhost_client

SCRIPT = "ts-comments"
NO_PASSWORD = {"APP_PASSWORD": ""}  # this app has no password gate (an empty variable counts as unset)


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with running_emulator(tmp_path / "cfemu", run_workers=True) as emulator:
        yield emulator


def api(emu: Emulator, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """A call to cfemu's Cloudflare API as a user with the token would make it."""
    url = f"{emu.api_base_url}/accounts/{emu.account_id}{path}"
    headers = {"Authorization": f"Bearer {emu.api_token}"}
    return httpx.request(method, url, headers=headers, timeout=30.0, **kwargs)


def deploy(emu: Emulator, app: Path, *args: str) -> CliRun:
    run = run_cli(emu, "deploy", str(app), *args, env=NO_PASSWORD)
    assert run.returncode == 0, run.stderr
    return run


def schedules(emu: Emulator) -> list[str]:
    return [
        item["cron"] for item in api(emu, "GET", f"/workers/scripts/{SCRIPT}/schedules").json()["result"]["schedules"]
    ]


def versions(emu: Emulator) -> int:
    return len(api(emu, "GET", f"/workers/scripts/{SCRIPT}/versions").json()["result"]["items"])


def set_crons(app: Path, crons: list[str] | None) -> None:
    config = app / "wrangler.jsonc"
    text = config.read_text()
    replacement = f'"triggers": {{ "crons": {json.dumps(crons)} }}' if crons is not None else '"workers_dev": true'
    config.write_text(re.sub(r'"triggers": \{[^}]*\}', replacement, text))


def test_the_typescript_app_is_bundled_deployed_and_answers_with_d1_data(emu: Emulator, tmp_path: Path) -> None:
    app = copy_typescript_app(tmp_path)
    plan = run_cli(emu, "plan", str(app), env=NO_PASSWORD)
    assert plan.returncode == 0, plan.stderr
    assert "bundle: built with esbuild 0.27.3 (src/index.ts is TypeScript or JSX): index.js" in plan.stdout
    assert "npm packages: hono" in plan.stdout

    first = deploy(emu, app)
    assert first.outputs["changed"] == "first-deploy"
    upload = next(e for e in emu.requests() if e["method"] == "PUT" and e["path"].endswith(f"/scripts/{SCRIPT}"))
    assert upload["form"]["metadata"]["main_module"] == "index.js"
    assert [part["name"] for part in upload["form"]["parts"] if part["name"] != "metadata"] == ["index.js"]
    with localhost_client(first.outputs["url"]) as client:
        page = client.get("/")
        assert page.status_code == 200 and "<b>Kristian</b>: Congrats!" in page.text
        comments = client.get("/api/comments").json()
    assert [c["author"] for c in comments] == ["Kristian", "Serena", "Max"]

    seq = emu.last_seq()
    again = deploy(emu, app)  # the same sources bundle to the same bytes: nothing to do
    assert again.outputs["changed"] == "nothing"
    assert [e for e in emu.requests(since=seq) if e["method"] != "GET"] == []

    index = app / "src" / "renderHtml.ts"
    index.write_text(index.read_text().replace("<h1>Comments</h1>", "<h1>Remarks</h1>"))
    changed = deploy(emu, app)
    assert changed.outputs["changed"] == "code"
    with localhost_client(changed.outputs["url"]) as client:
        assert "<h1>Remarks</h1>" in client.get("/").text
        assert len(client.get("/api/comments").json()) == 3  # the rows stay


def test_the_worker_reads_and_writes_its_kv_namespace_and_r2_bucket(emu: Emulator, tmp_path: Path) -> None:
    app = copy_typescript_app(tmp_path)
    url = deploy(emu, app).outputs["url"]
    with localhost_client(url) as client:
        assert client.get("/kv/greeting").status_code == 404
        assert client.put("/kv/greeting", content="hello from KV").status_code == 204
        assert client.get("/kv/greeting").text == "hello from KV"
        stored = client.put("/files/notes/a.bin", content=bytes(range(256))).json()
        assert stored == {"key": "notes/a.bin", "size": 256}
        assert client.get("/files/notes/a.bin").json()["base64"].startswith("AAECAwQF")

    namespaces = api(emu, "GET", "/storage/kv/namespaces").json()["result"]
    (namespace,) = [n for n in namespaces if n["title"] == f"{SCRIPT}-cache"]  # wrangler's provisioned name
    value = api(emu, "GET", f"/storage/kv/namespaces/{namespace['id']}/values/greeting")
    assert value.text == "hello from KV"
    assert api(emu, "GET", f"/r2/buckets/{SCRIPT}-files").status_code == 200
    bindings = {
        b["name"]: b for b in api(emu, "GET", f"/workers/scripts/{SCRIPT}/settings").json()["result"]["bindings"]
    }
    assert bindings["CACHE"]["namespace_id"] == namespace["id"]
    assert bindings["FILES"]["bucket_name"] == f"{SCRIPT}-files"

    inspected = run_cli(emu, "inspect", str(app), env=NO_PASSWORD)
    assert inspected.returncode == 0, inspected.stderr
    assert f"CACHE: kv_namespace ({namespace['id']}) {SCRIPT}-cache" in inspected.stdout
    assert f"FILES: r2_bucket ({SCRIPT}-files)" in inspected.stdout
    assert "cron triggers: */30 * * * *" in inspected.stdout

    # A new version (a code change) and a forced redeploy find the same namespace and bucket: the data stays.
    index = app / "src" / "renderHtml.ts"
    index.write_text(index.read_text().replace("Comments", "Remarks"))
    deploy(emu, app)
    deploy(emu, app, "--force")
    with localhost_client(url) as client:
        assert client.get("/kv/greeting").text == "hello from KV"
        assert client.get("/files/notes/a.bin").json()["key"] == "notes/a.bin"
    titles = [n["title"] for n in api(emu, "GET", "/storage/kv/namespaces").json()["result"]]
    assert titles.count(f"{SCRIPT}-cache") == 1


def test_a_cron_trigger_is_set_runs_the_scheduled_handler_and_is_changed_and_removed(
    emu: Emulator, tmp_path: Path
) -> None:
    app = copy_typescript_app(tmp_path)
    url = deploy(emu, app).outputs["url"]
    assert schedules(emu) == ["*/30 * * * *"]

    fired = emu.fire_scheduled(SCRIPT, scheduled_time_ms=1_764_547_200_000)
    assert fired["outcome"] == "ok", fired
    with localhost_client(url) as client:
        assert client.get("/api/ticks").json() == [{"cron": "*/30 * * * *", "scheduled_time": 1_764_547_200_000}]

    before = versions(emu)
    set_crons(app, ["0 * * * *", "15 4 * * SUN"])
    changed = deploy(emu, app)
    assert changed.outputs["changed"] == "triggers"
    assert schedules(emu) == ["0 * * * *", "15 4 * * SUN"]
    assert versions(emu) == before  # a cron change alone uploads no new version
    assert emu.fire_scheduled(SCRIPT, cron="15 4 * * SUN")["outcome"] == "ok"
    assert deploy(emu, app).outputs["changed"] == "nothing"

    set_crons(app, None)
    removed = deploy(emu, app)
    assert removed.outputs["changed"] == "triggers"
    assert schedules(emu) == []
    with localhost_client(url) as client:
        assert [tick["cron"] for tick in client.get("/api/ticks").json()] == ["*/30 * * * *", "15 4 * * SUN"]


def test_a_bad_cron_is_refused_before_any_request(emu: Emulator, tmp_path: Path) -> None:
    app = copy_typescript_app(tmp_path)
    set_crons(app, ["0 22 * * 0"])
    refused = run_cli(emu, "deploy", str(app), env=NO_PASSWORD)
    assert refused.returncode == 1
    assert "uses 0, but Cloudflare numbers weekdays 1-7 from Sunday" in refused.stderr
    assert emu.requests() == []


def test_a_plain_worker_js_is_uploaded_byte_for_byte(emu: Emulator, tmp_path: Path) -> None:
    """No bundling for a hand-written Worker: the request carries worker.js as it is on disk, and Cloudflare
    serves back the same bytes."""
    app = copy_example(tmp_path)
    source = (app / "worker.js").read_bytes()
    assert run_cli(emu, "deploy", str(app)).returncode == 0
    upload = next(e for e in emu.requests() if e["method"] == "PUT" and e["path"].endswith("/scripts/items-app"))
    (part,) = [p for p in upload["form"]["parts"] if p["name"] != "metadata"]
    assert (part["name"], part["filename"], part["size"]) == ("worker.js", "worker.js", len(source))
    assert part["content_type"] == "application/javascript+module"
    content = api(emu, "GET", "/workers/scripts/items-app/content/v2")
    assert source in content.content


def test_a_preview_has_its_own_namespace_and_bucket_no_crons_and_teardown_deletes_them(
    emu: Emulator, tmp_path: Path
) -> None:
    app = copy_typescript_app(tmp_path)
    production = deploy(emu, app).outputs["url"]
    with localhost_client(production) as client:
        assert client.put("/kv/who", content="production").status_code == 204
        client.put("/files/who.txt", content=b"production")

    preview = run_cli(emu, "preview", str(app), "--pr", "3", env=NO_PASSWORD)
    assert preview.returncode == 0, preview.stderr
    assert "The cron triggers are not set on the preview" in preview.stderr
    preview_script = f"{SCRIPT}-pr-3"
    with localhost_client(preview.outputs["url"]) as client:
        assert client.get("/kv/who").status_code == 404  # not production's keys
        assert client.get("/files/who.txt").status_code == 404  # nor its objects
        client.put("/kv/who", content="preview")
        for index in range(3):
            client.put(f"/files/preview/{index}.txt", content=b"preview")
    with localhost_client(production) as client:
        assert client.get("/kv/who").text == "production"
    bindings = {
        b["name"]: b
        for b in api(emu, "GET", f"/workers/scripts/{preview_script}/settings").json()["result"]["bindings"]
    }
    assert bindings["FILES"]["bucket_name"] == f"{SCRIPT}-pr-3-files"
    titles = {n["id"]: n["title"] for n in api(emu, "GET", "/storage/kv/namespaces").json()["result"]}
    assert titles[bindings["CACHE"]["namespace_id"]] == f"{SCRIPT}-pr-3-cache"
    preview_schedules = api(emu, "GET", f"/workers/scripts/{preview_script}/schedules").json()["result"]
    assert preview_schedules["schedules"] == []

    removed = run_cli(emu, "teardown", str(app), "--pr", "3", env=NO_PASSWORD)
    assert removed.returncode == 0, removed.stderr
    assert f"R2 bucket {SCRIPT}-pr-3-files (3 objects)" in removed.stdout + removed.stderr
    titles_after = [n["title"] for n in api(emu, "GET", "/storage/kv/namespaces").json()["result"]]
    assert titles_after == [f"{SCRIPT}-cache"]
    assert api(emu, "GET", f"/r2/buckets/{SCRIPT}-pr-3-files").status_code == 404
    with localhost_client(production) as client:  # production's data is untouched
        assert client.get("/kv/who").text == "production"
        assert client.get("/files/who.txt").status_code == 200


HOSTILE_WORKER = """export default {
  async fetch(request, env) {
    for (const key of ["../../../../workers/scripts/victim", "./here", "a//b", "kept/../../x", "plain/one.txt"]) {
      await env.FILES.put(key, "x");
    }
    return new Response("planted");
  },
};
"""


def test_teardown_never_sends_an_object_key_that_could_name_another_resource(emu: Emulator, tmp_path: Path) -> None:
    """A preview's code chooses its R2 keys: one like `../../../../workers/scripts/victim` must not turn teardown's
    DELETE of an object into a DELETE of another Worker. Such keys are not sent; the bucket is kept and said."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "worker.js").write_text("export default { fetch: () => new Response('victim') };\n")
    (victim / "app.yml").write_text("name: victim\n")
    deploy(emu, victim)
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    (hostile / "worker.js").write_text(HOSTILE_WORKER)
    (hostile / "app.yml").write_text("name: hostile\nr2:\n  FILES:\n")
    preview = run_cli(emu, "preview", str(hostile), "--pr", "1", env=NO_PASSWORD)
    assert preview.returncode == 0, preview.stderr
    with localhost_client(preview.outputs["url"]) as client:
        assert client.get("/").text == "planted"

    seq = emu.last_seq()
    removed = run_cli(emu, "teardown", str(hostile), "--pr", "1", env=NO_PASSWORD)
    assert removed.returncode == 0, removed.stderr
    deletes = [e["path"] for e in emu.requests(since=seq) if e["method"] == "DELETE"]
    assert not any("/workers/scripts/victim" in path for path in deletes), deletes
    assert api(emu, "GET", "/workers/scripts/victim/settings").status_code == 200
    assert "R2 bucket hostile-pr-1-files still holds 4 objects whose keys have empty, '.' or '..' parts" in (
        removed.stdout + removed.stderr
    )
    left = [item["key"] for item in api(emu, "GET", "/r2/buckets/hostile-pr-1-files/objects").json()["result"]]
    assert "plain/one.txt" not in left and len(left) == 4
    assert "../../../../workers/scripts/victim" not in removed.stdout + removed.stderr  # the keys are not echoed


def test_a_rolled_back_deploy_leaves_the_cron_triggers_as_they_were(emu: Emulator, tmp_path: Path) -> None:
    """New crons would run the new code: they are set only once its checks pass, so a deploy rolled back
    keeps the old schedules (and its state records them)."""
    app = copy_typescript_app(tmp_path)
    deploy(emu, app)
    index = app / "src" / "index.ts"
    working = index.read_text()
    index.write_text(working.replace("  fetch: app.fetch,", '  fetch: () => new Response("broken", { status: 500 }),'))
    set_crons(app, ["0 * * * *"])
    failed = run_cli(emu, "deploy", str(app), env=NO_PASSWORD)
    assert failed.returncode == 1
    assert "rolled back to version" in failed.stderr, failed.stderr
    assert schedules(emu) == ["*/30 * * * *"]
    index.write_text(working)
    fixed = deploy(emu, app)
    assert fixed.outputs["changed"] == "triggers"  # the code is the deployed one again: only the crons differ
    assert schedules(emu) == ["0 * * * *"]


def test_crons_refused_on_a_forced_deploy_are_tried_again_by_the_next_deploy(emu: Emulator, tmp_path: Path) -> None:
    """The state recorded by a full deploy says the triggers are as they were until the schedules are set: when
    Cloudflare refuses them (here: over the account's limit of 5, 10072), the next deploy does not read
    "nothing changed"."""
    app = copy_typescript_app(tmp_path)
    deploy(emu, app)
    set_crons(app, [f"{minute} * * * *" for minute in range(6)])
    forced = run_cli(emu, "deploy", str(app), "--force", env=NO_PASSWORD)
    assert forced.returncode == 1, forced.stderr
    assert schedules(emu) == ["*/30 * * * *"]
    again = run_cli(emu, "deploy", str(app), env=NO_PASSWORD)
    assert again.returncode == 1, again.stderr  # it tried to set them again (and was refused again)
    assert "cron triggers" in again.stderr.lower()


def test_crons_our_deploy_set_are_removed_after_a_rollback_too(emu: Emulator, tmp_path: Path) -> None:
    """`rollback` leaves the schedules (they belong to the script) and their record: a later deploy of an app
    that dropped its triggers still removes them."""
    app = copy_typescript_app(tmp_path)
    deploy(emu, app)
    index = app / "src" / "renderHtml.ts"
    index.write_text(index.read_text().replace("Comments", "Remarks"))
    deploy(emu, app)
    back = run_cli(emu, "rollback", str(app), env=NO_PASSWORD)
    assert back.returncode == 0, back.stderr
    assert schedules(emu) == ["*/30 * * * *"]
    set_crons(app, None)
    deploy(emu, app)
    assert schedules(emu) == []


def test_teardown_of_a_preview_is_not_stopped_by_a_binding_added_since(emu: Emulator, tmp_path: Path) -> None:
    """A binding added to the configuration after the preview was deployed (here one whose preview bucket name R2
    would refuse) does not stop its teardown half-way."""
    app = copy_typescript_app(tmp_path)
    preview = run_cli(emu, "preview", str(app), "--pr", "4", env=NO_PASSWORD)
    assert preview.returncode == 0, preview.stderr
    config = app / "wrangler.jsonc"
    config.write_text(
        config.read_text().replace(
            '"r2_buckets": [{ "binding": "FILES" }]',
            '"r2_buckets": [{ "binding": "FILES" }, { "binding": "ARCHIVE_", "bucket_name": "ts-archive" }]',
        )
    )
    removed = run_cli(emu, "teardown", str(app), "--pr", "4", env=NO_PASSWORD)
    assert removed.returncode == 0, removed.stderr
    assert api(emu, "GET", f"/workers/scripts/{SCRIPT}-pr-4/settings").status_code == 404
    assert api(emu, "GET", f"/r2/buckets/{SCRIPT}-pr-4-files").status_code == 404
