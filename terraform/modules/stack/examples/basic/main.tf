# Example: A whole environment, as terraform/environments/dev calls it.
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

module "stack" {
  source = "../.."

  name_prefix = "headwater-example"
  # `headwater records schemas` writes the record datasets' gateway schemas here.
  record_datasets = jsondecode(file("${path.module}/../../../../environments/record_datasets.auto.tfvars.json")).record_datasets
  artifacts = {
    api     = "../../../../../build/lambda-api-arm64.zip"
    data    = "../../../../../build/lambda-data-arm64.zip"
    onboard = "../../../../../build/lambda-onboard-arm64.zip"
  }
  force_destroy            = true
  deletion_protection      = false
  kms_deletion_window_days = 7
  log_retention_days       = 30

  internal_keys = {
    ops = { throttle_rate_limit = 50, throttle_burst_limit = 100 }
  }
}

output "api_url" {
  value = module.stack.api_url
}
