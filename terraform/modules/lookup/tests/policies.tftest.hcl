# The lookup API function's role, as AWS evaluates it. The local IAM checks enforce it too, but
# only for the calls the e2e tests happen to make; these assertions pin what it must never grant.
mock_provider "aws" {
  override_during = plan
  source          = "../../tests/mocks/aws"
}

override_resource {
  target          = aws_dynamodb_table.this
  override_during = plan
  values          = { arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/headwater-test-lookups" }
}

variables {
  name_prefix         = "headwater-test"
  artifact_path       = "../function/tests/artifact.zip"
  api_artifact_path   = "../function/tests/artifact.zip"
  raw_bucket_name     = "headwater-test-raw"
  raw_bucket_arn      = "arn:aws:s3:::headwater-test-raw"
  kms_key_arn         = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  alarm_topic_arn     = "arn:aws:sns:eu-west-1:123456789012:headwater-test-alerts"
  rest_api_id         = "abcdef1234"
  root_resource_id    = "root123456"
  execution_arn       = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234"
  params_validator_id = "val123"
  tenancy_table_name  = "headwater-test-tenancy"
  tenancy_table_arn   = "arn:aws:dynamodb:eu-west-1:123456789012:table/headwater-test-tenancy"
}

run "api_reads_single_directory_items_only" {
  command = plan

  # "The following permissions policy grants permissions for the GetItem, BatchGetItem, Scan,
  # Query, and ConditionCheckItem DynamoDB actions only, and as a result, sets read-only access on
  # the Books table." The API function needs one of them on the tenancy directory: GetItem, so it
  # can read the entry of the key it was called with and cannot list subscribers or keys (Scan,
  # Query, BatchGetItem) nor write grants.
  # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-only-permissions-on-table-items.html
  assert {
    condition = [
      for s in local.api_statements : s.actions
      if contains(s.resources, "arn:aws:dynamodb:eu-west-1:123456789012:table/headwater-test-tenancy")
    ] == [["dynamodb:GetItem"]]
    error_message = "The API function may only GetItem on the tenancy directory, in one statement."
  }

  # The table ARN, not a wildcard: "This policy allows actions only on DynamoDB tables that exist
  # with the specified name."
  # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_dynamodb_specific-table.html
  assert {
    condition = alltrue(flatten([
      for s in local.api_statements : [for r in s.resources : !strcontains(r, "*")]
    ]))
    error_message = "Every resource of the API function's role is one named ARN, never a wildcard."
  }

  # The function's environment names the table it reads.
  assert {
    condition     = module.api_function.function_name == "headwater-test-lookup-api"
    error_message = "The API function keeps its name."
  }
}

run "api_uses_the_key_only_through_dynamodb" {
  command = plan

  # "The kms:ViaService condition key limits use of a KMS key to requests from specified AWS
  # services." The directory is encrypted with the platform key: reading it needs kms:Decrypt
  # through DynamoDB, which the existing statement grants, and nothing wider.
  # https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service
  assert {
    condition = alltrue([
      for s in local.api_statements : anytrue([
        for c in try(s.conditions, []) : c.variable == "kms:ViaService"
        && toset(c.values) == toset(["dynamodb.eu-west-1.amazonaws.com"])
      ]) if anytrue([for a in s.actions : startswith(a, "kms:")])
    ])
    error_message = "Every KMS grant of the API function must carry kms:ViaService (DynamoDB only)."
  }
}
