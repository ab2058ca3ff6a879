# The Google APIs this deployment uses. Left enabled on destroy: other workloads may share them.
resource "google_project_service" "enabled" {
  for_each = toset(concat(
    [
      "run.googleapis.com",
      "artifactregistry.googleapis.com",
      "secretmanager.googleapis.com",
      "monitoring.googleapis.com",
      "iam.googleapis.com",
      "cloudbuild.googleapis.com",
      "logging.googleapis.com",
    ],
    # @if domain
    ["compute.googleapis.com", "certificatemanager.googleapis.com"],
    # @endif
    # @if managed_redis
    ["compute.googleapis.com", "redis.googleapis.com"],
    # @endif
  ))

  service            = each.value
  disable_on_destroy = false
}
