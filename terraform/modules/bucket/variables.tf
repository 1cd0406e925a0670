variable "name" {
  description = "Globally unique bucket name (3-63 lowercase letters, digits, dots and hyphens)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.name)) && !strcontains(var.name, "..")
    error_message = "name must be 3-63 characters of lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for SSE-KMS (the platform's key); its policy must let the bucket's readers and writers use it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy delete the bucket with its objects. false keeps a bucket that holds data (prod)."
  type        = bool
  default     = false
}

variable "noncurrent_version_expiration_days" {
  description = "Days a replaced or deleted object version is kept before it expires."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number of days, at least 1."
  }
}

variable "abort_incomplete_multipart_days" {
  description = "Days after which an unfinished multipart upload is aborted (its parts cost storage)."
  type        = number
  default     = 7

  validation {
    condition     = var.abort_incomplete_multipart_days >= 1 && floor(var.abort_incomplete_multipart_days) == var.abort_incomplete_multipart_days
    error_message = "abort_incomplete_multipart_days must be a whole number of days, at least 1."
  }
}

variable "eventbridge_notifications" {
  description = "Send every object event to EventBridge (for a bucket whose objects drive processing)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags of the bucket."
  type        = map(string)
  default     = {}
}
