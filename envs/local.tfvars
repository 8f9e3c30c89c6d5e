# Local profile: everything against the moto server of `make stores-up` (no AWS account).
# Every line here that differs from the defaults is explained in envs/README.md.

environment = "local"
region      = "us-east-1"

# The provider sends every call of this stack to moto; the function gets AWS_ENDPOINT_URL.
aws_endpoint_url = "http://127.0.0.1:4566"

# moto runs an enabled SQS mapping itself (in Docker) and pushes the messages to the DLQ.
event_source_mapping_enabled = false

# The function talks to the local MariaDB, not to moto's fake RDS endpoint.
function_db_endpoint_override = {
  host = "127.0.0.1"
  port = 3307
  tls  = "off"
}

# moto has no AWS managed IAM policies (AmazonRDSEnhancedMonitoringRole), and ignores the CA at
# create (the provider would then modify the instance and wait another ~80 s).
db_monitoring_interval = 0
db_ca_cert_identifier  = null

# Throw-away stack: destroy must work without extra steps.
deletion_protection    = false
db_skip_final_snapshot = true
lake_force_destroy     = true

# Short counting windows, so `make demo` sees a window close while it runs.
change_stream_tumbling_window_in_seconds = 30
