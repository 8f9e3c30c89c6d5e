# Real AWS profile. Credentials come from the usual AWS chain (AWS_PROFILE, SSO, environment).
# Defaults are the production-safe choices; every line here is a deliberate setting.

environment = "aws"
region      = "us-east-1"

# Protect the data: the database and the table refuse deletion, the database leaves a final
# snapshot. To tear the stack down, set deletion_protection = false, apply, then destroy.
deletion_protection    = true
db_skip_final_snapshot = false

# Alarm notifications: set one of these, or the plan fails (alarms must reach someone).
# alarm_email      = "oncall@example.com"    # AWS sends a confirmation mail first
# alarm_topic_arns = ["arn:aws:sns:us-east-1:111122223333:oncall"]

# Subnets by zone id (optional; the default takes the first two ids, skipping use1-az3).
# availability_zone_ids = ["use1-az1", "use1-az2"]

# One customer managed key for queues, table, database, secret and log groups (optional).
# kms_key_arn = "arn:aws:kms:us-east-1:111122223333:key/..."
