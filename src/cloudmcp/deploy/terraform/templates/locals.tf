locals {
  # One name per environment, so staging and production can share a project or an account.
  name = "${var.service_name}-${var.environment}"

  labels = {
    service     = var.service_name
    environment = var.environment
    managed-by  = "terraform"
  }

  # Secret Manager / Secrets Manager ids by the environment variable they fill: each
  # environment has its own (`<id>-<environment>`), so staging never reads production's.
  user_secrets = { for name, id in var.secrets : name => "${id}-${var.environment}" }
  # @if managed_redis
  secrets = merge(local.user_secrets, { REDIS_URL = "${var.service_name}-redis-url-${var.environment}" })
  # @endif
  # @if !managed_redis
  secrets = local.user_secrets
  # @endif
  # The credential the release probes send when auth is on (the first API key).
  probe_secrets = { for name, id in local.user_secrets : name => id if name == "API_KEYS" }

  # Google service account ids are 6-30 characters and may not end in a hyphen.
  run_service_account_id = trimsuffix(substr("${local.name}-run", 0, 30), "-")
  image                  = "${var.gcp_region}-docker.pkg.dev/${var.gcp_project}/${google_artifact_registry_repository.images.repository_id}/${var.service_name}"
}
