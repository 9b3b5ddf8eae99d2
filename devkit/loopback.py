"""An httpx client that reaches `http://{script}.{subdomain}.workers.dev.localhost:{port}` like a browser does.

Browsers and curl resolve every `*.localhost` name to the loopback address; Python's resolver here does
not. `LoopbackTransport` connects to 127.0.0.1 instead, leaving the URL and the `Host` header untouched,
so the Worker sees the browser's URL (httpx pairs the response with the original request, so redirects
and the client's own cookie jar see the real host name too).

Cookies: browsers treat `http://localhost` and its subdomains as a secure context, so they store and send
`Secure` cookies there. httpx's cookie jar sends `Secure` cookies over https only (and copies the jar with
the default policy for every request, so a custom policy on it has no effect). With `keep_cookies=True`
the transport is the cookie store instead, as a browser's: it files every `Set-Cookie` it sees in its own
jar (`LocalhostCookiePolicy`) and sets the `Cookie` header of each request from it.
"""

from __future__ import annotations

import email.message
import http.cookiejar
import urllib.parse
import urllib.request

import httpx

__all__ = ["LocalhostCookiePolicy", "LoopbackTransport", "is_localhost", "localhost_client"]


def is_localhost(host: str) -> bool:
    """True for `localhost` and any name under `.localhost` (RFC 6761: always loopback)."""
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


class LocalhostCookiePolicy(http.cookiejar.DefaultCookiePolicy):
    """The default policy, except that `Secure` cookies are sent to `*.localhost` over plain http."""

    def return_ok_secure(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        """Allow a Secure cookie for a `.localhost` host, as browsers do; else the default rule."""
        if cookie.secure and is_localhost(urllib.parse.urlsplit(request.full_url).hostname or ""):
            return True
        return bool(super().return_ok_secure(cookie, request))


class _HeadersInfo:
    """The `response.info()` a cookie jar reads `Set-Cookie` headers from."""

    def __init__(self, response: httpx.Response) -> None:
        self.message = email.message.Message()
        for value in response.headers.get_list("set-cookie"):
            self.message["Set-Cookie"] = value

    def info(self) -> email.message.Message:
        return self.message


class LoopbackTransport(httpx.BaseTransport):
    """Sends requests for `*.localhost` hosts to 127.0.0.1 (same port, same Host header); others unchanged.

    With `keep_cookies`, it also keeps the cookies like a browser (see the module docstring).
    """

    def __init__(self, *, keep_cookies: bool = False) -> None:
        self._inner = httpx.HTTPTransport()
        self.jar = http.cookiejar.CookieJar(policy=LocalhostCookiePolicy()) if keep_cookies else None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Forward `request` (to 127.0.0.1 for a `.localhost` host), keeping cookies if asked to."""
        compat = urllib.request.Request(str(request.url), method=request.method)
        headers = httpx.Headers(request.headers)
        if self.jar is not None:
            self.jar.add_cookie_header(compat)
            cookie = compat.get_header("Cookie")
            if cookie:
                headers["Cookie"] = cookie
        url = request.url.copy_with(host="127.0.0.1") if is_localhost(request.url.host) else request.url
        forwarded = httpx.Request(request.method, url, headers=headers, stream=request.stream)
        forwarded.extensions = request.extensions
        response = self._inner.handle_request(forwarded)
        if self.jar is not None:
            self.jar.extract_cookies(_HeadersInfo(response), compat)  # type: ignore[arg-type]
        return response

    def close(self) -> None:
        """Close the pooled connections."""
        self._inner.close()


def localhost_client(base_url: str, *, keep_cookies: bool = True) -> httpx.Client:
    """A client for `base_url` (no redirects followed, no proxies) that keeps cookies like a browser if asked."""
    return httpx.Client(
        base_url=base_url,
        transport=LoopbackTransport(keep_cookies=keep_cookies),
        follow_redirects=False,
        trust_env=False,
        timeout=30.0,
    )
