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

# Where clients call the API (output api_url, in the shared outputs.tf): on AWS, the stage itself.
locals {
  api_url = module.stack.api_url
  # Only the local environment has the demo source (output onboard_demo_secret_arn).
  onboard_demo_secret_arn = null
}

module "stack" {
  source = "../../modules/stack"

  record_datasets   = var.record_datasets
  name_prefix       = "headwater-prod"
  artifacts         = var.artifacts
  architecture      = var.architecture
  ingest_key_prefix = var.key_prefix
  lookup_key_prefix = var.lookup_key_prefix
  log_level         = var.log_level
  alerts_topic_arn  = var.alerts_topic_arn
  alert_emails      = var.alert_emails

  manage_api_gateway_account = var.manage_api_gateway_account
  subscribers                = var.subscribers
  internal_keys              = var.internal_keys

  # Databases to onboard: name -> { secret_arn, ... } (see modules/onboard), in subnets that
  # reach them.
  onboard_sources            = var.onboard_sources
  onboard_subnet_ids         = var.onboard_subnet_ids
  onboard_security_group_ids = var.onboard_security_group_ids

  # Prod: data outlives mistakes. Buckets with objects refuse to be destroyed, the table
  # refuses deletion, the key waits the longest AWS allows, logs and old versions are kept longer.
  force_destroy                      = false
  deletion_protection                = true
  kms_deletion_window_days           = 30
  log_retention_days                 = 731
  noncurrent_version_expiration_days = 90
  ingest_maximum_concurrency         = 10
  ingest_memory_size                 = 2048
}
