from tests.support.app import STOREFRONT, WAREHOUSE, gateway


async def test_catalog_routes_require_credentials_and_health_does_not():
    async with gateway() as (_, client):
        anonymous = await client.get("/v1/inventory/SKU-0001")
        health = await client.get("/healthz")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert health.status_code == 200


async def test_a_client_without_the_scope_gets_403():
    async with gateway() as (_, client):
        response = await client.get("/v1/prices/SKU-0001?customer=CUST-001", headers=WAREHOUSE)
    assert response.status_code == 403
    assert "prices:read" in response.json()["detail"]


async def test_a_client_credentials_token_reads_inventory():
    async with gateway() as (_, client):
        token = await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                                  auth=("demo-storefront", "demo-storefront-secret"))
        assert token.status_code == 200, token.text
        assert token.json()["expires_in"] == 900
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        response = await client.get("/v1/inventory/SKU-0001", headers=bearer)
        jwks = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert jwks.status_code == 200 and jwks.json()["keys"]


async def test_a_wrong_api_key_is_refused():
    async with gateway() as (_, client):
        wrong = await client.get("/v1/inventory/SKU-0001",
                                 headers={"X-API-Key": "demo-storefront-kez"})
        right = await client.get("/v1/inventory/SKU-0001", headers=STOREFRONT)
    assert (wrong.status_code, right.status_code) == (401, 200)
