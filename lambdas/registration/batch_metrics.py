"""The handler's own counts of each batch as CloudWatch metrics, through Powertools Metrics (EMF).

Lambda's metrics count invocations, not records: a record that fails alone (a batch item
failure) or is rejected never shows in `Errors`, and a release's canary that breaks records one
by one would only surface slowly, through the DLQ and the queue's age. The batch already counts
what happened to its records (`RegistrationBatch.summary()`); this publishes those counts as one
Embedded Metric Format line per batch on stdout. CloudWatch Logs turns that line into metrics:
no PutMetricData call, no `cloudwatch:PutMetricData` permission for the role and no time added
to the batch (the local runner's `lambda_local/emf.py` does the same on the local stack).

Namespace: POWERTOOLS_METRICS_NAMESPACE (Terraform sets `Registrations`, where change-counts
publishes too); dimension `service`: POWERTOOLS_SERVICE_NAME. Every metric goes out on every
batch, zeros included, so a sum over any period is exact and "no data" means "no batches".
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

NAMESPACE_ENV = "POWERTOOLS_METRICS_NAMESPACE"
# Where the metrics go when the environment does not say (`make invoke`, tests, the bench): the
# namespace Terraform sets, so a forgotten variable never turns a batch into a function error
# (Powertools refuses to flush without a namespace).
DEFAULT_NAMESPACE = "Registrations"

# RegistrationBatch.summary() key -> metric name. Received = stored + stale + rejected + failed.
METRIC_NAMES: Mapping[str, str] = {
    "received": "RecordsReceived",
    "dynamodb_applied": "RecordsStored",  # written (or already ours: a redelivery)
    "dynamodb_stale": "RecordsStale",  # the stores already hold this user's newer version
    "dead_lettered": "RecordsRejected",  # invalid, sent to the DLQ with its reason
    "retried": "RecordsFailed",  # batch item failures: SQS redelivers them
    "mysql_rows": "MySQLRowsUpserted",  # one per user of the batch (its newest registration)
}


def new_metrics() -> Metrics:
    """The container's Metrics: namespace and service are read once, as Lambda fixes them."""
    return Metrics(namespace=os.environ.get(NAMESPACE_ENV) or DEFAULT_NAMESPACE)


def publish(metrics: Metrics, summary: Mapping[str, int]) -> None:
    """Print one EMF line with every count of the batch (missing counts are 0)."""
    for key, name in METRIC_NAMES.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=summary.get(key, 0))
    metrics.flush_metrics()
