# Example: the collect capability on a platform, with the API stage after it.
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

module "collect" {
  source = "../.."

  name_prefix         = "headwater-dev"
  artifact_path       = "../../../../../build/lambda-data-arm64.zip"
  api_artifact_path   = "../../../../../build/lambda-api-arm64.zip"
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
  deletion_protection = false

  # Keep facts for a year after their day; schedules fire at most hourly.
  fact_retention_days  = 365
  min_interval_minutes = 60
}

module "api_stage" {
  source = "../../../api_stage"

  rest_api_id           = module.platform.rest_api_id
  rest_api_name         = module.platform.rest_api_name
  kms_key_arn           = module.platform.kms_key_arn
  redeployment_triggers = concat(module.platform.deployment_triggers, module.collect.deployment_triggers)
  tenancy_table_name    = module.platform.tenancy_table_name

  # Each subscriber manages its own schedules and connections with its key.
  subscribers = {
    acme = { throttle_rate_limit = 5, throttle_burst_limit = 10, quota_limit = 10000, quota_period = "DAY", datasets = [] }
  }
}

output "facts_table" {
  value = module.collect.facts_table_name
}

output "changes_bucket" {
  value = module.collect.changes_bucket_name
}
