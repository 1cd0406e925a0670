# Example: One SQS-driven function: triggers as data (an event source mapping and an invoke permission).
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

  description        = "headwater-dev example function"
  service_principals = ["sns.amazonaws.com"]
}

resource "aws_sqs_queue" "work" {
  name              = "headwater-dev-example-work"
  kms_master_key_id = module.kms_key.key_arn
}

resource "aws_cloudwatch_event_rule" "nightly" {
  name                = "headwater-dev-example-nightly"
  schedule_expression = "cron(0 2 * * ? *)"
}

module "function" {
  source = "../.."

  name          = "headwater-dev-example"
  description   = "Example: process messages of the work queue."
  artifact_path = "../../../../../build/lambda-data-arm64.zip"
  handler       = "headwater.handlers.ingest_processor.handler"
  timeout       = 60
  kms_key_arn   = module.kms_key.key_arn

  environment_variables = {
    POWERTOOLS_SERVICE_NAME = "example"
  }

  policy_statements = [
    {
      sid       = "ConsumeWorkQueue"
      actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
      resources = [aws_sqs_queue.work.arn]
    },
  ]

  event_source_mappings = {
    work = {
      event_source_arn        = aws_sqs_queue.work.arn
      batch_size              = 10
      function_response_types = ["ReportBatchItemFailures"]
      maximum_concurrency     = 2
    }
  }

  allowed_triggers = {
    AllowNightlyRule = {
      principal  = "events.amazonaws.com"
      source_arn = aws_cloudwatch_event_rule.nightly.arn
    }
  }
}

output "function_name" {
  value = module.function.function_name
}
