variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "artifacts" {
  description = "Lambda zips per function group, relative to this directory: { api = ..., data = ..., onboard = ... } (scripts/build_artifact.py)."
  type        = map(string)
  default = {
    api     = "../../../build/lambda-api-arm64.zip"
    data    = "../../../build/lambda-data-arm64.zip"
    onboard = "../../../build/lambda-onboard-arm64.zip"
  }

  validation {
    condition     = length(setsubtract(["api", "data", "onboard"], keys(var.artifacts))) == 0 && length(setsubtract(keys(var.artifacts), ["api", "data", "onboard"])) == 0
    error_message = "artifacts must have exactly the keys \"api\", \"data\" and \"onboard\"."
  }

  validation {
    condition     = alltrue([for path in values(var.artifacts) : endswith(path, ".zip")])
    error_message = "every artifact must be a .zip file."
  }
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
  description = "Existing SNS topic for alarms; null creates headwater-prod-alerts."
  type        = string
  default     = null
}

variable "manage_api_gateway_account" {
  description = "Create and set the account's API Gateway CloudWatch Logs role (stage access logging needs it; a fresh account has none). One stack per account and region may own it: true in the first environment of a fresh account, false where it is already set."
  type        = bool
  default     = false
}

variable "alert_emails" {
  description = "Email addresses that receive the alarms (when the module creates the alerts topic)."
  type        = list(string)
  default     = []
}

variable "log_level" {
  description = "Processor log level."
  type        = string
  default     = "INFO"
}

variable "lookup_key_prefix" {
  description = "Lookup root in the raw bucket: CSVs land under <prefix><dataset>/."
  type        = string
  default     = "lookup/"
}

variable "subscribers" {
  description = "API subscribers: name -> { throttle_rate_limit, throttle_burst_limit, quota_limit, quota_period, datasets } (one key and usage plan each; datasets: what it may read, any other is a 403)."
  type = map(object({
    throttle_rate_limit  = number
    throttle_burst_limit = number
    quota_limit          = number
    quota_period         = string
    datasets             = list(string)
  }))
  default = {}
}

variable "internal_keys" {
  description = "Internal API keys (throttle, no quota, read every dataset): name -> { throttle_rate_limit, throttle_burst_limit }."
  type = map(object({
    throttle_rate_limit  = number
    throttle_burst_limit = number
  }))
  default = {}
}

variable "record_datasets" {
  description = "Record datasets: name -> { description, schema } (the request JSON Schema of POST /records/<name>, as text). Loaded from record_datasets.auto.tfvars.json, which `headwater records schemas` (and every artifact build) writes from the declarations."
  type = map(object({
    description = string
    schema      = string
  }))

  validation {
    condition     = alltrue([for name, d in var.record_datasets : can(regex("^[a-z0-9][a-z0-9_-]{0,62}$", name)) && can(jsondecode(d.schema))])
    error_message = "record_datasets must map dataset names (lowercase letters, digits, _ and -) to a description and a JSON schema text: run `headwater records schemas`."
  }
}

variable "onboard_sources" {
  description = "Databases to onboard: source name -> { secret_arn, secret_kms_key_arn, schedule_expression, schedule_time_zone, enabled, target_prefix } (modules/onboard); each needs its declaration in src/headwater/datasets/onboard/<name>.toml."
  type = map(object({
    secret_arn          = string
    secret_kms_key_arn  = optional(string)
    schedule_expression = optional(string, "cron(0 2 * * ? *)")
    schedule_time_zone  = optional(string, "UTC")
    enabled             = optional(bool, true)
    target_prefix       = optional(string)
  }))
  default = {}
}

variable "onboard_subnet_ids" {
  description = "Subnets of the onboard functions, to reach databases in a VPC; [] runs them outside any VPC."
  type        = list(string)
  default     = []
}

variable "onboard_security_group_ids" {
  description = "Security groups of the onboard functions (with onboard_subnet_ids): the databases' groups must admit them."
  type        = list(string)
  default     = []
}
