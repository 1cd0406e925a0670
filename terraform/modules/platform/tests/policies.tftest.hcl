# Trust and resource policies of the platform that AWS enforces and no emulator checks.
# Data sources answer like a real account; resources get their computed values at plan time
# (override_during), so policies that name them can be read; a policy document's JSON is "{}"
# (the assertions read its statements, as configured).
mock_provider "aws" {
  override_during = plan
  source          = "../../tests/mocks/aws"
}

override_resource {
  target          = aws_sns_topic.alerts
  override_during = plan
  values          = { arn = "arn:aws:sns:eu-west-1:123456789012:headwater-test-alerts" }
}

variables {
  name_prefix = "headwater-test"
}

run "scheduler_assumes_its_role_for_this_account_only" {
  command = plan

  # "We recommend using the aws:SourceArn and aws:SourceAccount global condition context keys in
  # your schedule execution role to limit the permissions that EventBridge Scheduler gives another
  # service to access the resource." https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html
  assert {
    condition = length([
      for s in data.aws_iam_policy_document.scheduler_assume.statement : s
      if anytrue([for p in s.principals : contains(p.identifiers, "scheduler.amazonaws.com")])
      && anytrue([for c in s.condition : c.variable == "aws:SourceAccount" && contains(c.values, "123456789012")])
    ]) == 1
    error_message = "Scheduler may assume the execution role only for this account (aws:SourceAccount)."
  }
}

run "alerts_topic_is_tls_only_and_takes_this_accounts_alarms" {
  command = plan

  # "Enforce encryption of data in transit" (SNS security best practices): use the
  # aws:SecureTransport condition in the topic policy to refuse requests without TLS.
  # https://docs.aws.amazon.com/sns/latest/dg/sns-security-best-practices.html
  assert {
    condition = length([
      for s in data.aws_iam_policy_document.alerts[0].statement : s
      if s.effect == "Deny" && contains(s.actions, "sns:*")
      && anytrue([for p in s.principals : p.type == "*" && contains(p.identifiers, "*")])
      && anytrue([for c in s.condition : c.test == "Bool" && c.variable == "aws:SecureTransport" && contains(c.values, "false")])
    ]) == 1
    error_message = "The alerts topic policy must deny every sns action when aws:SecureTransport is false."
  }

  # "To restrict the ability to publish messages to the topic for specific alarms, add global
  # condition keys [...] the aws:SourceArn global condition key."
  # https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger
  assert {
    condition = length([
      for s in data.aws_iam_policy_document.alerts[0].statement : s
      if contains(s.actions, "sns:Publish")
      && anytrue([for p in s.principals : contains(p.identifiers, "cloudwatch.amazonaws.com")])
      && anytrue([for c in s.condition : c.variable == "aws:SourceArn" && contains(c.values, "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:*")])
    ]) == 1
    error_message = "CloudWatch alarms of this account must be allowed to publish to the alerts topic (the policy replaces SNS's default)."
  }
}

run "api_gateway_account_role_is_opt_in" {
  command = plan

  assert {
    condition     = length(aws_api_gateway_account.this) == 0 && length(aws_iam_role.api_gateway_cloudwatch) == 0
    error_message = "The account-wide API Gateway setting must not be taken over unless asked."
  }
}

run "api_gateway_account_role_when_asked" {
  command = plan

  variables {
    manage_api_gateway_account = true
  }

  # "The AWS::ApiGateway::Account resource specifies the IAM role that Amazon API Gateway uses to
  # write API logs to Amazon CloudWatch Logs. To avoid overwriting other roles, you should only
  # have one AWS::ApiGateway::Account resource per region per account." (its example role carries
  # AmazonAPIGatewayPushToCloudWatchLogs)
  # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-apigateway-account.html
  assert {
    condition     = aws_iam_role_policy_attachment.api_gateway_cloudwatch[0].policy_arn == "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
    error_message = "The role must carry AmazonAPIGatewayPushToCloudWatchLogs."
  }

  assert {
    condition = length([
      for s in data.aws_iam_policy_document.api_gateway_assume[0].statement : s
      if anytrue([for p in s.principals : contains(p.identifiers, "apigateway.amazonaws.com")])
      && anytrue([for c in s.condition : c.variable == "aws:SourceAccount" && contains(c.values, "123456789012")])
    ]) == 1
    error_message = "API Gateway may assume the logging role only for this account."
  }
}
