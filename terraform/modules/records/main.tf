data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  table_name             = "${var.name_prefix}-records"
  idempotency_table_name = "${var.name_prefix}-records-idempotency"
  api_name               = "${var.name_prefix}-records-api"
  summary_name           = "${var.name_prefix}-records-summary"
  schedule_name          = "${var.name_prefix}-records-summary"
  # Not coalesce(): it would skip "" (no suffix), which the local environment asks for.
  bucket_suffix = var.bucket_name_suffix != null ? var.bucket_name_suffix : "-${local.account_id}-${local.region}"
  bucket_name   = "${var.name_prefix}-records${local.bucket_suffix}"

  # API Gateway model names are alphanumeric; dataset names are lowercase letters, digits, "_"
  # and "-", so mapping "_" and "-" to the capitals X and Y keeps distinct names distinct.
  model_names = {
    for name in keys(var.record_datasets) :
    name => "Records${replace(replace(name, "_", "X"), "-", "Y")}"
  }

  # The API function's role, as a local so tests/policies.tftest.hcl can read it.
  api_statements = [
    {
      # Writes are BatchWriteItem only (one record is a batch of one); reads are single items.
      sid       = "WriteAndReadRecords"
      actions   = ["dynamodb:BatchWriteItem", "dynamodb:GetItem"]
      resources = [aws_dynamodb_table.records.arn]
    },
    {
      # Powertools' idempotency persistence layer: get, put (conditional), update, delete.
      sid       = "IdempotencyRecords"
      actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
      resources = [aws_dynamodb_table.idempotency.arn]
    },
    {
      # The caller's subscriber and grants, by key: no Query or Scan of the directory.
      sid       = "ReadTenancyDirectory"
      actions   = ["dynamodb:GetItem"]
      resources = [var.tenancy_table_arn]
    },
    {
      # Both tables are encrypted with the platform key; DynamoDB uses it on the caller's behalf.
      sid       = "UseKeyThroughDynamoDB"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
      resources = [var.kms_key_arn]
      conditions = [{
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["dynamodb.${local.region}.amazonaws.com"]
      }]
    },
  ]

  # The summary function's role: Query one week of a dataset, rewrite its export prefix.
  summary_statements = [
    {
      # Query only: a week is a set of (day, shard) partitions, never a Scan of the table.
      sid       = "QueryRecords"
      actions   = ["dynamodb:Query"]
      resources = [aws_dynamodb_table.records.arn]
    },
    {
      # List the parts a previous run left, under the export prefix only.
      sid       = "ListExportPrefix"
      actions   = ["s3:ListBucket"]
      resources = [module.bucket.arn]
      conditions = [{
        test     = "StringLike"
        variable = "s3:prefix"
        values   = ["${var.export_prefix}*"]
      }]
    },
    {
      # Write the week's Parquet parts and summary.json, remove parts of an earlier run. A part
      # above 8 MB is a multipart upload (covered by s3:PutObject); when one fails, the SDK
      # aborts it, which needs s3:AbortMultipartUpload (the bucket's lifecycle is the backstop).
      sid       = "WriteExports"
      actions   = ["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
      resources = ["${module.bucket.arn}/${var.export_prefix}*"]
    },
    {
      sid       = "UseKeyThroughDynamoDBAndS3"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
      resources = [var.kms_key_arn]
      conditions = [{
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["dynamodb.${local.region}.amazonaws.com", "s3.${local.region}.amazonaws.com"]
      }]
    },
  ]

  # Who may invoke the API function: API Gateway, for the records routes of this API only.
  api_triggers = {
    AllowRecordsPost = {
      principal  = "apigateway.amazonaws.com"
      source_arn = "${var.execution_arn}/*/POST/records/*"
    }
    AllowRecordsGet = {
      principal  = "apigateway.amazonaws.com"
      source_arn = "${var.execution_arn}/*/GET/records/*"
    }
  }

  # What EventBridge Scheduler's execution role may do for this module: invoke the summary.
  scheduler_statements = [
    {
      sid       = "InvokeRecordsSummary"
      actions   = ["lambda:InvokeFunction"]
      resources = [module.summary_function.function_arn]
    },
  ]
}

# ---------------------------------------------------------------------------------------------
# Tables. Records: pk = "<dataset>#<day>#<shard>", id = UUIDv7 (headwater.records.keys): a week
# of a dataset is 7 x shards Queries, and a day's writes spread over its shards.
# ---------------------------------------------------------------------------------------------
resource "aws_dynamodb_table" "records" {
  #checkov:skip=CKV2_AWS_16:Auto scaling applies to provisioned capacity; the table is PAY_PER_REQUEST, which scales by itself.
  name                        = local.table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "id"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "id"
    type = "S"
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  point_in_time_recovery {
    enabled = true
  }

  tags = var.tags
}

# Powertools' default idempotency layout: hash key "id", expiry in "expiration" (TTL).
resource "aws_dynamodb_table" "idempotency" {
  #checkov:skip=CKV2_AWS_16:Auto scaling applies to provisioned capacity; the table is PAY_PER_REQUEST, which scales by itself.
  name                        = local.idempotency_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "id"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "id"
    type = "S"
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  # Entries expire by themselves; restoring them would only replay stale responses, but PITR
  # costs little on a small table and keeps the platform's rule simple: every table has it.
  point_in_time_recovery {
    enabled = true
  }

  ttl {
    attribute_name = "expiration"
    enabled        = true
  }

  tags = var.tags
}

# ---------------------------------------------------------------------------------------------
# Export bucket: summaries/<dataset>/week=YYYY-Www/ (Parquet parts + summary.json).
# ---------------------------------------------------------------------------------------------
module "bucket" {
  source = "../bucket"

  name                               = local.bucket_name
  kms_key_arn                        = var.kms_key_arn
  force_destroy                      = var.force_destroy
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  tags                               = merge(var.tags, { Purpose = "records-exports" })
}

# ---------------------------------------------------------------------------------------------
# API: POST /records/<dataset>, GET /records/<dataset>/{id} -> the API function (Lambda proxy)
# ---------------------------------------------------------------------------------------------
module "api_function" {
  source = "../function"

  name          = local.api_name
  description   = "headwater records API: validate and store JSON records, read one back."
  artifact_path = var.api_artifact_path
  handler       = "headwater.handlers.records_api.handler"
  architecture  = var.architecture
  memory_size   = var.api_memory_size
  timeout       = var.api_timeout

  log_retention_days = var.log_retention_days
  kms_key_arn        = var.kms_key_arn
  alarm_topic_arn    = var.alarm_topic_arn

  # Exactly the variables the API function reads.
  environment_variables = {
    RECORDS_TABLE           = aws_dynamodb_table.records.name
    IDEMPOTENCY_TABLE       = aws_dynamodb_table.idempotency.name
    TENANCY_TABLE           = var.tenancy_table_name
    POWERTOOLS_SERVICE_NAME = "records-api"
    POWERTOOLS_LOG_LEVEL    = var.log_level
  }

  policy_statements = local.api_statements

  # Any stage of this API, and only the two methods of the records routes.
  allowed_triggers = local.api_triggers

  tags = var.tags
}

resource "aws_api_gateway_resource" "records" {
  rest_api_id = var.rest_api_id
  parent_id   = var.root_resource_id
  path_part   = "records"
}

# Static resources per dataset (not a {dataset} proxy): each POST carries its own model, which
# the gateway validates before the function runs.
resource "aws_api_gateway_resource" "dataset" {
  for_each = var.record_datasets

  rest_api_id = var.rest_api_id
  parent_id   = aws_api_gateway_resource.records.id
  path_part   = each.key
}

resource "aws_api_gateway_resource" "record" {
  for_each = var.record_datasets

  rest_api_id = var.rest_api_id
  parent_id   = aws_api_gateway_resource.dataset[each.key].id
  path_part   = "{id}"
}

resource "aws_api_gateway_model" "request" {
  for_each = var.record_datasets

  rest_api_id  = var.rest_api_id
  name         = local.model_names[each.key]
  description  = "POST /records/${each.key}: ${each.value.description}"
  content_type = "application/json"
  schema       = each.value.schema
}

resource "aws_api_gateway_method" "post" {
  for_each = var.record_datasets

  rest_api_id          = var.rest_api_id
  resource_id          = aws_api_gateway_resource.dataset[each.key].id
  http_method          = "POST"
  authorization        = "NONE"
  api_key_required     = true
  request_validator_id = var.body_and_params_validator_id
  request_models       = { "application/json" = aws_api_gateway_model.request[each.key].name }
}

resource "aws_api_gateway_integration" "post" {
  for_each = var.record_datasets

  rest_api_id             = var.rest_api_id
  resource_id             = aws_api_gateway_resource.dataset[each.key].id
  http_method             = aws_api_gateway_method.post[each.key].http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST" # Lambda is always invoked with POST
  uri                     = module.api_function.invoke_arn
}

resource "aws_api_gateway_method" "get" {
  for_each = var.record_datasets

  rest_api_id          = var.rest_api_id
  resource_id          = aws_api_gateway_resource.record[each.key].id
  http_method          = "GET"
  authorization        = "NONE"
  api_key_required     = true
  request_validator_id = var.params_validator_id
  request_parameters   = { "method.request.path.id" = true }
}

resource "aws_api_gateway_integration" "get" {
  for_each = var.record_datasets

  rest_api_id             = var.rest_api_id
  resource_id             = aws_api_gateway_resource.record[each.key].id
  http_method             = aws_api_gateway_method.get[each.key].http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = module.api_function.invoke_arn
}

# ---------------------------------------------------------------------------------------------
# Weekly summary: Scheduler (retries, then the platform's scheduler DLQ) -> summary function
# ---------------------------------------------------------------------------------------------
module "summary_function" {
  source = "../function"

  name          = local.summary_name
  description   = "headwater records summary: counts and a Parquet export of one ISO week per dataset."
  artifact_path = var.artifact_path
  handler       = "headwater.handlers.records_summary.handler"
  architecture  = var.architecture
  memory_size   = var.summary_memory_size
  timeout       = var.summary_timeout

  log_retention_days = var.log_retention_days
  kms_key_arn        = var.kms_key_arn
  # Errors > 0 notify the alerts topic: the function raises on failure, so a failed week alarms.
  alarm_topic_arn = var.alarm_topic_arn

  environment_variables = {
    RECORDS_TABLE                = aws_dynamodb_table.records.name
    EXPORT_BUCKET                = module.bucket.name
    EXPORT_PREFIX                = var.export_prefix
    SUMMARY_TIME_ZONE            = var.summary_schedule_time_zone
    POWERTOOLS_SERVICE_NAME      = "records-summary"
    POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
    POWERTOOLS_LOG_LEVEL         = var.log_level
  }

  policy_statements = local.summary_statements

  tags = var.tags
}

resource "aws_scheduler_schedule" "summary" {
  #checkov:skip=CKV_AWS_297:A schedule's CMK encrypts only its target input (Scheduler docs, encryption at rest), here the constant, non-sensitive {"scheduled_time": <template>}; the AWS owned key protects it and the platform key's policy grants Scheduler nothing.
  name        = local.schedule_name
  group_name  = var.schedule_group_name
  description = "Weekly records summary and export of the previous ISO week."
  state       = var.summary_schedule_enabled ? "ENABLED" : "DISABLED"

  schedule_expression          = var.summary_schedule_expression
  schedule_expression_timezone = var.summary_schedule_time_zone

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = module.summary_function.function_arn
    role_arn = var.scheduler_role_arn
    # The week is derived from the scheduled time, not the invocation time: a retry or a replay
    # from the DLQ days later still summarises the week it was scheduled for.
    # A literal, not jsonencode(): Terraform's JSON escapes "<" and ">" as \u003c and \u003e,
    # and Scheduler replaces only the context attribute as written, so the function would get
    # the placeholder instead of the time.
    input = "{\"scheduled_time\": \"<aws.scheduler.scheduled-time>\"}"

    retry_policy {
      maximum_retry_attempts       = var.summary_maximum_retry_attempts
      maximum_event_age_in_seconds = var.summary_maximum_event_age_seconds
    }

    dead_letter_config {
      arn = var.scheduler_dlq_arn
    }
  }

  depends_on = [aws_iam_role_policy.scheduler_invoke_summary]
}

# The platform's Scheduler role may invoke this function and nothing else of this module.
data "aws_iam_policy_document" "scheduler_invoke_summary" {
  dynamic "statement" {
    for_each = local.scheduler_statements
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

resource "aws_iam_role_policy" "scheduler_invoke_summary" {
  name   = "${var.name_prefix}-records-summary-invoke"
  role   = var.scheduler_role_name
  policy = data.aws_iam_policy_document.scheduler_invoke_summary.json
}
