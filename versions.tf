terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }

  # Partial configuration: scripts/deploy.py passes -backend-config=path=<file> so each profile
  # keeps its own state. Teams should switch to backend "s3" (with use_lockfile = true).
  backend "local" {}
}
