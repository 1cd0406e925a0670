output "stage_name" {
  description = "Name of the stage."
  value       = aws_api_gateway_stage.this.stage_name
}

output "stage_arn" {
  description = "ARN of the stage (associate a WAF web ACL here)."
  value       = aws_api_gateway_stage.this.arn
}

output "invoke_url" {
  description = "Base URL of the API: <invoke_url>/health, <invoke_url>/lookups/..."
  value       = aws_api_gateway_stage.this.invoke_url
}

output "deployment_id" {
  description = "Id of the deployment the stage serves."
  value       = aws_api_gateway_deployment.this.id
}

output "access_log_group_name" {
  description = "CloudWatch log group of the stage's access logs (JSON, no key values)."
  value       = aws_cloudwatch_log_group.access.name
}

output "api_key_ids" {
  description = "Key name -> API key id. Ids only: read a value with `aws apigateway get-api-key --api-key <id> --include-value` (or `headwater keys list`)."
  value       = { for name, key in aws_api_gateway_api_key.this : name => key.id }
}

output "api_key_names" {
  description = "Key name -> API Gateway key name (\"<api name>-<name>\")."
  value       = { for name, key in aws_api_gateway_api_key.this : name => key.name }
}

output "usage_plan_ids" {
  description = "Key name -> id of its usage plan."
  value       = { for name, plan in aws_api_gateway_usage_plan.this : name => plan.id }
}
