# Example: The REST API of one environment (routes come from capabilities, the stage from ../api_stage).
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

module "api" {
  source = "../.."

  name = "headwater-dev-example"
}

output "rest_api_id" {
  value = module.api.rest_api_id
}
