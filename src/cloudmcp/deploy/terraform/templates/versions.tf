terraform {
  # 1.6: `terraform init -reconfigure` with per-environment backend prefixes; 1.5 import blocks.
  required_version = ">= 1.6.0, < 2.0.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      # Exactly the versions whose schemas tests/deploy check every resource against.
      version = "6.50.0"
    }
    # @if aws
    aws = {
      source  = "hashicorp/aws"
      version = "6.25.0"
    }
    # @endif
  }

  # State lives in the environment's project, in the versioned bucket the plan bootstraps;
  # each environment has its own prefix. `deploy plan` runs
  #   terraform init -reconfigure -backend-config=bucket=<project>-tfstate \
  #     -backend-config=prefix=cloudmcp/@{service_name}/<environment>
  # so one checkout switches environments without "Backend configuration changed".
  backend "gcs" {}
}

provider "google" {
  project = var.gcp_project
  region  = var.gcp_region

  default_labels = local.labels
}
# @if aws

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = local.labels
  }
}
# @endif
# @if domain

# Route 53 publishes health-check metrics only in us-east-1, so the alarm on the primary's
# health check (and the topic it notifies) live there whatever var.aws_region is.
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"

  default_tags {
    tags = local.labels
  }
}
# @endif
