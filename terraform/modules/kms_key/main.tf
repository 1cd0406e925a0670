data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # The topics SNS encrypts with this key on behalf of EventBridge and CloudWatch (the encryption
  # context SNS sets is the topic's ARN).
  topic_arn_pattern = "arn:${local.partition}:sns:${local.region}:${local.account_id}:${var.sns_topic_name_prefix}*"
}

data "aws_iam_policy_document" "this" {
  #checkov:skip=CKV_AWS_109:A key policy, not an IAM policy: Resource "*" means this key only, and kms:* for the account root is AWS's default key policy, which hands control to the account's IAM policies.
  #checkov:skip=CKV_AWS_111:A key policy: Resource "*" means this key only; services are bound by aws:SourceAccount or the topic / log-group encryption context.
  #checkov:skip=CKV_AWS_356:A key policy cannot name its own key ARN (it does not exist yet); Resource "*" there means this key only.
  # Without this statement only explicit grants could manage the key: IAM policies in the
  # account decide who administers it, as for any other resource.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # Services that deliver to encrypted queues on the account's behalf: EventBridge (a rule's
  # dead-letter queue) and SNS (a subscription's queue or its dead-letter queue).
  # aws:SourceAccount keeps another account's resources from using the key through the same
  # service (confused deputy).
  dynamic "statement" {
    for_each = length(var.service_principals) > 0 ? [1] : []

    content {
      sid       = "ServicesUseForMessaging"
      actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = var.service_principals
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [local.account_id]
      }
    }
  }

  # EventBridge rules publishing to topics encrypted with this key. SNS does not support
  # aws:SourceAccount or aws:SourceArn in the key policy for EventBridge-to-encrypted topics (the
  # statement above would never match and every event would fail delivery), so the statement is
  # bound by the encryption context SNS sets instead: only this account's topics in this region
  # whose names start with sns_topic_name_prefix. Who may publish is the topic policy's job.
  dynamic "statement" {
    for_each = var.allow_eventbridge_to_sns ? [1] : []

    content {
      sid       = "EventBridgePublishesToEncryptedTopics"
      actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = ["events.amazonaws.com"]
      }

      condition {
        test     = "ArnLike"
        variable = "kms:EncryptionContext:aws:sns:topicArn"
        values   = [local.topic_arn_pattern]
      }
    }
  }

  # CloudWatch alarms publishing to topics encrypted with this key (the alerts topic): this
  # account's alarms only, and only for this account's topics under the prefix.
  dynamic "statement" {
    for_each = var.allow_cloudwatch_alarms_to_sns ? [1] : []

    content {
      sid       = "CloudWatchAlarmsPublishToEncryptedTopics"
      actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
      resources = ["*"]

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
        variable = "kms:EncryptionContext:aws:sns:topicArn"
        values   = [local.topic_arn_pattern]
      }
    }
  }

  # CloudWatch Logs has no aws:SourceAccount; the encryption context names the log group, so
  # the key encrypts only this account's log groups in this region.
  statement {
    sid       = "LogsEncryptOwnGroups"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = var.description
  enable_key_rotation     = true
  deletion_window_in_days = var.deletion_window_days
  policy                  = data.aws_iam_policy_document.this.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  count = var.alias_name != null ? 1 : 0

  name          = var.alias_name
  target_key_id = aws_kms_key.this.key_id
}
