"""The dashboard check of `homelab verify`: the URL answers and leads to dex's login page."""

from __future__ import annotations

import http.client
import ssl
import time
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

MAX_REDIRECTS = 10
MAX_BODY = 1 << 20


class DashboardError(Exception):
    """The dashboard check failed: the message, the likely cause and the fix."""

    def __init__(self, message: str, cause: str, fix: str) -> None:
        super().__init__(message)
        self.cause, self.fix = cause, fix


def _get(url: str, timeout: float) -> tuple[int, str | None, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DashboardError(
            f"not an http(s) URL: {url!r}", "a malformed address", "give --dashboard-url"
        )
    if parts.scheme == "https":
        # the lab's gateway has no certificate from a public CA; only reachability is checked
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=context
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("GET", target, headers={"User-Agent": "homelab-verify/1"})
        answer = conn.getresponse()
        body = answer.read(MAX_BODY).decode("utf-8", "replace")
        return answer.status, answer.getheader("Location"), body
    finally:
        conn.close()


def _follow(url: str, timeout: float) -> tuple[int, str, str]:
    """GET `url`, following redirects; (status, final URL, body)."""
    for _ in range(MAX_REDIRECTS + 1):
        status, location, body = _get(url, timeout)
        if status in (301, 302, 303, 307, 308) and location:
            url = urljoin(url, location)
            continue
        return status, url, body
    raise DashboardError(
        f"more than {MAX_REDIRECTS} redirects",
        "a redirect loop between the gateway and the login service (a public URL that does "
        "not match the address used)",
        "juju status -m CONTROLLER:kubeflow dex-auth oidc-gatekeeper; open the URL in a browser",
    )


def _is_login(url: str, body: str) -> bool:
    return "/dex/" in urlsplit(url).path + "/" and "password" in body.lower()


def check_dashboard(
    url: str,
    *,
    request_timeout: float,
    total_timeout: float,
    poll: float,
    progress: Callable[[str], None],
) -> str:
    """Check that `url` leads to dex's login page; the login page's path. DashboardError."""
    start = time.monotonic()
    last = ""
    while True:
        try:
            status, final, body = _follow(url, request_timeout)
            if status == 200 and _is_login(final, body):
                return urlsplit(final).path
            if status == 200:
                raise DashboardError(
                    f"answered 200 at {final} without a dex login page",
                    "the gateway serves the dashboard without authentication: oidc-gatekeeper "
                    "or dex-auth is not in the path",
                    "juju status -m CONTROLLER:kubeflow dex-auth oidc-gatekeeper istio-pilot "
                    "(all active, related as the kubeflow bundle relates them)",
                )
            state = f"HTTP {status} at {final}"
            retry = status >= 500
            if not retry:
                raise DashboardError(
                    state,
                    "the gateway answers but routes nothing to the dashboard or to dex",
                    "juju status -m CONTROLLER:kubeflow (kubeflow-dashboard, dex-auth, "
                    "oidc-gatekeeper, istio-pilot active)",
                )
            cause = (
                "the gateway is up but the dashboard or the login service behind it is not "
                "ready (no healthy upstream)"
            )
        except TimeoutError:
            state, cause = f"no answer within {request_timeout:g}s", "unreachable"
        except (OSError, http.client.HTTPException) as exc:
            state, cause = f"{exc.__class__.__name__}: {exc}", "unreachable"
        elapsed = time.monotonic() - start
        if elapsed >= total_timeout:
            if cause == "unreachable":
                raise DashboardError(
                    state,
                    "the address does not answer from here: MetalLB does not announce it (range "
                    "not reserved in MAAS, another subnet), the NodePort is blocked, or the "
                    "gateway is down",
                    "juju status -m CONTROLLER:kubeflow istio-ingressgateway; kubectl -n "
                    "kubeflow get svc istio-ingressgateway-workload; try from a machine on the "
                    "lab's network",
                ) from None
            raise DashboardError(
                state,
                cause,
                "wait until juju status -m CONTROLLER:kubeflow shows everything active, then "
                "re-run verify",
            )
        if state != last:
            progress(f"{state} ({elapsed:.0f}s of {total_timeout:g}s)")
            last = state
        time.sleep(min(poll, max(0.0, total_timeout - elapsed)))
