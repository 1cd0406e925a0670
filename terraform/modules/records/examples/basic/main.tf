# Example: The records capability on a platform, with the API stage after it.
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

module "records" {
  source = "../.."

  name_prefix                  = "headwater-dev"
  artifact_path                = "../../../../../build/lambda-data-arm64.zip"
  api_artifact_path            = "../../../../../build/lambda-api-arm64.zip"
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
  deletion_protection          = false

  # `headwater records schemas` writes these for the declared datasets.
  record_datasets = jsondecode(file("${path.module}/../../../../environments/record_datasets.auto.tfvars.json")).record_datasets
}

module "api_stage" {
  source = "../../../api_stage"

  rest_api_id           = module.platform.rest_api_id
  rest_api_name         = module.platform.rest_api_name
  kms_key_arn           = module.platform.kms_key_arn
  redeployment_triggers = concat(module.platform.deployment_triggers, module.records.deployment_triggers)
  tenancy_table_name    = module.platform.tenancy_table_name

  # A subscriber posts only to the datasets it is granted; internal keys read every record.
  subscribers = {
    acme = { throttle_rate_limit = 5, throttle_burst_limit = 10, quota_limit = 10000, quota_period = "DAY", datasets = ["orders"] }
  }
  internal_keys = {
    ops = { throttle_rate_limit = 50, throttle_burst_limit = 100 }
  }
}

output "records_table" {
  value = module.records.table_name
}
