# Example: A customer managed key for encrypted topics and queues, with an alias.
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

module "kms_key" {
  source = "../.."

  description          = "headwater-dev example: topics, queues and logs"
  service_principals   = ["events.amazonaws.com", "sns.amazonaws.com"]
  deletion_window_days = 7

  allow_eventbridge_to_sns       = true
  allow_cloudwatch_alarms_to_sns = true
  sns_topic_name_prefix          = "headwater-dev-"
  alias_name                     = "alias/headwater-dev-example"
}

output "key_arn" {
  value = module.kms_key.key_arn
}
