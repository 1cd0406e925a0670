# onboard: relational databases (PostgreSQL) copied into S3 as Parquet on a schedule. One
# schedule per source fires the dispatcher, which plans a run (tables, key ranges) in the state
# table and sends one work message per table or range; the worker extracts each into Parquet
# parts under the source's prefix, continues long tables in new messages, and reports the run on
# EventBridge. Each handler's docstring and Settings name what it reads.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  state_table_name = "${var.name_prefix}-onboard-state"
  dispatcher_name  = "${var.name_prefix}-onboard-dispatcher"
  worker_name      = "${var.name_prefix}-onboard-worker"
  queue_name       = "${var.name_prefix}-onboard-work"
  dlq_name         = "${var.name_prefix}-onboard-work-dlq"
  # Not coalesce(): it would skip "" (no suffix), which the local environment asks for.
  bucket_suffix = var.bucket_name_suffix != null ? var.bucket_name_suffix : "-${local.account_id}-${local.region}"
  bucket_name   = "${var.name_prefix}-onboard${local.bucket_suffix}"
  bucket_arn    = "arn:${local.partition}:s3:::${local.bucket_name}"

  # Built, not read: the roles name them without waiting for the queues to settle (~25 s each).
  dispatcher_arn = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${local.dispatcher_name}"
  queue_arn      = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.queue_name}"
  dlq_arn        = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.dlq_name}"
  event_bus_arn  = "arn:${local.partition}:events:${local.region}:${local.account_id}:event-bus/${var.event_bus_name}"

  # Lambda's guidance for SQS sources: visibility >= 6x the function timeout (no batching window).
  visibility_timeout_seconds = 6 * var.worker_timeout

  # What the functions read (ONBOARD_SOURCES): each source's secret, never the secret itself,
  # and the prefix its objects may go under (the dispatcher refuses a declaration that differs).
  sources_json = jsonencode({ for name, s in var.sources : name => {
    secret_arn    = s.secret_arn
    target_prefix = coalesce(s.target_prefix, "${name}/")
  } })
  secret_arns     = sort(distinct([for s in values(var.sources) : s.secret_arn]))
  secret_key_arns = sort(distinct(compact([for s in values(var.sources) : s.secret_kms_key_arn])))
  target_prefixes = sort(distinct([for name, s in var.sources : coalesce(s.target_prefix, "${name}/")]))

  vpc_config = length(var.subnet_ids) == 0 ? null : {
    subnet_ids         = var.subnet_ids
    security_group_ids = var.security_group_ids
  }

  kms_via = {
    dynamodb       = "dynamodb.${local.region}.amazonaws.com"
    s3             = "s3.${local.region}.amazonaws.com"
    secretsmanager = "secretsmanager.${local.region}.amazonaws.com"
    sqs            = "sqs.${local.region}.amazonaws.com"
  }

  # -------------------------------------------------------------------------------------------
  # Roles, as locals so tests/policies.tftest.hcl can read them.
  # -------------------------------------------------------------------------------------------
  # Both functions connect to the sources (the dispatcher reads the catalog for [[schemas]]).
  secret_statements = concat(
    length(local.secret_arns) == 0 ? [] : [{
      # Exactly the declared sources' secrets: no prefix, no wildcard.
      sid        = "ReadSourceSecrets"
      actions    = ["secretsmanager:GetSecretValue"]
      resources  = local.secret_arns
      conditions = []
    }],
    length(local.secret_key_arns) == 0 ? [] : [{
      # A secret encrypted with a customer managed key is decrypted through Secrets Manager.
      sid       = "DecryptSourceSecrets"
      actions   = ["kms:Decrypt"]
      resources = local.secret_key_arns
      conditions = [{
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [local.kms_via.secretsmanager]
      }]
    }],
  )

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

  # The queues are encrypted with the platform key: sending encrypts, receiving decrypts.
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

  dispatcher_statements = concat(local.secret_statements, [
    {
      # Runs, tables, ranges and the run index, by key (conditional puts) and by Query on one
      # run's partition.
      sid        = "PlanRuns"
      actions    = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"]
      resources  = [aws_dynamodb_table.state.arn]
      conditions = []
    },
    {
      # One message per table or range (SendMessageBatch is authorised as sqs:SendMessage).
      sid        = "SendWork"
      actions    = ["sqs:SendMessage"]
      resources  = [local.queue_arn]
      conditions = []
    },
    local.sqs_key_statement,
    local.dynamodb_key_statement,
  ])

  worker_statements = concat(local.secret_statements, [
    {
      # What Lambda's event source mapping does on the function's behalf.
      sid        = "ConsumeWork"
      actions    = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
      resources  = [local.queue_arn]
      conditions = []
    },
    {
      # A continuation goes back to the work queue; a message past ONBOARD_MAX_ATTEMPTS is
      # moved to the DLQ by the worker itself.
      sid        = "SendContinuationsAndGiveUps"
      actions    = ["sqs:SendMessage"]
      resources  = [local.queue_arn, local.dlq_arn]
      conditions = []
    },
    {
      sid        = "TrackRuns"
      actions    = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"]
      resources  = [aws_dynamodb_table.state.arn]
      conditions = []
    },
    {
      # The run completion event, on the one bus.
      sid        = "ReportRuns"
      actions    = ["events:PutEvents"]
      resources  = [local.event_bus_arn]
      conditions = []
    },
    local.sqs_key_statement,
    local.dynamodb_key_statement,
    ],
    length(local.target_prefixes) == 0 ? [] : [
      {
        # Parts, manifests and run summaries under the sources' prefixes only. A part above the
        # SDK's multipart threshold is a multipart upload (s3:PutObject); a failed one is
        # aborted (s3:AbortMultipartUpload; the bucket's lifecycle is the backstop). A retried
        # range deletes the parts past its checkpoint.
        sid        = "WriteLanding"
        actions    = ["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
        resources  = [for p in local.target_prefixes : "${local.bucket_arn}/${p}*"]
        conditions = []
      },
      {
        sid       = "ListLanding"
        actions   = ["s3:ListBucket"]
        resources = [local.bucket_arn]
        conditions = [{
          test     = "StringLike"
          variable = "s3:prefix"
          values   = [for p in local.target_prefixes : "${p}*"]
        }]
      },
      {
        # SSE-KMS objects: writing generates a data key, reading (and multipart) decrypts.
        sid       = "UseKeyThroughS3"
        actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
        resources = [var.kms_key_arn]
        conditions = [{
          test     = "StringEquals"
          variable = "kms:ViaService"
          values   = [local.kms_via.s3]
        }]
      },
  ])

  # What the platform's Scheduler role may do for this module: invoke the dispatcher.
  scheduler_statements = [
    {
      sid       = "InvokeOnboardDispatcher"
      actions   = ["lambda:InvokeFunction"]
      resources = [local.dispatcher_arn]
    },
  ]

  # The worker's event source mapping, as a local so the tests can read it: one message per
  # invocation (a table or range can take the whole timeout), partial batch responses, at most
  # max_concurrency extractions at once.
  worker_mapping = {
    event_source_arn                   = module.work_queue.queue_arn
    batch_size                         = 1
    maximum_batching_window_in_seconds = 0
    function_response_types            = ["ReportBatchItemFailures"]
    maximum_concurrency                = var.max_concurrency
  }

  # "<aws.scheduler.scheduled-time>" must reach the Scheduler as written: a literal, not
  # jsonencode() (which escapes "<" and ">" as \u003c and \u003e, and the Scheduler replaces
  # only the attribute as written). Source names are [a-z0-9_]: nothing to escape.
  schedule_inputs = {
    for name in keys(var.sources) :
    name => "{\"source\": \"${name}\", \"scheduled_time\": \"<aws.scheduler.scheduled-time>\"}"
  }
}

# ---------------------------------------------------------------------------------------------
# State: runs, tables, range checkpoints, high-water marks, the run index (pk/sk, see
# headwater.onboard.runs). Run items expire through TTL; marks carry no expires_at.
# ---------------------------------------------------------------------------------------------
resource "aws_dynamodb_table" "state" {
  #checkov:skip=CKV2_AWS_16:Auto scaling applies to provisioned capacity; the table is PAY_PER_REQUEST, which scales by itself.
  name                        = local.state_table_name
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

# ---------------------------------------------------------------------------------------------
# Landing bucket: <target_prefix><schema>.<table>/run=<run_id>/part-NNNNN.parquet + _manifest.json,
# <target_prefix>_runs/run=<run_id>/summary.json.
# ---------------------------------------------------------------------------------------------
module "bucket" {
  source = "../bucket"

  name                               = local.bucket_name
  kms_key_arn                        = var.kms_key_arn
  force_destroy                      = var.force_destroy
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  tags                               = merge(var.tags, { Purpose = "onboard-landing" })
}

# ---------------------------------------------------------------------------------------------
# Work queue: one message per table or range. The two functions send with their roles (same
# account: the queue policy is TLS-only). A message received more than max_attempts times is
# moved to the DLQ by the worker; maxReceiveCount = max_attempts + 2 is SQS's backstop.
# ---------------------------------------------------------------------------------------------
module "work_queue" {
  source = "../queue"

  name                       = local.queue_name
  dlq_name                   = local.dlq_name
  kms_key_arn                = var.kms_key_arn
  visibility_timeout_seconds = local.visibility_timeout_seconds
  message_retention_seconds  = var.work_retention_seconds
  max_receive_count          = var.max_attempts + 2
  alarm_topic_arn            = var.alarm_topic_arn
  dlq_alarm_description      = "Onboard work given up on (a table or range failed ${var.max_attempts} attempts, or its worker crashed): its messages wait in ${local.dlq_name}; the run's summary names the table and the error."
  tags                       = var.tags
}

# ---------------------------------------------------------------------------------------------
# Dispatcher: a schedule's fire (or `headwater onboard run`) -> the run's plan and its messages.
# ---------------------------------------------------------------------------------------------
module "dispatcher_function" {
  source = "../function"

  name          = local.dispatcher_name
  description   = "headwater onboard dispatcher: plans a source's run (tables, key ranges) and sends its work."
  artifact_path = var.artifact_path
  handler       = "headwater.handlers.onboard_dispatcher.handler"
  architecture  = var.architecture
  memory_size   = var.dispatcher_memory_size
  timeout       = var.dispatcher_timeout
  vpc_config    = local.vpc_config

  log_retention_days = var.log_retention_days
  kms_key_arn        = var.kms_key_arn
  alarm_topic_arn    = var.alarm_topic_arn

  environment_variables = {
    ONBOARD_STATE_TABLE          = aws_dynamodb_table.state.name
    ONBOARD_WORK_QUEUE_URL       = module.work_queue.queue_url
    ONBOARD_SOURCES              = local.sources_json
    ONBOARD_RUN_RETENTION_DAYS   = tostring(var.run_retention_days)
    POWERTOOLS_SERVICE_NAME      = "onboard-dispatcher"
    POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
    POWERTOOLS_LOG_LEVEL         = var.log_level
  }

  policy_statements = local.dispatcher_statements

  tags = var.tags
}

# ---------------------------------------------------------------------------------------------
# Worker: one table or range per invocation, from the work queue.
# ---------------------------------------------------------------------------------------------
module "worker_function" {
  source = "../function"

  name                 = local.worker_name
  description          = "headwater onboard worker: one table or key range of a source into Parquet parts on S3."
  artifact_path        = var.artifact_path
  handler              = "headwater.handlers.onboard_worker.handler"
  architecture         = var.architecture
  memory_size          = var.worker_memory_size
  timeout              = var.worker_timeout
  ephemeral_storage_mb = var.worker_ephemeral_storage_mb
  vpc_config           = local.vpc_config

  log_retention_days = var.log_retention_days
  kms_key_arn        = var.kms_key_arn
  alarm_topic_arn    = var.alarm_topic_arn

  environment_variables = {
    ONBOARD_STATE_TABLE          = aws_dynamodb_table.state.name
    ONBOARD_WORK_QUEUE_URL       = module.work_queue.queue_url
    ONBOARD_WORK_DLQ_URL         = module.work_queue.dlq_url
    ONBOARD_SOURCES              = local.sources_json
    ONBOARD_BUCKET               = module.bucket.name
    ONBOARD_EVENT_BUS_NAME       = var.event_bus_name
    ONBOARD_PART_BYTES           = tostring(var.part_bytes)
    ONBOARD_MAX_ATTEMPTS         = tostring(var.max_attempts)
    ONBOARD_RUN_RETENTION_DAYS   = tostring(var.run_retention_days)
    POWERTOOLS_SERVICE_NAME      = "onboard-worker"
    POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
    POWERTOOLS_LOG_LEVEL         = var.log_level
  }

  policy_statements = local.worker_statements

  event_source_mappings = { work = local.worker_mapping }

  tags = var.tags
}

# A table that failed (after its attempts, or rejected: an undeclared table, an unrepresentable
# value) is reported by the worker as the TablesFailed metric; any one is worth a look.
resource "aws_cloudwatch_metric_alarm" "tables_failed" {
  alarm_name          = "${local.worker_name}-tables-failed"
  alarm_description   = "An onboard run marked a table failed: see the run's summary (<target_prefix>_runs/run=<run_id>/summary.json) or `headwater onboard status`."
  namespace           = var.metrics_namespace
  metric_name         = "TablesFailed"
  dimensions          = { service = "onboard-worker" }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  ok_actions          = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  tags                = var.tags
}

# ---------------------------------------------------------------------------------------------
# Schedules: one per source in the platform's group, with the platform's role (retries, then the
# platform's Scheduler DLQ). The run id comes from the scheduled time, so a retry or a replay
# finds the same run.
# ---------------------------------------------------------------------------------------------
resource "aws_scheduler_schedule" "source" {
  #checkov:skip=CKV_AWS_297:A schedule's CMK encrypts only its target input (Scheduler docs, encryption at rest), here the constant, non-sensitive {"source", "scheduled_time"}; the AWS owned key protects it and the platform key's policy grants Scheduler nothing.
  for_each = var.sources

  name        = "${var.name_prefix}-onboard-${each.key}"
  group_name  = var.schedule_group_name
  description = "Onboard run of the ${each.key} source."
  state       = each.value.enabled ? "ENABLED" : "DISABLED"

  schedule_expression          = each.value.schedule_expression
  schedule_expression_timezone = each.value.schedule_time_zone

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = module.dispatcher_function.function_arn
    role_arn = var.scheduler_role_arn
    input    = local.schedule_inputs[each.key]

    retry_policy {
      maximum_retry_attempts       = var.schedule_retry_attempts
      maximum_event_age_in_seconds = var.schedule_maximum_event_age_seconds
    }

    dead_letter_config {
      arn = var.scheduler_dlq_arn
    }
  }

  depends_on = [aws_iam_role_policy.scheduler_invoke_dispatcher]
}

# The platform's Scheduler role may invoke the dispatcher and nothing else of this module.
data "aws_iam_policy_document" "scheduler_invoke_dispatcher" {
  dynamic "statement" {
    for_each = local.scheduler_statements
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

resource "aws_iam_role_policy" "scheduler_invoke_dispatcher" {
  name   = "${var.name_prefix}-onboard-dispatcher-invoke"
  role   = var.scheduler_role_name
  policy = data.aws_iam_policy_document.scheduler_invoke_dispatcher.json
}

# ---------------------------------------------------------------------------------------------
# Optional VPC endpoints: functions in private subnets reach S3, DynamoDB, Secrets Manager, SQS
# and EventBridge without a NAT gateway. Logs and metrics need none: Lambda ships the logs
# (Powertools metrics are log lines) outside the function's network.
# ---------------------------------------------------------------------------------------------
resource "aws_vpc_endpoint" "gateway" {
  for_each = var.create_vpc_endpoints ? toset(["s3", "dynamodb"]) : toset([])

  vpc_id            = var.vpc_id
  service_name      = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = var.route_table_ids
  tags              = merge(var.tags, { Name = "${var.name_prefix}-onboard-${each.key}" })
}

resource "aws_security_group" "endpoints" {
  count = var.create_vpc_endpoints ? 1 : 0

  name        = "${var.name_prefix}-onboard-endpoints"
  description = "Interface endpoints of the onboard functions: HTTPS from the functions' security groups only."
  vpc_id      = var.vpc_id

  ingress {
    description     = "HTTPS from the onboard functions."
    from_port       = 443
    to_port         = 443
    protocol        = "tcp"
    security_groups = var.security_group_ids
  }

  tags = var.tags
}

resource "aws_vpc_endpoint" "interface" {
  for_each = var.create_vpc_endpoints ? toset(["secretsmanager", "sqs", "events"]) : toset([])

  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = var.subnet_ids
  security_group_ids  = [aws_security_group.endpoints[0].id]
  private_dns_enabled = true
  tags                = merge(var.tags, { Name = "${var.name_prefix}-onboard-${each.key}" })
}
