# Example: The lookup capability on a platform, with the API stage after it.
# terraform init && terraform plan (AWS credentials for a sandbox account).

terraform {
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.80, < 6.0"
    }
  }
}

provider "aws" {
  region = "eu-west-1"
}

module "platform" {
  source = "../../../platform"

  name_prefix = "headwater-dev"
}

module "lookup" {
  source = "../.."

  name_prefix         = "headwater-dev"
  artifact_path       = "../../../../../build/lambda-data-arm64.zip"
  api_artifact_path   = "../../../../../build/lambda-api-arm64.zip"
  raw_bucket_name     = module.platform.raw_bucket_name
  raw_bucket_arn      = module.platform.raw_bucket_arn
  kms_key_arn         = module.platform.kms_key_arn
  alarm_topic_arn     = module.platform.alerts_topic_arn
  rest_api_id         = module.platform.rest_api_id
  root_resource_id    = module.platform.root_resource_id
  execution_arn       = module.platform.execution_arn
  params_validator_id = module.platform.params_validator_id
  tenancy_table_name  = module.platform.tenancy_table_name
  tenancy_table_arn   = module.platform.tenancy_table_arn
  deletion_protection = false
}

module "api_stage" {
  source = "../../../api_stage"

  rest_api_id           = module.platform.rest_api_id
  rest_api_name         = module.platform.rest_api_name
  kms_key_arn           = module.platform.kms_key_arn
  redeployment_triggers = concat(module.platform.deployment_triggers, module.lookup.deployment_triggers)
  tenancy_table_name    = module.platform.tenancy_table_name

  # A subscriber reads only the datasets it is granted; internal keys read every dataset.
  subscribers = {
    acme = { throttle_rate_limit = 5, throttle_burst_limit = 10, quota_limit = 10000, quota_period = "DAY", datasets = ["employees"] }
  }
  internal_keys = {
    ops = { throttle_rate_limit = 50, throttle_burst_limit = 100 }
  }
}

output "lookup_table" {
  value = module.lookup.table_name
}
