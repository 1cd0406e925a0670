# Example: What every capability of one environment shares.
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
  source = "../.."

  name_prefix              = "headwater-dev"
  force_destroy            = true
  kms_deletion_window_days = 7
  alert_emails             = ["data-platform@example.com"]
}

output "raw_bucket_name" {
  value = module.platform.raw_bucket_name
}

output "scheduler_role_arn" {
  value = module.platform.scheduler_role_arn
}
