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
