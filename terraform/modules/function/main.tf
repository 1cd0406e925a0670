data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  log_group_name = "/aws/lambda/${var.name}"
}

# ---------------------------------------------------------------------------------------------
# Logs: created here (not by Lambda on first write) so retention and encryption are ours.
# ---------------------------------------------------------------------------------------------
resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:Encryption with a CMK is on whenever the caller passes kms_key_arn (the ingest module always does); without one CloudWatch still encrypts with an AWS-owned key.
  #checkov:skip=CKV_AWS_338:Retention is a validated caller choice; dev keeps less than a year of debug logs on purpose, prod sets 365 or more.
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

# ---------------------------------------------------------------------------------------------
# Execution role: Lambda trust, the caller's statements, and log writes to our own group only.
# ---------------------------------------------------------------------------------------------
data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "LambdaAssume"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    # Only Lambda acting for this account's functions may assume the role (confused deputy).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = var.name
  description        = "Execution role of the ${var.name} Lambda function."
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  dynamic "statement" {
    # X-Ray's write actions have no resource-level permissions: "*" is the only valid resource.
    for_each = var.tracing_mode == "Active" ? [1] : []
    content {
      sid       = "WriteTraces"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    # What Lambda does with the function's role to attach it to the VPC (AWS's managed
    # AWSLambdaVPCAccessExecutionRole, without the log actions granted above), on "*" as that
    # policy has it: DescribeNetworkInterfaces works only on "*", and the interfaces' ids are
    # not known before Lambda creates them.
    for_each = var.vpc_config == null ? [] : [1]
    content {
      sid = "ManageVpcNetworkInterfaces"
      actions = [
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
      ]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = var.policy_statements
    content {
      sid       = statement.value.sid
      effect    = statement.value.effect
      actions   = statement.value.actions
      resources = statement.value.resources

      dynamic "condition" {
        for_each = statement.value.conditions
        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.name}-permissions"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

# ---------------------------------------------------------------------------------------------
# The function
# ---------------------------------------------------------------------------------------------
resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Failures are caught where the trigger lives: SQS-driven functions by their queue's DLQ, EventBridge-invoked ones by the rule target's DLQ and an on-failure destination, API functions answer synchronously; a function-level DLQ would duplicate these.
  #checkov:skip=CKV_AWS_117:A VPC is opt-in (vpc_config): functions that reach only S3, SQS, DynamoDB and KMS use public AWS endpoints, where a VPC would add NAT cost and cold-start latency without reducing exposure; functions reaching a private database (onboard) pass vpc_config.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile the kit cannot assume exists; integrity comes from source_code_hash of the artifact built in CI.
  #checkov:skip=CKV_AWS_115:Reserved concurrency is optional (reserved_concurrent_executions); SQS-driven functions are capped by the event source mapping's maximum_concurrency instead, which does not take from the account pool.
  #checkov:skip=CKV_AWS_173:Environment variables hold only resource names, never secrets; they are encrypted with the CMK whenever kms_key_arn is passed (the ingest module does).
  function_name    = var.name
  description      = var.description
  role             = aws_iam_role.this.arn
  filename         = var.artifact_path
  source_code_hash = filebase64sha256(var.artifact_path)
  handler          = var.handler
  runtime          = var.runtime
  architectures    = [var.architecture]
  memory_size      = var.memory_size
  timeout          = var.timeout
  kms_key_arn      = var.kms_key_arn

  reserved_concurrent_executions = coalesce(var.reserved_concurrent_executions, -1)

  dynamic "environment" {
    # An empty environment block makes the provider report a perpetual diff.
    for_each = length(var.environment_variables) > 0 ? [1] : []
    content {
      variables = var.environment_variables
    }
  }

  ephemeral_storage {
    size = var.ephemeral_storage_mb
  }

  dynamic "vpc_config" {
    # Opt-in: only functions that must reach something inside a VPC (a private database).
    for_each = var.vpc_config == null ? [] : [var.vpc_config]
    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  tracing_config {
    mode = var.tracing_mode
  }

  tags = var.tags

  # The role's policy must exist before the first invocation can write logs or read its source.
  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]
}

# ---------------------------------------------------------------------------------------------
# Alarm: any error in a minute is worth a look (partial batch failures are retried, so errors
# here are unhandled exceptions or timeouts).
# ---------------------------------------------------------------------------------------------
resource "aws_cloudwatch_metric_alarm" "errors" {
  count = var.create_error_alarm ? 1 : 0

  alarm_name          = "${var.name}-errors"
  alarm_description   = "The ${var.name} Lambda function reported errors."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  ok_actions          = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  tags                = var.tags
}

# Throttled invocations are not errors: an SQS batch waits for its visibility timeout, an
# asynchronous event is retried and may age out, an API request answers 429/502. Any throttle
# means concurrency (reserved, mapping maximum or the account pool) is too low for the load.
resource "aws_cloudwatch_metric_alarm" "throttles" {
  count = var.create_throttle_alarm ? 1 : 0

  alarm_name          = "${var.name}-throttles"
  alarm_description   = "The ${var.name} Lambda function was throttled: raise its concurrency or lower the load."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  ok_actions          = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  tags                = var.tags
}

# ---------------------------------------------------------------------------------------------
# Triggers as data: what pulls events into the function (event source mappings) and what may
# push them (resource-based permissions). Capability modules describe them; this module owns
# the resources, so every function is wired the same way.
# ---------------------------------------------------------------------------------------------
resource "aws_lambda_event_source_mapping" "this" {
  for_each = var.event_source_mappings

  event_source_arn                   = each.value.event_source_arn
  function_name                      = aws_lambda_function.this.arn
  enabled                            = each.value.enabled
  batch_size                         = each.value.batch_size
  maximum_batching_window_in_seconds = each.value.maximum_batching_window_in_seconds
  function_response_types            = each.value.function_response_types

  # Streams only (DynamoDB, Kinesis); null for SQS.
  starting_position              = each.value.starting_position
  maximum_retry_attempts         = each.value.maximum_retry_attempts
  maximum_record_age_in_seconds  = each.value.maximum_record_age_in_seconds
  bisect_batch_on_function_error = each.value.bisect_batch_on_function_error
  parallelization_factor         = each.value.parallelization_factor

  dynamic "scaling_config" {
    # SQS only: caps the concurrent invocations this source starts.
    for_each = each.value.maximum_concurrency == null ? [] : [1]
    content {
      maximum_concurrency = each.value.maximum_concurrency
    }
  }

  dynamic "destination_config" {
    # Streams only: where records go once retries are exhausted.
    for_each = each.value.on_failure_destination_arn == null ? [] : [1]
    content {
      on_failure {
        destination_arn = each.value.on_failure_destination_arn
      }
    }
  }

  dynamic "filter_criteria" {
    for_each = length(each.value.filter_patterns) > 0 ? [1] : []
    content {
      dynamic "filter" {
        for_each = each.value.filter_patterns
        content {
          pattern = filter.value
        }
      }
    }
  }

  tags = var.tags
}

resource "aws_lambda_permission" "this" {
  for_each = var.allowed_triggers

  # The map key is the statement id: stable, and changing it replaces the permission.
  statement_id   = each.key
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this.function_name
  principal      = each.value.principal
  source_arn     = each.value.source_arn
  source_account = each.value.source_account
}
