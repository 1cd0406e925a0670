# Example: An API with its stage, one subscriber and one internal key.
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

  description = "headwater-dev example API access logs"
}

module "api" {
  source = "../../../api"

  name = "headwater-dev-example"
}

# The tenancy directory, as ../platform creates it: key id -> subscriber -> grants.
resource "aws_dynamodb_table" "tenancy" {
  #checkov:skip=CKV2_AWS_16:Auto scaling applies to provisioned capacity; the table is PAY_PER_REQUEST.
  name         = "headwater-dev-example-tenancy"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"

  attribute {
    name = "pk"
    type = "S"
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = module.kms_key.key_arn
  }

  point_in_time_recovery {
    enabled = true
  }
}

module "api_stage" {
  source = "../.."

  rest_api_id           = module.api.rest_api_id
  rest_api_name         = module.api.rest_api_name
  kms_key_arn           = module.kms_key.key_arn
  log_retention_days    = 30
  redeployment_triggers = module.api.deployment_triggers
  tenancy_table_name    = aws_dynamodb_table.tenancy.name

  subscribers = {
    acme = { throttle_rate_limit = 5, throttle_burst_limit = 10, quota_limit = 10000, quota_period = "DAY", datasets = ["employees"] }
  }
  internal_keys = {
    ops = { throttle_rate_limit = 50, throttle_burst_limit = 100 }
  }
}

output "invoke_url" {
  value = module.api_stage.invoke_url
}
