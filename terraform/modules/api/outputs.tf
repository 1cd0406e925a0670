output "rest_api_id" {
  description = "Id of the REST API: capability modules add their resources and methods to it."
  value       = aws_api_gateway_rest_api.this.id
}

output "rest_api_name" {
  description = "Name of the REST API."
  value       = aws_api_gateway_rest_api.this.name
}

output "root_resource_id" {
  description = "Id of the API's \"/\" resource: parent of each capability's top-level path."
  value       = aws_api_gateway_rest_api.this.root_resource_id
}

output "execution_arn" {
  description = "Execution ARN of the API; scope aws_lambda_permission source_arn with \"<execution_arn>/*/<METHOD>/<path>\"."
  value       = aws_api_gateway_rest_api.this.execution_arn
}

output "params_validator_id" {
  description = "Request validator checking required path, query string and header parameters."
  value       = aws_api_gateway_request_validator.params.id
}

output "body_and_params_validator_id" {
  description = "Request validator checking parameters and the body against the method's model."
  value       = aws_api_gateway_request_validator.body_and_params.id
}

output "deployment_triggers" {
  description = "Fingerprint of this module's routes; pass it to ../api_stage with every capability's own."
  # Ids plus the values this module sets, never whole resources: a refresh fills unset
  # attributes with empty values, which would change the hash and redeploy on every plan.
  value = [
    sha1(jsonencode([
      aws_api_gateway_resource.health.id,
      aws_api_gateway_method.health.id,
      aws_api_gateway_method.health.api_key_required,
      aws_api_gateway_method.health.request_validator_id,
      aws_api_gateway_integration.health.id,
      aws_api_gateway_integration.health.request_templates,
      aws_api_gateway_method_response.health_200.id,
      aws_api_gateway_integration_response.health_200.id,
      aws_api_gateway_integration_response.health_200.response_templates,
    ])),
  ]
}
