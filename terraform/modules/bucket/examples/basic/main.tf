# Example: a landing bucket whose object events go to EventBridge.
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

data "aws_caller_identity" "current" {}

module "kms_key" {
  source = "../../../kms_key"

  description        = "headwater-dev example bucket"
  service_principals = ["events.amazonaws.com"]
}

module "bucket" {
  source = "../.."

  name                      = "headwater-dev-example-${data.aws_caller_identity.current.account_id}"
  kms_key_arn               = module.kms_key.key_arn
  eventbridge_notifications = true
  tags                      = { Purpose = "example" }
}

output "bucket_name" {
  value = module.bucket.name
}
