# Inputs of the module. Every variable has a type and a description, and a
# validation where its values are constrained; README.md's table lists them
# all with their defaults (tests/integration/test_deploy_terraform.py checks
# that the two agree). String values that reach the startup scripts are
# checked for quotes and white space, because the scripts hold them in
# single-quoted shell words.

# ---- the fleet ----

variable "name" {
  type        = string
  description = "Prefix of every resource name: 1 to 20 characters of a-z, 0-9 and -, starting with a letter."
  default     = "near-rpc"
  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{0,19}$", var.name))
    error_message = "The name must be 1 to 20 characters of a-z, 0-9 and -, starting with a letter."
  }
}

variable "network" {
  type        = string
  description = "The NEAR network the nodes join: mainnet, testnet or betanet."
  validation {
    condition     = contains(["mainnet", "testnet", "betanet"], var.network)
    error_message = "The network must be mainnet, testnet or betanet."
  }
}

variable "zones" {
  type        = list(string)
  description = "Zones of the fleet, one managed instance group each (e.g. us-east1-b, europe-west1-c); they may lie in different regions: the load balancer is global."
  validation {
    condition     = length(var.zones) > 0
    error_message = "Give at least one zone."
  }
  validation {
    condition     = alltrue([for z in var.zones : can(regex("^[a-z]+-[a-z]+[0-9]+-[a-z]$", z))])
    error_message = "Every zone must look like us-east1-b."
  }
  validation {
    condition     = length(distinct(var.zones)) == length(var.zones)
    error_message = "A zone is listed twice."
  }
}

variable "min_nodes_per_zone" {
  type        = number
  description = "Fewest RPC nodes the autoscaler keeps in each zone (1 to 100)."
  default     = 1
  validation {
    condition     = var.min_nodes_per_zone >= 1 && var.min_nodes_per_zone <= 100 && floor(var.min_nodes_per_zone) == var.min_nodes_per_zone
    error_message = "min_nodes_per_zone must be a whole number from 1 to 100."
  }
}

variable "max_nodes_per_zone" {
  type        = number
  description = "Most RPC nodes the autoscaler runs in each zone (1 to 100, at least min_nodes_per_zone)."
  default     = 3
  validation {
    condition     = var.max_nodes_per_zone >= 1 && var.max_nodes_per_zone <= 100 && floor(var.max_nodes_per_zone) == var.max_nodes_per_zone
    error_message = "max_nodes_per_zone must be a whole number from 1 to 100."
  }
}

variable "autoscaling_cpu_target" {
  type        = number
  description = "Average CPU utilization (above 0, at most 1) the autoscaler keeps each zone's group at."
  default     = 0.6
  validation {
    condition     = var.autoscaling_cpu_target > 0 && var.autoscaling_cpu_target <= 1
    error_message = "autoscaling_cpu_target must be above 0 and at most 1."
  }
}

variable "autoscaling_cooldown_sec" {
  type        = number
  description = "Seconds a new node's CPU is ignored by the autoscaler (its restore and catch-up; 15 to 3600)."
  default     = 900
  validation {
    condition     = var.autoscaling_cooldown_sec >= 15 && var.autoscaling_cooldown_sec <= 3600 && floor(var.autoscaling_cooldown_sec) == var.autoscaling_cooldown_sec
    error_message = "autoscaling_cooldown_sec must be a whole number from 15 to 3600."
  }
}

variable "autohealing_initial_delay_sec" {
  type        = number
  description = "Seconds after a node is created before autohealing may recreate it (the restore from the snapshot must fit; 0 to 3600, the API's limit)."
  default     = 3600
  validation {
    condition     = var.autohealing_initial_delay_sec >= 0 && var.autohealing_initial_delay_sec <= 3600 && floor(var.autohealing_initial_delay_sec) == var.autohealing_initial_delay_sec
    error_message = "autohealing_initial_delay_sec must be a whole number from 0 to 3600."
  }
}

# ---- machines ----

variable "machine_type" {
  type        = string
  description = "Machine type of the RPC nodes."
  default     = "n2-standard-8"
  validation {
    condition     = can(regex("^[a-z0-9][-a-z0-9]*$", var.machine_type))
    error_message = "machine_type must be a machine type name such as n2-standard-8."
  }
}

variable "disk_size_gb" {
  type        = number
  description = "Boot disk of each RPC node in GB; it holds the node's data (at least 10)."
  default     = 1000
  validation {
    condition     = var.disk_size_gb >= 10 && floor(var.disk_size_gb) == var.disk_size_gb
    error_message = "disk_size_gb must be a whole number of at least 10."
  }
}

variable "disk_type" {
  type        = string
  description = "Disk type of the RPC nodes and the snapshotter: pd-ssd, pd-balanced, pd-extreme, hyperdisk-balanced or hyperdisk-extreme."
  default     = "pd-ssd"
  validation {
    condition     = contains(["pd-ssd", "pd-balanced", "pd-extreme", "hyperdisk-balanced", "hyperdisk-extreme"], var.disk_type)
    error_message = "disk_type must be pd-ssd, pd-balanced, pd-extreme, hyperdisk-balanced or hyperdisk-extreme."
  }
}

variable "image" {
  type        = string
  description = "Boot image of every instance (a Debian 12 image: the startup scripts install nearup's libraries with apt-get)."
  default     = "debian-cloud/debian-12"
  validation {
    condition     = length(var.image) > 0
    error_message = "image must not be empty."
  }
}

variable "snapshotter_machine_type" {
  type        = string
  description = "Machine type of the snapshotter."
  default     = "n2-standard-8"
  validation {
    condition     = can(regex("^[a-z0-9][-a-z0-9]*$", var.snapshotter_machine_type))
    error_message = "snapshotter_machine_type must be a machine type name such as n2-standard-8."
  }
}

variable "snapshotter_disk_size_gb" {
  type        = number
  description = "Boot disk of the snapshotter in GB (its data and the checkpoint's hard links; at least 10)."
  default     = 1500
  validation {
    condition     = var.snapshotter_disk_size_gb >= 10 && floor(var.snapshotter_disk_size_gb) == var.snapshotter_disk_size_gb
    error_message = "snapshotter_disk_size_gb must be a whole number of at least 10."
  }
}

variable "snapshotter_zone" {
  type        = string
  description = "Zone of the snapshotter; empty means the first of zones."
  default     = ""
  validation {
    condition     = var.snapshotter_zone == "" || can(regex("^[a-z]+-[a-z]+[0-9]+-[a-z]$", var.snapshotter_zone))
    error_message = "snapshotter_zone must be empty or look like us-east1-b."
  }
}

variable "snapshotter_archival" {
  type        = bool
  description = "Run the snapshotter's node archival (neard --archive); its snapshots are then archival too."
  default     = false
}

# ---- nearup and neard ----

variable "nearup_url" {
  type        = string
  description = "URL of the nearup release tarball the instances install (bin/nearup and bin/nearup-supervisor; see README.md)."
  validation {
    condition     = can(regex("^https?://[^'\\s]+$", var.nearup_url))
    error_message = "nearup_url must be an http(s) URL without quotes or white space."
  }
}

variable "nearup_sha256" {
  type        = string
  description = "sha256 of that tarball (64 lowercase hex digits); an instance installs nothing else."
  validation {
    condition     = can(regex("^[0-9a-f]{64}$", var.nearup_sha256))
    error_message = "nearup_sha256 must be 64 lowercase hex digits."
  }
}

variable "neard_version" {
  type        = string
  description = "neard release the nodes run (nearup run --neard-version); empty means the network's latest deploy."
  default     = ""
  validation {
    condition     = var.neard_version == "" || can(regex("^[A-Za-z0-9_+][A-Za-z0-9._+-]{0,126}$", var.neard_version))
    error_message = "neard_version must be empty or a release name of A-Z, a-z, 0-9, ., _, + and - (not starting with . or -)."
  }
}

variable "release_url" {
  type        = string
  description = "Base URL of the neard release bucket (nearup run --release-url); empty means NEAR's. No credentials: units are readable by every user."
  default     = ""
  validation {
    condition     = var.release_url == "" || can(regex("^https?://[^'\\s@]+$", var.release_url))
    error_message = "release_url must be empty or an http(s) URL without credentials, quotes or white space."
  }
}

variable "verify_with" {
  type        = list(string)
  description = "RPC URLs the restored snapshot is checked against (nearup run --verify-with, once per URL); empty passes none."
  default     = []
  validation {
    condition     = alltrue([for u in var.verify_with : can(regex("^https?://[^'\\s]+$", u))])
    error_message = "Every verify_with entry must be an http(s) URL without quotes or white space."
  }
}

variable "verify_quorum" {
  type        = number
  description = "How many of verify_with must agree (nearup run --verify-quorum); null passes none."
  default     = null
  validation {
    condition     = var.verify_quorum == null ? true : (var.verify_quorum >= 1 && floor(var.verify_quorum) == var.verify_quorum)
    error_message = "verify_quorum must be null or a whole number of at least 1."
  }
}

# ---- ports and health ----

variable "rpc_port" {
  type        = number
  description = "Port of neard's JSON-RPC on the nodes; the load balancer sends requests there."
  default     = 3030
  validation {
    condition     = var.rpc_port >= 1 && var.rpc_port <= 65535 && floor(var.rpc_port) == var.rpc_port
    error_message = "rpc_port must be a port number."
  }
}

variable "health_port" {
  type        = number
  description = "Port of nearup health's /healthcheck on the nodes, which the load balancer and autohealing check."
  default     = 3032
  validation {
    condition     = var.health_port >= 1 && var.health_port <= 65535 && floor(var.health_port) == var.health_port
    error_message = "health_port must be a port number."
  }
}

variable "p2p_port" {
  type        = number
  description = "Port of neard's peer-to-peer network, open to the internet."
  default     = 24567
  validation {
    condition     = var.p2p_port >= 1 && var.p2p_port <= 65535 && floor(var.p2p_port) == var.p2p_port
    error_message = "p2p_port must be a port number."
  }
}

variable "health_reference" {
  type        = string
  description = "RPC URL nearup health measures lag against (--reference); empty means https://rpc.NETWORK.near.org."
  default     = ""
  validation {
    condition     = var.health_reference == "" || can(regex("^https?://[^'\\s]+$", var.health_reference))
    error_message = "health_reference must be empty or an http(s) URL without quotes or white space."
  }
}

# ---- load balancer ----

variable "http_enabled" {
  type        = bool
  description = "Serve the RPC on port 80 of the load balancer's address."
  default     = true
}

variable "ssl_domains" {
  type        = list(string)
  description = "Domains of a Google-managed certificate; when not empty, the RPC is served with TLS on port 443 too."
  default     = []
  validation {
    condition     = alltrue([for d in var.ssl_domains : can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+\\.?$", d))])
    error_message = "Every ssl_domains entry must be a domain name such as rpc.example.org."
  }
}

variable "backend_timeout_sec" {
  type        = number
  description = "Seconds the load balancer waits for a node's answer (1 to 86400)."
  default     = 60
  validation {
    condition     = var.backend_timeout_sec >= 1 && var.backend_timeout_sec <= 86400 && floor(var.backend_timeout_sec) == var.backend_timeout_sec
    error_message = "backend_timeout_sec must be a whole number from 1 to 86400."
  }
}

# ---- snapshots ----

variable "bucket_name" {
  type        = string
  description = "Name of the Cloud Storage bucket for snapshots (3 to 63 characters of a-z, 0-9, - and _; bucket names are global)."
  validation {
    condition     = can(regex("^[a-z0-9][-_a-z0-9]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be 3 to 63 characters of a-z, 0-9, - and _, starting and ending with a letter or digit."
  }
}

variable "bucket_location" {
  type        = string
  description = "Location of the bucket: a multi-region such as US or EU (nodes in every zone read it) or a region."
  default     = "US"
  validation {
    condition     = can(regex("^[A-Za-z0-9-]+$", var.bucket_location))
    error_message = "bucket_location must be a location such as US, EU or us-east1."
  }
}

variable "snapshot_prefix" {
  type        = string
  description = "Prefix of the snapshot store in the bucket; empty means NETWORK/rpc."
  default     = ""
  validation {
    condition     = var.snapshot_prefix == "" || (can(regex("^[A-Za-z0-9][-_./A-Za-z0-9]*[A-Za-z0-9]$", var.snapshot_prefix)) && !can(regex("//|\\.\\.", var.snapshot_prefix)))
    error_message = "snapshot_prefix must be empty or a path of letters, digits, -, _, . and / without // or .."
  }
}

variable "snapshot_public_read" {
  type        = bool
  description = "Make the bucket's objects readable by everyone (allUsers legacyObjectReader: get by name, no listing); nodes then read it over plain HTTPS, without a key. Anyone's downloads are billed to you."
  default     = false
}

variable "snapshot_enabled" {
  type        = bool
  description = "Have the snapshotter take snapshots; false runs its node only (e.g. while it first syncs)."
  default     = true
}

variable "snapshot_every" {
  type        = string
  description = "Interval between the snapshotter's snapshots (nearup's SECONDS: 6h, 90m, 21600)."
  default     = "6h"
  validation {
    condition     = can(regex("^[1-9][0-9]*[smh]?$", var.snapshot_every))
    error_message = "snapshot_every must be a whole number of seconds, optionally with s, m or h (6h)."
  }
}

variable "snapshot_keep" {
  type        = number
  description = "Snapshots kept in the store (nearup snapshot prune --keep; at least 2, so a stale latest still names one)."
  default     = 4
  validation {
    condition     = var.snapshot_keep >= 2 && var.snapshot_keep <= 1000 && floor(var.snapshot_keep) == var.snapshot_keep
    error_message = "snapshot_keep must be a whole number from 2 to 1000."
  }
}

variable "snapshotter_bootstrap_store" {
  type        = string
  description = "Store the snapshotter's node restores on its first start (e.g. another operator's public one); empty syncs it from the network."
  default     = ""
  validation {
    condition     = var.snapshotter_bootstrap_store == "" || can(regex("^(https?|s3)://[^'\\s]+$", var.snapshotter_bootstrap_store))
    error_message = "snapshotter_bootstrap_store must be empty or an http(s):// or s3:// store without quotes or white space."
  }
}

# ---- network and labels ----

variable "vpc_network" {
  type        = string
  description = "VPC network of every instance (name or self link)."
  default     = "default"
  validation {
    condition     = length(var.vpc_network) > 0
    error_message = "vpc_network must not be empty."
  }
}

variable "subnetworks" {
  type        = map(string)
  description = "Subnetwork per region (region => name or self link) for a custom-mode VPC; a region not listed uses the network's automatic subnet."
  default     = {}
}

variable "ssh_source_ranges" {
  type        = list(string)
  description = "Source ranges allowed to reach port 22 of every instance; the default is Identity-Aware Proxy's TCP forwarding range. Empty opens no SSH rule."
  default     = ["35.235.240.0/20"]
  validation {
    condition     = alltrue([for r in var.ssh_source_ranges : can(cidrhost(r, 0))])
    error_message = "Every ssh_source_ranges entry must be a CIDR range."
  }
}

variable "labels" {
  type        = map(string)
  description = "Labels added to every instance, disk and the bucket."
  default     = {}
}
