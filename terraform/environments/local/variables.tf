variable "endpoint" {
  description = "URL of the embedded AWS emulator (headwater local up)."
  type        = string
  default     = "http://127.0.0.1:4566"

  validation {
    condition     = can(regex("^https?://[^/]+/?$", var.endpoint))
    error_message = "endpoint must be a URL such as http://127.0.0.1:4566."
  }
}

variable "artifact_path" {
  description = "Lambda zip, relative to this directory (scripts/build_artifact.py --local builds a thin package-only zip: the runner provides the dependencies)."
  type        = string
  default     = "../../../build/lambda-local.zip"
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
