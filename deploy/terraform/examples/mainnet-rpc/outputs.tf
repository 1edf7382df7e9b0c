output "lb_address" {
  description = "The RPC's anycast address: point its DNS name here."
  value       = module.rpc.lb_address
}

output "rpc_url" {
  description = "The RPC's URL."
  value       = module.rpc.rpc_url
}

output "bucket" {
  description = "The snapshot bucket."
  value       = module.rpc.bucket
}

output "snapshot_store" {
  description = "The snapshot store the snapshotter writes."
  value       = module.rpc.snapshot_store
}
