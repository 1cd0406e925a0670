# The collect module's roles, triggers and event settings, as AWS evaluates them. The local IAM
# checks enforce the roles only for the calls the e2e tests make; these assertions pin what each
# statement must be, each with the AWS documentation sentence it encodes.
mock_provider "aws" {
  override_during = plan
  source          = "../../tests/mocks/aws"
}

override_resource {
  target          = aws_dynamodb_table.facts
  override_during = plan
  values = {
    arn        = "arn:aws:dynamodb:eu-west-1:123456789012:table/headwater-test-collect-facts"
    stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/headwater-test-collect-facts/stream/2026-12-02T00:00:00.000"
  }
}

override_resource {
  target          = aws_dynamodb_table.state
  override_during = plan
  values          = { arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/headwater-test-collect-state" }
}

override_resource {
  target          = aws_iam_role.schedule
  override_during = plan
  values          = { arn = "arn:aws:iam::123456789012:role/headwater-test-collect-schedules" }
}

override_module {
  target          = module.bucket
  override_during = plan
  outputs = {
    name = "headwater-test-collect"
    arn  = "arn:aws:s3:::headwater-test-collect"
  }
}

override_module {
  target          = module.sink_failures
  override_during = plan
  outputs = {
    queue_name = "headwater-test-collect-sink-failures"
    queue_url  = "https://sqs.eu-west-1.amazonaws.com/123456789012/headwater-test-collect-sink-failures"
    queue_arn  = "arn:aws:sqs:eu-west-1:123456789012:headwater-test-collect-sink-failures"
  }
}

override_module {
  target          = module.collector_failures
  override_during = plan
  outputs = {
    queue_name = "headwater-test-collect-collector-failures"
    queue_url  = "https://sqs.eu-west-1.amazonaws.com/123456789012/headwater-test-collect-collector-failures"
    queue_arn  = "arn:aws:sqs:eu-west-1:123456789012:headwater-test-collect-collector-failures"
  }
}

override_module {
  target          = module.collector_function
  override_during = plan
  outputs = {
    function_name = "headwater-test-collect-collector"
    function_arn  = "arn:aws:lambda:eu-west-1:123456789012:function:headwater-test-collect-collector"
    invoke_arn    = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:headwater-test-collect-collector/invocations"
  }
}

variables {
  name_prefix         = "headwater-test"
  artifact_path       = "../function/tests/artifact.zip"
  api_artifact_path   = "../function/tests/artifact.zip"
  bucket_name_suffix  = ""
  kms_key_arn         = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  alarm_topic_arn     = "arn:aws:sns:eu-west-1:123456789012:headwater-test-alerts"
  rest_api_id         = "abcdef1234"
  root_resource_id    = "root123456"
  execution_arn       = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234"
  params_validator_id = "val123"
  tenancy_table_name  = "headwater-test-tenancy"
  tenancy_table_arn   = "arn:aws:dynamodb:eu-west-1:123456789012:table/headwater-test-tenancy"
  schedule_group_name = "headwater-test"
  scheduler_dlq_arn   = "arn:aws:sqs:eu-west-1:123456789012:headwater-test-scheduler-dlq"
}

run "api_manages_collect_schedules_only" {
  command = plan

  # "schedule | arn:${Partition}:scheduler:${Region}:${Account}:schedule/${GroupName}/${ScheduleName}"
  # is the resource type of CreateSchedule, GetSchedule, UpdateSchedule and DeleteSchedule
  # (Service Authorization Reference, EventBridge Scheduler): the API may touch the schedules of
  # the platform's group whose names start with "c-" (collect's), not records' summary.
  # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridgescheduler.html
  assert {
    condition = [
      for s in local.api_statements : toset(s.actions)
      if contains(s.resources, "arn:aws:scheduler:eu-west-1:123456789012:schedule/headwater-test/c-*")
      ] == [toset([
        "scheduler:CreateSchedule", "scheduler:GetSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule",
    ])]
    error_message = "Schedule actions are scoped to <group>/c-* schedules."
  }

  # "If there is no value for this column, you must specify all resources ("*") to which the
  # policy applies in the Resource element of your policy statement." ListSchedules (Scheduler)
  # and ListSecrets (Secrets Manager) have no resource type; they are the only "*" grants.
  # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html
  assert {
    condition = toset(flatten([
      for s in local.api_statements : s.actions if contains(s.resources, "*")
    ])) == toset(["scheduler:ListSchedules", "secretsmanager:ListSecrets"])
    error_message = "Only ListSchedules and ListSecrets may have the resource \"*\"."
  }

  # "CreateSchedule | scheduler:CreateSchedule ... iam:PassRole | iam:PassedToService |
  # scheduler.amazonaws.com" (Service Authorization Reference, API operations defined by
  # EventBridge Scheduler): creating a schedule passes its role. Only the collect schedule role,
  # and only to the Scheduler.
  # https://docs.amazonaws.cn/service-authorization/latest/reference/list_scheduler.html
  assert {
    condition = [
      for s in local.api_statements : {
        resources  = s.resources
        conditions = s.conditions
      } if contains(s.actions, "iam:PassRole")
      ] == [{
        resources = ["arn:aws:iam::123456789012:role/headwater-test-collect-schedules"]
        conditions = [{
          test     = "StringEquals"
          variable = "iam:PassedToService"
          values   = ["scheduler.amazonaws.com"]
        }]
    }]
    error_message = "iam:PassRole is granted on the collect schedule role only, passed to scheduler.amazonaws.com only."
  }

  # Run-now invokes the collector and nothing else.
  assert {
    condition = [
      for s in local.api_statements : s.resources if contains(s.actions, "lambda:InvokeFunction")
    ] == [["arn:aws:lambda:eu-west-1:123456789012:function:headwater-test-collect-collector"]]
    error_message = "The API function may invoke the collector only."
  }

  # "The following permissions policy grants permissions for the GetItem, BatchGetItem, Scan,
  # Query, and ConditionCheckItem DynamoDB actions only" (read-only example): here the directory
  # gets GetItem and the state table DeleteItem (a deleted schedule's checkpoint), nothing more.
  # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-only-permissions-on-table-items.html
  assert {
    condition = (
      [for s in local.api_statements : s.actions if contains(s.resources, var.tenancy_table_arn)] == [["dynamodb:GetItem"]] &&
      [for s in local.api_statements : s.actions if contains(s.resources, "arn:aws:dynamodb:eu-west-1:123456789012:table/headwater-test-collect-state")] == [["dynamodb:DeleteItem"]] &&
      length([for s in local.api_statements : s if contains(s.resources, "arn:aws:dynamodb:eu-west-1:123456789012:table/headwater-test-collect-facts")]) == 0
    )
    error_message = "The API function may GetItem on the directory and DeleteItem on the state table, and nothing on the facts."
  }
}

run "connections_are_write_only_through_the_api_and_read_by_the_collector" {
  command = plan

  # "secret | arn:${Partition}:secretsmanager:${Region}:${Account}:secret:${SecretId}" (Service
  # Authorization Reference, AWS Secrets Manager): the name prefix plus "*" (Secrets Manager
  # appends six random characters) keeps both functions inside <name_prefix>/collect/.
  # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html
  assert {
    condition = [
      for s in local.api_statements : toset(s.actions)
      if contains(s.resources, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:headwater-test/collect/*")
      ] == [toset([
        "secretsmanager:CreateSecret", "secretsmanager:PutSecretValue", "secretsmanager:DeleteSecret",
        "secretsmanager:DescribeSecret", "secretsmanager:TagResource",
    ])]
    error_message = "The API function manages secrets under the collect prefix only."
  }

  # Tokens are write-only through the API: it never reads a secret's value.
  assert {
    condition     = !contains(flatten([for s in local.api_statements : s.actions]), "secretsmanager:GetSecretValue")
    error_message = "The API function must not be able to read a token."
  }

  assert {
    condition = [
      for s in local.collector_statements : s.resources if contains(s.actions, "secretsmanager:GetSecretValue")
    ] == [["arn:aws:secretsmanager:eu-west-1:123456789012:secret:headwater-test/collect/*"]]
    error_message = "The collector reads secrets under the collect prefix only."
  }

  # "To use the KMS key for a secret on your behalf, the user must have the following
  # permissions ... kms:GenerateDataKey, kms:Decrypt" (Secrets Manager, Permissions for the KMS
  # key): the API writes values (both), the collector only reads (Decrypt), and only through
  # Secrets Manager (kms:ViaService).
  # https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html
  assert {
    condition = (
      [for s in local.api_statements : toset(s.actions) if anytrue([for c in try(s.conditions, []) : contains(c.values, "secretsmanager.eu-west-1.amazonaws.com")])] == [toset(["kms:GenerateDataKey", "kms:Decrypt"])] &&
      [for s in local.collector_statements : s.actions if anytrue([for c in try(s.conditions, []) : contains(c.values, "secretsmanager.eu-west-1.amazonaws.com")])] == [["kms:Decrypt"]]
    )
    error_message = "Secrets' key use: GenerateDataKey and Decrypt for the API, Decrypt for the collector, through Secrets Manager."
  }

  assert {
    condition     = output.secret_prefix == "headwater-test/collect/"
    error_message = "Secrets live under <name_prefix>/collect/."
  }
}

run "every_key_grant_goes_through_one_service" {
  command = plan

  # "The kms:ViaService condition key limits use of a KMS key to requests from specified AWS
  # services." Every KMS grant of the three functions and the schedule role carries it.
  # https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service
  assert {
    condition = alltrue([
      for s in concat(local.api_statements, local.collector_statements, local.sink_statements, local.schedule_statements) :
      length(try(s.conditions, [])) == 1 && s.conditions[0].variable == "kms:ViaService" && length(s.conditions[0].values) == 1
      if anytrue([for a in s.actions : startswith(a, "kms:")])
    ])
    error_message = "Every KMS grant must carry kms:ViaService naming one service."
  }

  # "This policy allows actions only on DynamoDB tables that exist with the specified name."
  # Apart from the two List actions, every resource is one named ARN or a prefix of one.
  # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_dynamodb_specific-table.html
  assert {
    condition = alltrue(flatten([
      for s in concat(local.collector_statements, local.sink_statements, local.schedule_statements) : [
        for r in s.resources : r != "*"
      ]
    ]))
    error_message = "The collector, the sink and the schedule role have no \"*\" resource."
  }
}

run "collector_writes_facts_and_checkpoints_and_reports_failures" {
  command = plan

  # "BatchWriteItem | dynamodb:BatchWriteItem | Write" (Service Authorization Reference, API
  # operations defined by Amazon DynamoDB): the facts are batch-written (overwrite by key),
  # never read, queried or deleted by the collector.
  # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html
  assert {
    condition = [
      for s in local.collector_statements : toset(s.actions)
      if contains(s.resources, "arn:aws:dynamodb:eu-west-1:123456789012:table/headwater-test-collect-facts")
    ] == [toset(["dynamodb:BatchWriteItem", "dynamodb:PutItem"])]
    error_message = "The collector may only BatchWriteItem and PutItem on the facts table."
  }

  assert {
    condition = [
      for s in local.collector_statements : toset(s.actions)
      if contains(s.resources, "arn:aws:dynamodb:eu-west-1:123456789012:table/headwater-test-collect-state")
    ] == [toset(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"])]
    error_message = "The collector reads and writes checkpoints by key only."
  }

  # "SAM will automatically add appropriate permission to your Lambda function execution role to
  # give Lambda service access to the resource. sqs:SendMessage will be added for SQS queues"
  # (AWS SAM, DeadLetterQueue; destinations work the same way): Lambda sends the record of a
  # failed event with the function's role, so the role may send to its failures queue only.
  # https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-deadletterqueue.html
  assert {
    condition = [
      for s in local.collector_statements : s.resources if contains(s.actions, "sqs:SendMessage")
    ] == [["arn:aws:sqs:eu-west-1:123456789012:headwater-test-collect-collector-failures"]]
    error_message = "The collector may send to its failures queue only."
  }

  # "By default, Lambda retries an asynchronous invocation twice if the function returns an
  # error. It retains events in a queue for up to six hours." (PutFunctionEventInvokeConfig):
  # two retries, then the record goes to the on-failure destination.
  # https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionEventInvokeConfig.html
  assert {
    condition = (
      aws_lambda_function_event_invoke_config.collector.maximum_retry_attempts == 2 &&
      aws_lambda_function_event_invoke_config.collector.maximum_event_age_in_seconds == 21600 &&
      aws_lambda_function_event_invoke_config.collector.destination_config[0].on_failure[0].destination == "arn:aws:sqs:eu-west-1:123456789012:headwater-test-collect-collector-failures"
    )
    error_message = "The collector retries twice within six hours, then records the event in its failures queue."
  }
}

run "sink_reads_the_facts_stream_and_writes_its_prefix" {
  command = plan

  # "Resource": "arn:aws:dynamodb:us-west-2:123456789012:table/GameScores/stream/*" with
  # "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:DescribeStream",
  # "dynamodb:ListStreams" (IAM policy to allow an AWS Lambda function to access DynamoDB stream
  # records): exactly these, on this table's streams.
  # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/iam-policy-example-lamda-process-dynamodb-streams.html
  assert {
    condition = [
      for s in local.sink_statements : toset(s.actions)
      if contains(s.resources, "arn:aws:dynamodb:eu-west-1:123456789012:table/headwater-test-collect-facts/stream/*")
    ] == [toset(["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"])]
    error_message = "The sink reads the facts table's streams only."
  }

  # "DynamoDB streams are always encrypted with a table-level encryption key." The stream of a
  # table encrypted with the platform key is read through DynamoDB with it.
  # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.usagenotes.html
  assert {
    condition = anytrue([
      for s in local.sink_statements : contains(s.actions, "kms:Decrypt") && anytrue([for c in try(s.conditions, []) : c.values == ["dynamodb.eu-west-1.amazonaws.com"]])
    ])
    error_message = "The sink may decrypt through DynamoDB (the stream of a CMK-encrypted table)."
  }

  # Object actions scoped to <bucket>/<changes_prefix>*; no listing, no reading.
  assert {
    condition = [
      for s in local.sink_statements : { actions = toset(s.actions), resources = s.resources }
      if anytrue([for a in s.actions : startswith(a, "s3:")])
    ] == [{ actions = toset(["s3:PutObject", "s3:DeleteObject"]), resources = ["arn:aws:s3:::headwater-test-collect/changes/*"] }]
    error_message = "The sink writes and deletes objects under the changes prefix only."
  }

  assert {
    condition = [
      for s in local.sink_statements : s.resources if contains(s.actions, "sqs:SendMessage")
    ] == [["arn:aws:sqs:eu-west-1:123456789012:headwater-test-collect-sink-failures"]]
    error_message = "The sink may send to its failures queue only."
  }
}

run "sink_mapping_reports_partial_failures_bisects_and_gives_up_into_its_queue" {
  command = plan

  # "To retain records of failed invocations from Kinesis, DynamoDB, self-managed Kafka or Amazon
  # MSK, you can configure an Amazon SNS topic, Amazon SQS queue, or Amazon S3 bucket as the
  # destination." (AWS::Lambda::EventSourceMapping OnFailure)
  # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-lambda-eventsourcemapping-onfailure.html
  assert {
    condition = local.sink_mapping == {
      event_source_arn                   = "arn:aws:dynamodb:eu-west-1:123456789012:table/headwater-test-collect-facts/stream/2026-12-02T00:00:00.000"
      starting_position                  = "TRIM_HORIZON"
      batch_size                         = 100
      maximum_batching_window_in_seconds = 5
      parallelization_factor             = 1
      function_response_types            = ["ReportBatchItemFailures"]
      bisect_batch_on_function_error     = true
      maximum_retry_attempts             = 10
      maximum_record_age_in_seconds      = 86400
      on_failure_destination_arn         = "arn:aws:sqs:eu-west-1:123456789012:headwater-test-collect-sink-failures"
    }
    error_message = "The sink's mapping: TRIM_HORIZON, 100 per batch within 5 s, one batch per shard, partial failures, bisect, 10 retries, 1 day, then the failures queue."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.sink_iterator_age.metric_name == "IteratorAge" &&
      aws_cloudwatch_metric_alarm.sink_iterator_age.threshold == 3600000 &&
      aws_cloudwatch_metric_alarm.sink_iterator_age.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:headwater-test-alerts"])
    )
    error_message = "The sink alarms (to the alerts topic) when it is an hour behind the stream (IteratorAge is in ms)."
  }
}

run "facts_table_streams_every_change_and_expires_by_ttl" {
  command = plan

  assert {
    condition = (
      aws_dynamodb_table.facts.stream_enabled &&
      aws_dynamodb_table.facts.stream_view_type == "NEW_AND_OLD_IMAGES" &&
      aws_dynamodb_table.facts.ttl[0].attribute_name == "expires_at" &&
      aws_dynamodb_table.facts.ttl[0].enabled &&
      aws_dynamodb_table.facts.hash_key == "pk" && aws_dynamodb_table.facts.range_key == "sk" &&
      aws_dynamodb_table.state.hash_key == "pk"
    )
    error_message = "Facts: pk/sk, stream with new and old images, TTL on expires_at; state: pk."
  }

  assert {
    condition = alltrue([
      for t in [aws_dynamodb_table.facts, aws_dynamodb_table.state] :
      t.point_in_time_recovery[0].enabled && t.server_side_encryption[0].kms_key_arn == var.kms_key_arn && t.billing_mode == "PAY_PER_REQUEST"
    ])
    error_message = "Both tables: on demand, PITR, encrypted with the platform key."
  }
}

run "schedule_role_invokes_the_collector_only" {
  command = plan

  # "We recommend using the aws:SourceArn and aws:SourceAccount global condition context keys in
  # your schedule execution role to limit the permissions that EventBridge Scheduler gives another
  # service to access the resource."
  # https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html
  assert {
    condition = length([
      for s in data.aws_iam_policy_document.schedule_assume.statement : s
      if anytrue([for p in s.principals : contains(p.identifiers, "scheduler.amazonaws.com") && length(p.identifiers) == 1])
      && anytrue([for c in s.condition : c.variable == "aws:SourceAccount" && contains(c.values, "123456789012")])
    ]) == 1
    error_message = "Only this account's Scheduler may assume the collect schedule role."
  }

  # "When you create a new schedule, EventBridge Scheduler must have permission to invoke its
  # target API operation on your behalf. You grant these permissions to EventBridge Scheduler
  # using an execution role." For Lambda: lambda:InvokeFunction on the collector only. A fire
  # that fails its retries goes to the platform's Scheduler DLQ with the same role, which
  # therefore sends to it (and encrypts for it through SQS).
  # https://docs.aws.amazon.com/lambda/latest/dg/with-eventbridge-scheduler.html
  assert {
    condition = [for s in local.schedule_statements : { actions = s.actions, resources = s.resources }] == [
      { actions = ["lambda:InvokeFunction"], resources = ["arn:aws:lambda:eu-west-1:123456789012:function:headwater-test-collect-collector"] },
      { actions = ["sqs:SendMessage"], resources = ["arn:aws:sqs:eu-west-1:123456789012:headwater-test-scheduler-dlq"] },
      { actions = ["kms:GenerateDataKey", "kms:Decrypt"], resources = [var.kms_key_arn] },
    ]
    error_message = "The schedule role invokes the collector and dead-letters to the platform's Scheduler DLQ, nothing else."
  }
}

run "api_gateway_invokes_the_collect_routes_only" {
  command = plan

  # "aws:SourceArn ... arn:aws:execute-api:us-east-2:111122223333:ktyvxmpls1/*/GET/": API
  # Gateway's permission to invoke is scoped by the execute-api ARN of
  # <api>/<stage>/<method>/<path>; one permission per method and path of the contract.
  # https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway.html
  assert {
    condition = toset([
      for t in values(local.api_triggers) : t.source_arn if t.principal == "apigateway.amazonaws.com"
      ]) == toset([
      "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/*/POST/schedules",
      "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/*/GET/schedules",
      "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/*/GET/schedules/*",
      "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/*/PATCH/schedules/*",
      "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/*/DELETE/schedules/*",
      "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/*/POST/schedules/*/run",
      "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/*/POST/connections",
      "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/*/GET/connections",
      "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/*/PUT/connections/*",
      "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/*/DELETE/connections/*",
    ])
    error_message = "API Gateway may invoke the collect API function for the contract's methods and paths only."
  }

  # Every route needs a key and is checked by the params validator; {name} routes require it.
  assert {
    condition = alltrue([
      for name, m in aws_api_gateway_method.this :
      m.api_key_required && m.authorization == "NONE" && m.request_validator_id == "val123"
      && (contains(["schedule", "run", "connection"], local.methods[name].resource) == lookup(m.request_parameters, "method.request.path.name", false))
    ])
    error_message = "Every collect route requires an API key and the params validator; {name} is required where the path has it."
  }

  assert {
    condition     = alltrue([for i in aws_api_gateway_integration.this : i.type == "AWS_PROXY" && i.integration_http_method == "POST"])
    error_message = "Every collect route is a Lambda proxy integration."
  }
}

run "initial_days_above_the_backfill_is_refused" {
  command = plan

  variables {
    max_backfill_days = 5
    initial_days      = 7
  }

  expect_failures = [var.initial_days]
}

run "iterator_age_alarm_after_records_are_dropped_is_refused" {
  command = plan

  variables {
    sink_maximum_record_age_seconds = 3600
    sink_iterator_age_alarm_seconds = 3600
  }

  expect_failures = [var.sink_iterator_age_alarm_seconds]
}

run "plain_http_meta_url_is_refused" {
  command = plan

  variables {
    meta_base_url = "http://graph.example.com/v21.0"
  }

  expect_failures = [var.meta_base_url]
}
