# Example: the onboard capability on a platform, for one PostgreSQL database in a VPC without a
# NAT gateway (hence the VPC endpoints). terraform init && terraform plan (AWS credentials for a
# sandbox account; the ids below are placeholders for your VPC's).

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

# The connection: {"host", "port", "dbname", "username", "password"} (the RDS secret shape). Its
# value is set outside Terraform (RDS-managed, or put-secret-value), never in the state.
resource "aws_secretsmanager_secret" "crm" {
  #checkov:skip=CKV2_AWS_57:Rotation belongs to the database's owner (RDS-managed secrets rotate themselves); this example only names the secret.
  name       = "headwater-dev/onboard/crm"
  kms_key_id = module.platform.kms_key_arn
}

module "onboard" {
  source = "../.."

  name_prefix         = "headwater-dev"
  artifact_path       = "../../../../../build/lambda-onboard-arm64.zip"
  kms_key_arn         = module.platform.kms_key_arn
  alarm_topic_arn     = module.platform.alerts_topic_arn
  schedule_group_name = module.platform.schedule_group_name
  scheduler_role_name = module.platform.scheduler_role_name
  scheduler_role_arn  = module.platform.scheduler_role_arn
  scheduler_dlq_arn   = module.platform.scheduler_dlq_arn
  deletion_protection = false

  # src/headwater/datasets/onboard/crm.toml declares the tables; every night at 02:00 Paris time.
  sources = {
    crm = {
      secret_arn          = aws_secretsmanager_secret.crm.arn
      secret_kms_key_arn  = module.platform.kms_key_arn
      schedule_expression = "cron(0 2 * * ? *)"
      schedule_time_zone  = "Europe/Paris"
    }
  }
  max_concurrency = 4

  subnet_ids           = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  security_group_ids   = ["sg-0123456789abcdef0"]
  create_vpc_endpoints = true
  vpc_id               = "vpc-0123456789abcdef0"
  route_table_ids      = ["rtb-0123456789abcdef0"]
}

output "landing_bucket" {
  value = module.onboard.onboard_bucket_name
}

output "schedules" {
  value = module.onboard.onboard_schedule_names
}
