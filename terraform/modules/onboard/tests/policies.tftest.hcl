# The onboard module's roles, mapping, schedules and network, as AWS evaluates them. The local IAM
# checks enforce the roles only for the calls the e2e tests make; these assertions pin what each
# statement must be, each with the AWS documentation sentence it encodes.
mock_provider "aws" {
  override_during = plan
  source          = "../../tests/mocks/aws"
}

override_resource {
  target          = aws_dynamodb_table.state
  override_during = plan
  values          = { arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/headwater-test-onboard-state" }
}

override_module {
  target          = module.work_queue
  override_during = plan
  outputs = {
    queue_name = "headwater-test-onboard-work"
    queue_url  = "https://sqs.eu-west-1.amazonaws.com/123456789012/headwater-test-onboard-work"
    queue_arn  = "arn:aws:sqs:eu-west-1:123456789012:headwater-test-onboard-work"
    dlq_url    = "https://sqs.eu-west-1.amazonaws.com/123456789012/headwater-test-onboard-work-dlq"
    dlq_arn    = "arn:aws:sqs:eu-west-1:123456789012:headwater-test-onboard-work-dlq"
  }
}

override_module {
  target          = module.dispatcher_function
  override_during = plan
  outputs = {
    function_name = "headwater-test-onboard-dispatcher"
    function_arn  = "arn:aws:lambda:eu-west-1:123456789012:function:headwater-test-onboard-dispatcher"
  }
}

variables {
  name_prefix         = "headwater-test"
  artifact_path       = "../function/tests/artifact.zip"
  bucket_name_suffix  = ""
  kms_key_arn         = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  alarm_topic_arn     = "arn:aws:sns:eu-west-1:123456789012:headwater-test-alerts"
  schedule_group_name = "headwater-test"
  scheduler_role_name = "headwater-test-scheduler"
  scheduler_role_arn  = "arn:aws:iam::123456789012:role/headwater-test-scheduler"
  scheduler_dlq_arn   = "arn:aws:sqs:eu-west-1:123456789012:headwater-test-scheduler-dlq"
  sources = {
    crm = {
      secret_arn         = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:crm-AbCdEf"
      secret_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/99999999-2222-3333-4444-555555555555"
    }
    billing = {
      secret_arn          = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:billing-GhIjKl"
      schedule_expression = "cron(30 3 * * ? *)"
      schedule_time_zone  = "Europe/Paris"
      enabled             = false
      target_prefix       = "finance/billing/"
    }
  }
}

run "the_roles_grant_exactly_what_each_function_does" {
  # --- secrets are read exactly and decrypted through secrets manager ---
  command = plan

  # "secret | arn:${Partition}:secretsmanager:${Region}:${Account}:secret:${SecretId}" is the
  # resource type of GetSecretValue (Service Authorization Reference, AWS Secrets Manager): both
  # functions read the declared sources' secrets, named one by one, nothing else.
  # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html
  assert {
    condition = alltrue([
      for statements in [local.dispatcher_statements, local.worker_statements] :
      [for s in statements : { actions = s.actions, resources = toset(s.resources) } if anytrue([for a in s.actions : startswith(a, "secretsmanager:")])] == [{
        actions                        = ["secretsmanager:GetSecretValue"]
        resources = toset([
          "arn:aws:secretsmanager:eu-west-1:123456789012:secret:crm-AbCdEf",
          "arn:aws:secretsmanager:eu-west-1:123456789012:secret:billing-GhIjKl",
        ])
      }]
    ])
    error_message = "Both functions may read exactly the sources' secrets."
  }

  # "To use the KMS key for a secret on your behalf, the user must have the following
  # permissions ... kms:Decrypt" (Secrets Manager, Secret encryption and decryption): reading
  # needs Decrypt only, on the secret's key, only through Secrets Manager.
  # https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html
  assert {
    condition = alltrue([
      for statements in [local.dispatcher_statements, local.worker_statements] :
      jsonencode([for s in statements : { actions = s.actions, resources = s.resources, conditions = s.conditions }
        if anytrue([for c in s.conditions : contains(c.values, "secretsmanager.eu-west-1.amazonaws.com")])
        ]) == jsonencode([{
          actions   = ["kms:Decrypt"]
          resources = ["arn:aws:kms:eu-west-1:123456789012:key/99999999-2222-3333-4444-555555555555"]
          conditions = [{
            test     = "StringEquals"
            variable = "kms:ViaService"
            values   = ["secretsmanager.eu-west-1.amazonaws.com"]
          }]
      }])
    ])
    error_message = "Both functions may decrypt the secrets' own key, through Secrets Manager only."
  }

  # The secrets' ARNs reach the functions, never their values; with each source's prefix, which
  # the dispatcher checks against the declaration (the worker's S3 grant covers it only).
  assert {
    condition = jsondecode(local.sources_json) == {
      crm = {
        secret_arn    = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:crm-AbCdEf"
        target_prefix = "crm/"
      }
      billing = {
        secret_arn    = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:billing-GhIjKl"
        target_prefix = "finance/billing/"
      }
    }
    error_message = "ONBOARD_SOURCES maps each source to its secret's ARN and prefix, nothing more."
  }

  # --- every key grant goes through one service and nothing is unscoped ---

  # "The kms:ViaService condition key limits use of a KMS key to requests from specified AWS
  # services." Every KMS grant of the two functions carries it, naming one service.
  # https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service
  assert {
    condition = alltrue([
      for s in concat(local.dispatcher_statements, local.worker_statements) :
      length(s.conditions) == 1 && s.conditions[0].variable == "kms:ViaService" && length(s.conditions[0].values) == 1
      if anytrue([for a in s.actions : startswith(a, "kms:")])
    ])
    error_message = "Every KMS grant must carry kms:ViaService naming one service."
  }

  # "This policy allows actions only on DynamoDB tables that exist with the specified name."
  # No statement of the two functions has the resource "*" (the VPC's network interface actions
  # come from the function module, only with subnets).
  # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_dynamodb_specific-table.html
  assert {
    condition     = alltrue(flatten([for s in concat(local.dispatcher_statements, local.worker_statements) : [for r in s.resources : r != "*"]]))
    error_message = "The dispatcher and the worker have no \"*\" resource."
  }

  assert {
    condition = alltrue([
      for s in concat(local.dispatcher_statements, local.worker_statements) :
      contains(s.resources, "arn:aws:dynamodb:eu-west-1:123456789012:table/headwater-test-onboard-state")
      if anytrue([for a in s.actions : startswith(a, "dynamodb:")])
    ])
    error_message = "DynamoDB actions are granted on the state table only."
  }

  # --- the dispatcher plans runs and sends work only ---

  # "SendMessageBatch ... sqs:SendMessage" (Service Authorization Reference, Amazon SQS: the
  # batch operation is authorised by the SendMessage action): one grant, on the work queue.
  # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsqs.html
  assert {
    condition = (
      [for s in local.dispatcher_statements : s.resources if contains(s.actions, "sqs:SendMessage")] == [["arn:aws:sqs:eu-west-1:123456789012:headwater-test-onboard-work"]] &&
      length([for s in local.dispatcher_statements : s if anytrue([for a in s.actions : startswith(a, "s3:") || startswith(a, "events:")])]) == 0
    )
    error_message = "The dispatcher sends to the work queue only, and touches neither the bucket nor the bus."
  }

  assert {
    condition = [
      for s in local.dispatcher_statements : toset(s.actions) if contains(s.resources, "arn:aws:dynamodb:eu-west-1:123456789012:table/headwater-test-onboard-state")
    ] == [toset(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"])]
    error_message = "The dispatcher reads and writes runs by key and Query only; no Scan, no DeleteItem."
  }

  # --- the worker consumes writes its prefixes and reports ---

  # "Lambda needs the following permissions to manage messages in your Amazon SQS queue. Add them
  # to your function's execution role: sqs:ReceiveMessage, sqs:DeleteMessage,
  # sqs:GetQueueAttributes" (Lambda, Using Lambda with Amazon SQS).
  # https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
  assert {
    condition = [
      for s in local.worker_statements : toset(s.actions) if contains(s.actions, "sqs:ReceiveMessage")
    ] == [toset(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"])]
    error_message = "The worker's mapping consumes the work queue with exactly Lambda's three SQS actions."
  }

  assert {
    condition = (
      [for s in local.worker_statements : s.resources if contains(s.actions, "sqs:ReceiveMessage")] == [["arn:aws:sqs:eu-west-1:123456789012:headwater-test-onboard-work"]] &&
      [for s in local.worker_statements : toset(s.resources) if contains(s.actions, "sqs:SendMessage")] == [toset([
        "arn:aws:sqs:eu-west-1:123456789012:headwater-test-onboard-work",
        "arn:aws:sqs:eu-west-1:123456789012:headwater-test-onboard-work-dlq",
      ])]
    )
    error_message = "The worker receives from the work queue, and sends continuations there and give-ups to the DLQ."
  }

  # "arn:aws:s3:::amzn-s3-demo-bucket/prefix/*" (object ARNs with a key prefix) and the
  # s3:prefix condition key on ListBucket (Amazon S3, Policy examples): objects under the
  # sources' target prefixes only (the declared one, or "<name>/").
  # https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies.html
  assert {
    condition = [
      for s in local.worker_statements : { actions = toset(s.actions), resources = toset(s.resources) }
      if anytrue([for a in s.actions : startswith(a, "s3:")]) && !contains(s.actions, "s3:ListBucket")
      ] == [{
        actions   = toset(["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"])
        resources = toset(["arn:aws:s3:::headwater-test-onboard/crm/*", "arn:aws:s3:::headwater-test-onboard/finance/billing/*"])
    }]
    error_message = "The worker writes, reads and deletes objects under the sources' prefixes only."
  }

  assert {
    condition = jsonencode([
      for s in local.worker_statements : { resources = s.resources, conditions = s.conditions } if contains(s.actions, "s3:ListBucket")
      ]) == jsonencode([{
        resources = ["arn:aws:s3:::headwater-test-onboard"]
        conditions = [{
          test     = "StringLike"
          variable = "s3:prefix"
          values   = ["crm/*", "finance/billing/*"]
        }]
    }])
    error_message = "The worker lists the landing bucket under the sources' prefixes only."
  }

  # "event-bus | arn:${Partition}:events:${Region}:${Account}:event-bus/${EventBusName}" is the
  # resource type of PutEvents (Service Authorization Reference, Amazon EventBridge).
  # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html
  assert {
    condition     = [for s in local.worker_statements : s.resources if contains(s.actions, "events:PutEvents")] == [["arn:aws:events:eu-west-1:123456789012:event-bus/default"]]
    error_message = "The worker puts its run events on the default bus only."
  }

  assert {
    condition = [
      for s in local.worker_statements : toset(s.actions) if contains(s.resources, "arn:aws:dynamodb:eu-west-1:123456789012:table/headwater-test-onboard-state")
    ] == [toset(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"])]
    error_message = "The worker reads and writes the state by key and Query only."
  }
}

run "mapping_schedules_state_and_network_defaults" {
  # --- the mapping takes one message at a time within the concurrency ---
  command = plan

  # "To configure maximum concurrency ... The minimum value is 2 and the maximum is 1000" and
  # "To report batch item failures ... include ReportBatchItemFailures in the
  # FunctionResponseTypes list" (Lambda, Using Lambda with Amazon SQS): one message per
  # invocation (a table or range may take the whole timeout), partial batch responses.
  # https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
  # https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
  assert {
    condition = local.worker_mapping == {
      event_source_arn                   = "arn:aws:sqs:eu-west-1:123456789012:headwater-test-onboard-work"
      batch_size                         = 1
      maximum_batching_window_in_seconds = 0
      function_response_types            = ["ReportBatchItemFailures"]
      maximum_concurrency                = 2
    }
    error_message = "The worker's mapping: batch size 1, no window, partial failures, max_concurrency 2."
  }

  # "we recommend setting your queue's visibility timeout to at least six times the timeout that
  # you configure on your function" (Lambda, Configuring an Amazon SQS queue).
  # https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
  assert {
    condition     = local.visibility_timeout_seconds == 5400
    error_message = "The work queue's visibility timeout is six worker timeouts."
  }

  # --- one schedule per source with a literal input ---

  # "<aws.scheduler.scheduled-time>" is a context attribute the Scheduler substitutes in the
  # target input "as written" (Scheduler, Adding context attributes): a literal, never escaped.
  # https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html
  assert {
    condition = (
      aws_scheduler_schedule.source["crm"].target[0].input == "{\"source\": \"crm\", \"scheduled_time\": \"<aws.scheduler.scheduled-time>\"}" &&
      aws_scheduler_schedule.source["billing"].target[0].input == "{\"source\": \"billing\", \"scheduled_time\": \"<aws.scheduler.scheduled-time>\"}"
    )
    error_message = "Each schedule sends {\"source\": <name>, \"scheduled_time\": <aws.scheduler.scheduled-time>} as a literal."
  }

  assert {
    condition = (
      aws_scheduler_schedule.source["crm"].name == "headwater-test-onboard-crm" &&
      aws_scheduler_schedule.source["crm"].group_name == "headwater-test" &&
      aws_scheduler_schedule.source["crm"].state == "ENABLED" &&
      aws_scheduler_schedule.source["crm"].schedule_expression == "cron(0 2 * * ? *)" &&
      aws_scheduler_schedule.source["crm"].schedule_expression_timezone == "UTC" &&
      aws_scheduler_schedule.source["billing"].state == "DISABLED" &&
      aws_scheduler_schedule.source["billing"].schedule_expression_timezone == "Europe/Paris" &&
      aws_scheduler_schedule.source["crm"].target[0].role_arn == "arn:aws:iam::123456789012:role/headwater-test-scheduler" &&
      aws_scheduler_schedule.source["crm"].target[0].dead_letter_config[0].arn == "arn:aws:sqs:eu-west-1:123456789012:headwater-test-scheduler-dlq"
    )
    error_message = "One schedule per source in the platform group, nightly in UTC by default, disabled when asked, the platform role and DLQ."
  }

  # "When you create a new schedule, EventBridge Scheduler must have permission to invoke its
  # target API operation on your behalf. You grant these permissions to EventBridge Scheduler
  # using an execution role." For Lambda: lambda:InvokeFunction on the dispatcher only.
  # https://docs.aws.amazon.com/lambda/latest/dg/with-eventbridge-scheduler.html
  assert {
    condition = (
      local.scheduler_statements == [{ sid = "InvokeOnboardDispatcher", actions = ["lambda:InvokeFunction"], resources = ["arn:aws:lambda:eu-west-1:123456789012:function:headwater-test-onboard-dispatcher"] }] &&
      aws_iam_role_policy.scheduler_invoke_dispatcher.role == "headwater-test-scheduler"
    )
    error_message = "The platform's Scheduler role may invoke the dispatcher, nothing else of this module."
  }

  assert {
    condition     = output.onboard_schedule_names == { crm = "headwater-test-onboard-crm", billing = "headwater-test-onboard-billing" }
    error_message = "onboard_schedule_names maps each source to its schedule."
  }

  # --- state table keys ttl and protection ---

  assert {
    condition = (
      aws_dynamodb_table.state.hash_key == "pk" && aws_dynamodb_table.state.range_key == "sk" &&
      aws_dynamodb_table.state.ttl[0].attribute_name == "expires_at" && aws_dynamodb_table.state.ttl[0].enabled &&
      aws_dynamodb_table.state.point_in_time_recovery[0].enabled &&
      aws_dynamodb_table.state.server_side_encryption[0].kms_key_arn == var.kms_key_arn &&
      aws_dynamodb_table.state.billing_mode == "PAY_PER_REQUEST"
    )
    error_message = "State: pk/sk, TTL on expires_at, PITR, the platform key, on demand."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.tables_failed.metric_name == "TablesFailed" &&
      aws_cloudwatch_metric_alarm.tables_failed.dimensions["service"] == "onboard-worker" &&
      aws_cloudwatch_metric_alarm.tables_failed.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:headwater-test-alerts"])
    )
    error_message = "A failed table alarms the alerts topic (TablesFailed of the worker's service)."
  }

  # --- no vpc and no endpoints by default ---

  assert {
    condition     = local.vpc_config == null && length(aws_vpc_endpoint.gateway) == 0 && length(aws_vpc_endpoint.interface) == 0 && length(aws_security_group.endpoints) == 0
    error_message = "Without subnets the functions are outside any VPC and no endpoint is created."
  }
}

run "vpc_endpoints_for_private_subnets" {
  command = plan

  variables {
    subnet_ids           = ["subnet-0123456789abcdef0"]
    security_group_ids   = ["sg-0123456789abcdef0"]
    create_vpc_endpoints = true
    vpc_id               = "vpc-0123456789abcdef0"
    route_table_ids      = ["rtb-0123456789abcdef0"]
  }

  # "Gateway endpoints provide reliable connectivity to Amazon S3 and DynamoDB without requiring
  # an internet gateway or a NAT device for your VPC." The other services the functions call
  # (Secrets Manager, SQS, EventBridge) are interface endpoints with private DNS.
  # https://docs.aws.amazon.com/vpc/latest/privatelink/gateway-endpoints.html
  assert {
    condition = (
      toset([for e in aws_vpc_endpoint.gateway : e.service_name]) == toset(["com.amazonaws.eu-west-1.s3", "com.amazonaws.eu-west-1.dynamodb"]) &&
      alltrue([for e in aws_vpc_endpoint.gateway : e.vpc_endpoint_type == "Gateway" && toset(e.route_table_ids) == toset(["rtb-0123456789abcdef0"])]) &&
      toset([for e in aws_vpc_endpoint.interface : e.service_name]) == toset(["com.amazonaws.eu-west-1.secretsmanager", "com.amazonaws.eu-west-1.sqs", "com.amazonaws.eu-west-1.events"]) &&
      alltrue([for e in aws_vpc_endpoint.interface : e.vpc_endpoint_type == "Interface" && e.private_dns_enabled && toset(e.subnet_ids) == toset(["subnet-0123456789abcdef0"])])
    )
    error_message = "S3 and DynamoDB gateway endpoints on the route tables; Secrets Manager, SQS and EventBridge interface endpoints with private DNS in the subnets."
  }

  # "The security group associated with an interface endpoint must allow communication between the
  # endpoint network interface and the resources in your VPC that communicate with the service":
  # HTTPS from the functions' security groups, nothing else.
  # https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html
  assert {
    condition = jsonencode([
      for r in aws_security_group.endpoints[0].ingress : { from = r.from_port, to = r.to_port, protocol = r.protocol, groups = sort(r.security_groups), cidrs = coalesce(r.cidr_blocks, []) }
    ]) == jsonencode([{ from = 443, to = 443, protocol = "tcp", groups = ["sg-0123456789abcdef0"], cidrs = [] }])
    error_message = "The endpoints admit HTTPS from the functions' security groups only."
  }

  assert {
    condition     = jsonencode(local.vpc_config) == jsonencode({ security_group_ids = ["sg-0123456789abcdef0"], subnet_ids = ["subnet-0123456789abcdef0"] })
    error_message = "Both functions run in the given subnets with the given security groups."
  }
}

run "invalid_settings_are_refused" {
  command = plan

  # Subnets without security groups; endpoints without route tables; a part larger than /tmp
  # holds; a source name the declarations refuse. Each validation must fire.
  variables {
    subnet_ids                  = ["subnet-0123456789abcdef0"]
    create_vpc_endpoints        = true
    vpc_id                      = "vpc-0123456789abcdef0"
    part_bytes                  = 2147483648
    worker_ephemeral_storage_mb = 2048
    sources = {
      Bad-Name = { secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbCdEf" }
    }
  }

  expect_failures = [var.security_group_ids, var.route_table_ids, var.worker_ephemeral_storage_mb, var.sources]
}

run "without_sources_nothing_is_granted_on_secrets_or_objects" {
  command = plan

  variables {
    sources = {}
  }

  assert {
    condition = (
      length(aws_scheduler_schedule.source) == 0 &&
      length([for s in concat(local.dispatcher_statements, local.worker_statements) : s if anytrue([for a in s.actions : startswith(a, "secretsmanager:") || startswith(a, "s3:")])]) == 0 &&
      jsondecode(local.sources_json) == {}
    )
    error_message = "Without sources: no schedule, no secret and no object grant, ONBOARD_SOURCES is {}."
  }
}
