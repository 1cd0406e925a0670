# collect: subscribers manage EventBridge Scheduler schedules through the REST API; each fire
# runs the collector (a source connector -> the facts table); the facts table's stream feeds the
# sink, which writes every change to S3. Each handler's docstring and Settings name what it reads.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  facts_table_name    = "${var.name_prefix}-collect-facts"
  state_table_name    = "${var.name_prefix}-collect-state"
  api_name            = "${var.name_prefix}-collect-api"
  collector_name      = "${var.name_prefix}-collect-collector"
  sink_name           = "${var.name_prefix}-collect-sink"
  schedule_role_name  = "${var.name_prefix}-collect-schedules"
  collector_queue     = "${var.name_prefix}-collect-collector-failures"
  sink_queue          = "${var.name_prefix}-collect-sink-failures"
  secret_prefix       = "${var.name_prefix}/collect/"
  schedule_name_start = "c-" # headwater.collect: c-<16 hex of sha256(subscriber)>-<name>
  # Not coalesce(): it would skip "" (no suffix), which the local environment asks for.
  bucket_suffix = var.bucket_name_suffix != null ? var.bucket_name_suffix : "-${local.account_id}-${local.region}"
  bucket_name   = "${var.name_prefix}-collect${local.bucket_suffix}"

  # Built, not read: the functions' roles name them, and the queues' policies name the functions,
  # so reading either from its resource would be a cycle.
  collector_arn       = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${local.collector_name}"
  sink_arn            = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${local.sink_name}"
  collector_queue_arn = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.collector_queue}"
  sink_queue_arn      = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.sink_queue}"
  schedule_role_arn   = "arn:${local.partition}:iam::${local.account_id}:role/${local.schedule_role_name}"

  # The schedules the API manages: collect's own, in the platform's group, never another
  # capability's (records' summary lives in the same group under another name).
  schedules_arn = "arn:${local.partition}:scheduler:${local.region}:${local.account_id}:schedule/${var.schedule_group_name}/${local.schedule_name_start}*"
  # A secret's ARN ends with "-" and six random characters: the prefix is followed by "*".
  secrets_arn = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${local.secret_prefix}*"

  kms_via = {
    dynamodb       = "dynamodb.${local.region}.amazonaws.com"
    s3             = "s3.${local.region}.amazonaws.com"
    secretsmanager = "secretsmanager.${local.region}.amazonaws.com"
    sqs            = "sqs.${local.region}.amazonaws.com"
  }

  # Tables are encrypted with the platform key; DynamoDB uses it on the caller's behalf.
  dynamodb_key_statement = {
    sid       = "UseKeyThroughDynamoDB"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
    conditions = [{
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.kms_via.dynamodb]
    }]
  }

  # A failures queue is encrypted with the platform key: sending to it encrypts through SQS.
  sqs_key_statement = {
    sid       = "UseKeyThroughSqs"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.kms_key_arn]
    conditions = [{
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.kms_via.sqs]
    }]
  }

  # -------------------------------------------------------------------------------------------
  # Roles, as locals so tests/policies.tftest.hcl can read them.
  # -------------------------------------------------------------------------------------------
  api_statements = [
    {
      # Create, read, change and delete collect's schedules only (names start with "c-").
      sid       = "ManageCollectSchedules"
      actions   = ["scheduler:CreateSchedule", "scheduler:GetSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"]
      resources = [local.schedules_arn]
    },
    {
      # ListSchedules has no resource type: "*" is the only valid resource.
      sid       = "ListSchedules"
      actions   = ["scheduler:ListSchedules"]
      resources = ["*"]
    },
    {
      # A schedule names the role the Scheduler assumes; only the collect schedule role, and
      # only to the Scheduler.
      sid       = "PassScheduleRole"
      actions   = ["iam:PassRole"]
      resources = [local.schedule_role_arn]
      conditions = [{
        test     = "StringEquals"
        variable = "iam:PassedToService"
        values   = ["scheduler.amazonaws.com"]
      }]
    },
    {
      # POST /schedules/{name}/run: an asynchronous invocation of the collector.
      sid       = "RunCollectorNow"
      actions   = ["lambda:InvokeFunction"]
      resources = [local.collector_arn]
    },
    {
      # Connections are write-only: create, replace, delete, describe; never GetSecretValue.
      sid       = "ManageConnections"
      actions   = ["secretsmanager:CreateSecret", "secretsmanager:PutSecretValue", "secretsmanager:DeleteSecret", "secretsmanager:DescribeSecret", "secretsmanager:TagResource"]
      resources = [local.secrets_arn]
    },
    {
      # ListSecrets has no resource type: "*" is the only valid resource.
      sid       = "ListConnections"
      actions   = ["secretsmanager:ListSecrets"]
      resources = ["*"]
    },
    {
      # Secrets Manager encrypts a new secret value with a data key of the platform key.
      sid       = "UseKeyThroughSecretsManager"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [var.kms_key_arn]
      conditions = [{
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [local.kms_via.secretsmanager]
      }]
    },
    {
      # DELETE /schedules/{name} removes the schedule's checkpoint; nothing else of the state.
      sid       = "DeleteCheckpoints"
      actions   = ["dynamodb:DeleteItem"]
      resources = [aws_dynamodb_table.state.arn]
    },
    {
      # The caller's subscriber and grants, by key: no Query or Scan of the directory.
      sid       = "ReadTenancyDirectory"
      actions   = ["dynamodb:GetItem"]
      resources = [var.tenancy_table_arn]
    },
    local.dynamodb_key_statement,
  ]

  collector_statements = [
    {
      # The token of the schedule's connection (the collector reads <prefix><subscriber>/<name>).
      sid       = "ReadConnections"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [local.secrets_arn]
    },
    {
      sid       = "DecryptConnections"
      actions   = ["kms:Decrypt"]
      resources = [var.kms_key_arn]
      conditions = [{
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [local.kms_via.secretsmanager]
      }]
    },
    {
      # Facts are written in batches (batch_writer), overwriting by key: never read or deleted.
      sid       = "WriteFacts"
      actions   = ["dynamodb:BatchWriteItem", "dynamodb:PutItem"]
      resources = [aws_dynamodb_table.facts.arn]
    },
    {
      sid       = "ReadAndWriteCheckpoints"
      actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
      resources = [aws_dynamodb_table.state.arn]
    },
    {
      # Lambda sends the record of an event that failed every attempt with the function's role.
      sid       = "ReportFailedRuns"
      actions   = ["sqs:SendMessage"]
      resources = [local.collector_queue_arn]
    },
    local.sqs_key_statement,
    local.dynamodb_key_statement,
  ]

  sink_statements = [
    {
      # What Lambda's event source mapping reads on the function's behalf: this table's streams.
      sid       = "ReadFactsStream"
      actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"]
      resources = ["${aws_dynamodb_table.facts.arn}/stream/*"]
    },
    {
      # One object per batch and partition, under the changes prefix; a retried batch
      # rewrites its keys, and a trimmed batch deletes what it must not keep.
      sid       = "WriteChanges"
      actions   = ["s3:PutObject", "s3:DeleteObject"]
      resources = ["${module.bucket.arn}/${var.changes_prefix}*"]
    },
    {
      sid       = "UseKeyThroughS3"
      actions   = ["kms:GenerateDataKey"]
      resources = [var.kms_key_arn]
      conditions = [{
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [local.kms_via.s3]
      }]
    },
    {
      # The mapping's on-failure destination is written with the function's role.
      sid       = "ReportFailedBatches"
      actions   = ["sqs:SendMessage"]
      resources = [local.sink_queue_arn]
    },
    local.sqs_key_statement,
    # The stream of a table encrypted with a customer managed key is decrypted with it.
    local.dynamodb_key_statement,
  ]

  # What the Scheduler may do with the collect schedule role: invoke the collector, and
  # dead-letter a fire that failed its retries into the platform's Scheduler DLQ.
  schedule_statements = [
    {
      sid        = "InvokeCollector"
      actions    = ["lambda:InvokeFunction"]
      resources  = [local.collector_arn]
      conditions = []
    },
    {
      sid        = "DeadLetterFailedFires"
      actions    = ["sqs:SendMessage"]
      resources  = [var.scheduler_dlq_arn]
      conditions = []
    },
    {
      sid       = "EncryptForDlq"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [var.kms_key_arn]
      conditions = [{
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [local.kms_via.sqs]
      }]
    },
  ]

  # -------------------------------------------------------------------------------------------
  # Routes: resource -> path below the root, then method -> resource, verb, parameters.
  # -------------------------------------------------------------------------------------------
  route_paths = {
    schedules   = "schedules"
    schedule    = "schedules/*"
    run         = "schedules/*/run"
    connections = "connections"
    connection  = "connections/*"
  }
  name_parameter = { "method.request.path.name" = true }
  methods = {
    create_schedule = { resource = "schedules", verb = "POST", parameters = {} }
    list_schedules = {
      resource = "schedules", verb = "GET"
      parameters = {
        "method.request.querystring.limit" = false
        "method.request.querystring.next"  = false
      }
    }
    get_schedule      = { resource = "schedule", verb = "GET", parameters = local.name_parameter }
    update_schedule   = { resource = "schedule", verb = "PATCH", parameters = local.name_parameter }
    delete_schedule   = { resource = "schedule", verb = "DELETE", parameters = local.name_parameter }
    run_schedule      = { resource = "run", verb = "POST", parameters = local.name_parameter }
    create_connection = { resource = "connections", verb = "POST", parameters = {} }
    list_connections  = { resource = "connections", verb = "GET", parameters = {} }
    put_connection    = { resource = "connection", verb = "PUT", parameters = local.name_parameter }
    delete_connection = {
      resource   = "connection", verb = "DELETE"
      parameters = merge(local.name_parameter, { "method.request.querystring.force" = false })
    }
  }
  resource_ids = {
    schedules   = aws_api_gateway_resource.schedules.id
    schedule    = aws_api_gateway_resource.schedule.id
    run         = aws_api_gateway_resource.run.id
    connections = aws_api_gateway_resource.connections.id
    connection  = aws_api_gateway_resource.connection.id
  }

  # The sink's event source mapping, as a local so the tests can read it. TRIM_HORIZON: a new
  # mapping starts with the oldest change still on the stream (24 h), so none is skipped.
  # One batch per shard at a time (parallelization 1) keeps each key's changes in order.
  sink_mapping = {
    event_source_arn                   = aws_dynamodb_table.facts.stream_arn
    starting_position                  = "TRIM_HORIZON"
    batch_size                         = var.sink_batch_size
    maximum_batching_window_in_seconds = var.sink_batching_window_seconds
    parallelization_factor             = 1
    function_response_types            = ["ReportBatchItemFailures"]
    bisect_batch_on_function_error     = true
    maximum_retry_attempts             = var.sink_maximum_retry_attempts
    maximum_record_age_in_seconds      = var.sink_maximum_record_age_seconds
    on_failure_destination_arn         = module.sink_failures.queue_arn
  }

  # Who may invoke the API function: API Gateway, for exactly these methods and paths (any stage).
  api_triggers = {
    for name, m in local.methods :
    "AllowCollect${replace(title(replace(name, "_", " ")), " ", "")}" => {
      principal  = "apigateway.amazonaws.com"
      source_arn = "${var.execution_arn}/*/${m.verb}/${local.route_paths[m.resource]}"
    }
  }
}

# ---------------------------------------------------------------------------------------------
# Tables. Facts: pk/sk from headwater.collect.facts, overwritten by key (a rerun never
# duplicates), every change on the stream; optional expiry through TTL. State: checkpoints.
# ---------------------------------------------------------------------------------------------
resource "aws_dynamodb_table" "facts" {
  #checkov:skip=CKV2_AWS_16:Auto scaling applies to provisioned capacity; the table is PAY_PER_REQUEST, which scales by itself.
  name                        = local.facts_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = var.deletion_protection

  # New and old images: the sink writes what changed, including REMOVE (TTL expiries too).
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  # Always on: facts without expires_at (fact_retention_days = 0) never expire.
  ttl {
    attribute_name = "expires_at"
    enabled        = true
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

resource "aws_dynamodb_table" "state" {
  #checkov:skip=CKV2_AWS_16:Auto scaling applies to provisioned capacity; the table is PAY_PER_REQUEST, which scales by itself.
  name                        = local.state_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "pk"
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

# ---------------------------------------------------------------------------------------------
# Changes bucket: <changes_prefix>... Parquet objects written by the sink.
# ---------------------------------------------------------------------------------------------
module "bucket" {
  source = "../bucket"

  name                               = local.bucket_name
  kms_key_arn                        = var.kms_key_arn
  force_destroy                      = var.force_destroy
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  tags                               = merge(var.tags, { Purpose = "collect-changes" })
}

# ---------------------------------------------------------------------------------------------
# Schedule role: what every collect schedule's target runs as. Only the collector, only fires of
# this account's Scheduler.
# ---------------------------------------------------------------------------------------------
data "aws_iam_policy_document" "schedule_assume" {
  statement {
    sid     = "SchedulerAssumes"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    # Only schedules of this account (confused deputy).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "schedule" {
  name               = local.schedule_role_name
  description        = "Assumed by EventBridge Scheduler for the ${var.name_prefix} collect schedules: invokes the collector only."
  assume_role_policy = data.aws_iam_policy_document.schedule_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "schedule" {
  dynamic "statement" {
    for_each = local.schedule_statements
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources

      dynamic "condition" {
        for_each = statement.value.conditions
        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

resource "aws_iam_role_policy" "schedule" {
  name   = "${local.schedule_role_name}-permissions"
  role   = aws_iam_role.schedule.id
  policy = data.aws_iam_policy_document.schedule.json
}

# ---------------------------------------------------------------------------------------------
# Collector: invoked asynchronously (Scheduler, run-now). A raised error is retried by Lambda,
# then the event's record goes to the failures queue (alarm). Delivery failures are the
# Scheduler's retry policy and the platform's Scheduler DLQ.
# ---------------------------------------------------------------------------------------------
module "collector_function" {
  source = "../function"

  name          = local.collector_name
  description   = "headwater collect collector: one schedule's windows from its source connector into the facts table."
  artifact_path = var.artifact_path
  handler       = "headwater.handlers.collect_collector.handler"
  architecture  = var.architecture
  memory_size   = var.collector_memory_size
  timeout       = var.collector_timeout

  log_retention_days = var.log_retention_days
  kms_key_arn        = var.kms_key_arn
  alarm_topic_arn    = var.alarm_topic_arn

  environment_variables = {
    COLLECT_FACTS_TABLE          = aws_dynamodb_table.facts.name
    COLLECT_STATE_TABLE          = aws_dynamodb_table.state.name
    COLLECT_SECRET_PREFIX        = local.secret_prefix
    COLLECT_LAG_DAYS             = tostring(var.lag_days)
    COLLECT_MAX_BACKFILL_DAYS    = tostring(var.max_backfill_days)
    COLLECT_INITIAL_DAYS         = tostring(var.initial_days)
    COLLECT_FACT_RETENTION_DAYS  = tostring(var.fact_retention_days)
    COLLECT_META_BASE_URL        = var.meta_base_url
    POWERTOOLS_SERVICE_NAME      = "collect-collector"
    POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
    POWERTOOLS_LOG_LEVEL         = var.log_level
  }

  policy_statements = local.collector_statements

  tags = var.tags
}

# The queue only receives Lambda's records of failed events; no DLQ behind it (the alarm
# watches the queue itself).
module "collector_failures" {
  source = "../queue"

  name                      = local.collector_queue
  create_dlq                = false
  source_principal          = "lambda.amazonaws.com"
  source_arn                = local.collector_arn
  kms_key_arn               = var.kms_key_arn
  message_retention_seconds = var.failures_retention_seconds
  alarm_topic_arn           = var.alarm_topic_arn
  dlq_alarm_description     = "Collector runs failed every attempt; their events wait in ${local.collector_queue}."
  tags                      = var.tags
}

resource "aws_lambda_function_event_invoke_config" "collector" {
  function_name                = module.collector_function.function_name
  maximum_retry_attempts       = var.collector_maximum_retry_attempts
  maximum_event_age_in_seconds = var.collector_maximum_event_age_seconds

  destination_config {
    on_failure {
      destination = module.collector_failures.queue_arn
    }
  }
}

# ---------------------------------------------------------------------------------------------
# Sink: the facts table's stream -> changes in S3, partial batch responses, bisect on error,
# bounded retries and record age, then the batch's record to the failures queue (alarm).
# ---------------------------------------------------------------------------------------------
module "sink_function" {
  source = "../function"

  name          = local.sink_name
  description   = "headwater collect sink: every change of the facts table to S3 as Parquet."
  artifact_path = var.artifact_path
  handler       = "headwater.handlers.collect_sink.handler"
  architecture  = var.architecture
  memory_size   = var.sink_memory_size
  timeout       = var.sink_timeout

  log_retention_days = var.log_retention_days
  kms_key_arn        = var.kms_key_arn
  alarm_topic_arn    = var.alarm_topic_arn

  environment_variables = {
    COLLECT_CHANGES_BUCKET       = module.bucket.name
    COLLECT_CHANGES_PREFIX       = var.changes_prefix
    POWERTOOLS_SERVICE_NAME      = "collect-sink"
    POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
    POWERTOOLS_LOG_LEVEL         = var.log_level
  }

  policy_statements = local.sink_statements

  event_source_mappings = { facts_stream = local.sink_mapping }

  tags = var.tags
}

module "sink_failures" {
  source = "../queue"

  name                      = local.sink_queue
  create_dlq                = false
  source_principal          = "lambda.amazonaws.com"
  source_arn                = local.sink_arn
  kms_key_arn               = var.kms_key_arn
  message_retention_seconds = var.failures_retention_seconds
  alarm_topic_arn           = var.alarm_topic_arn
  dlq_alarm_description     = "Stream batches the sink gave up on (retries or record age exhausted); their records wait in ${local.sink_queue}."
  tags                      = var.tags
}

# A sink falling behind shows as the age of the newest record it reads: alarm before records
# reach maximum_record_age and are given up on.
resource "aws_cloudwatch_metric_alarm" "sink_iterator_age" {
  alarm_name          = "${local.sink_name}-iterator-age"
  alarm_description   = "The collect sink is more than ${var.sink_iterator_age_alarm_seconds} s behind the facts stream."
  namespace           = "AWS/Lambda"
  metric_name         = "IteratorAge"
  dimensions          = { FunctionName = module.sink_function.function_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.sink_iterator_age_alarm_seconds * 1000 # the metric is in milliseconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  ok_actions          = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  tags                = var.tags
}

# ---------------------------------------------------------------------------------------------
# API: /schedules, /schedules/{name}, /schedules/{name}/run, /connections, /connections/{name}
# -> the API function (Lambda proxy). Bodies are validated by the function (every error in one
# 400); the gateway checks the required path parameters.
# ---------------------------------------------------------------------------------------------
module "api_function" {
  source = "../function"

  name          = local.api_name
  description   = "headwater collect API: subscribers' schedules (EventBridge Scheduler) and connections (Secrets Manager)."
  artifact_path = var.api_artifact_path
  handler       = "headwater.handlers.collect_api.handler"
  architecture  = var.architecture
  memory_size   = var.api_memory_size
  timeout       = var.api_timeout

  log_retention_days = var.log_retention_days
  kms_key_arn        = var.kms_key_arn
  alarm_topic_arn    = var.alarm_topic_arn

  environment_variables = {
    TENANCY_TABLE                 = var.tenancy_table_name
    COLLECT_SCHEDULE_GROUP        = var.schedule_group_name
    COLLECT_COLLECTOR_ARN         = module.collector_function.function_arn
    COLLECT_SCHEDULE_ROLE_ARN     = aws_iam_role.schedule.arn
    COLLECT_SCHEDULE_DLQ_ARN      = var.scheduler_dlq_arn
    COLLECT_RETRY_ATTEMPTS        = tostring(var.schedule_retry_attempts)
    COLLECT_RETRY_MAX_AGE_SECONDS = tostring(var.schedule_retry_max_age_seconds)
    COLLECT_MIN_INTERVAL_MINUTES  = tostring(var.min_interval_minutes)
    COLLECT_MAX_SCHEDULES         = tostring(var.max_schedules_per_subscriber)
    COLLECT_SECRET_PREFIX         = local.secret_prefix
    COLLECT_KMS_KEY_ARN           = var.kms_key_arn
    COLLECT_STATE_TABLE           = aws_dynamodb_table.state.name
    POWERTOOLS_SERVICE_NAME       = "collect-api"
    POWERTOOLS_LOG_LEVEL          = var.log_level
  }

  policy_statements = local.api_statements
  allowed_triggers  = local.api_triggers

  tags = var.tags
}

resource "aws_api_gateway_resource" "schedules" {
  rest_api_id = var.rest_api_id
  parent_id   = var.root_resource_id
  path_part   = "schedules"
}

resource "aws_api_gateway_resource" "schedule" {
  rest_api_id = var.rest_api_id
  parent_id   = aws_api_gateway_resource.schedules.id
  path_part   = "{name}"
}

resource "aws_api_gateway_resource" "run" {
  rest_api_id = var.rest_api_id
  parent_id   = aws_api_gateway_resource.schedule.id
  path_part   = "run"
}

resource "aws_api_gateway_resource" "connections" {
  rest_api_id = var.rest_api_id
  parent_id   = var.root_resource_id
  path_part   = "connections"
}

resource "aws_api_gateway_resource" "connection" {
  rest_api_id = var.rest_api_id
  parent_id   = aws_api_gateway_resource.connections.id
  path_part   = "{name}"
}

resource "aws_api_gateway_method" "this" {
  for_each = local.methods

  rest_api_id          = var.rest_api_id
  resource_id          = local.resource_ids[each.value.resource]
  http_method          = each.value.verb
  authorization        = "NONE"
  api_key_required     = true
  request_validator_id = var.params_validator_id
  request_parameters   = each.value.parameters
}

resource "aws_api_gateway_integration" "this" {
  for_each = local.methods

  rest_api_id             = var.rest_api_id
  resource_id             = local.resource_ids[each.value.resource]
  http_method             = aws_api_gateway_method.this[each.key].http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST" # Lambda is always invoked with POST
  uri                     = module.api_function.invoke_arn
}
