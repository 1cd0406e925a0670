output "raw_bucket_name" {
  description = "Bucket where every capability's files land, each under its own key prefix (EventBridge notifications on)."
  value       = module.raw_bucket.name
}

output "raw_bucket_arn" {
  description = "ARN of the raw bucket."
  value       = module.raw_bucket.arn
}

output "kms_key_arn" {
  description = "KMS key of the environment: pass it to every capability (its policy allows events, sns, cloudwatch and logs)."
  value       = module.kms_key.key_arn
}

output "alerts_topic_arn" {
  description = "SNS topic every alarm notifies (created unless alerts_topic_arn was passed)."
  value       = local.alerts_topic_arn
}

output "rest_api_id" {
  description = "Id of the REST API: capabilities add their resources and methods to it."
  value       = module.api.rest_api_id
}

output "rest_api_name" {
  description = "Name of the REST API."
  value       = module.api.rest_api_name
}

output "root_resource_id" {
  description = "Id of the API's \"/\" resource: parent of each capability's top-level path."
  value       = module.api.root_resource_id
}

output "execution_arn" {
  description = "Execution ARN of the API: scope invoke permissions with \"<execution_arn>/*/<METHOD>/<path>\"."
  value       = module.api.execution_arn
}

output "params_validator_id" {
  description = "Request validator checking required parameters."
  value       = module.api.params_validator_id
}

output "body_and_params_validator_id" {
  description = "Request validator checking parameters and the body against the method's model."
  value       = module.api.body_and_params_validator_id
}

output "deployment_triggers" {
  description = "Fingerprint of the platform's own routes (GET /health): concat it with every capability's for ../api_stage."
  value       = module.api.deployment_triggers
}

output "schedule_group_name" {
  description = "EventBridge Scheduler group of the environment: capabilities create their schedules in it."
  value       = aws_scheduler_schedule_group.this.name
}

output "scheduler_role_name" {
  description = "Scheduler execution role name: capabilities attach policies allowing their schedule targets."
  value       = aws_iam_role.scheduler.name
}

output "scheduler_role_arn" {
  description = "Scheduler execution role ARN: the role_arn of every schedule's target."
  value       = aws_iam_role.scheduler.arn
}

output "scheduler_dlq_url" {
  description = "URL of the Scheduler DLQ (invocations that failed after their retries)."
  value       = aws_sqs_queue.scheduler_dlq.url
}

output "scheduler_dlq_arn" {
  description = "ARN of the Scheduler DLQ: the dead_letter_config of every schedule's target."
  value       = aws_sqs_queue.scheduler_dlq.arn
}

output "api_gateway_cloudwatch_role_arn" {
  description = "ARN of the account's API Gateway CloudWatch Logs role the module set, or null when manage_api_gateway_account is false."
  value       = try(aws_api_gateway_account.this[0].cloudwatch_role_arn, null)
}

output "tenancy_table_name" {
  description = "DynamoDB table of the tenancy directory (API key id -> subscriber -> grants): pass it to ../api_stage and to every API function."
  value       = aws_dynamodb_table.tenancy.name
}

output "tenancy_table_arn" {
  description = "ARN of the tenancy directory table: API functions get dynamodb:GetItem on it, nothing more."
  value       = aws_dynamodb_table.tenancy.arn
}
