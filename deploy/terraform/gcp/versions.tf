terraform {
  # optional() object attributes, precondition blocks and moved blocks: 1.3
  required_version = ">= 1.3"

  required_providers {
    google = {
      source = "hashicorp/google"
      # EXTERNAL_MANAGED backend services, self_link_unique of instance
      # templates and public_access_prevention are all in 5.x and 6.x
      version = ">= 5.0, < 7.0"
    }
  }
}
