# The ingest topic, delivery DLQ and processor policies AWS enforces and no emulator checks.
# Data sources answer like a real account; resources get their computed values at plan time
# (override_during), so policies that name them can be read; a policy document's JSON is "{}"
# (the assertions read its statements, as configured).
mock_provider "aws" {
  override_during = plan
  source          = "../../tests/mocks/aws"
}

override_resource {
  target          = aws_sns_topic.ingest
  override_during = plan
  values          = { arn = "arn:aws:sns:eu-west-1:123456789012:headwater-test-ingest" }
}

override_resource {
  target          = aws_cloudwatch_event_rule.object_created
  override_during = plan
  values          = { arn = "arn:aws:events:eu-west-1:123456789012:rule/headwater-test-ingest-object-created" }
}

variables {
  name_prefix     = "headwater-test"
  artifact_path   = "../function/tests/artifact.zip"
  raw_bucket_name = "headwater-test-raw"
  raw_bucket_arn  = "arn:aws:s3:::headwater-test-raw"
  kms_key_arn     = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  alarm_topic_arn = "arn:aws:sns:eu-west-1:123456789012:headwater-test-alerts"
}

run "topic_is_tls_only_and_only_the_rule_publishes" {
  command = plan

  # "Enforce encryption of data in transit" (SNS security best practices): use the
  # aws:SecureTransport condition in the topic policy to refuse requests without TLS.
  # https://docs.aws.amazon.com/sns/latest/dg/sns-security-best-practices.html
  assert {
    condition = length([
      for s in data.aws_iam_policy_document.topic.statement : s
      if s.effect == "Deny" && contains(s.actions, "sns:*")
      && anytrue([for p in s.principals : p.type == "*" && contains(p.identifiers, "*")])
      && anytrue([for c in s.condition : c.test == "Bool" && c.variable == "aws:SecureTransport" && contains(c.values, "false")])
    ]) == 1
    error_message = "The ingest topic policy must deny every sns action when aws:SecureTransport is false."
  }

  # "Your Amazon SNS topic's resource-based policy must allow EventBridge" to publish; aws:SourceArn
  # limits it to the rule. https://repost.aws/knowledge-center/sns-not-getting-eventbridge-notification
  assert {
    condition = length([
      for s in data.aws_iam_policy_document.topic.statement : s
      if contains(s.actions, "sns:Publish")
      && anytrue([for p in s.principals : contains(p.identifiers, "events.amazonaws.com")])
      && anytrue([for c in s.condition : c.variable == "aws:SourceArn" && contains(c.values, "arn:aws:events:eu-west-1:123456789012:rule/headwater-test-ingest-object-created")])
    ]) == 1
    error_message = "Only the ingest rule (aws:SourceArn) may publish to the ingest topic."
  }
}

run "delivery_dlq_is_tls_only" {
  command = plan

  # "All requests to queues with SSE enabled must use HTTPS and Signature Version 4."
  # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-server-side-encryption.html
  assert {
    condition = length([
      for s in data.aws_iam_policy_document.delivery_dlq.statement : s
      if s.effect == "Deny" && contains(s.actions, "sqs:*")
      && anytrue([for c in s.condition : c.variable == "aws:SecureTransport" && contains(c.values, "false")])
    ]) == 1
    error_message = "The delivery DLQ must deny requests without TLS."
  }
}

run "processor_uses_the_key_only_through_s3_and_sqs" {
  command = plan

  # "The kms:ViaService condition key limits use of a KMS key to requests from specified AWS
  # services." https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service
  assert {
    condition = alltrue([
      for s in local.processor_statements : anytrue([
        for c in s.conditions : c.variable == "kms:ViaService"
        && toset(c.values) == toset(["s3.eu-west-1.amazonaws.com", "sqs.eu-west-1.amazonaws.com"])
      ]) if anytrue([for a in s.actions : startswith(a, "kms:")])
    ])
    error_message = "Every KMS grant of the processor must carry kms:ViaService (S3 and SQS only)."
  }
}

run "rule_failures_alarm" {
  command = plan

  # "If there are data points for both metrics, then the EventBridge rule notification tried to
  # invoke the target but the invocation failed."
  # https://repost.aws/knowledge-center/sns-not-getting-eventbridge-notification
  assert {
    condition     = toset([for a in aws_cloudwatch_metric_alarm.rule_failures : a.metric_name]) == toset(["FailedInvocations", "InvocationsFailedToBeSentToDlq"])
    error_message = "The ingest rule needs alarms on FailedInvocations and InvocationsFailedToBeSentToDlq."
  }

  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.rule_failures : a.namespace == "AWS/Events" && a.dimensions.RuleName == "headwater-test-ingest-object-created"])
    error_message = "The rule alarms read AWS/Events per RuleName."
  }
}

run "processor_resends_deferred_records_to_its_own_queue_only" {
  command = plan

  # Deferred records are re-sent to the work queue. "If either the identity-based policy or the
  # resource-based policy within the same account allows the request and the other doesn't, the
  # request is still allowed." (the queue policy names only the topic, so the role grants it).
  # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
  assert {
    # Filtered by action first: the bucket statements' ARNs are unknown at plan time.
    condition = length([
      for s in [for s in local.processor_statements : s if contains(s.actions, "sqs:SendMessage")] : s
      if s.resources == ["arn:aws:sqs:eu-west-1:123456789012:headwater-test-ingest"]
    ]) == 1
    error_message = "The processor must be allowed sqs:SendMessage on its own work queue."
  }

  assert {
    condition = alltrue(flatten([
      for s in local.processor_statements : [
        for r in s.resources : r == "arn:aws:sqs:eu-west-1:123456789012:headwater-test-ingest"
      ] if contains(s.actions, "sqs:SendMessage")
    ]))
    error_message = "sqs:SendMessage must name exactly the work queue, no other queue and no wildcard."
  }

  # The work queue is SSE-KMS with the platform key, whose policy hands control to IAM
  # ("AccountAdministers"). "Alternatively, you can specify the required permissions in an IAM
  # policy assigned to the principals that produce and consume encrypted messages." A producer
  # needs kms:GenerateDataKey and kms:Decrypt (the data key of a send is generated, and a cached
  # one decrypted, under the caller's permissions).
  # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html
  assert {
    condition = length([
      for s in [for s in local.processor_statements : s if contains(s.actions, "kms:Decrypt")] : s
      if contains(s.actions, "kms:GenerateDataKey")
      && s.resources == ["arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"]
      && anytrue([for c in try(s.conditions, []) : c.variable == "kms:ViaService" && contains(c.values, "sqs.eu-west-1.amazonaws.com")])
    ]) == 1
    error_message = "Sending to the encrypted work queue needs kms:GenerateDataKey and kms:Decrypt on the key through SQS."
  }
}

run "files_deferred_alarm_reaches_the_alerts_topic" {
  command = plan

  variables {
    deferral_alarm_threshold          = 5
    deferral_alarm_period_seconds     = 600
    deferral_alarm_evaluation_periods = 2
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.files_deferred.metric_name == "FilesDeferred"
      && aws_cloudwatch_metric_alarm.files_deferred.namespace == "headwater"
      && aws_cloudwatch_metric_alarm.files_deferred.dimensions.service == "ingest"
      && aws_cloudwatch_metric_alarm.files_deferred.statistic == "Sum"
    )
    error_message = "The deferral alarm reads the processor's FilesDeferred metric (Sum, service=ingest)."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.files_deferred.threshold == 5
      && aws_cloudwatch_metric_alarm.files_deferred.period == 600
      && aws_cloudwatch_metric_alarm.files_deferred.evaluation_periods == 2
      && aws_cloudwatch_metric_alarm.files_deferred.datapoints_to_alarm == 2
    )
    error_message = "The deferral alarm takes its threshold and periods from the variables."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.files_deferred.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:headwater-test-alerts"])
      && aws_cloudwatch_metric_alarm.files_deferred.ok_actions == toset(["arn:aws:sns:eu-west-1:123456789012:headwater-test-alerts"])
    )
    error_message = "The deferral alarm notifies the alerts topic, like the other alarms."
  }
}

run "deferral_alarm_periods_are_validated" {
  command = plan

  variables {
    deferral_alarm_period_seconds = 90
    deferral_alarm_threshold      = -1
  }

  expect_failures = [
    var.deferral_alarm_period_seconds,
    var.deferral_alarm_threshold,
  ]
}

run "deferral_alarm_window_is_at_most_a_day_under_hourly_periods" {
  command = plan

  # "For alarms with a period of less than one hour (3,600 seconds), the total evaluation period
  # can't be longer than one day (86,400 seconds)." (PutMetricAlarm, Period)
  # https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
  variables {
    deferral_alarm_period_seconds     = 300
    deferral_alarm_evaluation_periods = 289
  }

  expect_failures = [var.deferral_alarm_evaluation_periods]
}

run "deferral_alarm_window_may_reach_a_week_with_hourly_periods" {
  command = plan

  # "Period multiplied by EvaluationPeriods can't be more than 604,800 seconds." (same page)
  variables {
    deferral_alarm_period_seconds     = 3600
    deferral_alarm_evaluation_periods = 168
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.files_deferred.evaluation_periods == 168
    error_message = "Seven days of hourly periods is within CloudWatch's limits."
  }
}

run "unset_deferral_alarm_settings_take_the_defaults" {
  command = plan

  # ../stack passes null for what its caller leaves unset (nullable = false: the default applies).
  variables {
    deferral_alarm_threshold          = null
    deferral_alarm_period_seconds     = null
    deferral_alarm_evaluation_periods = null
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.files_deferred.threshold == 0
      && aws_cloudwatch_metric_alarm.files_deferred.period == 300
      && aws_cloudwatch_metric_alarm.files_deferred.evaluation_periods == 3
    )
    error_message = "Null deferral alarm settings must fall back to the module's defaults."
  }
}
