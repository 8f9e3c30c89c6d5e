"""The stack the commands run against: provisioning, tools and servers.

terraform + toolchain + outputs drive Terraform; aws_session builds sessions for a profile;
moto_server (through moto_main, moto with the local stack's fixes), mariadb, local_stores and
processes start and provision the local servers.
"""
