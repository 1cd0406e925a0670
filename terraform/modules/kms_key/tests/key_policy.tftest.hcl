# Key policy statements per service principal: AWS evaluates them, no emulator does.
# terraform test (mock provider, plan only): run from the module directory.

# Data sources answer like a real account; a policy document's JSON is "{}" (the assertions read
# its statements, as configured).
mock_provider "aws" {
  source = "../../tests/mocks/aws"
}

variables {
  description                    = "headwater-test: topics, queues and logs"
  service_principals             = ["events.amazonaws.com", "sns.amazonaws.com"]
  allow_eventbridge_to_sns       = true
  allow_cloudwatch_alarms_to_sns = true
  sns_topic_name_prefix          = "headwater-test-"
}

run "eventbridge_publishes_to_encrypted_topics_without_source_conditions" {
  command = plan

  # "Adding the aws:SourceAccount, aws:SourceArn, and aws:SourceOrgID to a AWS KMS policy is not
  # supported for EventBridge-to-encrypted topics."
  # https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
  # (reported failing in https://github.com/awslabs/landing-zone-accelerator-on-aws/issues/407)
  assert {
    condition = length([
      for s in data.aws_iam_policy_document.this.statement : s
      if anytrue([for p in s.principals : contains(p.identifiers, "events.amazonaws.com")])
      && length([for c in s.condition : c if contains(["aws:SourceAccount", "aws:SourceArn", "aws:SourceOrgID"], c.variable)]) == 0
      && contains(s.actions, "kms:GenerateDataKey*") && contains(s.actions, "kms:Decrypt")
    ]) == 1
    error_message = "EventBridge needs one key statement (GenerateDataKey*, Decrypt) without aws:SourceAccount/SourceArn/SourceOrgID to publish to an encrypted topic."
  }

  # The statement without source conditions is still bound: SNS encrypts with the encryption
  # context aws:sns:topicArn, so only this account's prefixed topics in this region match.
  assert {
    condition = one(flatten([
      for s in data.aws_iam_policy_document.this.statement : [
        for c in s.condition : c.values if c.variable == "kms:EncryptionContext:aws:sns:topicArn"
      ] if s.sid == "EventBridgePublishesToEncryptedTopics"
    ])) == "arn:aws:sns:eu-west-1:123456789012:headwater-test-*"
    error_message = "The EventBridge topic statement must be bound to this account's prefixed topics by kms:EncryptionContext:aws:sns:topicArn."
  }
}

run "cloudwatch_alarms_publish_to_encrypted_topics" {
  command = plan

  # "the default AWS KMS key policy for Amazon SNS doesn't allow CloudWatch alarms to perform
  # kms:Decrypt and kms:GenerateDataKey API calls" -- a customer managed key must grant them.
  # https://repost.aws/knowledge-center/cloudwatch-configure-alarm-sns
  assert {
    condition = length([
      for s in data.aws_iam_policy_document.this.statement : s
      if anytrue([for p in s.principals : contains(p.identifiers, "cloudwatch.amazonaws.com")])
      && contains(s.actions, "kms:GenerateDataKey*") && contains(s.actions, "kms:Decrypt")
      && anytrue([for c in s.condition : c.variable == "aws:SourceAccount" && contains(c.values, "123456789012")])
      && anytrue([for c in s.condition : c.variable == "kms:EncryptionContext:aws:sns:topicArn"])
    ]) == 1
    error_message = "CloudWatch alarms need GenerateDataKey* and Decrypt, for this account's alarms and prefixed topics only."
  }
}

run "services_deliver_to_encrypted_queues_for_this_account_only" {
  command = plan

  # "For a customer managed KMS key, you must configure the key policy to add permissions for each
  # queue producer and consumer."
  # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html
  # "Use aws:SourceAccount if you want to allow any resource in that account to be associated with
  # the cross-service use." https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html
  assert {
    condition = alltrue([
      for principal in ["events.amazonaws.com", "sns.amazonaws.com"] : length([
        for s in data.aws_iam_policy_document.this.statement : s
        if anytrue([for p in s.principals : contains(p.identifiers, principal)])
        && anytrue([for c in s.condition : c.variable == "aws:SourceAccount" && contains(c.values, "123456789012")])
      ]) == 1
    ])
    error_message = "EventBridge (rule DLQ) and SNS (subscriptions) need the key for encrypted queues, bound to this account."
  }
}

run "logs_encrypt_only_this_accounts_log_groups" {
  command = plan

  # "The Principal element [...] logs.region.amazonaws.com" and "kms:EncryptionContext:aws:logs:arn"
  # limit the key to log groups: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
  assert {
    condition = one(flatten([
      for s in data.aws_iam_policy_document.this.statement : [
        for c in s.condition : c.values if c.variable == "kms:EncryptionContext:aws:logs:arn"
      ] if anytrue([for p in s.principals : contains(p.identifiers, "logs.eu-west-1.amazonaws.com")])
    ])) == "arn:aws:logs:eu-west-1:123456789012:log-group:*"
    error_message = "CloudWatch Logs must be allowed only for this account's log groups in this region."
  }
}

run "no_topic_statements_unless_asked" {
  command = plan

  variables {
    allow_eventbridge_to_sns       = false
    allow_cloudwatch_alarms_to_sns = false
  }

  assert {
    condition     = length([for s in data.aws_iam_policy_document.this.statement : s if s.sid == "EventBridgePublishesToEncryptedTopics" || s.sid == "CloudWatchAlarmsPublishToEncryptedTopics"]) == 0
    error_message = "Topic statements are opt-in."
  }
}
