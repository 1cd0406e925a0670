# The local environment: the same modules as dev and prod, pointed at the embedded emulator.
provider "aws" {
  region = "us-east-1"

  # The emulator's fixed dummy credentials; nothing here reaches AWS.
  access_key = "test" #checkov:skip=CKV_AWS_41:Dummy credentials of the local emulator, not a secret.
  secret_key = "test"

  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  s3_use_path_style           = true

  # Every service the modules use; a missing one would silently go to real AWS.
  endpoints {
    cloudwatch = var.endpoint
    events     = var.endpoint
    iam        = var.endpoint
    kms        = var.endpoint
    lambda     = var.endpoint
    logs       = var.endpoint
    s3         = var.endpoint
    sns        = var.endpoint
    sqs        = var.endpoint
    sts        = var.endpoint
  }

  default_tags {
    tags = {
      Project     = "headwater"
      Environment = "local"
    }
  }
}

module "ingest" {
  source = "../../modules/ingest"

  name_prefix        = "headwater-local"
  bucket_name_suffix = "" # the emulator has no global namespace: short, predictable names
  artifact_path      = var.artifact_path
  key_prefix         = var.key_prefix
  function_timeout   = var.function_timeout
  log_level          = var.log_level

  # Local mode: quick teardown and quick turnaround.
  force_destroy            = true
  kms_deletion_window_days = 7
  log_retention_days       = 1
  batching_window_seconds  = 0
  maximum_concurrency      = 2
}
