"""Every GLB the scenes serve passes the Khronos glTF-Validator with 0 errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.scenes.conftest import gltf_validator

Login = Callable[[str], dict[str, str]]


def test_every_glb_passes_gltf_validator(
    client: TestClient, login: Login, plan: dict[str, Any], tmp_path: Path
) -> None:
    urls = [f"/scenes/LY01/{layer}.glb" for layer in ("buildings", "pipes", "terrain", "risk_zones")]
    urls += [f"/scenes/excavation/{plan['id']}/{part}.glb" for part in ("terrain", "trench", "pipes")]
    files = []
    for i, url in enumerate(urls):
        response = client.get(url, headers=login("crew"))
        assert response.status_code == 200, url
        files.append(tmp_path / f"{i}.glb")
        files[-1].write_bytes(response.content)
    reports = gltf_validator(files)
    for url, report in zip(urls, reports, strict=True):
        errors = [m for m in report["messages"] if m["severity"] == 0]
        assert report["numErrors"] == 0, (url, errors)
        # the validator knows neither extension (info only); anything else it warns about is ours
        warnings = [m for m in report["messages"] if m["severity"] == 1]
        assert not warnings, (url, warnings)
