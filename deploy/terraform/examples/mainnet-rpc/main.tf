# A mainnet RPC fleet in three zones of two continents behind one global
# address, with a snapshotter in the first zone. Copy this directory,
# fill terraform.tfvars (see terraform.tfvars.example) and run
# terraform init && terraform apply.

provider "google" {
  project = var.project
}

module "rpc" {
  source = "../../gcp"

  name    = "near-mainnet-rpc"
  network = "mainnet"
  zones   = ["us-east1-b", "us-east1-c", "europe-west1-b"]

  min_nodes_per_zone = 1
  max_nodes_per_zone = 4
  machine_type       = "n2-standard-8"
  disk_type          = "pd-ssd"
  disk_size_gb       = 1000

  nearup_url    = var.nearup_url
  nearup_sha256 = var.nearup_sha256
  neard_version = ""

  bucket_name          = var.bucket_name
  bucket_location      = "US"
  snapshot_public_read = false
  snapshot_every       = "6h"
  snapshot_keep        = 4

  ssl_domains  = var.ssl_domains
  http_enabled = true

  labels = { "team" = "near-infra" }
}
