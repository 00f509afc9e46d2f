"""Sales orders through the gateway: checked fresh against the ERP, reserved per SKU and
warehouse, created once per Idempotency-Key, owned by the client that placed them.

    config.py        the ``[orders]`` settings (price tolerance, reservation times)
    models.py        the request and response bodies (v1 and v2 share them)
    owner.py         whose order it is: one helper from the principal
    reservations.py  short per-(SKU, warehouse) holds: Redis across replicas, else local
    records.py       the idempotency records, on the label records' store
    checks.py        oversell and price checks against the ERP's fresh answers (pure)
    service.py       the order flow
"""
