data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  table_name    = "${var.name_prefix}-lookups"
  loader_name   = "${var.name_prefix}-lookup-loader"
  api_name      = "${var.name_prefix}-lookup-api"
  event_bus_arn = "arn:${local.partition}:events:${local.region}:${local.account_id}:event-bus/${var.event_bus_name}"

  # Built, not read: the loader's policy names it without waiting for the queue to settle.
  dlq_name = "${var.name_prefix}-lookup-dlq"
  dlq_arn  = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.dlq_name}"

  # Every route the API function answers, below /lookups. Path parameters are required; the
  # key list pages with optional limit and cursor.
  routes = {
    dataset = {
      resource = "dataset"
      parameters = {
        "method.request.path.dataset"       = true
        "method.request.querystring.limit"  = false
        "method.request.querystring.cursor" = false
      }
    }
    key = {
      resource = "key"
      parameters = {
        "method.request.path.dataset" = true
        "method.request.path.key"     = true
      }
    }
    member = {
      resource = "member"
      parameters = {
        "method.request.path.dataset" = true
        "method.request.path.key"     = true
        "method.request.path.member"  = true
      }
    }
  }
  # The API function's role, as a local so tests/policies.tftest.hcl can read it.
  api_statements = [
    {
      sid       = "ReadLookupTable"
      actions   = ["dynamodb:GetItem", "dynamodb:Query"]
      resources = [aws_dynamodb_table.this.arn]
    },
    {
      # Which subscriber a key belongs to and what it is granted: single items by key, nothing
      # else (no Query or Scan: a function cannot list other subscribers or keys).
      sid       = "ReadTenancyDirectory"
      actions   = ["dynamodb:GetItem"]
      resources = [var.tenancy_table_arn]
    },
    {
      sid       = "UseKeyThroughDynamoDB"
      actions   = ["kms:Decrypt", "kms:DescribeKey"]
      resources = [var.kms_key_arn]
      conditions = [{
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["dynamodb.${local.region}.amazonaws.com"]
      }]
    },
  ]

  resource_ids = {
    dataset = aws_api_gateway_resource.dataset.id
    key     = aws_api_gateway_resource.key.id
    member  = aws_api_gateway_resource.member.id
  }
}

# ---------------------------------------------------------------------------------------------
# Table: pointer, manifest, key index and data items of every dataset (layout owned by
# headwater.lookup.store). expires_at is a backstop only: the loader deletes old versions.
# ---------------------------------------------------------------------------------------------
resource "aws_dynamodb_table" "this" {
  #checkov:skip=CKV2_AWS_16:Auto scaling applies to provisioned capacity; the table is PAY_PER_REQUEST, which scales by itself.
  name                        = local.table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  point_in_time_recovery {
    enabled = true
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  tags = var.tags
}

# ---------------------------------------------------------------------------------------------
# Loader: raw bucket --(EventBridge notification)--> rule --> loader (retries, then the DLQ)
# ---------------------------------------------------------------------------------------------
module "loader" {
  source = "../function"

  name          = local.loader_name
  description   = "headwater lookup: load a CSV from the raw bucket into the lookup table, then switch the dataset's version."
  artifact_path = var.artifact_path
  handler       = "headwater.handlers.lookup_loader.handler"
  architecture  = var.architecture
  memory_size   = var.loader_memory_size
  timeout       = var.loader_timeout

  log_retention_days = var.log_retention_days
  kms_key_arn        = var.kms_key_arn
  alarm_topic_arn    = var.alarm_topic_arn

  # Exactly the variables the loader reads (tests/static checks this against the interface and
  # the code).
  environment_variables = {
    LOOKUP_TABLE                 = aws_dynamodb_table.this.name
    LOOKUP_PREFIX                = var.key_prefix
    EVENT_BUS_NAME               = var.event_bus_name
    POWERTOOLS_SERVICE_NAME      = "lookup"
    POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
  }

  policy_statements = [
    {
      # Write the new version, switch the pointer conditionally, delete the old version;
      # UpdateItem sets the TTL backstop (expires_at) on the version it retires.
      sid = "LoadLookupTable"
      actions = [
        "dynamodb:BatchWriteItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:ConditionCheckItem",
      ]
      resources = [aws_dynamodb_table.this.arn]
    },
    {
      sid       = "ReadLookupFiles"
      actions   = ["s3:GetObject", "s3:GetObjectVersion"]
      resources = ["${var.raw_bucket_arn}/${var.key_prefix}*"]
    },
    {
      sid       = "PublishLoadEvents"
      actions   = ["events:PutEvents"]
      resources = [local.event_bus_arn]
    },
    {
      # Decrypt the SSE-KMS raw objects and use the table's key, only through those services.
      sid       = "UseKeyThroughS3AndDynamoDB"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
      resources = [var.kms_key_arn]
      conditions = [{
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.amazonaws.com", "dynamodb.${local.region}.amazonaws.com"]
      }]
    },
    {
      # Invocations that still fail after Lambda's own retries land in the DLQ (see below).
      sid       = "SendFailedInvocationsToDlq"
      actions   = ["sqs:SendMessage"]
      resources = [local.dlq_arn]
    },
    {
      # The DLQ is encrypted; the failure destination writes to it with the function's role.
      sid       = "EncryptForDlq"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [var.kms_key_arn]
      conditions = [{
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["sqs.${local.region}.amazonaws.com"]
      }]
    },
  ]

  # EventBridge invokes the loader for the lookup rule only.
  allowed_triggers = {
    AllowLookupFileRule = {
      principal  = "events.amazonaws.com"
      source_arn = aws_cloudwatch_event_rule.lookup_file.arn
    }
  }

  tags = var.tags
}

resource "aws_cloudwatch_event_rule" "lookup_file" {
  name        = "${var.name_prefix}-lookup-file-created"
  description = "Lookup CSVs created under ${var.key_prefix} in the raw bucket."
  state       = "ENABLED"

  event_pattern = jsonencode({
    source        = ["aws.s3"]
    "detail-type" = ["Object Created"]
    detail = {
      bucket = { name = [var.raw_bucket_name] }
      object = { key = [{ prefix = var.key_prefix }] }
    }
  })

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "loader" {
  rule      = aws_cloudwatch_event_rule.lookup_file.name
  target_id = "lookup-loader"
  arn       = module.loader.function_arn

  # An event EventBridge cannot hand to Lambda (throttling, permissions) is kept, not dropped.
  retry_policy {
    maximum_event_age_in_seconds = var.event_maximum_age_seconds
    maximum_retry_attempts       = var.event_retry_attempts
  }

  dead_letter_config {
    arn = module.dlq.queue_arn
  }
}

# The rule could not invoke the loader after its retries (the event goes to the DLQ), or could
# not even park it there (the event is lost): AWS/Events per rule.
resource "aws_cloudwatch_metric_alarm" "rule_failures" {
  for_each = {
    failed-invocations = {
      metric      = "FailedInvocations"
      description = "The lookup rule failed to invoke the loader (check its permission and throttling); the events go to ${local.dlq_name}."
    }
    dlq-delivery-failed = {
      metric      = "InvocationsFailedToBeSentToDlq"
      description = "The lookup rule could invoke neither the loader nor deliver to ${local.dlq_name}: those lookup file events are lost (check the DLQ and key policies)."
    }
  }

  alarm_name          = "${aws_cloudwatch_event_rule.lookup_file.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = "AWS/Events"
  metric_name         = each.value.metric
  dimensions          = { RuleName = aws_cloudwatch_event_rule.lookup_file.name }
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

# EventBridge invokes asynchronously: after Lambda's own two retries a failed load would vanish.
# It goes to the same DLQ instead, so one queue holds every load that did not happen.
resource "aws_lambda_function_event_invoke_config" "loader" {
  function_name          = module.loader.function_name
  maximum_retry_attempts = 2
  # Lambda keeps an asynchronous event at most 6 hours (EventBridge's own limit is 24).
  maximum_event_age_in_seconds = min(var.event_maximum_age_seconds, 21600)

  destination_config {
    on_failure {
      destination = module.dlq.queue_arn
    }
  }
}

# The DLQ of the rule target and of the loader's asynchronous invocations: itself a dead-letter
# target, so no DLQ of its own. Only the lookup rule may send (the loader writes with its role).
module "dlq" {
  source = "../queue"

  name                      = local.dlq_name
  create_dlq                = false
  source_principal          = "events.amazonaws.com"
  source_arn                = aws_cloudwatch_event_rule.lookup_file.arn
  kms_key_arn               = var.kms_key_arn
  message_retention_seconds = var.dlq_message_retention_seconds
  alarm_topic_arn           = var.alarm_topic_arn
  dlq_alarm_description     = "Lookup file events were not delivered to, or failed in, the loader; they wait in ${local.dlq_name}."
  tags                      = var.tags
}

# ---------------------------------------------------------------------------------------------
# API: GET /lookups/{dataset}[/{key}[/{member}]] -> the API function (Lambda proxy), key required
# ---------------------------------------------------------------------------------------------
module "api_function" {
  source = "../function"

  name          = local.api_name
  description   = "headwater lookup API: answer GET /lookups/... from the lookup table."
  artifact_path = var.api_artifact_path
  handler       = "headwater.handlers.lookup_api.handler"
  architecture  = var.architecture
  memory_size   = var.api_memory_size
  timeout       = var.api_timeout

  log_retention_days = var.log_retention_days
  kms_key_arn        = var.kms_key_arn
  alarm_topic_arn    = var.alarm_topic_arn

  # Exactly the variables the API function reads.
  environment_variables = {
    LOOKUP_TABLE            = aws_dynamodb_table.this.name
    TENANCY_TABLE           = var.tenancy_table_name
    POWERTOOLS_SERVICE_NAME = "lookup-api"
  }

  policy_statements = local.api_statements

  allowed_triggers = {
    AllowLookupRoutes = {
      principal = "apigateway.amazonaws.com"
      # Any stage of this API, GET on the lookup routes only.
      source_arn = "${var.execution_arn}/*/GET/lookups/*"
    }
  }

  tags = var.tags
}

resource "aws_api_gateway_resource" "lookups" {
  rest_api_id = var.rest_api_id
  parent_id   = var.root_resource_id
  path_part   = "lookups"
}

resource "aws_api_gateway_resource" "dataset" {
  rest_api_id = var.rest_api_id
  parent_id   = aws_api_gateway_resource.lookups.id
  path_part   = "{dataset}"
}

resource "aws_api_gateway_resource" "key" {
  rest_api_id = var.rest_api_id
  parent_id   = aws_api_gateway_resource.dataset.id
  path_part   = "{key}"
}

resource "aws_api_gateway_resource" "member" {
  rest_api_id = var.rest_api_id
  parent_id   = aws_api_gateway_resource.key.id
  path_part   = "{member}"
}

resource "aws_api_gateway_method" "get" {
  for_each = local.routes

  rest_api_id          = var.rest_api_id
  resource_id          = local.resource_ids[each.key]
  http_method          = "GET"
  authorization        = "NONE"
  api_key_required     = true
  request_parameters   = each.value.parameters
  request_validator_id = var.params_validator_id
}

resource "aws_api_gateway_integration" "get" {
  for_each = local.routes

  rest_api_id             = var.rest_api_id
  resource_id             = local.resource_ids[each.key]
  http_method             = aws_api_gateway_method.get[each.key].http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST" # Lambda is always invoked with POST
  uri                     = module.api_function.invoke_arn
}

# ---------------------------------------------------------------------------------------------
# Earlier addresses of resources that moved into ../queue and ../function (same objects).
# ---------------------------------------------------------------------------------------------
moved {
  from = aws_sqs_queue.dlq
  to   = module.dlq.aws_sqs_queue.this
}

moved {
  from = aws_cloudwatch_metric_alarm.dlq_depth
  to   = module.dlq.aws_cloudwatch_metric_alarm.dlq_depth
}

moved {
  from = aws_lambda_permission.events_invoke_loader
  to   = module.loader.aws_lambda_permission.this["AllowLookupFileRule"]
}

moved {
  from = aws_lambda_permission.api_invoke
  to   = module.api_function.aws_lambda_permission.this["AllowLookupRoutes"]
}
