provider "aws" {
  region = var.region

  # Credentials come from the default chain (environment, profile, SSO, instance role).
  default_tags {
    tags = {
      Project     = "headwater"
      Environment = "dev"
    }
  }
}

module "ingest" {
  source = "../../modules/ingest"

  name_prefix      = "headwater-dev"
  artifact_path    = var.artifact_path
  architecture     = var.architecture
  key_prefix       = var.key_prefix
  alerts_topic_arn = var.alerts_topic_arn
  alert_emails     = var.alert_emails
  log_level        = var.log_level

  # Dev: cheap to tear down and rebuild.
  force_destroy                      = true
  kms_deletion_window_days           = 7
  log_retention_days                 = 30
  noncurrent_version_expiration_days = 7
  maximum_concurrency                = 2
}
