"""The API over the bus: the same admission path as HTTP, reached by request/reply."""

from __future__ import annotations

import pytest

from bus.apiclient import ApiReplyError, call, request
from components.apiserver.server import ApiServer
from tests.integration.apiserver.conftest import cm, pod

pytestmark = pytest.mark.integration


def _cm_req(**kw: object) -> dict[str, object]:
    return {"group": "", "version": "v1", "resource": "configmaps", "namespace": "default", "actor": "test", **kw}


async def test_crud_over_the_bus(apiserver: ApiServer) -> None:
    nc, prefix = apiserver.bus.nc, apiserver.config.prefix
    assert nc is not None
    created = await call(nc, prefix, "create", _cm_req(body=cm("bus", {"a": "1"})))
    assert created["metadata"]["uid"] and created["metadata"]["namespace"] == "default"
    got = await call(nc, prefix, "get", _cm_req(name="bus"))
    assert got["data"] == {"a": "1"}
    patched = await call(nc, prefix, "patch", _cm_req(name="bus", body={"data": {"a": "2"}}))
    assert patched["data"] == {"a": "2"}
    listed = await call(nc, prefix, "list", _cm_req())
    assert [i["metadata"]["name"] for i in listed["items"]] == ["bus"]
    await call(nc, prefix, "delete", _cm_req(name="bus"))
    code, status = await request(nc, prefix, "get", _cm_req(name="bus"))
    assert code == 404 and status["reason"] == "NotFound"


async def test_bus_writes_are_admitted_like_http_ones(apiserver: ApiServer) -> None:
    nc, prefix = apiserver.bus.nc, apiserver.config.prefix
    assert nc is not None
    with pytest.raises(ApiReplyError) as err:
        await call(nc, prefix, "create", _cm_req(body=cm("Not_Valid")))
    assert err.value.code == 422
    bad = pod("p")
    bad["spec"]["containers"][0]["imagee"] = "x"
    with pytest.raises(ApiReplyError) as err:  # the bus API validates strictly by default
        await call(nc, prefix, "create", {"group": "", "version": "v1", "resource": "pods", "namespace": "default",
                                          "body": bad})
    assert err.value.code == 400 and "imagee" in err.value.status["message"]
    p = await call(nc, prefix, "create", {"group": "", "version": "v1", "resource": "pods", "namespace": "default",
                                          "body": pod("p")})
    assert p["spec"]["schedulerName"] == "default-scheduler"  # defaulted on the same path
    code, status = await request(nc, prefix, "frobnicate", _cm_req())
    assert code == 404
