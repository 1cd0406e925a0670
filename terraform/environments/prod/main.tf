provider "aws" {
  region = var.region

  # Credentials come from the default chain (environment, profile, SSO, instance role).
  default_tags {
    tags = {
      Project     = "headwater"
      Environment = "prod"
    }
  }
}

module "ingest" {
  source = "../../modules/ingest"

  name_prefix      = "headwater-prod"
  artifact_path    = var.artifact_path
  architecture     = var.architecture
  key_prefix       = var.key_prefix
  alerts_topic_arn = var.alerts_topic_arn
  alert_emails     = var.alert_emails
  log_level        = var.log_level

  # Prod: data outlives mistakes. Buckets with objects refuse to be destroyed, the key waits
  # the longest AWS allows, logs and old object versions are kept longer.
  force_destroy                      = false
  kms_deletion_window_days           = 30
  log_retention_days                 = 731
  noncurrent_version_expiration_days = 90
  maximum_concurrency                = 10
  function_memory_size               = 2048
}

# One REST API per environment; capabilities add their routes to it, the stage deploys them all.
module "api" {
  source = "../../modules/api"

  name = "headwater-prod"
}

module "lookup" {
  source = "../../modules/lookup"

  name_prefix         = "headwater-prod"
  artifact_path       = var.artifact_path
  architecture        = var.architecture
  raw_bucket_name     = module.ingest.raw_bucket_name
  raw_bucket_arn      = module.ingest.raw_bucket_arn
  key_prefix          = var.lookup_key_prefix
  rest_api_id         = module.api.rest_api_id
  root_resource_id    = module.api.root_resource_id
  execution_arn       = module.api.execution_arn
  params_validator_id = module.api.params_validator_id
  create_kms_key      = false
  kms_key_arn         = module.ingest.kms_key_arn
  alarm_topic_arn     = module.ingest.alerts_topic_arn

  # Prod: the table refuses deletion; logs are kept as long as ingest's.
  deletion_protection = true
  log_retention_days  = 731
}

module "api_stage" {
  source = "../../modules/api_stage"

  rest_api_id        = module.api.rest_api_id
  rest_api_name      = module.api.rest_api_name
  kms_key_arn        = module.ingest.kms_key_arn
  log_retention_days = 731
  subscribers        = var.subscribers
  internal_keys      = var.internal_keys

  # Every capability's routes: a change to any of them redeploys the stage.
  redeployment_triggers = concat(
    module.api.deployment_triggers,
    module.lookup.deployment_triggers,
  )
}
