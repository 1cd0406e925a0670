# What every capability shares, one per environment: the raw (landing) bucket, the KMS key, the
# alerts topic, the REST API and EventBridge Scheduler's group, execution role and DLQ.
# Capability modules take these as inputs and never create them.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # Not coalesce(): it would skip "" (no suffix), which the local environment asks for.
  bucket_suffix    = var.bucket_name_suffix != null ? var.bucket_name_suffix : "-${local.account_id}-${local.region}"
  raw_bucket_name  = "${var.name_prefix}-raw${local.bucket_suffix}"
  alerts_topic_arn = var.alerts_topic_arn != null ? var.alerts_topic_arn : aws_sns_topic.alerts[0].arn

  # Built, not read, so the queue's own policy can name it.
  scheduler_dlq_name = "${var.name_prefix}-scheduler-dlq"
  scheduler_dlq_arn  = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.scheduler_dlq_name}"
}

# ---------------------------------------------------------------------------------------------
# Encryption key: buckets, topics, queues and logs of every capability.
# ---------------------------------------------------------------------------------------------
# EventBridge dead-letters into encrypted queues and SNS delivers to them (aws:SourceAccount);
# EventBridge rules publish to the encrypted ingest topic and CloudWatch alarms to the encrypted
# alerts topic (bound by the topic encryption context: "<prefix>-..." topics only).
module "kms_key" {
  source = "../kms_key"

  description                    = var.kms_key_description
  service_principals             = ["events.amazonaws.com", "sns.amazonaws.com"]
  allow_eventbridge_to_sns       = true
  allow_cloudwatch_alarms_to_sns = true
  sns_topic_name_prefix          = "${var.name_prefix}-"
  deletion_window_days           = var.kms_deletion_window_days
  alias_name                     = coalesce(var.kms_alias_name, "alias/${var.name_prefix}")
  tags                           = var.tags
}

# ---------------------------------------------------------------------------------------------
# Raw bucket: where every capability's files land, each under its own key prefix. EventBridge
# notifications are on: capabilities route by rule (prefix), never by bucket notification.
# ---------------------------------------------------------------------------------------------
module "raw_bucket" {
  source = "../bucket"

  name                               = local.raw_bucket_name
  kms_key_arn                        = module.kms_key.key_arn
  force_destroy                      = var.force_destroy
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  abort_incomplete_multipart_days    = var.abort_incomplete_multipart_days
  eventbridge_notifications          = true
  tags                               = merge(var.tags, { Purpose = "raw" })
}

# ---------------------------------------------------------------------------------------------
# Alerts: every alarm of every capability notifies this topic.
# ---------------------------------------------------------------------------------------------
resource "aws_sns_topic" "alerts" {
  count = var.alerts_topic_arn == null ? 1 : 0

  name              = "${var.name_prefix}-alerts"
  kms_master_key_id = module.kms_key.key_arn
  tags              = var.tags
}

# Replaces SNS's default topic policy: the account administers the topic, this account's alarms
# publish, and requests without TLS are refused (as for the buckets and queues).
data "aws_iam_policy_document" "alerts" {
  count = var.alerts_topic_arn == null ? 1 : 0

  statement {
    sid = "AccountAdministers"
    actions = [
      "sns:GetTopicAttributes",
      "sns:SetTopicAttributes",
      "sns:AddPermission",
      "sns:RemovePermission",
      "sns:DeleteTopic",
      "sns:Subscribe",
      "sns:ListSubscriptionsByTopic",
      "sns:Publish",
    ]
    resources = [aws_sns_topic.alerts[0].arn]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "AccountAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts[0].arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:*"]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sns:*"]
    resources = [aws_sns_topic.alerts[0].arn]

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

resource "aws_sns_topic_policy" "alerts" {
  count = var.alerts_topic_arn == null ? 1 : 0

  arn    = aws_sns_topic.alerts[0].arn
  policy = data.aws_iam_policy_document.alerts[0].json
}

resource "aws_sns_topic_subscription" "alert_emails" {
  for_each = var.alerts_topic_arn == null ? toset(var.alert_emails) : toset([])

  topic_arn = aws_sns_topic.alerts[0].arn
  protocol  = "email"
  endpoint  = each.value
}

# ---------------------------------------------------------------------------------------------
# REST API: one per environment (one base URL, one set of keys). Capabilities add routes; the
# stage (../api_stage) deploys them all, after every capability.
# ---------------------------------------------------------------------------------------------
module "api" {
  source = "../api"

  name = coalesce(var.api_name, var.name_prefix)
  tags = var.tags
}

# API Gateway writes access logs (and execution logs) with one role per account and region, set
# in the account settings. Opt-in: the setting is account-wide and may already be managed
# elsewhere; a fresh account has none, and the stage's access logging then fails to apply.
data "aws_iam_policy_document" "api_gateway_assume" {
  count = var.manage_api_gateway_account ? 1 : 0

  statement {
    sid     = "ApiGatewayAssumes"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }

    # Only API Gateway acting for this account (confused deputy).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "api_gateway_cloudwatch" {
  count = var.manage_api_gateway_account ? 1 : 0

  name               = "${var.name_prefix}-apigateway-cloudwatch"
  description        = "API Gateway's account-wide CloudWatch Logs role (access and execution logs), set by ${var.name_prefix}."
  assume_role_policy = data.aws_iam_policy_document.api_gateway_assume[0].json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "api_gateway_cloudwatch" {
  count = var.manage_api_gateway_account ? 1 : 0

  role       = aws_iam_role.api_gateway_cloudwatch[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

resource "aws_api_gateway_account" "this" {
  count = var.manage_api_gateway_account ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.api_gateway_cloudwatch[0].arn

  # API Gateway checks the role can be assumed and write logs when the setting is made.
  depends_on = [aws_iam_role_policy_attachment.api_gateway_cloudwatch]
}

# ---------------------------------------------------------------------------------------------
# EventBridge Scheduler: one group per environment, one execution role for its schedules, one
# DLQ for invocations that fail after the schedule's retries. Capabilities grant the role what
# their schedules invoke (aws_iam_role_policy on scheduler_role_name), scoped to their targets.
# ---------------------------------------------------------------------------------------------
resource "aws_scheduler_schedule_group" "this" {
  name = var.name_prefix
  tags = var.tags
}

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    sid     = "SchedulerAssumes"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    # Only schedules of this account (confused deputy).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${var.name_prefix}-scheduler"
  description        = "Execution role of the ${var.name_prefix} EventBridge Scheduler schedules."
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    # Scheduler sends a failed invocation to the DLQ with the schedule's execution role.
    sid       = "DeadLetterFailedInvocations"
    actions   = ["sqs:SendMessage"]
    resources = [local.scheduler_dlq_arn]
  }

  statement {
    sid       = "EncryptForDlq"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [module.kms_key.key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sqs.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "scheduler_dlq" {
  name   = "${var.name_prefix}-scheduler-dlq"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

data "aws_iam_policy_document" "scheduler_dlq" {
  # Scheduler writes with the execution role (an identity policy): the queue only enforces TLS.
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [local.scheduler_dlq_arn]

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

resource "aws_sqs_queue" "scheduler_dlq" {
  name                              = local.scheduler_dlq_name
  message_retention_seconds         = var.dlq_message_retention_seconds
  kms_master_key_id                 = module.kms_key.key_arn
  kms_data_key_reuse_period_seconds = 300
  # Inline: a separate aws_sqs_queue_policy would add another ~25 s attribute settle wait.
  policy = data.aws_iam_policy_document.scheduler_dlq.json
  tags   = var.tags
}

resource "aws_cloudwatch_metric_alarm" "scheduler_dlq_depth" {
  alarm_name          = "${local.scheduler_dlq_name}-not-empty"
  alarm_description   = "Scheduled invocations failed after their retries; they wait in ${local.scheduler_dlq_name}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.scheduler_dlq.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.alerts_topic_arn]
  ok_actions          = [local.alerts_topic_arn]
  tags                = var.tags
}

# ---------------------------------------------------------------------------------------------
# Tenancy directory: API key id -> subscriber, subscriber -> kind and granted datasets (layout
# owned by headwater.tenancy). Written by ../api_stage (Terraform's keys and every subscriber)
# and by `headwater keys create|rotate`; every API function reads it with GetItem only.
# ---------------------------------------------------------------------------------------------
resource "aws_dynamodb_table" "tenancy" {
  #checkov:skip=CKV2_AWS_16:Auto scaling applies to provisioned capacity; the table is PAY_PER_REQUEST, which scales by itself.
  name                        = "${var.name_prefix}-tenancy"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = module.kms_key.key_arn
  }

  point_in_time_recovery {
    enabled = true
  }

  tags = var.tags
}
