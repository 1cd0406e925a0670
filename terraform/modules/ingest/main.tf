data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # Not coalesce(): it would skip "" (no suffix), which the local environment asks for.
  bucket_suffix = var.bucket_name_suffix != null ? var.bucket_name_suffix : "-${local.account_id}-${local.region}"
  # The raw bucket is the platform's (var.raw_bucket_name); these two are ingest's own.
  buckets = {
    curated    = "${var.name_prefix}-curated${local.bucket_suffix}"
    quarantine = "${var.name_prefix}-quarantine${local.bucket_suffix}"
  }

  function_name = "${var.name_prefix}-ingest-processor"

  # Built, not read from the queue: the function's policy names it without waiting ~50 s for
  # both queues to settle.
  queue_name = "${var.name_prefix}-ingest"
  queue_arn  = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.queue_name}"

  # Lambda's guidance for SQS sources: visibility >= 6x the function timeout plus the batching
  # window, so a message is not redelivered while a (retried) invocation still holds it.
  visibility_timeout_seconds = 6 * var.function_timeout + var.batching_window_seconds
}

# ---------------------------------------------------------------------------------------------
# Buckets: curated (Parquet), quarantine (bad files and their reports). Raw is the platform's.
# ---------------------------------------------------------------------------------------------
module "bucket" {
  source   = "../bucket"
  for_each = local.buckets

  name                               = each.value
  kms_key_arn                        = var.kms_key_arn
  force_destroy                      = var.force_destroy
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  abort_incomplete_multipart_days    = var.abort_incomplete_multipart_days
  tags                               = merge(var.tags, { Purpose = each.key })
}

# ---------------------------------------------------------------------------------------------
# Routing: EventBridge rule -> SNS topic (fan-out point) -> SQS queue (+ DLQ)
# ---------------------------------------------------------------------------------------------
resource "aws_cloudwatch_event_rule" "object_created" {
  name        = "${var.name_prefix}-ingest-object-created"
  description = "Objects created under ${var.key_prefix} in the raw bucket."
  state       = "ENABLED"

  event_pattern = jsonencode({
    source        = ["aws.s3"]
    "detail-type" = ["Object Created"]
    detail = {
      bucket = { name = [var.raw_bucket_name] }
      object = { key = [{ prefix = var.key_prefix }] }
    }
  })

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "topic" {
  rule      = aws_cloudwatch_event_rule.object_created.name
  target_id = "ingest-topic"
  arn       = aws_sns_topic.ingest.arn

  # An event EventBridge cannot hand to SNS (policy, KMS, throttling) is kept, not dropped.
  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }

  dead_letter_config {
    arn = aws_sqs_queue.delivery_dlq.arn
  }
}

resource "aws_sns_topic" "ingest" {
  name              = "${var.name_prefix}-ingest"
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "topic" {
  statement {
    sid       = "OnlyTheIngestRulePublishes"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.ingest.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.object_created.arn]
    }
  }

  # As for the buckets and queues: no request without TLS, from anyone.
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sns:*"]
    resources = [aws_sns_topic.ingest.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sns_topic_policy" "ingest" {
  arn    = aws_sns_topic.ingest.arn
  policy = data.aws_iam_policy_document.topic.json
}

# Work queue + DLQ, only the ingest topic may send (the queue policy is inline: see ../queue).
module "work_queue" {
  source = "../queue"

  name                          = local.queue_name
  source_principal              = "sns.amazonaws.com"
  source_arn                    = aws_sns_topic.ingest.arn
  kms_key_arn                   = var.kms_key_arn
  visibility_timeout_seconds    = local.visibility_timeout_seconds
  message_retention_seconds     = var.message_retention_seconds
  dlq_message_retention_seconds = var.dlq_message_retention_seconds
  max_receive_count             = var.max_receive_count
  alarm_topic_arn               = var.alarm_topic_arn
  dlq_alarm_description         = "Files failed processing ${var.max_receive_count} times and are waiting in ${local.queue_name}-dlq."
  tags                          = var.tags
}

resource "aws_sns_topic_subscription" "work" {
  topic_arn = aws_sns_topic.ingest.arn
  protocol  = "sqs"
  endpoint  = module.work_queue.queue_arn
  # The queue receives the EventBridge event itself, not an SNS envelope around it.
  raw_message_delivery = true
  # The queue carries its policy inline, so SNS may deliver as soon as the subscription exists.

  # A message SNS cannot deliver to the work queue after its retries is kept, not dropped.
  redrive_policy = jsonencode({ deadLetterTargetArn = aws_sqs_queue.delivery_dlq.arn })
}

# Events that never reached the work queue: failed EventBridge -> SNS or SNS -> SQS deliveries.
# Not ../queue: two senders (the rule and the subscription) dead-letter here.
resource "aws_sqs_queue" "delivery_dlq" {
  name                              = "${var.name_prefix}-ingest-delivery-dlq"
  message_retention_seconds         = var.dlq_message_retention_seconds
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 300
  policy                            = data.aws_iam_policy_document.delivery_dlq.json
  tags                              = var.tags
}

data "aws_iam_policy_document" "delivery_dlq" {
  statement {
    sid       = "OnlyTheIngestRuleAndTopicDeadLetter"
    actions   = ["sqs:SendMessage"]
    resources = ["arn:${local.partition}:sqs:${local.region}:${local.account_id}:${var.name_prefix}-ingest-delivery-dlq"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "sns.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.object_created.arn, aws_sns_topic.ingest.arn]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = ["arn:${local.partition}:sqs:${local.region}:${local.account_id}:${var.name_prefix}-ingest-delivery-dlq"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

# ---------------------------------------------------------------------------------------------
# Processor
# ---------------------------------------------------------------------------------------------
locals {
  # The processor's permissions, scoped to what it touches (a local so tests can read them).
  processor_statements = [
    {
      # Read the landed file; delete it once quarantined (a delete marker: the version stays
      # in the versioned bucket). Curated inputs stay in raw.
      sid = "ReadAndRetireRawObjects"
      # Tagging reads: the copy into quarantine carries the object's tags along.
      actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectVersionTagging", "s3:DeleteObject"]
      resources = ["${var.raw_bucket_arn}/${var.key_prefix}*"]
    },
    {
      # Without ListBucket S3 answers 403 instead of 404 for a key that is gone, and the
      # processor could not tell "already processed" (redelivery) from a permission problem.
      sid     = "ListRawBucket"
      actions = ["s3:ListBucket"]
      # No s3:prefix condition: GetObject requests carry no prefix, so a conditioned grant
      # would not turn their 403 into a 404.
      resources = [var.raw_bucket_arn]
    },
    {
      sid       = "WriteCuratedAndQuarantine"
      actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
      resources = ["${module.bucket["curated"].arn}/*", "${module.bucket["quarantine"].arn}/*"]
    },
    {
      # A redelivered event for a file already quarantined finds and returns the earlier report;
      # tags copied with the quarantined file need PutObjectTagging.
      sid       = "ReadQuarantineReports"
      actions   = ["s3:GetObject", "s3:PutObjectTagging"]
      resources = ["${module.bucket["quarantine"].arn}/*"]
    },
    {
      sid = "ConsumeWorkQueue"
      actions = [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ChangeMessageVisibility",
      ]
      # Built ARN: the function need not wait ~50 s for both queues to settle before creation.
      resources = [local.queue_arn]
    },
    {
      # A record deferred for lack of time is sent again to this queue as a new message (its
      # receive count starts over), so deferrals never push a file into the DLQ. Exactly this
      # queue: the queue policy names only the topic, and within one account the role's own
      # grant is enough.
      sid       = "ResendDeferredRecords"
      actions   = ["sqs:SendMessage"]
      resources = [local.queue_arn]
    },
    {
      # SSE-KMS objects (read raw, write curated and quarantine) and the encrypted work queue
      # (receiving decrypts; re-sending a deferred record generates a data key and decrypts):
      # the key is usable only through S3 and SQS, never directly.
      sid       = "UseIngestKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [var.kms_key_arn]
      conditions = [{
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.amazonaws.com", "sqs.${local.region}.amazonaws.com"]
      }]
    },
  ]
}

module "processor" {
  source = "../function"

  name          = local.function_name
  description   = "headwater ingest: validate raw files against their contract, write Parquet or quarantine."
  artifact_path = var.artifact_path
  handler       = "headwater.handlers.ingest_processor.handler"
  architecture  = var.architecture
  memory_size   = var.function_memory_size
  timeout       = var.function_timeout
  # /tmp holds the Parquet being written and the key fingerprints (8 bytes a row) until upload.
  ephemeral_storage_mb = var.function_ephemeral_storage_mb

  log_retention_days = var.log_retention_days
  kms_key_arn        = var.kms_key_arn
  alarm_topic_arn    = var.alarm_topic_arn

  # Exactly the variables the processor reads (tests/static checks this against the code).
  environment_variables = {
    CURATED_BUCKET               = module.bucket["curated"].name
    QUARANTINE_BUCKET            = module.bucket["quarantine"].name
    INGEST_PREFIX                = var.key_prefix
    POWERTOOLS_SERVICE_NAME      = "ingest"
    POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
    POWERTOOLS_LOG_LEVEL         = var.log_level
  }

  policy_statements = local.processor_statements

  event_source_mappings = {
    work_queue = {
      event_source_arn                   = module.work_queue.queue_arn
      batch_size                         = var.batch_size
      maximum_batching_window_in_seconds = var.batching_window_seconds
      # The processor reports the files it could not handle; only those are retried.
      function_response_types = ["ReportBatchItemFailures"]
      maximum_concurrency     = var.maximum_concurrency
    }
  }

  tags = var.tags
}

# ---------------------------------------------------------------------------------------------
# Alarms (to the platform's alerts topic)
# ---------------------------------------------------------------------------------------------
resource "aws_cloudwatch_metric_alarm" "delivery_dlq_depth" {
  alarm_name          = "${aws_sqs_queue.delivery_dlq.name}-not-empty"
  alarm_description   = "Raw-file events could not be delivered to the ingest queue; they wait in ${aws_sqs_queue.delivery_dlq.name}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.delivery_dlq.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}

# The rule could not hand an event to the topic (topic policy, key policy, throttling) even
# after its retries, or could not even park it in the delivery DLQ: files would never be
# processed, silently. Both are per rule (AWS/Events, dimension RuleName).
resource "aws_cloudwatch_metric_alarm" "rule_failures" {
  for_each = {
    failed-invocations = {
      metric      = "FailedInvocations"
      description = "The ingest rule failed to deliver raw-file events to the ingest topic (check the topic and key policies); they go to ${aws_sqs_queue.delivery_dlq.name}."
    }
    dlq-delivery-failed = {
      metric      = "InvocationsFailedToBeSentToDlq"
      description = "The ingest rule could deliver raw-file events neither to the topic nor to ${aws_sqs_queue.delivery_dlq.name}: those events are lost (check the DLQ and key policies)."
    }
  }

  alarm_name          = "${aws_cloudwatch_event_rule.object_created.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = "AWS/Events"
  metric_name         = each.value.metric
  dimensions          = { RuleName = aws_cloudwatch_event_rule.object_created.name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}

# Failed records are retried, so they do not show as Lambda errors; the processor counts them.
resource "aws_cloudwatch_metric_alarm" "files_failed" {
  alarm_name          = "${local.function_name}-files-failed"
  alarm_description   = "The ingest processor failed on files (they are retried, then parked in the DLQ): see its log for \"record failed\"."
  namespace           = var.metrics_namespace
  metric_name         = "FilesFailed"
  dimensions          = { service = "ingest" }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}

# Deferrals are expected now and then (a batch whose files need more than one invocation); when
# they go on, the function's timeout is too small for its batches (or batch_size too large).
resource "aws_cloudwatch_metric_alarm" "files_deferred" {
  alarm_name          = "${local.function_name}-files-deferred"
  alarm_description   = "The ingest processor kept deferring files for lack of time (more than ${var.deferral_alarm_threshold} per ${var.deferral_alarm_period_seconds} s for ${var.deferral_alarm_evaluation_periods} periods): raise function_timeout or lower batch_size. See its log for \"record deferred\"."
  namespace           = var.metrics_namespace
  metric_name         = "FilesDeferred"
  dimensions          = { service = "ingest" }
  statistic           = "Sum"
  period              = var.deferral_alarm_period_seconds
  evaluation_periods  = var.deferral_alarm_evaluation_periods
  datapoints_to_alarm = var.deferral_alarm_evaluation_periods
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.deferral_alarm_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}

# ---------------------------------------------------------------------------------------------
# Earlier addresses of resources that moved into ../queue and ../function (same objects).
# ---------------------------------------------------------------------------------------------
moved {
  from = aws_sqs_queue.work
  to   = module.work_queue.aws_sqs_queue.this
}

moved {
  from = aws_sqs_queue.dlq
  to   = module.work_queue.aws_sqs_queue.dlq[0]
}

moved {
  from = aws_cloudwatch_metric_alarm.dlq_depth
  to   = module.work_queue.aws_cloudwatch_metric_alarm.dlq_depth
}

moved {
  from = aws_lambda_event_source_mapping.work
  to   = module.processor.aws_lambda_event_source_mapping.this["work_queue"]
}

# Earlier addresses of the curated and quarantine buckets, before ../bucket (same objects).
moved {
  from = aws_s3_bucket.this["curated"]
  to   = module.bucket["curated"].aws_s3_bucket.this
}

moved {
  from = aws_s3_bucket.this["quarantine"]
  to   = module.bucket["quarantine"].aws_s3_bucket.this
}

moved {
  from = aws_s3_bucket_ownership_controls.this["curated"]
  to   = module.bucket["curated"].aws_s3_bucket_ownership_controls.this
}

moved {
  from = aws_s3_bucket_ownership_controls.this["quarantine"]
  to   = module.bucket["quarantine"].aws_s3_bucket_ownership_controls.this
}

moved {
  from = aws_s3_bucket_public_access_block.this["curated"]
  to   = module.bucket["curated"].aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_public_access_block.this["quarantine"]
  to   = module.bucket["quarantine"].aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_versioning.this["curated"]
  to   = module.bucket["curated"].aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_versioning.this["quarantine"]
  to   = module.bucket["quarantine"].aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.this["curated"]
  to   = module.bucket["curated"].aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.this["quarantine"]
  to   = module.bucket["quarantine"].aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.this["curated"]
  to   = module.bucket["curated"].aws_s3_bucket_lifecycle_configuration.this
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.this["quarantine"]
  to   = module.bucket["quarantine"].aws_s3_bucket_lifecycle_configuration.this
}

moved {
  from = aws_s3_bucket_policy.this["curated"]
  to   = module.bucket["curated"].aws_s3_bucket_policy.this
}

moved {
  from = aws_s3_bucket_policy.this["quarantine"]
  to   = module.bucket["quarantine"].aws_s3_bucket_policy.this
}
