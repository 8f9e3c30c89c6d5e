# tflint configuration for `make tf-check` (scripts/tf_check.py), used for the root and every
# module. Both rulesets run offline: the terraform ruleset is bundled with tflint, and the AWS
# ruleset is built by `make tools` and installed by hand into TFLINT_PLUGIN_DIR, which is why
# `plugin "aws"` names no source or version (`tflint --init` would download from GitHub).

config {
  # Follow local module calls, so the root is linted with the values it passes to modules.
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "recommended"
}

plugin "aws" {
  enabled = true
}
