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
    apigateway     = var.endpoint
    cloudwatch     = var.endpoint
    dynamodb       = var.endpoint
    ec2            = var.endpoint
    events         = var.endpoint
    iam            = var.endpoint
    kms            = var.endpoint
    lambda         = var.endpoint
    logs           = var.endpoint
    s3             = var.endpoint
    scheduler      = var.endpoint
    secretsmanager = var.endpoint
    sns            = var.endpoint
    sqs            = var.endpoint
    sts            = var.endpoint
  }

  default_tags {
    tags = {
      Project     = "headwater"
      Environment = "local"
    }
  }
}

# Where clients call the API (output api_url, in the shared outputs.tf): locally the embedded
# front serves it (the stage's invoke URL would name AWS, which nothing here reaches).
locals {
  api_url = "${trimsuffix(var.api_front_url, "/")}/${module.stack.api_stage_name}"
  # The demo source's connection (output onboard_demo_secret_arn): `./setup.sh run` writes its
  # value (the local PostgreSQL's) with PutSecretValue.
  onboard_demo_secret_arn = aws_secretsmanager_secret.onboard_demo.arn
}

# The demo source's secret: Terraform names it, never holds its value (no secret version here).
resource "aws_secretsmanager_secret" "onboard_demo" {
  #checkov:skip=CKV2_AWS_57:The local demo's connection to a loopback PostgreSQL that the demo itself creates; there is nothing to rotate against.
  name                    = "headwater-local/onboard/demo"
  description             = "Connection of the onboard demo source (the local PostgreSQL)."
  kms_key_id              = module.stack.kms_key_arn
  recovery_window_in_days = 0 # local mode: a destroy and a new deploy reuse the name at once
}

module "stack" {
  source = "../../modules/stack"

  record_datasets    = var.record_datasets
  name_prefix        = "headwater-local"
  bucket_name_suffix = "" # the emulator has no global namespace: short, predictable names
  artifacts          = var.artifacts
  ingest_key_prefix  = var.key_prefix
  lookup_key_prefix  = var.lookup_key_prefix
  log_level          = var.log_level
  subscribers        = var.subscribers
  internal_keys      = var.internal_keys

  # Local mode: quick teardown and quick turnaround.
  force_destroy                  = true
  deletion_protection            = false
  kms_deletion_window_days       = 7
  log_retention_days             = 1
  ingest_function_timeout        = var.function_timeout
  ingest_batching_window_seconds = 0
  ingest_maximum_concurrency     = 2

  # A step of the worker reads for its timeout less a reserve, then continues in a new message;
  # the queue hides a message for 6 timeouts, so a crashed step is retried within 12 minutes
  # here rather than 90.
  onboard_worker_timeout = 120

  # The demo source runs on demand (`headwater onboard run`, the demo step): its schedule exists,
  # disabled.
  onboard_sources = {
    demo = {
      secret_arn         = aws_secretsmanager_secret.onboard_demo.arn
      secret_kms_key_arn = module.stack.kms_key_arn
      enabled            = false
    }
  }
}
