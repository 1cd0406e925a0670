variable "endpoint" {
  description = "URL of the embedded AWS emulator (headwater local up)."
  type        = string
  default     = "http://127.0.0.1:4566"

  validation {
    condition     = can(regex("^https?://[^/]+/?$", var.endpoint))
    error_message = "endpoint must be a URL such as http://127.0.0.1:4566."
  }
}

variable "api_front_url" {
  description = "URL of the local API front that serves the REST API (headwater local up: http://127.0.0.1:<HEADWATER_API_PORT>, 4580 by default); the api_url output is it plus the stage."
  type        = string
  default     = "http://127.0.0.1:4580"

  validation {
    condition     = can(regex("^http://(127\\.0\\.0\\.1|localhost):[0-9]{1,5}/?$", var.api_front_url))
    error_message = "api_front_url must be a loopback URL with a port, such as http://127.0.0.1:4580 (the front listens on 127.0.0.1 only)."
  }
}

variable "artifacts" {
  description = "Lambda zips per function group, relative to this directory: { api = ..., data = ..., onboard = ... } (scripts/build_artifact.py)."
  type        = map(string)
  default = {
    api     = "../../../build/lambda-local.zip"
    data    = "../../../build/lambda-local.zip"
    onboard = "../../../build/lambda-local.zip"
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

variable "key_prefix" {
  description = "Ingest root in the raw bucket."
  type        = string
  default     = "ingest/"
}

variable "function_timeout" {
  description = "Processor timeout in seconds."
  type        = number
  default     = 60
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
  default = {
    demo = {
      throttle_rate_limit  = 5
      throttle_burst_limit = 10
      quota_limit          = 1000
      quota_period         = "DAY"
      # What ./setup.sh run publishes (the lookup) and posts to (records), and what the
      # README's curl examples use.
      datasets = ["employees", "orders"]
    }
  }
}

variable "internal_keys" {
  description = "Internal API keys (throttle, no quota, read every dataset): name -> { throttle_rate_limit, throttle_burst_limit }."
  type = map(object({
    throttle_rate_limit  = number
    throttle_burst_limit = number
  }))
  default = {
    ops = {
      throttle_rate_limit  = 50
      throttle_burst_limit = 100
    }
  }
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
