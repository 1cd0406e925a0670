# The bucket policy AWS enforces and no emulator checks: TLS only.
# Data sources answer like a real account; resources get their computed values at plan time
# (override_during), so policies that name them can be read; a policy document's JSON is "{}"
# (the assertions read its statements, as configured).
mock_provider "aws" {
  override_during = plan
  source          = "../../tests/mocks/aws"
}

override_resource {
  target          = aws_s3_bucket.this
  override_during = plan
  values          = { arn = "arn:aws:s3:::headwater-test-raw", id = "headwater-test-raw" }
}

variables {
  name        = "headwater-test-raw"
  kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
}

run "denies_requests_without_tls" {
  command = plan

  # "To comply with the s3-bucket-ssl-requests-only rule, create a bucket policy that explicitly
  # denies access when the request meets the condition \"aws:SecureTransport\": \"false\"."
  # https://repost.aws/knowledge-center/s3-bucket-policy-for-config-rule
  assert {
    condition = length([
      for s in data.aws_iam_policy_document.this.statement : s
      if s.effect == "Deny" && contains(s.actions, "s3:*")
      && contains(s.resources, "arn:aws:s3:::headwater-test-raw")
      && contains(s.resources, "arn:aws:s3:::headwater-test-raw/*")
      && anytrue([for p in s.principals : p.type == "*" && contains(p.identifiers, "*")])
      && anytrue([for c in s.condition : c.test == "Bool" && c.variable == "aws:SecureTransport" && contains(c.values, "false")])
    ]) == 1
    error_message = "The bucket policy must deny every s3 action on the bucket and its objects when aws:SecureTransport is false."
  }
}
