output "table_name" {
  description = "Name of the lookup table (LOOKUP_TABLE)."
  value       = aws_dynamodb_table.this.name
}

output "table_arn" {
  description = "ARN of the lookup table."
  value       = aws_dynamodb_table.this.arn
}

output "key_prefix" {
  description = "Lookup root in the raw bucket: CSVs go to <key_prefix><dataset>/<name>.csv."
  value       = var.key_prefix
}

output "loader_function_name" {
  description = "Name of the loader Lambda function."
  value       = module.loader.function_name
}

output "loader_function_arn" {
  description = "ARN of the loader Lambda function."
  value       = module.loader.function_arn
}

output "api_function_name" {
  description = "Name of the API Lambda function."
  value       = module.api_function.function_name
}

output "event_rule_arn" {
  description = "ARN of the EventBridge rule that starts loads."
  value       = aws_cloudwatch_event_rule.lookup_file.arn
}

output "dlq_url" {
  description = "Dead-letter queue of load events that were not delivered or failed."
  value       = module.dlq.queue_url
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = module.dlq.queue_arn
}

output "kms_key_arn" {
  description = "KMS key of the table, queue and logs."
  value       = var.kms_key_arn
}

output "deployment_triggers" {
  description = "Fingerprint of the lookup routes: pass it to ../api_stage (redeployment_triggers)."
  # Ids plus the values this module sets, never whole resources: a refresh fills unset
  # attributes with empty values, which would change the hash and redeploy on every plan.
  value = [
    sha1(jsonencode({
      for name, route in local.routes : name => [
        local.resource_ids[name],
        aws_api_gateway_method.get[name].id,
        aws_api_gateway_method.get[name].api_key_required,
        aws_api_gateway_method.get[name].request_validator_id,
        route.parameters,
        aws_api_gateway_integration.get[name].id,
        aws_api_gateway_integration.get[name].type,
        module.api_function.invoke_arn,
      ]
    })),
  ]
}
