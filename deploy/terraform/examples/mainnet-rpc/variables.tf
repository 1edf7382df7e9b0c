variable "project" {
  type        = string
  description = "Google Cloud project the fleet goes into."
}

variable "nearup_url" {
  type        = string
  description = "URL of the nearup release tarball (bin/nearup, bin/nearup-supervisor)."
}

variable "nearup_sha256" {
  type        = string
  description = "sha256 of that tarball."
}

variable "bucket_name" {
  type        = string
  description = "Name of the snapshot bucket (global: pick one nobody has)."
}

variable "ssl_domains" {
  type        = list(string)
  description = "Domains of the RPC's managed certificate (their DNS must point at lb_address); empty serves plain HTTP only."
  default     = []
}
