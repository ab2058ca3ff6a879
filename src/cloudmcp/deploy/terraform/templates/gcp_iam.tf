# The identity Cloud Run revisions run as: it may read its own secrets and write telemetry,
# nothing else.
resource "google_service_account" "run" {
  account_id   = local.run_service_account_id
  display_name = "${local.name} on Cloud Run"
}

resource "google_project_iam_member" "run_telemetry" {
  for_each = toset([
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/cloudtrace.agent",
  ])

  project = var.gcp_project
  role    = each.value
  member  = "serviceAccount:${google_service_account.run.email}"
}

resource "google_secret_manager_secret_iam_member" "run_reads" {
  for_each = local.secrets

  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.run.email}"
  # @if managed_redis
  depends_on = [google_secret_manager_secret.redis_url]
  # @endif
}

# The identity Cloud Build releases this environment as (never the project's default build
# account): it deploys revisions and moves their traffic, runs revisions as the runtime
# account, pushes this environment's images, writes build logs and reads the probe credential.
resource "google_service_account" "build" {
  account_id   = var.build_service_account_id
  display_name = "${local.name} releases (Cloud Build)"
}

resource "google_project_iam_member" "build" {
  for_each = toset([
    "roles/run.developer",
    "roles/logging.logWriter",
    # The release reads the new revision's 5xx count (its alarm) before each traffic step.
    "roles/monitoring.viewer",
  ])

  project = var.gcp_project
  role    = each.value
  member  = "serviceAccount:${google_service_account.build.email}"
}

resource "google_service_account_iam_member" "build_acts_as_run" {
  service_account_id = google_service_account.run.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.build.email}"
}

resource "google_artifact_registry_repository_iam_member" "build_pushes" {
  location   = google_artifact_registry_repository.images.location
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.build.email}"
}

resource "google_secret_manager_secret_iam_member" "build_reads" {
  for_each = local.probe_secrets

  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.build.email}"
}

# The source `gcloud builds submit` uploads (the bucket the plan's bootstrap creates).
resource "google_storage_bucket_iam_member" "build_reads_sources" {
  bucket = "${var.gcp_project}_cloudbuild"
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.build.email}"
}
