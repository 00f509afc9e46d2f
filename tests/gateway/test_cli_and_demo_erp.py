import httpx
import pytest

from gateway.cli import main
from gateway.erp.base import PriceItem, UnknownCustomer
from gateway.erp.demo.catalog import catalog
from gateway.erp.demo.http import HttpDemoConfig, HttpDemoConnector
from gateway.erp.demo.server import create_demo_erp_app


def test_check_config_prints_each_error_with_its_field_path(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[server]\nport = 0\n[erp]\nkind = "tryton"\nurl = "http://x"\n'
                   'database = "d"\nusername = "u"\npassword = "${NOT_SET_ANYWHERE_42}"\n')
    assert main(["check-config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "erp.password" in err and "NOT_SET_ANYWHERE_42" in err

    bad.write_text('[server]\nport = 0\nbogus = 1\n')
    assert main(["check-config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "server.port" in err and "server.bogus" in err

    bad.write_text('[server]\nport = 8081\n')  # fields fine, but no clients at all
    assert main(["check-config", str(bad)]) == 1
    assert "[auth] section is required" in capsys.readouterr().err


def test_redis_backed_label_records_need_a_redis_section(tmp_path, capsys):
    config = tmp_path / "labels.toml"
    config.write_text('demo = true\n[shipping.idempotency]\nbackend = "redis"\n')
    assert main(["check-config", str(config)]) == 1
    assert "needs a [redis] section" in capsys.readouterr().err


def test_check_config_accepts_a_demo_file(tmp_path, capsys):
    good = tmp_path / "good.toml"
    good.write_text('demo = true\n[erp]\nkind = "http-demo"\nurl = "http://127.0.0.1:8100"\n')
    assert main(["check-config", str(good)]) == 0
    assert "ok" in capsys.readouterr().out


async def test_http_demo_connector_reads_the_demo_erp_and_its_stats_count_calls():
    app = create_demo_erp_app()
    erp = HttpDemoConnector(HttpDemoConfig(url="http://demo-erp"),
                            transport=httpx.ASGITransport(app=app))
    try:
        stock = await erp.availability(["SKU-0001", "NOPE"])
        quotes = await erp.prices("CUST-001", [PriceItem("SKU-0001", 1)])
        try:
            await erp.prices("CUST-999", [PriceItem("SKU-0001", 1)])
            unknown = False
        except UnknownCustomer:
            unknown = True
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://demo-erp") as client:
            stats = (await client.get("/stats")).json()
    finally:
        await erp.aclose()
    assert set(stock) == {"SKU-0001"}
    assert stock["SKU-0001"] == catalog().stock["SKU-0001"]
    assert quotes["SKU-0001"].unit_price == catalog().customers["CUST-001"].contracts["SKU-0001"]
    assert unknown
    assert stats["calls"] == {"availability": 1, "prices": 2}


def test_serve_hands_uvicorn_the_gateway_factory_and_its_options(monkeypatch, capsys):
    from gateway.observability import server

    calls = []
    monkeypatch.setattr(server, "run", lambda config, **kw: calls.append((config, kw)))
    assert main(["serve", "--port", "9", "--http", "h11"]) == 0
    assert main(["serve", "--port", "9", "--log-format", "text", "--no-access-log"]) == 0
    (first, drain), (second, _) = calls
    assert first.app == "gateway.asgi:app" and first.factory is True
    assert first.http == "h11" and second.http == "auto"
    # what bench/policy_cost.py gives its baselines too
    assert first.proxy_headers is False and first.server_header is False
    # uvicorn's access line is replaced by the gateway's own
    assert first.access_log is False and first.host == "127.0.0.1"
    assert drain == {"drain_seconds": 5.0, "graceful_timeout_seconds": 30.0}
    handlers = first.log_config["handlers"]["stderr"]
    assert handlers["formatter"] == "json"
    assert second.log_config["handlers"]["stderr"]["formatter"] == "text"
    assert first.log_config["loggers"]["gateway.access"]["level"] == "INFO"
    assert second.log_config["loggers"]["gateway.access"]["level"] == "CRITICAL"
    with pytest.raises(SystemExit):
        main(["serve", "--http", "uvloop"])


def test_version_is_printed_and_served(capsys):
    from gateway.version import version

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    printed = capsys.readouterr().out.strip()
    assert printed == f"erp-gateway {version()}" and version() != "0+unknown"
