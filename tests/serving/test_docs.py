"""The API docs work on a private network: every asset comes from the service itself."""

from __future__ import annotations

import re

import pytest

from tests.serving.server import Server


def asset_urls(html: str) -> list[str]:
    """Every script, stylesheet and icon a page loads."""
    return re.findall(r'(?:src|href)="([^"]+)"', html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_every_asset_from_the_service_itself(
    shared_server: Server, page: str
) -> None:
    response = shared_server.client.get(page)
    assert response.status_code == 200
    urls = asset_urls(response.text)

    assert any(url.endswith(".js") for url in urls), urls
    for url in urls:
        assert url.startswith("/"), f"{page} loads {url} from elsewhere"
        assert not url.startswith("//"), f"{page} loads {url} from another host"
        asset = shared_server.client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url
    assert "https://" not in response.text
    assert "http://" not in response.text


def test_the_docs_page_points_swagger_ui_at_the_services_own_schema(
    shared_server: Server,
) -> None:
    html = shared_server.client.get("/docs").text

    assert "url: '/openapi.json'" in html
    assert shared_server.client.get("/openapi.json").json()["info"]["title"] == "tactful"
