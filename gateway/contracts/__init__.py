"""The published contract: OpenAPI documents generated from the route table, their
breaking-change check, the ``erp-gateway openapi`` commands and the docs page assets."""
