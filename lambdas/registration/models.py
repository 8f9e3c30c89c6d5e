"""The one shape a registration has once it passed validation, and its total order.

Both stores keep, per user, the registration with the highest ``version``. The version is the
UTC timestamp in a fixed-width format followed by a digest of the content, so plain string
comparison (DynamoDB compares UTF-8 bytes, the MySQL column is ``ascii_bin``) orders by time first
and breaks ties between different contents deterministically. Equal content gives an equal
version, which is what makes a redelivery a no-op.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

VERSION_SEPARATOR = "#"
# 27 characters of timestamp, the separator, 64 hex digits of sha256.
VERSION_LENGTH = 92


def format_timestamp(moment: datetime) -> str:
    """Render an aware datetime as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC (fixed width)."""
    utc = moment.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond:06d}Z"
    )


@dataclass(frozen=True, slots=True)
class Registration:
    """A validated user registration; ``registered_at`` is timezone-aware UTC.

    ``version`` is derived from the other fields once, at construction: both stores, the
    per-batch de-duplication and the DynamoDB condition all read it.
    """

    user_id: str
    # Personal data stays out of reprs: a registration in a traceback or log line shows its id.
    name: str = field(repr=False)
    email: str | None = field(repr=False)
    registered_at: datetime
    registered_at_text: str = field(init=False, repr=False, compare=False)
    version: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Frozen: derived fields are set through object.__setattr__, the dataclass idiom.
        text = format_timestamp(self.registered_at)
        object.__setattr__(self, "registered_at_text", text)
        object.__setattr__(self, "version", f"{text}{VERSION_SEPARATOR}{self.content_digest}")

    @property
    def content_digest(self) -> str:
        """sha256 over the stored fields; only used to break ties between equal timestamps."""
        canonical = json.dumps(
            [self.user_id, self.name, self.email, self.registered_at_text],
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
