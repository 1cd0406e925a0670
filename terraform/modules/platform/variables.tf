variable "name_prefix" {
  description = "Prefix of every resource name, one per environment, e.g. \"headwater-dev\"."
  type        = string

  validation {
    # Bucket names are the strictest consumer: "<prefix>-quarantine-<12-digit account>-<region>"
    # (a capability's bucket) must fit in 63 characters.
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-24 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "bucket_name_suffix" {
  description = "Appended to the raw bucket's name (\"<name_prefix>-raw<suffix>\") to make it globally unique; null appends \"-<account id>-<region>\", \"\" appends nothing (the local emulator)."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name_suffix == null || can(regex("^(-[a-z0-9-]*[a-z0-9])?$", coalesce(var.bucket_name_suffix, "-x")))
    error_message = "bucket_name_suffix must be empty or start with a hyphen, using lowercase letters, digits and hyphens."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy delete the raw bucket with its objects (and versions). Keep false where data matters."
  type        = bool
  default     = false
}

variable "noncurrent_version_expiration_days" {
  description = "Days a replaced or deleted raw object version is kept before it expires."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "abort_incomplete_multipart_days" {
  description = "Days after which unfinished multipart uploads to the raw bucket are aborted (their parts cost storage)."
  type        = number
  default     = 7

  validation {
    condition     = var.abort_incomplete_multipart_days >= 1
    error_message = "abort_incomplete_multipart_days must be at least 1."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the KMS key is deleted after a destroy (7-30 days)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "kms_key_description" {
  description = "Description of the KMS key: what it encrypts."
  type        = string
  default     = "headwater platform: buckets, tables, topics, queues and logs"

  validation {
    condition     = length(trimspace(var.kms_key_description)) > 0
    error_message = "kms_key_description must not be blank."
  }
}

variable "kms_alias_name" {
  description = "Alias of the KMS key, \"alias/<name>\"; null uses \"alias/<name_prefix>\". Renaming an alias replaces it (not the key)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_alias_name == null || can(regex("^alias/[A-Za-z0-9/_-]{1,250}$", coalesce(var.kms_alias_name, "alias/x")))
    error_message = "kms_alias_name must look like \"alias/<name>\"."
  }
}

variable "alerts_topic_arn" {
  description = "Existing SNS topic for every alarm; null creates \"<name_prefix>-alerts\" (encrypted with the platform key)."
  type        = string
  default     = null

  validation {
    condition     = var.alerts_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:", coalesce(var.alerts_topic_arn, "-")))
    error_message = "alerts_topic_arn must be an SNS topic ARN."
  }
}

variable "alert_emails" {
  description = "Email addresses subscribed to the alerts topic the module creates (each confirms by email)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alert_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alert_emails must be email addresses."
  }
}

variable "api_name" {
  description = "Name of the REST API; null uses name_prefix."
  type        = string
  default     = null
}

variable "dlq_message_retention_seconds" {
  description = "How long the Scheduler DLQ keeps a failed invocation (60 s - 14 days)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_message_retention_seconds >= 60 && var.dlq_message_retention_seconds <= 1209600
    error_message = "dlq_message_retention_seconds must be between 60 and 1209600."
  }
}

variable "manage_api_gateway_account" {
  description = "Create the account's API Gateway CloudWatch Logs role (managed policy AmazonAPIGatewayPushToCloudWatchLogs) and set it in the account settings (aws_api_gateway_account). Stage access logging needs it; a fresh account has none. One setting per account and region: enable in one stack only, and not where something else manages it."
  type        = bool
  default     = false
}

variable "deletion_protection" {
  description = "Refuse to delete the tenancy directory table (true in prod)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags applied to every resource of the module."
  type        = map(string)
  default     = {}
}
