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
    apigateway = var.endpoint
    cloudwatch = var.endpoint
    dynamodb   = var.endpoint
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

# One REST API per environment; capabilities add their routes to it, the stage deploys them all.
module "api" {
  source = "../../modules/api"

  name = "headwater-local"
}

module "lookup" {
  source = "../../modules/lookup"

  name_prefix         = "headwater-local"
  artifact_path       = var.artifact_path
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

  # Local mode: quick teardown.
  deletion_protection      = false
  kms_deletion_window_days = 7
  log_retention_days       = 1
}

module "api_stage" {
  source = "../../modules/api_stage"

  rest_api_id        = module.api.rest_api_id
  rest_api_name      = module.api.rest_api_name
  kms_key_arn        = module.ingest.kms_key_arn
  log_retention_days = 1
  subscribers        = var.subscribers
  internal_keys      = var.internal_keys

  # Every capability's routes: a change to any of them redeploys the stage.
  redeployment_triggers = concat(
    module.api.deployment_triggers,
    module.lookup.deployment_triggers,
  )
}
