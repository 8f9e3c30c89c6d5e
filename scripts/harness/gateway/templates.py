"""The part of API Gateway's mapping-template language (Velocity) our API uses, and nothing more.

A template is compiled once, when the API is loaded: literal text plus references from a fixed
list. Anything else (a directive such as ``#if``/``#set``, an unknown variable or method) makes
compilation fail with the offending text, so the local gateway refuses the API instead of
rendering something AWS would render differently.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class UnsupportedTemplateError(ValueError):
    """The template uses Velocity this emulator does not implement."""


@dataclass(frozen=True)
class TemplateContext:
    """What a reference can read: the request, the integration's answer, the error."""

    request_id: str
    body: str = ""
    integration_response: Any = None  # parsed JSON of the backend's answer
    error_message: str = ""
    validation_error: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)


def _json_path(context: TemplateContext, path: str) -> Any:
    """``$.a.b.c`` over the integration response: the only JSONPath form our templates use."""
    value = context.integration_response
    for key in path.split(".")[1:]:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _escape_javascript(text: str) -> str:
    # $util.escapeJavaScript escapes like a JS string literal, single quotes included; the
    # template's .replaceAll("\\'","'") undoes that so the result is a valid JSON string body.
    return json.dumps(text, ensure_ascii=False)[1:-1].replace("'", "\\'")


Renderer = Callable[[TemplateContext], str]

# Each supported reference, exactly as it may appear in a template.
_REFERENCES: dict[str, Renderer] = {
    "$input.body": lambda c: c.body,
    "$util.urlEncode($input.body)": lambda c: urllib.parse.quote_plus(c.body, safe="*"),
    "$context.requestId": lambda c: c.request_id,
    "$context.error.message": lambda c: c.error_message,
    "$context.error.messageString": lambda c: json.dumps(c.error_message),
    "$context.error.validationErrorString": lambda c: c.validation_error,
    '$util.escapeJavaScript($context.error.validationErrorString).replaceAll("\\\\\'","\'")': (
        lambda c: _escape_javascript(c.validation_error).replace("\\'", "'")
    ),
}
_INPUT_PATH = re.compile(r"\$input\.(path|json)\('(\$(?:\.[A-Za-z_][A-Za-z0-9_]*)*)'\)")
_DIRECTIVE = re.compile(r"#(?:set|if|elseif|else|end|foreach|macro|parse|include|stop|break)\b|##")


@dataclass(frozen=True)
class Template:
    """A compiled template: render it with a `TemplateContext`."""

    source: str
    parts: tuple[str | Renderer, ...]

    def render(self, context: TemplateContext) -> str:
        return "".join(part if isinstance(part, str) else part(context) for part in self.parts)


def compile_template(source: str) -> Template:
    """Compile `source`, or raise UnsupportedTemplateError naming what is not supported."""
    directive = _DIRECTIVE.search(source)
    if directive:
        raise UnsupportedTemplateError(f"Velocity directive {directive.group()!r} is not supported")
    parts: list[str | Renderer] = []
    literal_start = position = 0
    while (position := source.find("$", position)) != -1:
        renderer, length = _reference_at(source, position)
        parts.append(source[literal_start:position])
        parts.append(renderer)
        position = literal_start = position + length
    parts.append(source[literal_start:])
    return Template(source, tuple(part for part in parts if part != ""))


def _reference_at(source: str, position: int) -> tuple[Renderer, int]:
    # Longest known reference first: "$context.error.messageString" before "...message".
    for reference in sorted(_REFERENCES, key=len, reverse=True):
        if source.startswith(reference, position):
            return _REFERENCES[reference], len(reference)
    match = _INPUT_PATH.match(source, position)
    if match:
        kind, path = match.groups()
        if kind == "path":
            return lambda c: _text(_json_path(c, path)), match.end() - position
        return lambda c: json.dumps(_json_path(c, path)), match.end() - position
    snippet = source[position : position + 40]
    raise UnsupportedTemplateError(f"unsupported reference {snippet!r}")


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)
