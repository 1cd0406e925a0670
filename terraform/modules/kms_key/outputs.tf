output "key_arn" {
  description = "ARN of the key."
  value       = aws_kms_key.this.arn
}

output "key_id" {
  description = "Id of the key."
  value       = aws_kms_key.this.key_id
}

output "alias_name" {
  description = "Alias of the key (\"alias/<name>\"), or null when alias_name was not set."
  value       = try(aws_kms_alias.this[0].name, null)
}

output "alias_arn" {
  description = "ARN of the alias, or null when alias_name was not set."
  value       = try(aws_kms_alias.this[0].arn, null)
}
