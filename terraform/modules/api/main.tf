# The REST API itself, the routes every environment has (GET /health) and the request
# validators capability modules attach to their methods. The deployment, stage, logs, usage
# plans and keys live in ../api_stage: capability modules add routes between the two, and the
# deployment must come after all of them (see README).

resource "aws_api_gateway_rest_api" "this" {
  name        = var.name
  description = var.description

  # Regional: callers are in (or near) this region; an edge-optimised API would add a
  # CloudFront distribution nobody asked for.
  endpoint_configuration {
    types = ["REGIONAL"]
  }

  # API keys arrive in the x-api-key header (the default); usage plans meter them.
  api_key_source = "HEADER"

  tags = var.tags

  # If the API must be replaced (a change of endpoint type), the new one (with a new id and
  # URL) exists before the old is removed. REST API names need not be unique.
  lifecycle {
    create_before_destroy = true
  }
}

# ---------------------------------------------------------------------------------------------
# Validators: capability modules reference these ids on their methods.
# ---------------------------------------------------------------------------------------------
resource "aws_api_gateway_request_validator" "params" {
  name                        = "params"
  rest_api_id                 = aws_api_gateway_rest_api.this.id
  validate_request_parameters = true
  validate_request_body       = false
}

resource "aws_api_gateway_request_validator" "body_and_params" {
  name                        = "body-and-params"
  rest_api_id                 = aws_api_gateway_rest_api.this.id
  validate_request_parameters = true
  validate_request_body       = true
}

# ---------------------------------------------------------------------------------------------
# GET /health: answered by API Gateway itself (MOCK), so a probe costs no Lambda invocation and
# says only that the API and stage are up.
# ---------------------------------------------------------------------------------------------
resource "aws_api_gateway_resource" "health" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = "health"
}

resource "aws_api_gateway_method" "health" {
  #checkov:skip=CKV_AWS_59:GET /health is deliberately open (load balancers and uptime probes carry no key); it is a MOCK integration that reaches no backend and returns a constant.
  rest_api_id          = aws_api_gateway_rest_api.this.id
  resource_id          = aws_api_gateway_resource.health.id
  http_method          = "GET"
  authorization        = "NONE"
  api_key_required     = false
  request_validator_id = aws_api_gateway_request_validator.params.id
}

resource "aws_api_gateway_integration" "health" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_resource.health.id
  http_method = aws_api_gateway_method.health.http_method
  type        = "MOCK"

  # A MOCK integration answers with the status code its request template names.
  request_templates = {
    "application/json" = jsonencode({ statusCode = 200 })
  }
}

resource "aws_api_gateway_method_response" "health_200" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_resource.health.id
  http_method = aws_api_gateway_method.health.http_method
  status_code = "200"

  response_models = {
    "application/json" = "Empty"
  }
}

resource "aws_api_gateway_integration_response" "health_200" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_resource.health.id
  http_method = aws_api_gateway_method.health.http_method
  status_code = aws_api_gateway_method_response.health_200.status_code

  response_templates = {
    "application/json" = jsonencode({ status = "ok" })
  }

  # The integration must exist before API Gateway accepts a response for it.
  depends_on = [aws_api_gateway_integration.health]
}
