terraform {
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.80, < 6.0"
    }
  }

  # State stays beside the configuration: the emulator is as disposable as this state.
  backend "local" {}
}
