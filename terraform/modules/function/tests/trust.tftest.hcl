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

run "no_vpc_and_no_network_interface_grants_by_default" {
  command = plan

  assert {
    condition = (
      length(aws_lambda_function.this.vpc_config) == 0 &&
      length([for s in data.aws_iam_policy_document.this.statement : s if anytrue([for a in s.actions : startswith(a, "ec2:")])]) == 0
    )
    error_message = "Without vpc_config the function is outside any VPC and its role has no ec2 action."
  }
}

run "a_vpc_function_may_manage_its_network_interfaces" {
  command = plan

  variables {
    vpc_config = {
      subnet_ids         = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
      security_group_ids = ["sg-0123456789abcdef0"]
    }
  }

  # "Lambda uses your function's permissions to create and manage network interfaces. To connect
  # to a VPC, your function's execution role must have the following permissions:
  # ec2:CreateNetworkInterface, ec2:DescribeNetworkInterfaces – This action only works if it's
  # allowed on all resources ("Resource": "*"), ec2:DeleteNetworkInterface, ...
  # ec2:AssignPrivateIpAddresses, ec2:UnassignPrivateIpAddresses. These permissions are included
  # in the AWS managed policy AWSLambdaVPCAccessExecutionRole." (Lambda, Giving Lambda functions
  # access to resources in an Amazon VPC; the managed policy also lists ec2:DescribeSubnets.)
  # https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html
  # https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaVPCAccessExecutionRole.html
  assert {
    condition = [
      for s in data.aws_iam_policy_document.this.statement : { actions = toset(s.actions), resources = toset(s.resources) }
      if anytrue([for a in s.actions : startswith(a, "ec2:")])
      ] == [{
        actions = toset([
          "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
          "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses",
        ])
        resources = toset(["*"])
    }]
    error_message = "A VPC function's role has exactly AWSLambdaVPCAccessExecutionRole's network interface actions, on \"*\"."
  }

  assert {
    condition = (
      toset(aws_lambda_function.this.vpc_config[0].subnet_ids) == toset(["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]) &&
      toset(aws_lambda_function.this.vpc_config[0].security_group_ids) == toset(["sg-0123456789abcdef0"])
    )
    error_message = "The function is attached to the given subnets and security groups."
  }
}

run "a_vpc_without_security_groups_is_refused" {
  command = plan

  variables {
    vpc_config = {
      subnet_ids         = ["subnet-0123456789abcdef0"]
      security_group_ids = []
    }
  }

  expect_failures = [var.vpc_config]
}
