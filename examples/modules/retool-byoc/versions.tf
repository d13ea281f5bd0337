# The module takes its `retool` provider from the root module that calls it (no provider block
# here), so one provider configuration - region, credentials, endpoints, default_tags - serves
# every instance a root module builds.

terraform {
  required_version = ">= 1.10"

  required_providers {
    retool = {
      source = "retool-byoc/retool"
    }
  }
}
