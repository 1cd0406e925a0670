# The records module's roles and permissions, as AWS evaluates them. The local IAM checks enforce
# them too, but only for the calls the e2e tests make; these assertions pin what each must be.
mock_provider "aws" {
  override_during = plan
  source          = "../../tests/mocks/aws"
}

override_resource {
  target          = aws_dynamodb_table.records
  override_during = plan
  values          = { arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/headwater-test-records" }
}

override_resource {
  target          = aws_dynamodb_table.idempotency
  override_during = plan
  values          = { arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/headwater-test-records-idempotency" }
}

override_module {
  target          = module.bucket
  override_during = plan
  outputs = {
    name = "headwater-test-records"
    arn  = "arn:aws:s3:::headwater-test-records"
  }
}

override_module {
  target          = module.summary_function
  override_during = plan
  outputs = {
    function_name = "headwater-test-records-summary"
    function_arn  = "arn:aws:lambda:eu-west-1:123456789012:function:headwater-test-records-summary"
    invoke_arn    = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:headwater-test-records-summary/invocations"
  }
}

variables {
  name_prefix                  = "headwater-test"
  artifact_path                = "../function/tests/artifact.zip"
  api_artifact_path            = "../function/tests/artifact.zip"
  bucket_name_suffix           = ""
  kms_key_arn                  = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  alarm_topic_arn              = "arn:aws:sns:eu-west-1:123456789012:headwater-test-alerts"
  rest_api_id                  = "abcdef1234"
  root_resource_id             = "root123456"
  execution_arn                = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234"
  params_validator_id          = "val123"
  body_and_params_validator_id = "valbody"
  tenancy_table_name           = "headwater-test-tenancy"
  tenancy_table_arn            = "arn:aws:dynamodb:eu-west-1:123456789012:table/headwater-test-tenancy"
  schedule_group_name          = "headwater-test"
  scheduler_role_name          = "headwater-test-scheduler"
  scheduler_role_arn           = "arn:aws:iam::123456789012:role/headwater-test-scheduler"
  scheduler_dlq_arn            = "arn:aws:sqs:eu-west-1:123456789012:headwater-test-scheduler-dlq"
  record_datasets = {
    orders = {
      description = "Orders."
      schema      = "{\"$schema\":\"http://json-schema.org/draft-04/schema#\",\"oneOf\":[{\"type\":\"object\"}]}"
    }
    web_events = {
      description = "Events."
      schema      = "{\"$schema\":\"http://json-schema.org/draft-04/schema#\",\"type\":\"object\"}"
    }
  }
}

run "api_role_is_the_records_tables_and_the_directory_only" {
  command = plan

  # "The following permissions policy grants permissions for the GetItem, BatchGetItem, Scan,
  # Query, and ConditionCheckItem DynamoDB actions only, and as a result, sets read-only access on
  # the Books table." On the directory the API needs GetItem only: it reads the entry of the key
  # it was called with and cannot list subscribers or keys.
  # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-only-permissions-on-table-items.html
  assert {
    condition = [
      for s in local.api_statements : s.actions
      if contains(s.resources, var.tenancy_table_arn)
    ] == [["dynamodb:GetItem"]]
    error_message = "The API function may only GetItem on the tenancy directory."
  }

  # "BatchWriteItem | dynamodb:BatchWriteItem | Write" (Service Authorization Reference, API
  # operations defined by Amazon DynamoDB): the batch write is its own action, so the records
  # table gets it and GetItem (GET /records/<dataset>/<id>), no PutItem, Query or Scan.
  # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html
  assert {
    condition = [
      for s in local.api_statements : toset(s.actions)
      if contains(s.resources, "arn:aws:dynamodb:eu-west-1:123456789012:table/headwater-test-records")
    ] == [toset(["dynamodb:BatchWriteItem", "dynamodb:GetItem"])]
    error_message = "The API function may only BatchWriteItem and GetItem on the records table."
  }

  # Powertools idempotency, DynamoDB persistence layer: "Your Lambda function IAM Role must have
  # dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem and dynamodb:DeleteItem IAM
  # permissions before using this feature."
  # https://docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/#iam-permissions
  assert {
    condition = [
      for s in local.api_statements : toset(s.actions)
      if contains(s.resources, "arn:aws:dynamodb:eu-west-1:123456789012:table/headwater-test-records-idempotency")
    ] == [toset(["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"])]
    error_message = "The API function gets exactly Powertools' four idempotency actions on the idempotency table."
  }

  # "This policy allows actions only on DynamoDB tables that exist with the specified name."
  # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_dynamodb_specific-table.html
  assert {
    condition = alltrue(flatten([
      for s in local.api_statements : [for r in s.resources : !strcontains(r, "*")]
    ]))
    error_message = "Every resource of the API function's role is one named ARN, never a wildcard."
  }
}

run "key_is_used_only_through_the_services_that_need_it" {
  command = plan

  # "The kms:ViaService condition key limits use of a KMS key to requests from specified AWS
  # services." The tables are encrypted with the platform key (DynamoDB uses it for the caller);
  # the summary also writes SSE-KMS objects through S3.
  # https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service
  assert {
    condition = alltrue([
      for s in local.api_statements : anytrue([
        for c in s.conditions : c.variable == "kms:ViaService"
        && toset(c.values) == toset(["dynamodb.eu-west-1.amazonaws.com"])
      ]) if anytrue([for a in s.actions : startswith(a, "kms:")])
    ])
    error_message = "Every KMS grant of the API function must carry kms:ViaService (DynamoDB only)."
  }

  assert {
    condition = alltrue([
      for s in local.summary_statements : anytrue([
        for c in s.conditions : c.variable == "kms:ViaService"
        && toset(c.values) == toset(["dynamodb.eu-west-1.amazonaws.com", "s3.eu-west-1.amazonaws.com"])
      ]) if anytrue([for a in s.actions : startswith(a, "kms:")])
    ])
    error_message = "Every KMS grant of the summary function must carry kms:ViaService (DynamoDB and S3 only)."
  }
}

run "summary_queries_and_writes_its_prefix_only" {
  command = plan

  # Query, never Scan: a week is read partition by partition.
  assert {
    condition = [
      for s in local.summary_statements : s.actions
      if contains(s.resources, "arn:aws:dynamodb:eu-west-1:123456789012:table/headwater-test-records")
    ] == [["dynamodb:Query"]]
    error_message = "The summary function may only Query the records table."
  }

  # "s3:prefix: Filters access by key name prefix" (ListBucket): listing is limited to the
  # export prefix, and object actions to keys under it.
  # https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html
  assert {
    condition = alltrue([
      for s in local.summary_statements : anytrue([
        for c in s.conditions : c.test == "StringLike" && c.variable == "s3:prefix" && c.values == ["summaries/*"]
      ]) if contains(s.actions, "s3:ListBucket")
    ])
    error_message = "ListBucket must be conditioned on s3:prefix = the export prefix."
  }

  assert {
    condition = alltrue(flatten([
      for s in local.summary_statements : [
        for r in s.resources : endswith(r, "/summaries/*")
      ] if anytrue([for a in s.actions : contains(["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"], a)])
    ]))
    error_message = "Object actions of the summary function are scoped to <bucket>/<export_prefix>*."
  }
}

run "scheduler_role_invokes_the_summary_only" {
  command = plan

  # "When you create a new schedule, EventBridge Scheduler must have permission to invoke its
  # target API operation on your behalf. You grant these permissions to EventBridge Scheduler
  # using an execution role." For Lambda that operation is lambda:InvokeFunction, on the
  # summary function's ARN only.
  # https://docs.aws.amazon.com/lambda/latest/dg/with-eventbridge-scheduler.html
  assert {
    condition = local.scheduler_statements == [{
      sid       = "InvokeRecordsSummary"
      actions   = ["lambda:InvokeFunction"]
      resources = ["arn:aws:lambda:eu-west-1:123456789012:function:headwater-test-records-summary"]
    }]
    error_message = "The Scheduler role gets lambda:InvokeFunction on the summary function and nothing else."
  }

  assert {
    condition     = aws_iam_role_policy.scheduler_invoke_summary.role == "headwater-test-scheduler"
    error_message = "The invoke grant goes on the platform's Scheduler role."
  }

  # The dead-letter queue is the platform's, whose sqs:SendMessage grant on the same role the
  # platform pins ("Scheduler sends a failed invocation to the DLQ with the schedule's execution
  # role"): a failed week lands there after the retries.
  assert {
    condition     = aws_scheduler_schedule.summary.target[0].dead_letter_config[0].arn == var.scheduler_dlq_arn
    error_message = "The summary schedule dead-letters to the platform's Scheduler DLQ."
  }

  assert {
    condition     = jsondecode(aws_scheduler_schedule.summary.target[0].input) == { scheduled_time = "<aws.scheduler.scheduled-time>" }
    error_message = "The target input carries the scheduled time, so a retry summarises the scheduled week."
  }

  # "To pass context attributes ... use the following format: <aws.scheduler.scheduled-time>"
  # (Scheduler user guide, "Adding context attributes"): Scheduler finds the attribute as written
  # in the input text, so it must not be JSON-escaped (jsonencode writes \u003c for "<").
  assert {
    condition     = strcontains(aws_scheduler_schedule.summary.target[0].input, "<aws.scheduler.scheduled-time>")
    error_message = "The input holds the context attribute literally, not escaped by jsonencode()."
  }

  assert {
    condition = (
      aws_scheduler_schedule.summary.schedule_expression == "cron(0 6 ? * MON *)" &&
      aws_scheduler_schedule.summary.schedule_expression_timezone == "UTC"
    )
    error_message = "The default schedule is Monday 06:00 UTC."
  }
}

run "api_gateway_invokes_the_records_routes_only" {
  command = plan

  # "aws:SourceArn ... arn:aws:execute-api:us-east-2:111122223333:ktyvxmpls1/*/GET/": API
  # Gateway's permission to invoke is scoped by the execute-api ARN of
  # <api>/<stage>/<method>/<path>; here any stage, POST and GET, below /records only.
  # https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway.html
  assert {
    condition = toset([
      for t in values(local.api_triggers) : t.source_arn if t.principal == "apigateway.amazonaws.com"
      ]) == toset([
      "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/*/POST/records/*",
      "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/*/GET/records/*",
    ])
    error_message = "API Gateway may invoke the records API function for POST and GET below /records only."
  }

  # One model and one validated POST per dataset: the body is checked at the gateway.
  assert {
    condition = alltrue([
      for name, m in aws_api_gateway_method.post :
      m.request_validator_id == "valbody" && m.api_key_required && m.request_models["application/json"] == aws_api_gateway_model.request[name].name
    ])
    error_message = "Every POST /records/<dataset> requires a key and validates its body against the dataset's model."
  }

  assert {
    condition     = aws_api_gateway_model.request["web_events"].name == "RecordswebXevents"
    error_message = "Model names are alphanumeric: _ becomes X."
  }
}

run "bad_schedule_expression_is_refused" {
  command = plan

  variables {
    summary_schedule_expression = "every monday"
  }

  expect_failures = [var.summary_schedule_expression]
}
