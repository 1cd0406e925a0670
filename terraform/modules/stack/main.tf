# One environment of the platform: what every capability shares, each capability, then the API
# stage. Environments call this module with their values only; adding a capability touches this
# file (a module block, its routes' deployment_triggers, its outputs) and nothing else.

locals {
  # Lambda code comes in function groups (scripts/build_artifact.py): "api" for API functions,
  # "data" for the functions that move data, "onboard" for onboard's (database drivers).
  api_artifact     = var.artifacts["api"]
  data_artifact    = var.artifacts["data"]
  onboard_artifact = var.artifacts["onboard"]
}

module "platform" {
  source = "../platform"

  name_prefix                        = var.name_prefix
  bucket_name_suffix                 = var.bucket_name_suffix
  force_destroy                      = var.force_destroy
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  kms_deletion_window_days           = var.kms_deletion_window_days
  # The alias the key had when ingest owned it: an alias is renamed by replacing it.
  kms_alias_name   = "alias/${var.name_prefix}-ingest"
  alerts_topic_arn = var.alerts_topic_arn
  alert_emails     = var.alert_emails
  tags             = var.tags

  manage_api_gateway_account = var.manage_api_gateway_account
  deletion_protection        = var.deletion_protection
}

# ---------------------------------------------------------------------------------------------
# Capabilities: each takes the platform's outputs and creates only what is its own.
# ---------------------------------------------------------------------------------------------
module "ingest" {
  source = "../ingest"

  name_prefix        = var.name_prefix
  bucket_name_suffix = var.bucket_name_suffix
  artifact_path      = local.data_artifact
  architecture       = var.architecture
  raw_bucket_name    = module.platform.raw_bucket_name
  raw_bucket_arn     = module.platform.raw_bucket_arn
  kms_key_arn        = module.platform.kms_key_arn
  alarm_topic_arn    = module.platform.alerts_topic_arn
  key_prefix         = var.ingest_key_prefix
  log_level          = var.log_level

  force_destroy                      = var.force_destroy
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  log_retention_days                 = var.log_retention_days
  function_timeout                   = var.ingest_function_timeout
  function_memory_size               = var.ingest_memory_size
  batching_window_seconds            = var.ingest_batching_window_seconds
  maximum_concurrency                = var.ingest_maximum_concurrency
  deferral_alarm_threshold           = var.ingest_deferral_alarm.threshold
  deferral_alarm_period_seconds      = var.ingest_deferral_alarm.period_seconds
  deferral_alarm_evaluation_periods  = var.ingest_deferral_alarm.evaluation_periods
  tags                               = var.tags
}

module "lookup" {
  source = "../lookup"

  name_prefix         = var.name_prefix
  artifact_path       = local.data_artifact
  api_artifact_path   = local.api_artifact
  architecture        = var.architecture
  raw_bucket_name     = module.platform.raw_bucket_name
  raw_bucket_arn      = module.platform.raw_bucket_arn
  key_prefix          = var.lookup_key_prefix
  kms_key_arn         = module.platform.kms_key_arn
  alarm_topic_arn     = module.platform.alerts_topic_arn
  rest_api_id         = module.platform.rest_api_id
  root_resource_id    = module.platform.root_resource_id
  execution_arn       = module.platform.execution_arn
  params_validator_id = module.platform.params_validator_id
  tenancy_table_name  = module.platform.tenancy_table_name
  tenancy_table_arn   = module.platform.tenancy_table_arn

  deletion_protection = var.deletion_protection
  log_retention_days  = var.log_retention_days
  tags                = var.tags
}

module "records" {
  source = "../records"

  name_prefix                  = var.name_prefix
  bucket_name_suffix           = var.bucket_name_suffix
  artifact_path                = local.data_artifact
  api_artifact_path            = local.api_artifact
  architecture                 = var.architecture
  record_datasets              = var.record_datasets
  kms_key_arn                  = module.platform.kms_key_arn
  alarm_topic_arn              = module.platform.alerts_topic_arn
  rest_api_id                  = module.platform.rest_api_id
  root_resource_id             = module.platform.root_resource_id
  execution_arn                = module.platform.execution_arn
  params_validator_id          = module.platform.params_validator_id
  body_and_params_validator_id = module.platform.body_and_params_validator_id
  tenancy_table_name           = module.platform.tenancy_table_name
  tenancy_table_arn            = module.platform.tenancy_table_arn
  schedule_group_name          = module.platform.schedule_group_name
  scheduler_role_name          = module.platform.scheduler_role_name
  scheduler_role_arn           = module.platform.scheduler_role_arn
  scheduler_dlq_arn            = module.platform.scheduler_dlq_arn

  summary_schedule_expression = var.records_summary_schedule_expression
  summary_schedule_time_zone  = var.records_summary_time_zone

  force_destroy                      = var.force_destroy
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  deletion_protection                = var.deletion_protection
  log_retention_days                 = var.log_retention_days
  log_level                          = var.log_level
  tags                               = var.tags
}

module "collect" {
  source = "../collect"

  name_prefix         = var.name_prefix
  bucket_name_suffix  = var.bucket_name_suffix
  artifact_path       = local.data_artifact
  api_artifact_path   = local.api_artifact
  architecture        = var.architecture
  kms_key_arn         = module.platform.kms_key_arn
  alarm_topic_arn     = module.platform.alerts_topic_arn
  rest_api_id         = module.platform.rest_api_id
  root_resource_id    = module.platform.root_resource_id
  execution_arn       = module.platform.execution_arn
  params_validator_id = module.platform.params_validator_id
  tenancy_table_name  = module.platform.tenancy_table_name
  tenancy_table_arn   = module.platform.tenancy_table_arn
  schedule_group_name = module.platform.schedule_group_name
  scheduler_dlq_arn   = module.platform.scheduler_dlq_arn

  min_interval_minutes         = var.collect_min_interval_minutes
  max_schedules_per_subscriber = var.collect_max_schedules_per_subscriber
  fact_retention_days          = var.collect_fact_retention_days
  meta_base_url                = var.collect_meta_base_url
  sink_batching_window_seconds = var.collect_sink_batching_window_seconds

  force_destroy                      = var.force_destroy
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  deletion_protection                = var.deletion_protection
  log_retention_days                 = var.log_retention_days
  log_level                          = var.log_level
  tags                               = var.tags
}

module "onboard" {
  source = "../onboard"

  name_prefix         = var.name_prefix
  bucket_name_suffix  = var.bucket_name_suffix
  artifact_path       = local.onboard_artifact
  architecture        = var.architecture
  kms_key_arn         = module.platform.kms_key_arn
  alarm_topic_arn     = module.platform.alerts_topic_arn
  schedule_group_name = module.platform.schedule_group_name
  scheduler_role_name = module.platform.scheduler_role_name
  scheduler_role_arn  = module.platform.scheduler_role_arn
  scheduler_dlq_arn   = module.platform.scheduler_dlq_arn

  sources              = var.onboard_sources
  max_concurrency      = var.onboard_max_concurrency
  part_bytes           = var.onboard_part_bytes
  max_attempts         = var.onboard_max_attempts
  worker_timeout       = var.onboard_worker_timeout
  worker_memory_size   = var.onboard_worker_memory_size
  subnet_ids           = var.onboard_subnet_ids
  security_group_ids   = var.onboard_security_group_ids
  create_vpc_endpoints = var.onboard_create_vpc_endpoints
  vpc_id               = var.onboard_vpc_id
  route_table_ids      = var.onboard_route_table_ids

  force_destroy                      = var.force_destroy
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  deletion_protection                = var.deletion_protection
  log_retention_days                 = var.log_retention_days
  log_level                          = var.log_level
  tags                               = var.tags
}

# ---------------------------------------------------------------------------------------------
# Stage, usage plans and keys: after every capability, so the deployment snapshots every route.
# ---------------------------------------------------------------------------------------------
module "api_stage" {
  source = "../api_stage"

  rest_api_id        = module.platform.rest_api_id
  rest_api_name      = module.platform.rest_api_name
  kms_key_arn        = module.platform.kms_key_arn
  log_retention_days = var.log_retention_days
  subscribers        = var.subscribers
  internal_keys      = var.internal_keys
  tenancy_table_name = module.platform.tenancy_table_name
  alarm_topic_arn    = module.platform.alerts_topic_arn
  tags               = var.tags

  # Every capability's routes: a change to any of them redeploys the stage.
  redeployment_triggers = concat(
    module.platform.deployment_triggers,
    module.lookup.deployment_triggers,
    module.records.deployment_triggers,
    module.collect.deployment_triggers,
  )

  # Where the platform sets the account's API Gateway logging role, the stage (access logging)
  # waits for it: API Gateway refuses access logging until the account has one.
  depends_on = [module.platform]
}
