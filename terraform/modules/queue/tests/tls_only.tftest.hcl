# The queue policies AWS enforces and no emulator checks: one named sender, TLS only.
# Data sources answer like a real account; resources get their computed values at plan time
# (override_during), so policies that name them can be read; a policy document's JSON is "{}"
# (the assertions read its statements, as configured).
mock_provider "aws" {
  override_during = plan
  source          = "../../tests/mocks/aws"
}

variables {
  name                       = "headwater-test-work"
  source_principal           = "sns.amazonaws.com"
  source_arn                 = "arn:aws:sns:eu-west-1:123456789012:headwater-test-ingest"
  kms_key_arn                = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  visibility_timeout_seconds = 360
  alarm_topic_arn            = "arn:aws:sns:eu-west-1:123456789012:headwater-test-alerts"
}

run "queue_and_dlq_deny_requests_without_tls" {
  command = plan

  # "All requests to queues with SSE enabled must use HTTPS and Signature Version 4."
  # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-server-side-encryption.html
  # The policy makes that explicit for every caller (aws:SecureTransport false -> Deny).
  assert {
    condition = alltrue([
      for doc in [data.aws_iam_policy_document.queue, data.aws_iam_policy_document.dlq[0]] : length([
        for s in doc.statement : s
        if s.effect == "Deny" && contains(s.actions, "sqs:*")
        && anytrue([for p in s.principals : p.type == "*" && contains(p.identifiers, "*")])
        && anytrue([for c in s.condition : c.test == "Bool" && c.variable == "aws:SecureTransport" && contains(c.values, "false")])
      ]) == 1
    ])
    error_message = "The queue and its DLQ must deny every sqs action when aws:SecureTransport is false."
  }
}

run "only_the_named_source_sends" {
  command = plan

  # "We recommend using the aws:SourceArn and aws:SourceAccount global condition context keys in
  # resource policies to limit the permissions that [a service] gives another service to the
  # resource." https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html
  assert {
    condition = length([
      for s in data.aws_iam_policy_document.queue.statement : s
      if contains(s.actions, "sqs:SendMessage")
      && anytrue([for p in s.principals : contains(p.identifiers, "sns.amazonaws.com")])
      && anytrue([for c in s.condition : c.variable == "aws:SourceArn" && contains(c.values, "arn:aws:sns:eu-west-1:123456789012:headwater-test-ingest")])
    ]) == 1
    error_message = "Only the named source (aws:SourceArn) may send to the queue."
  }
}

run "role_senders_leave_only_the_tls_statement" {
  command = plan

  variables {
    source_principal = null
    source_arn       = null
  }

  # "If either the identity-based policy or the resource-based policy within the same account
  # allows the request and the other doesn't, the request is still allowed." Roles of this
  # account (Lambda functions) send with their own policies, so the queue policy keeps only the
  # TLS denial.
  # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
  assert {
    condition = [
      for s in data.aws_iam_policy_document.queue.statement : s.effect
    ] == ["Deny"]
    error_message = "Without a service sender the queue policy is the TLS denial only."
  }
}

run "a_service_sender_needs_its_source_arn" {
  command = plan

  variables {
    source_arn = null
  }

  expect_failures = [var.source_arn]
}
