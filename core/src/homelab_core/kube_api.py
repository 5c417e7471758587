"""Kubernetes API failures, translated once (no ops; lightkube and httpx2 imported on use).

`call` runs one lightkube call and turns every failure into a `KubeApiError` subclass with a
`kind` (unauthorized, forbidden, not-found, conflict, invalid, unavailable, credentials) and a
message fit for a status line. Anything that is not a valid Kubernetes answer (an HTML page with
200, an error without a Content-Type, an error body that is not JSON, a 200 body of the wrong
shape, a reset connection, a timeout) is `UnavailableError`: "Kubernetes API unavailable: ..."
naming the status and content type that came back, never the body. `client` builds the one
lightkube Client (field manager, timeout, trust_env=False) and records what each answer was.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from homelab_core.kubeconfig import Kubeconfig, KubeconfigError, to_lightkube


class KubeApiError(Exception):
    """A Kubernetes API call failed; `retry`: the next reconcile may simply succeed."""

    kind = "unavailable"
    retry = True

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code


class UnauthorizedError(KubeApiError):
    """401: the credentials were rejected."""

    kind, retry = "unauthorized", False


class ForbiddenError(KubeApiError):
    """403: the identity lacks a permission; the message names it."""

    kind, retry = "forbidden", False


class InvalidError(KubeApiError):
    """400/422: the API refused an object."""

    kind, retry = "invalid", False


class NotFoundError(KubeApiError):
    """404: the object (or the API) is not there."""

    kind = "not-found"


class ConflictError(KubeApiError):
    """409: the name is taken, or the object changed since it was read."""

    kind = "conflict"


class UnavailableError(KubeApiError):
    """No valid answer: 5xx, 429, timeouts, resets, answers that are not Kubernetes answers."""

    kind = "unavailable"


class CredentialsError(KubeApiError):
    """The credentials could not be loaded (lightkube refused them at request time)."""

    kind, retry = "credentials", False


_last: dict[int, tuple[int, str]] = {}


def client(config: Kubeconfig, field_manager: str, timeout: float) -> Any:
    """A lightkube Client for a checked kubeconfig (KubeconfigError when it cannot be built)."""
    import httpx2
    from lightkube import Client

    built = to_lightkube(config)
    try:
        api = Client(
            config=built,
            field_manager=field_manager,
            timeout=httpx2.Timeout(timeout),
            trust_env=False,
        )
    except Exception as e:  # bad certificate data, unsupported auth, ...
        raise KubeconfigError(f"{config.source} cannot be used ({type(e).__name__})") from None
    with contextlib.suppress(AttributeError, TypeError):
        http = api._client._client  # lightkube's httpx2.Client
        key = id(api)

        def record(response: Any) -> None:
            _last[key] = (response.status_code, response.headers.get("content-type", ""))

        http.event_hooks = {"request": [], "response": [record]}
        setattr(api, "_homelab_answer_key", key)  # noqa: B010 - not a lightkube attribute
    return api


def last_answer(api: Any) -> tuple[int, str] | None:
    """(status, content type) of the last answer `api` got, when it was recorded."""
    return _last.get(getattr(api, "_homelab_answer_key", -1))


def _answer(api: Any) -> str:
    seen = last_answer(api)
    if seen is None:
        return "no answer"
    code, ctype = seen
    ctype = "".join(ch for ch in ctype.split(";")[0].strip() if ch.isprintable())[:60]
    return f"HTTP {code}, {ctype or 'no Content-Type'}"


def call(
    api: Any, verb: str, resource: str, source: str, fn: Callable[..., Any], *args: Any, **kw: Any
) -> Any:
    """Run one lightkube call (`verb` `resource`, with credentials from `source`), translated."""
    import httpx2
    from lightkube import ApiError, ConfigError

    what = f"{verb} {resource}"
    _last.pop(getattr(api, "_homelab_answer_key", -1), None)
    try:
        return fn(*args, **kw)
    except ConfigError:
        # lightkube may load credentials per request; its message may quote what it read.
        raise CredentialsError(
            f"{source} cannot be used: lightkube could not load its credentials "
            f"while trying to {what}"
        ) from None
    except ApiError as e:
        status = getattr(e, "status", None)
        code = getattr(status, "code", None) or 0
        message = _clean(getattr(status, "message", None) or getattr(status, "reason", None))
        if not isinstance(code, int) or not isinstance(message, str):
            raise unavailable(api, what, "an error that is not a Kubernetes Status") from None
        raise status_error(code, message, what, source) from None
    except httpx2.TimeoutException:
        raise UnavailableError(f"Kubernetes API timed out while trying to {what}") from None
    except httpx2.HTTPError as e:
        raise UnavailableError(
            f"Kubernetes API unreachable while trying to {what} ({type(e).__name__})"
        ) from None
    except OSError as e:
        raise UnavailableError(
            f"Kubernetes API unreachable while trying to {what} ({e.strerror})"
        ) from None
    except KubeApiError:
        raise
    except Exception as e:  # a body lightkube could not decode: not a Kubernetes answer
        raise unavailable(api, what, _description(e)) from None


def _description(e: Exception) -> str:
    name = type(e).__name__
    if name in ("JSONDecodeError", "DecodeError"):
        return "the body is not JSON"
    return "the body is not the Kubernetes object expected"


def unavailable(api: Any, what: str, description: str) -> UnavailableError:
    """The error for an answer that is not a valid Kubernetes response."""
    return UnavailableError(
        f"Kubernetes API unavailable: {_answer(api)}: {description} (while trying to {what})"
    )


def _clean(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return text if len(text) <= 300 else text[:297] + "..."


def status_error(code: int, message: str, what: str, source: str) -> KubeApiError:
    """The error for a Kubernetes Status answer with `code`."""
    if code == 401:
        return UnauthorizedError(
            f"Kubernetes API rejected the credentials from {source} (401 Unauthorized) "
            f"while trying to {what}",
            code,
        )
    if code == 403:
        verb = what.split(maxsplit=1)[0]
        resource = what.split(" ", 1)[-1]
        return ForbiddenError(
            f"Kubernetes API: not allowed to {what} (403 Forbidden, needs RBAC verb "
            f"{verb!r} on {resource}): {message}",
            code,
        )
    if code == 409:
        return ConflictError(f"{what}: 409 Conflict: {message}", code)
    if code in (400, 422):
        return InvalidError(f"{what}: {code} {message}", code)
    if code == 404:
        return NotFoundError(f"{what}: 404 Not Found: {message}", code)
    return UnavailableError(f"Kubernetes API error {code} while trying to {what}", code)


def shape_error(what: str) -> UnavailableError:
    """A 200 answer whose object lacks what every Kubernetes object has."""
    return UnavailableError(
        f"Kubernetes API unavailable: HTTP 200 but the body is not the Kubernetes object "
        f"expected (while trying to {what})"
    )
