# The tenancy directory entries the module writes: what the API functions trust to decide who
# reads what (headwater.tenancy). Plan-time: the items' JSON is known once the keys' and plans'
# ids are (overridden here).
mock_provider "aws" {
  override_during = plan
}

override_resource {
  target          = aws_api_gateway_api_key.this["acme"]
  override_during = plan
  values          = { id = "key-acme" }
}

override_resource {
  target          = aws_api_gateway_api_key.this["ops"]
  override_during = plan
  values          = { id = "key-ops" }
}

override_resource {
  target          = aws_api_gateway_usage_plan.this["acme"]
  override_during = plan
  values          = { id = "plan-acme" }
}

override_resource {
  target          = aws_api_gateway_usage_plan.this["ops"]
  override_during = plan
  values          = { id = "plan-ops" }
}

variables {
  rest_api_id           = "abcdef1234"
  rest_api_name         = "headwater-test"
  kms_key_arn           = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  redeployment_triggers = ["routes"]
  tenancy_table_name    = "headwater-test-tenancy"
  subscribers = {
    acme = { throttle_rate_limit = 5, throttle_burst_limit = 10, quota_limit = 100, quota_period = "DAY", datasets = ["sales", "employees"] }
  }
  internal_keys = {
    ops = { throttle_rate_limit = 50, throttle_burst_limit = 100 }
  }
}

run "every_key_and_name_has_its_directory_entry" {
  command = plan

  # A subscriber reads exactly its datasets; an internal key is kind "internal" (reads all) with
  # no grants of its own; each names its own usage plan (where `keys create` attaches new keys).
  assert {
    condition = jsondecode(aws_dynamodb_table_item.subscriber["acme"].item) == {
      pk            = { S = "subscriber#acme" }
      kind          = { S = "subscriber" }
      datasets      = { L = [{ S = "employees" }, { S = "sales" }] }
      usage_plan_id = { S = "plan-acme" }
    }
    error_message = "The subscriber entry must carry kind subscriber, its datasets and its plan."
  }

  assert {
    condition = jsondecode(aws_dynamodb_table_item.subscriber["ops"].item) == {
      pk            = { S = "subscriber#ops" }
      kind          = { S = "internal" }
      datasets      = { L = [] }
      usage_plan_id = { S = "plan-ops" }
    }
    error_message = "An internal key's entry must be kind internal."
  }

  # Every key Terraform makes belongs to the subscriber of its name, marked as Terraform's (so
  # `headwater keys rotate` leaves it to terraform apply -replace).
  assert {
    condition = {
      for name, item in aws_dynamodb_table_item.key : name => jsondecode(item.item)
      } == {
      acme = { pk = { S = "key#key-acme" }, subscriber = { S = "acme" }, managed_by = { S = "terraform" } }
      ops  = { pk = { S = "key#key-ops" }, subscriber = { S = "ops" }, managed_by = { S = "terraform" } }
    }
    error_message = "Each key's entry must name its subscriber and say Terraform manages it."
  }
}

run "dataset_grants_are_validated" {
  command = plan

  variables {
    subscribers = {
      acme = { throttle_rate_limit = 5, throttle_burst_limit = 10, quota_limit = 100, quota_period = "DAY", datasets = ["Employees!"] }
    }
  }

  expect_failures = [var.subscribers]
}
