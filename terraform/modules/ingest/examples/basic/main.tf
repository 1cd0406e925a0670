# Example: The ingest capability on a platform.
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

module "ingest" {
  source = "../.."

  name_prefix     = "headwater-dev"
  artifact_path   = "../../../../../build/lambda-data-arm64.zip"
  raw_bucket_name = module.platform.raw_bucket_name
  raw_bucket_arn  = module.platform.raw_bucket_arn
  kms_key_arn     = module.platform.kms_key_arn
  alarm_topic_arn = module.platform.alerts_topic_arn
  key_prefix      = "ingest/"

  # Alert when files keep waiting for lack of time: more than 10 deferrals in each of three
  # consecutive 5-minute periods.
  deferral_alarm_threshold          = 10
  deferral_alarm_period_seconds     = 300
  deferral_alarm_evaluation_periods = 3
}

output "curated_bucket_name" {
  value = module.ingest.curated_bucket_name
}
