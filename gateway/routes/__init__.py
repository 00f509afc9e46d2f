"""Operation handlers by area; the table naming them is ``gateway.operations``."""
