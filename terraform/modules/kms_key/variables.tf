variable "description" {
  description = "Description of the key: say what it encrypts, e.g. \"<prefix> ingest: buckets, topics, queues and logs\"."
  type        = string

  validation {
    # KMS caps descriptions at 8192 characters; an empty one leaves the console unreadable.
    condition     = length(trimspace(var.description)) > 0 && length(var.description) <= 8192
    error_message = "description must be 1-8192 characters and not blank."
  }
}

variable "service_principals" {
  description = "Service principals allowed kms:GenerateDataKey* and kms:Decrypt to deliver to encrypted queues, only on behalf of this account (aws:SourceAccount), e.g. [\"events.amazonaws.com\", \"sns.amazonaws.com\"]. Not for EventBridge or CloudWatch publishing to encrypted topics: see allow_eventbridge_to_sns and allow_cloudwatch_alarms_to_sns. CloudWatch Logs is always allowed for the account's log groups."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.service_principals : can(regex("^[a-z0-9.-]+\\.amazonaws\\.com(\\.cn)?$", p))])
    error_message = "service_principals must be AWS service principals such as \"sns.amazonaws.com\"."
  }

  validation {
    condition     = length(distinct(var.service_principals)) == length(var.service_principals)
    error_message = "service_principals must not repeat."
  }
}

variable "allow_eventbridge_to_sns" {
  description = "Let EventBridge rules publish to SNS topics encrypted with the key (this account and region, names starting with sns_topic_name_prefix), bound by the topic encryption context: SNS does not support aws:SourceAccount for EventBridge-to-encrypted topics."
  type        = bool
  default     = false
}

variable "allow_cloudwatch_alarms_to_sns" {
  description = "Let this account's CloudWatch alarms publish to SNS topics encrypted with the key (this account and region, names starting with sns_topic_name_prefix)."
  type        = bool
  default     = false
}

variable "sns_topic_name_prefix" {
  description = "Name prefix of the SNS topics encrypted with the key that EventBridge and CloudWatch alarms may publish to, e.g. \"<prefix>-\"; \"\" allows every topic of the account in the region."
  type        = string
  default     = ""

  validation {
    # Topic names: letters, digits, hyphens and underscores (a prefix of one, so may be empty).
    condition     = can(regex("^[A-Za-z0-9_-]{0,200}$", var.sns_topic_name_prefix))
    error_message = "sns_topic_name_prefix must be at most 200 letters, digits, hyphens or underscores."
  }
}

variable "deletion_window_days" {
  description = "Waiting period before a destroyed key is deleted (7-30 days)."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_days >= 7 && var.deletion_window_days <= 30 && floor(var.deletion_window_days) == var.deletion_window_days
    error_message = "deletion_window_days must be a whole number between 7 and 30."
  }
}

variable "alias_name" {
  description = "Alias of the key, \"alias/<name>\"; null creates none."
  type        = string
  default     = null

  validation {
    # The alias/aws/ prefix is reserved for AWS managed keys.
    condition     = var.alias_name == null || (can(regex("^alias/[A-Za-z0-9/_-]{1,250}$", var.alias_name)) && !startswith(coalesce(var.alias_name, "-"), "alias/aws/"))
    error_message = "alias_name must look like \"alias/<name>\" (letters, digits, /, _ and -) and not start with alias/aws/."
  }
}

variable "tags" {
  description = "Tags applied to the key."
  type        = map(string)
  default     = {}
}
