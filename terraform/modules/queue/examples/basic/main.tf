# Example: A work queue fed by one SNS topic, with its DLQ and depth alarm.
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
  source = "../../../kms_key"

  description        = "headwater-dev example queue"
  service_principals = ["sns.amazonaws.com"]
  # The alarms publish to an encrypted topic of this example.
  allow_cloudwatch_alarms_to_sns = true
  sns_topic_name_prefix          = "headwater-dev-example-"
}

resource "aws_sns_topic" "alerts" {
  name              = "headwater-dev-example-alerts"
  kms_master_key_id = module.kms_key.key_arn
}

resource "aws_sns_topic" "events" {
  name              = "headwater-dev-example-events"
  kms_master_key_id = module.kms_key.key_arn
}

module "queue" {
  source = "../.."

  name                       = "headwater-dev-example"
  source_principal           = "sns.amazonaws.com"
  source_arn                 = aws_sns_topic.events.arn
  kms_key_arn                = module.kms_key.key_arn
  visibility_timeout_seconds = 360 # 6x a 60 s consumer
  max_receive_count          = 5
  alarm_topic_arn            = aws_sns_topic.alerts.arn
}

output "queue_url" {
  value = module.queue.queue_url
}
