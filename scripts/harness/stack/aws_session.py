"""Where AWS calls go: the local moto endpoint or real AWS, decided once per command.

The send/verify/logs/redrive commands and the local runner must behave identically against both,
so the profile changes only the session (endpoint and credentials), never a code path:

- `local`: a localstack-client session (the user asked for it, and it is exactly "boto3 with a
  local endpoint and fake credentials"). It resolves the endpoint the way the rest of the project
  does: `AWS_ENDPOINT_URL` first (the contract's selector, also what the function sees), then
  `LOCALSTACK_HOST`, and otherwise 127.0.0.1:4566 (not localstack-client's `localhost`, which
  may resolve to ::1 where moto does not listen).
- `aws`: a plain boto3 session: the standard credential chain, region and endpoint resolution.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from localstack_client.session import Session as LocalstackSession

PROFILES = ("local", "aws")
LOCAL_HOST_DEFAULT = "127.0.0.1:4566"
LOCAL_REGION = "us-east-1"
LOCAL_CREDENTIALS = ("test", "test")
# Long polls (20 s) must not be cut by the client's read timeout; retries absorb throttling.
CLIENT_CONFIG = Config(read_timeout=70, connect_timeout=5, retries={"mode": "standard"})


class UnknownProfileError(ValueError):
    """A profile name that is neither `local` nor `aws`."""


class EndpointConflictError(RuntimeError):
    """AWS_ENDPOINT_URL in the environment names another endpoint than the one asked for."""


class SessionLike(Protocol):
    """What callers need from boto3.Session and localstack_client's Session alike."""

    def client(self, service_name: str, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class Target:
    """A profile resolved against the environment: enough to build clients and to explain them."""

    profile: str
    region: str
    endpoint_url: str | None

    def describe(self) -> str:
        return f"{self.profile} ({self.endpoint_url or 'AWS'}, {self.region})"


def local_host(environ: dict[str, str]) -> str:
    """host:port of the local endpoint, from AWS_ENDPOINT_URL, LOCALSTACK_HOST or the default."""
    endpoint = environ.get("AWS_ENDPOINT_URL", "").strip()
    if endpoint:
        parsed = urlparse(endpoint)
        return f"{parsed.hostname}:{parsed.port or 80}"
    return environ.get("LOCALSTACK_HOST", "").strip() or LOCAL_HOST_DEFAULT


def resolve(profile: str, environ: dict[str, str] | None = None) -> Target:
    """Resolve `profile` against the environment (os.environ unless given)."""
    env = dict(os.environ if environ is None else environ)
    if profile == "local":
        region = env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION") or LOCAL_REGION
        return Target("local", region, f"http://{local_host(env)}")
    if profile == "aws":
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or ""
        return Target("aws", region or boto3.Session().region_name or "", None)
    raise UnknownProfileError(f"unknown profile {profile!r}: use one of {', '.join(PROFILES)}")


def session(target: Target) -> SessionLike:
    """A session for `target`; clients made from it need no further endpoint arguments."""
    if target.profile == "local":
        host = urlparse(target.endpoint_url).netloc if target.endpoint_url else LOCAL_HOST_DEFAULT
        key, secret = LOCAL_CREDENTIALS
        inner = LocalstackSession(
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            aws_session_token=None,
            region_name=target.region,
            localstack_host=host,
        )
        effective = inner.client("sts").meta.endpoint_url.rstrip("/")
        if target.endpoint_url and effective != target.endpoint_url.rstrip("/"):
            raise EndpointConflictError(
                f"AWS_ENDPOINT_URL={effective} overrides the requested endpoint "
                f"{target.endpoint_url}: unset it or make them agree"
            )
        return _LocalSession(inner)
    return _AwsSession(boto3.Session(region_name=target.region or None))


def local_target(endpoint_url: str, region: str = LOCAL_REGION) -> Target:
    """The local profile pointed at an explicit endpoint (tests run moto on free ports)."""
    return Target("local", region, endpoint_url)


@dataclass(frozen=True)
class _LocalSession:
    """localstack-client session with the project's client config.

    localstack-client prefers AWS_ENDPOINT_URL from the environment over `localstack_host`, so
    `session()` refuses a Target that the environment would silently override.
    """

    inner: LocalstackSession

    def client(self, service_name: str, **kwargs: Any) -> Any:
        kwargs.setdefault("config", CLIENT_CONFIG)
        return self.inner.client(service_name, **kwargs)


@dataclass(frozen=True)
class _AwsSession:
    inner: boto3.Session

    def client(self, service_name: str, **kwargs: Any) -> Any:
        kwargs.setdefault("config", CLIENT_CONFIG)
        return self.inner.client(service_name, **kwargs)
