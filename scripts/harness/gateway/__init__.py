"""The local API Gateway: serves a REST API deployed to moto, which stores but does not run it.

api reads the deployed API back from the endpoint and refuses what cannot be emulated faithfully;
templates is the mapping-template subset it renders; limits are the stage and usage-plan token
buckets and the daily quota; server answers HTTP requests in API Gateway's order and shapes.
"""
