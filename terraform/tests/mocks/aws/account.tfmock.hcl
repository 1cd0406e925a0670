# The account every module's plan-time test runs in: data sources answer as a real account would
# (account id, partition, region), and a policy document's JSON is "{}" because the assertions
# read its statements as configured, not the rendered JSON. Loaded by each module test (the path
# is relative to the module)
#   mock_provider "aws" { source = "../../tests/mocks/aws" }
mock_data "aws_caller_identity" {
  defaults = { account_id = "123456789012" }
}

mock_data "aws_partition" {
  defaults = { partition = "aws" }
}

mock_data "aws_region" {
  defaults = { name = "eu-west-1" }
}

mock_data "aws_iam_policy_document" {
  defaults = { json = "{}" }
}
