variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "artifact_path" {
  description = "Lambda zip built by scripts/build_artifact.py, relative to this directory."
  type        = string
  default     = "../../../build/lambda-arm64.zip"
}

variable "architecture" {
  description = "Instruction set the artifact was built for: arm64 or x86_64."
  type        = string
  default     = "arm64"
}

variable "key_prefix" {
  description = "Ingest root in the raw bucket."
  type        = string
  default     = "ingest/"
}

variable "alerts_topic_arn" {
  description = "Existing SNS topic for alarms; null creates headwater-dev-alerts."
  type        = string
  default     = null
}

variable "alert_emails" {
  description = "Email addresses that receive the alarms (when the module creates the alerts topic)."
  type        = list(string)
  default     = []
}

variable "log_level" {
  description = "Processor log level."
  type        = string
  default     = "DEBUG"
}

variable "lookup_key_prefix" {
  description = "Lookup root in the raw bucket: CSVs land under <prefix><dataset>/."
  type        = string
  default     = "lookup/"
}

variable "subscribers" {
  description = "API subscribers: name -> { throttle_rate_limit, throttle_burst_limit, quota_limit, quota_period } (one key and usage plan each)."
  type = map(object({
    throttle_rate_limit  = number
    throttle_burst_limit = number
    quota_limit          = number
    quota_period         = string
  }))
  default = {}
}

variable "internal_keys" {
  description = "Internal API keys (throttle, no quota): name -> { throttle_rate_limit, throttle_burst_limit }."
  type = map(object({
    throttle_rate_limit  = number
    throttle_burst_limit = number
  }))
  default = {}
}
