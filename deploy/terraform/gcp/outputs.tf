output "lb_address" {
  description = "The load balancer's global anycast IPv4 address: point the RPC's DNS name at it."
  value       = google_compute_global_address.lb.address
}

output "rpc_url" {
  description = "The RPC's URL on the load balancer (https:// with the first of ssl_domains, else http:// on the address)."
  value       = length(var.ssl_domains) > 0 ? "https://${trimsuffix(var.ssl_domains[0], ".")}" : "http://${google_compute_global_address.lb.address}"
}

output "bucket" {
  description = "Name of the snapshot bucket."
  value       = google_storage_bucket.snapshots.name
}

output "snapshot_store" {
  description = "The store the snapshotter writes (s3:// on storage.googleapis.com through the S3 API)."
  value       = local.s3_store
}

output "node_snapshot_store" {
  description = "The store the RPC nodes restore from: the https:// URL of a public bucket, else the s3:// store."
  value       = local.node_store
}

output "instance_groups" {
  description = "Zone => the URL of its managed instance group."
  value       = { for z, m in google_compute_instance_group_manager.rpc : z => m.instance_group }
}

output "snapshotter" {
  description = "Name and zone of the snapshotter instance."
  value = {
    name = google_compute_instance.snapshotter.name
    zone = google_compute_instance.snapshotter.zone
  }
}

output "node_service_account" {
  description = "E-mail of the RPC nodes' service account (reads the bucket)."
  value       = google_service_account.node.email
}

output "snapshotter_service_account" {
  description = "E-mail of the snapshotter's service account (writes the bucket)."
  value       = google_service_account.snapshotter.email
}
