"""The mapping-template subset and the token bucket, without a server."""

from __future__ import annotations

import json
import urllib.parse
from datetime import date

import pytest

from scripts.harness.gateway.limits import DailyQuota, TokenBucket
from scripts.harness.gateway.templates import (
    TemplateContext,
    UnsupportedTemplateError,
    compile_template,
)
from tests.scripts.gateway.support import template


def test_send_message_template_round_trips_any_body_through_form_encoding() -> None:
    body = '{"name": "a & b = c + d %20 ü 😀 \\n"}'
    rendered = compile_template(template("send_message.vtl")).render(
        TemplateContext(request_id="req-1", body=body)
    )
    parameters = urllib.parse.parse_qs(rendered, keep_blank_values=True)
    assert parameters["MessageBody"] == [body]
    assert parameters["MessageAttribute.2.Value.StringValue"] == ["req-1"]


def test_error_templates_render_valid_json_whatever_the_message_holds() -> None:
    context = TemplateContext(
        request_id="r",
        error_message='say "hi"',
        validation_error="[x: 'a' does not match \"^b\\n\"]",
    )
    for name in ("bad_request_body.json.vtl", "error.json.vtl"):
        document = json.loads(compile_template(template(name)).render(context))
        assert document["message"] == 'say "hi"'
    document = json.loads(compile_template(template("bad_request_body.json.vtl")).render(context))
    assert document["validationError"] == context.validation_error


def test_accepted_template_reads_the_message_id() -> None:
    rendered = compile_template(template("accepted.json.vtl")).render(
        TemplateContext(
            request_id="r",
            integration_response={
                "SendMessageResponse": {"SendMessageResult": {"MessageId": "m-1"}}
            },
        )
    )
    assert json.loads(rendered) == {"messageId": "m-1"}


@pytest.mark.parametrize(
    "source",
    [
        "#if($input.body)x#end",
        "$input.params('x')",
        "$util.base64Encode($input.body)",
        "$stageVariables.q",
    ],
)
def test_unknown_velocity_is_refused(source: str) -> None:
    with pytest.raises(UnsupportedTemplateError):
        compile_template(source)


def test_token_bucket_allows_the_burst_then_refills_at_the_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=2.0, burst=3, clock=lambda: now[0])
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    now[0] = 0.5  # one token back at 2/s
    assert [bucket.take(), bucket.take()] == [True, False]


def test_daily_quota_counts_per_key_and_resets_each_day() -> None:
    today = [date(2026, 11, 30)]
    quota = DailyQuota(2, today=lambda: today[0])
    assert [quota.take("k"), quota.take("k"), quota.take("k"), quota.take("other")] == [
        True,
        True,
        False,
        True,
    ]
    today[0] = date(2026, 12, 1)
    assert quota.take("k")
