locals {
  # Subscribers and internal keys as one map of plans: name -> throttle, quota (null = none).
  plans = merge(
    { for name, s in var.subscribers : name => merge(s, { kind = "subscriber" }) },
    {
      for name, k in var.internal_keys : name => {
        throttle_rate_limit  = k.throttle_rate_limit
        throttle_burst_limit = k.throttle_burst_limit
        quota_limit          = null
        quota_period         = null
        kind                 = "internal"
        datasets             = [] # internal keys read every dataset
      }
    },
  )

  # Never the key itself: $context.identity.apiKey is deliberately absent.
  access_log_format = jsonencode({
    requestId          = "$context.requestId"
    extendedRequestId  = "$context.extendedRequestId"
    requestTime        = "$context.requestTime"
    sourceIp           = "$context.identity.sourceIp"
    userAgent          = "$context.identity.userAgent"
    apiKeyId           = "$context.identity.apiKeyId"
    httpMethod         = "$context.httpMethod"
    resourcePath       = "$context.resourcePath"
    path               = "$context.path"
    status             = "$context.status"
    protocol           = "$context.protocol"
    responseLength     = "$context.responseLength"
    responseLatency    = "$context.responseLatency"
    integrationLatency = "$context.integrationLatency"
    integrationStatus  = "$context.integrationStatus"
    errorMessage       = "$context.error.message"
    xrayTraceId        = "$context.xrayTraceId"
  })
}

# ---------------------------------------------------------------------------------------------
# Deployment: a snapshot of every route. Replaced (new one first, so the stage never points at
# nothing) whenever a route of the API or of a capability changes.
# ---------------------------------------------------------------------------------------------
resource "aws_api_gateway_deployment" "this" {
  rest_api_id = var.rest_api_id
  description = "Routes fingerprint ${sha1(jsonencode(var.redeployment_triggers))}"

  triggers = {
    redeployment = sha1(jsonencode(var.redeployment_triggers))
  }

  lifecycle {
    create_before_destroy = true
  }
}

# ---------------------------------------------------------------------------------------------
# Stage with access logs (JSON, encrypted) and X-Ray
# ---------------------------------------------------------------------------------------------
resource "aws_cloudwatch_log_group" "access" {
  #checkov:skip=CKV_AWS_338:Retention is a validated caller choice; local and dev keep access logs briefly on purpose, prod sets a year or more.
  name              = "/aws/apigateway/${var.rest_api_name}/${var.stage_name}/access"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_api_gateway_stage" "this" {
  #checkov:skip=CKV_AWS_120:Responses are per API key and datasets are replaced daily; a stage cache would cost by the hour and could serve a replaced version after the switch the loader guarantees.
  #checkov:skip=CKV2_AWS_29:WAF is an account-level edge decision (web ACL, managed rules, cost); the module throttles every key through usage plans and the stage defaults. Associate a web ACL with the stage ARN where policy requires one.
  #checkov:skip=CKV2_AWS_51:Client certificates authenticate API Gateway to HTTP backends; this API's only backends are Lambda proxy and MOCK integrations.
  #checkov:skip=CKV2_AWS_4:Execution logging needs the account-wide API Gateway CloudWatch role (aws_api_gateway_account), which one stack must not take over; access logs (JSON, CMK-encrypted) and X-Ray cover every request.
  rest_api_id          = var.rest_api_id
  deployment_id        = aws_api_gateway_deployment.this.id
  stage_name           = var.stage_name
  description          = "${var.rest_api_name} ${var.stage_name}"
  xray_tracing_enabled = var.xray_tracing_enabled

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format          = local.access_log_format
  }

  tags = var.tags
}

resource "aws_api_gateway_method_settings" "all" {
  #checkov:skip=CKV_AWS_225:Caching is off on purpose (see the stage: per-key responses, daily replacement).
  #checkov:skip=CKV_AWS_308:No cache exists to encrypt (caching_enabled is false).
  rest_api_id = var.rest_api_id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    throttling_rate_limit  = var.throttle_rate_limit
    throttling_burst_limit = var.throttle_burst_limit
    caching_enabled        = false
    # Execution logs stay off: they need the account-wide CloudWatch role (see the stage).
    logging_level      = "OFF"
    data_trace_enabled = false
  }
}

# A 5XX is the API's fault (a function error or timeout, a misconfigured integration), never
# the caller's: alarm on the stage's count. 4XX (bad keys, throttling) is the callers' business.
resource "aws_cloudwatch_metric_alarm" "server_errors" {
  alarm_name          = "${var.rest_api_name}-${var.stage_name}-5xx"
  alarm_description   = "The ${var.rest_api_name} API (stage ${var.stage_name}) answered server errors: see the API functions' logs and the access log."
  namespace           = "AWS/ApiGateway"
  metric_name         = "5XXError"
  dimensions          = { ApiName = var.rest_api_name, Stage = aws_api_gateway_stage.this.stage_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.server_error_alarm_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  ok_actions          = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
  tags                = var.tags
}

# ---------------------------------------------------------------------------------------------
# Usage plans and keys: one plan per subscriber (throttle + quota) and per internal key
# (throttle only). A plan per key, because throttle and quota are set per plan.
# ---------------------------------------------------------------------------------------------
resource "aws_api_gateway_usage_plan" "this" {
  for_each = local.plans

  name        = "${var.rest_api_name}-${each.key}"
  description = "${each.value.kind} ${each.key} on ${var.rest_api_name}/${var.stage_name}"

  api_stages {
    api_id = var.rest_api_id
    stage  = aws_api_gateway_stage.this.stage_name
  }

  throttle_settings {
    rate_limit  = each.value.throttle_rate_limit
    burst_limit = each.value.throttle_burst_limit
  }

  dynamic "quota_settings" {
    for_each = each.value.quota_limit == null ? [] : [1]
    content {
      limit  = each.value.quota_limit
      period = each.value.quota_period
    }
  }

  tags = merge(var.tags, { KeyKind = each.value.kind })
}

resource "aws_api_gateway_api_key" "this" {
  for_each = local.plans

  # The value is generated by API Gateway and stays in state only; see the README for reading it.
  name        = "${var.rest_api_name}-${each.key}"
  description = "${each.value.kind} key ${each.key}"
  enabled     = true
  tags        = merge(var.tags, { KeyKind = each.value.kind })
}

resource "aws_api_gateway_usage_plan_key" "this" {
  for_each = local.plans

  key_id        = aws_api_gateway_api_key.this[each.key].id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.this[each.key].id

  # A key opens the API only once the directory says whose it is (an unknown key would be
  # denied, but a key must never work before its grants are in place).
  depends_on = [aws_dynamodb_table_item.key, aws_dynamodb_table_item.subscriber]
}

# ---------------------------------------------------------------------------------------------
# Tenancy directory entries (layout of headwater.tenancy): every name is a subscriber, of kind
# internal (reads every dataset) or subscriber (reads its datasets); every key names its
# subscriber. `headwater keys create|rotate` adds keys of the same subscribers; a rotated
# Terraform key is replaced here (terraform apply -replace), so its new id gets this item too.
# ---------------------------------------------------------------------------------------------
resource "aws_dynamodb_table_item" "subscriber" {
  for_each = local.plans

  table_name = var.tenancy_table_name
  hash_key   = "pk"
  item = jsonencode({
    pk            = { S = "subscriber#${each.key}" }
    kind          = { S = each.value.kind }
    datasets      = { L = [for d in sort(each.value.datasets) : { S = d }] }
    usage_plan_id = { S = aws_api_gateway_usage_plan.this[each.key].id }
  })
}

resource "aws_dynamodb_table_item" "key" {
  for_each = local.plans

  table_name = var.tenancy_table_name
  hash_key   = "pk"
  item = jsonencode({
    pk         = { S = "key#${aws_api_gateway_api_key.this[each.key].id}" }
    subscriber = { S = each.key }
    managed_by = { S = "terraform" }
  })
}
