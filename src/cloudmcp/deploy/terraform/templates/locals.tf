locals {
  # One name per environment, so staging and production can share a project or an account.
  name = "${var.service_name}-${var.environment}"

  labels = {
    service     = var.service_name
    environment = var.environment
    managed-by  = "terraform"
  }

  # Secret Manager / Secrets Manager ids by the environment variable they fill.
  secrets = merge(
    var.secrets,
    var.redis_secret == "" ? {} : { REDIS_URL = var.redis_secret },
  )

  # Google service account ids are 6-30 characters and may not end in a hyphen.
  run_service_account_id = trimsuffix(substr("${local.name}-run", 0, 30), "-")
  image                  = "${var.gcp_region}-docker.pkg.dev/${var.gcp_project}/${google_artifact_registry_repository.images.repository_id}/${var.service_name}"
}
