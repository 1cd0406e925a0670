# The execution role's trust policy: AWS evaluates it when Lambda assumes the role; no emulator does.
# Data sources answer like a real account; resources get their computed values at plan time
# (override_during), so policies that name them can be read; a policy document's JSON is "{}"
# (the assertions read its statements, as configured).
mock_provider "aws" {
  override_during = plan
  source          = "../../tests/mocks/aws"
}

variables {
  name            = "headwater-test-fn"
  description     = "test function"
  artifact_path   = "tests/artifact.zip"
  handler         = "headwater.handlers.ingest_processor.handler"
  alarm_topic_arn = "arn:aws:sns:eu-west-1:123456789012:headwater-test-alerts"
}

run "lambda_assumes_the_role_for_this_account_only" {
  command = plan

  # "In order for Lambda to properly assume your execution role, the role's trust policy must
  # specify the Lambda service principal (lambda.amazonaws.com) as a trusted service."
  # https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html
  # "Use aws:SourceAccount if you want to allow any resource in that account to be associated with
  # the cross-service use." https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html
  assert {
    condition = length([
      for s in data.aws_iam_policy_document.assume.statement : s
      if contains(s.actions, "sts:AssumeRole")
      && anytrue([for p in s.principals : p.type == "Service" && contains(p.identifiers, "lambda.amazonaws.com")])
      && anytrue([for c in s.condition : c.test == "StringEquals" && c.variable == "aws:SourceAccount" && contains(c.values, "123456789012")])
    ]) == 1
    error_message = "The trust policy must let lambda.amazonaws.com assume the role only with aws:SourceAccount = this account."
  }
}

run "errors_and_throttles_alarm" {
  command = plan

  assert {
    condition     = aws_cloudwatch_metric_alarm.throttles[0].metric_name == "Throttles" && aws_cloudwatch_metric_alarm.throttles[0].namespace == "AWS/Lambda"
    error_message = "A Throttles alarm (AWS/Lambda) must notify the alarm topic."
  }

  assert {
    condition     = contains(aws_cloudwatch_metric_alarm.throttles[0].alarm_actions, "arn:aws:sns:eu-west-1:123456789012:headwater-test-alerts")
    error_message = "The Throttles alarm must notify alarm_topic_arn."
  }
}
