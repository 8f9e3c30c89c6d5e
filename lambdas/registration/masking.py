"""Log-safe renderings of personal data: enough to correlate, never the value itself."""

from __future__ import annotations

MASK = "***"


def mask_email(email: str | None) -> str | None:
    """``martha.rivera@example.com`` -> ``m***@e***.com`` (first letters and top-level domain)."""
    if email is None:
        return None
    local, _, domain = email.rpartition("@")
    if not local or not domain:
        return MASK
    host, _, tld = domain.rpartition(".")
    masked_domain = f"{host[:1]}{MASK}.{tld}" if host and tld else MASK
    return f"{local[:1]}{MASK}@{masked_domain}"


def mask_name(name: str) -> str:
    """``Martha Rivera`` -> ``M*** (13 chars)``: the initial and length only."""
    if not name:
        return MASK
    return f"{name[:1]}{MASK} ({len(name)} chars)"
