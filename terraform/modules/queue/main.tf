data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # Built, not read from the queues, so each queue's own (inline) policy can name it without a
  # cycle and the two queues need not be created one after another.
  queue_arn = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${var.name}"
  dlq_name  = coalesce(var.dlq_name, "${var.name}-dlq")
  dlq_arn   = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.dlq_name}"

  # The queue whose depth means "something was given up on": the DLQ, or the queue itself when
  # it is a dead-letter target of something else (create_dlq = false).
  watched_queue = var.create_dlq ? aws_sqs_queue.dlq[0].name : aws_sqs_queue.this.name
}

# ---------------------------------------------------------------------------------------------
# Policies: at most one service sender (for one source ARN) and TLS only. Without a service
# sender (source_principal null) only roles of this account whose own policy grants
# sqs:SendMessage send: within one account the identity policy is enough.
# ---------------------------------------------------------------------------------------------
data "aws_iam_policy_document" "queue" {
  dynamic "statement" {
    for_each = var.source_principal == null ? [] : [1]
    content {
      sid       = "OnlyTheSourceSends"
      actions   = ["sqs:SendMessage"]
      resources = [local.queue_arn]

      principals {
        type        = "Service"
        identifiers = [var.source_principal]
      }

      condition {
        test     = "ArnEquals"
        variable = "aws:SourceArn"
        values   = [var.source_arn]
      }
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [local.queue_arn]

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

data "aws_iam_policy_document" "dlq" {
  count = var.create_dlq ? 1 : 0

  # SQS itself moves messages into a DLQ (no sender to allow); only TLS is enforced here.
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [local.dlq_arn]

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
# Queues
# ---------------------------------------------------------------------------------------------
resource "aws_sqs_queue" "dlq" {
  count = var.create_dlq ? 1 : 0

  name                              = local.dlq_name
  message_retention_seconds         = var.dlq_message_retention_seconds
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 300
  policy                            = data.aws_iam_policy_document.dlq[0].json

  # Only this module's queue may use the DLQ as its dead-letter target.
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [local.queue_arn]
  })

  tags = var.tags
}

resource "aws_sqs_queue" "this" {
  name                              = var.name
  visibility_timeout_seconds        = var.visibility_timeout_seconds
  message_retention_seconds         = var.message_retention_seconds
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 300

  # Inline rather than aws_sqs_queue_policy: the provider waits ~25 s for every attribute
  # change to settle, and a separate policy resource would add one more wait to the chain
  # (and a window in which the source's deliveries are refused).
  policy = data.aws_iam_policy_document.queue.json

  redrive_policy = var.create_dlq ? jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq[0].arn
    maxReceiveCount     = var.max_receive_count
  }) : null

  tags = var.tags
}

# ---------------------------------------------------------------------------------------------
# Alarm: any message in the dead-letter queue is work that was given up on.
# ---------------------------------------------------------------------------------------------
resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  alarm_name          = "${local.watched_queue}-not-empty"
  alarm_description   = coalesce(var.dlq_alarm_description, "Messages wait in ${local.watched_queue}: they were not processed or not delivered.")
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = local.watched_queue }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  ok_actions          = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  tags                = var.tags
}
