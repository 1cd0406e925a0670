# Earlier addresses (before modules/stack, commit 9be1fa5) of the same objects: existing
# deployments move without replacing anything. One file, linked into local, dev and prod.
#
# Whole modules move into the stack; what every capability shares moves from ingest into the
# platform (a more specific move wins over the module's). Moves inside a module (queues into
# ../queue, triggers into ../function) live in that module.

moved {
  from = module.ingest
  to   = module.stack.module.ingest
}

moved {
  from = module.lookup
  to   = module.stack.module.lookup
}

moved {
  from = module.api
  to   = module.stack.module.platform.module.api
}

moved {
  from = module.api_stage
  to   = module.stack.module.api_stage
}

# Shared: the KMS key, the alerts topic and its subscriptions, the raw bucket and its settings.
moved {
  from = module.ingest.module.kms_key[0]
  to   = module.stack.module.platform.module.kms_key
}

moved {
  from = module.ingest.aws_sns_topic.alerts
  to   = module.stack.module.platform.aws_sns_topic.alerts
}

moved {
  from = module.ingest.aws_sns_topic_subscription.alert_emails
  to   = module.stack.module.platform.aws_sns_topic_subscription.alert_emails
}

moved {
  from = module.ingest.aws_s3_bucket_notification.raw
  to   = module.stack.module.platform.module.raw_bucket.aws_s3_bucket_notification.this[0]
}

moved {
  from = module.ingest.aws_s3_bucket.this["raw"]
  to   = module.stack.module.platform.module.raw_bucket.aws_s3_bucket.this
}

moved {
  from = module.ingest.aws_s3_bucket_ownership_controls.this["raw"]
  to   = module.stack.module.platform.module.raw_bucket.aws_s3_bucket_ownership_controls.this
}

moved {
  from = module.ingest.aws_s3_bucket_public_access_block.this["raw"]
  to   = module.stack.module.platform.module.raw_bucket.aws_s3_bucket_public_access_block.this
}

moved {
  from = module.ingest.aws_s3_bucket_versioning.this["raw"]
  to   = module.stack.module.platform.module.raw_bucket.aws_s3_bucket_versioning.this
}

moved {
  from = module.ingest.aws_s3_bucket_server_side_encryption_configuration.this["raw"]
  to   = module.stack.module.platform.module.raw_bucket.aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = module.ingest.aws_s3_bucket_lifecycle_configuration.this["raw"]
  to   = module.stack.module.platform.module.raw_bucket.aws_s3_bucket_lifecycle_configuration.this
}

moved {
  from = module.ingest.aws_s3_bucket_policy.this["raw"]
  to   = module.stack.module.platform.module.raw_bucket.aws_s3_bucket_policy.this
}
