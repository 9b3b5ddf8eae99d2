"""The multipart bodies the deployer sends, read back with the standard library's MIME parser."""

from __future__ import annotations

import base64
import json
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import httpx

from deployer.cloudflare import CloudflareClient
from deployer.cloudflare.assets import UploadFile, upload_bucket
from deployer.cloudflare.multipart import FormPart, encode_multipart
from deployer.cloudflare.workers import upload_script


def parse_form(body: bytes, content_type: str) -> list[EmailMessage]:
    """Parse a multipart/form-data body as an independent, standard parser would."""
    message = BytesParser(policy=policy.HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    assert isinstance(message, EmailMessage)
    assert message.is_multipart()
    return [part for part in message.iter_parts() if isinstance(part, EmailMessage)]


def payload(part: EmailMessage) -> bytes:
    """The part's body bytes, undecoded."""
    body = part.get_payload(decode=True)
    assert isinstance(body, bytes)
    return body


class Recorder:
    """An httpx transport handler that keeps each request and answers with a success envelope."""

    def __init__(self, result: object) -> None:
        self.requests: list[httpx.Request] = []
        self.result = result

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json={"success": True, "errors": [], "messages": [], "result": self.result})


def client_for(recorder: Recorder) -> CloudflareClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    return CloudflareClient(base_url="https://api.test/client/v4", api_token="tok", account_id="acc", http=http)


async def test_script_upload_has_a_json_metadata_field_and_an_esm_module_part() -> None:
    """The Worker PUT is a `metadata` form field (JSON, no filename) plus `worker.js` typed as an ES module."""
    recorder = Recorder({"id": "app"})
    metadata = {"main_module": "worker.js", "bindings": [{"type": "d1", "name": "DB", "id": "u"}]}
    module = FormPart(
        "worker.js", b"export default {}", content_type="application/javascript+module", filename="worker.js"
    )
    await upload_script(client_for(recorder), "app", metadata=metadata, modules=[module])

    (request,) = recorder.requests
    assert request.method == "PUT"
    assert request.url.path == "/client/v4/accounts/acc/workers/scripts/app"
    parts = parse_form(request.content, request.headers["content-type"])
    assert [part.get_param("name", header="content-disposition") for part in parts] == ["metadata", "worker.js"]
    meta, code = parts
    assert meta.get_filename() is None
    assert meta.get_content_type() == "application/json"
    assert json.loads(payload(meta)) == metadata
    assert code.get_filename() == "worker.js"
    assert code.get_content_type() == "application/javascript+module"
    assert code.get_payload(decode=True) == b"export default {}"


async def test_bucket_upload_sends_base64_parts_typed_with_each_file_and_the_jwt(tmp_path: Path) -> None:
    """One part per hash: name and filename are the hash, the value is base64, the type is the file's MIME type."""
    html, png = tmp_path / "a.html", tmp_path / "b.png"
    html.write_bytes(b"<h1>hi</h1>")
    png.write_bytes(bytes(range(256)))
    recorder = Recorder({"jwt": "completion"})
    files = [
        UploadFile(hash="a" * 32, source=html, content_type="text/html; charset=utf-8"),
        UploadFile(hash="b" * 32, source=png, content_type="image/png"),
    ]
    token = await upload_bucket(client_for(recorder), "session-jwt", files)

    assert token == "completion"
    (request,) = recorder.requests
    assert request.url.path == "/client/v4/accounts/acc/workers/assets/upload"
    assert request.url.params["base64"] == "true"
    assert request.headers["authorization"] == "Bearer session-jwt"
    parts = parse_form(request.content, request.headers["content-type"])
    assert [(p.get_param("name", header="content-disposition"), p.get_filename()) for p in parts] == [
        ("a" * 32, "a" * 32),
        ("b" * 32, "b" * 32),
    ]
    assert parts[0].get_content_type() == "text/html"
    assert parts[0].get_content_charset() == "utf-8"
    assert parts[1].get_content_type() == "image/png"
    assert base64.b64decode(payload(parts[0])) == b"<h1>hi</h1>"
    assert base64.b64decode(payload(parts[1])) == bytes(range(256))


def test_names_with_quotes_and_newlines_are_escaped_like_browsers_do() -> None:
    """A `"` or a line break in a part name cannot break out of the header."""
    body, content_type = encode_multipart([FormPart('a"b\r\nc', b"x")], boundary="B")
    assert b'name="a%22b%0D%0Ac"' in body
    parts = parse_form(body, content_type)
    assert parts[0].get_param("name", header="content-disposition") == "a%22b%0D%0Ac"


def test_binary_content_survives_unchanged() -> None:
    """Bytes that look like CRLF or a boundary inside a part are kept as they are."""
    payload = b"\r\n--B\r\n\x00\xff"
    body, content_type = encode_multipart([FormPart("f", payload, filename="f")], boundary="XYZ123")
    (part,) = parse_form(body, content_type)
    assert part.get_payload(decode=True) == payload
