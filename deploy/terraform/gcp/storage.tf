# The snapshot bucket, the two service accounts (nodes read, the snapshotter
# writes) and their HMAC keys for nearup's S3 store on GCS's XML API.

resource "google_storage_bucket" "snapshots" {
  name                        = var.bucket_name
  location                    = var.bucket_location
  uniform_bucket_level_access = true
  public_access_prevention    = var.snapshot_public_read ? "inherited" : "enforced"
  # Snapshots are node data: terraform destroy leaves a bucket that still
  # holds objects alone. No lifecycle rule either: chunks/ of old snapshots
  # are still referenced by new ones, and nearup snapshot prune removes the
  # unreferenced ones (docs/snapshots.md).
  force_destroy = false
  labels        = local.labels
}

# legacyObjectReader is storage.objects.get alone: everyone may read an
# object by its name, nobody may list the bucket (objectViewer would allow
# that); restores over https:// never list.
resource "google_storage_bucket_iam_member" "public_read" {
  count  = var.snapshot_public_read ? 1 : 0
  bucket = google_storage_bucket.snapshots.name
  role   = "roles/storage.legacyObjectReader"
  member = "allUsers"
}

resource "google_service_account" "node" {
  account_id   = "${var.name}-node"
  display_name = "NEAR RPC nodes of ${var.name} (read snapshots)"
}

resource "google_service_account" "snapshotter" {
  account_id   = "${var.name}-snap"
  display_name = "NEAR snapshotter of ${var.name} (write snapshots)"
}

resource "google_storage_bucket_iam_member" "node_read" {
  bucket = google_storage_bucket.snapshots.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.node.email}"
}

# objectAdmin: create writes chunks, manifests and latest, prune deletes.
resource "google_storage_bucket_iam_member" "snapshotter_write" {
  bucket = google_storage_bucket.snapshots.name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.snapshotter.email}"
}

# HMAC keys act as their service account on the S3 API. Their secrets are in
# the Terraform state and in the instance metadata of the instances that use
# them; a public bucket needs no key on the nodes.
resource "google_storage_hmac_key" "node" {
  count                 = var.snapshot_public_read ? 0 : 1
  service_account_email = google_service_account.node.email
}

resource "google_storage_hmac_key" "snapshotter" {
  service_account_email = google_service_account.snapshotter.email
}

locals {
  node_key_metadata = var.snapshot_public_read ? {} : {
    (local.key_id_metadata_key) = google_storage_hmac_key.node[0].access_id
    (local.secret_metadata_key) = google_storage_hmac_key.node[0].secret
  }
  snapshotter_key_metadata = {
    (local.key_id_metadata_key) = google_storage_hmac_key.snapshotter.access_id
    (local.secret_metadata_key) = google_storage_hmac_key.snapshotter.secret
  }
}
