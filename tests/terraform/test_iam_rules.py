"""The least-privilege rule itself: it must flag what it exists to catch."""

from __future__ import annotations

from tests.terraform.iam_rules import wildcard_grants


def test_a_data_action_on_every_resource_is_flagged() -> None:
    policy = {
        "Statement": [
            {"Sid": "Users", "Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": "*"},
            {"Sid": "Eni", "Effect": "Allow", "Action": "ec2:DescribeSubnets", "Resource": ["*"]},
        ]
    }
    assert wildcard_grants(policy) == ["Users: dynamodb:PutItem"]


def test_scoped_and_denied_statements_pass() -> None:
    policy = {
        "Statement": {
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": "arn:aws:sqs:eu-west-1:123456789012:dlq",
        }
    }
    denied = {"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
    assert wildcard_grants(policy) == [] and wildcard_grants(denied) == []
