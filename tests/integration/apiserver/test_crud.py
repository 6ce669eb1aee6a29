"""CRUD, errors and subresources over HTTP against a real log."""

from __future__ import annotations

import pytest

from tests.integration.apiserver.conftest import Client, cm, pod

pytestmark = pytest.mark.integration
CMS = "/api/v1/namespaces/default/configmaps"
PODS = "/api/v1/namespaces/default/pods"
DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"


def deployment(name: str, replicas: int = 2) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}}}


async def test_version_and_namespaces_at_start(client: Client) -> None:
    code, v = await client.get("/version")
    assert code == 200 and v["major"] == "1" and v["minor"] == "32"
    code, nss = await client.get("/api/v1/namespaces")
    assert code == 200
    assert {n["metadata"]["name"] for n in nss["items"]} >= {"default", "kube-system", "kube-public", "kube-node-lease"}


async def test_create_get_update_delete(client: Client) -> None:
    code, created = await client.post(CMS, cm("a", {"k": "v"}))
    assert code == 201
    md = created["metadata"]
    assert md["uid"] and md["creationTimestamp"] and int(md["resourceVersion"]) > 0 and md["namespace"] == "default"
    code, got = await client.get(f"{CMS}/a")
    assert code == 200 and got["data"] == {"k": "v"} and got["metadata"]["resourceVersion"] == md["resourceVersion"]
    got["data"]["k"] = "w"
    code, updated = await client.put(f"{CMS}/a", got)
    assert code == 200 and int(updated["metadata"]["resourceVersion"]) > int(md["resourceVersion"])
    assert updated["metadata"]["uid"] == md["uid"]
    code, stale = await client.put(f"{CMS}/a", got)  # got still carries the old resourceVersion
    assert code == 409 and stale["reason"] == "Conflict"
    code, _ = await client.delete(f"{CMS}/a")
    assert code == 200
    code, gone = await client.get(f"{CMS}/a")
    assert code == 404 and gone["reason"] == "NotFound" and gone["message"] == 'configmaps "a" not found'
    code, again = await client.post(CMS, cm("a"))
    assert code == 201 and again["metadata"]["uid"] != md["uid"]


async def test_errors_are_status_objects(client: Client) -> None:
    await client.post(CMS, cm("dup"))
    code, s = await client.post(CMS, cm("dup"))
    assert code == 409 and s["kind"] == "Status" and s["reason"] == "AlreadyExists"
    assert s["details"] == {"name": "dup", "kind": "configmaps"}
    code, s = await client.post(CMS, raw=b"{not json")
    assert code == 400 and s["reason"] == "BadRequest"
    code, s = await client.post(CMS, raw=b"a: [", ct="application/yaml")
    assert code == 400
    code, s = await client.post(CMS, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}})
    assert code == 400 and "ConfigMap" in s["message"]
    code, s = await client.post(CMS, cm("Bad_Name"))
    assert code == 422 and s["reason"] == "Invalid" and s["details"]["causes"][0]["field"] == "metadata.name"
    code, s = await client.get("/api/v1/namespaces/default/widgets")
    assert code == 404
    code, s = await client.post(CMS, raw=b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"x":"'
                                + b"x" * (3 * 1024 * 1024 + 10) + b'"}}')
    assert code == 413 and s["reason"] == "RequestEntityTooLarge"
    code, s = await client.post("/api/v1/namespaces/nowhere/configmaps", cm("x"))
    assert code == 404 and s["message"] == 'namespaces "nowhere" not found'
    code, s = await client.post(PODS, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "t"},
                                       "spec": {"containers": "nginx"}})
    assert code == 400
    code, listed = await client.get(CMS)
    assert {i["metadata"]["name"] for i in listed["items"]} == {"dup"}  # nothing bad was stored


async def test_strict_field_validation(client: Client) -> None:
    body = pod("strict")
    body["spec"]["containers"][0]["imagee"] = "typo"
    code, s = await client.post(PODS + "?fieldValidation=Strict", body)
    assert code == 400 and 'unknown field "spec.containers[0].imagee"' in s["message"]
    code, created = await client.post(PODS + "?fieldValidation=Ignore", body)
    assert code == 201


async def test_defaults_and_generate_name(client: Client) -> None:
    body = pod("")
    del body["metadata"]["name"]
    body["metadata"]["generateName"] = "web-"
    code, p = await client.post(PODS, body)
    assert code == 201 and p["metadata"]["name"].startswith("web-") and len(p["metadata"]["name"]) == 9
    spec = p["spec"]
    assert spec["restartPolicy"] == "Always" and spec["dnsPolicy"] == "ClusterFirst"
    assert spec["terminationGracePeriodSeconds"] == 30 and spec["schedulerName"] == "default-scheduler"
    assert spec["containers"][0]["imagePullPolicy"] == "Always"
    assert p["status"]["phase"] == "Pending" and p["status"]["qosClass"] == "BestEffort"


async def test_list_selectors_and_pagination(client: Client) -> None:
    for i in range(5):
        await client.post(CMS, cm(f"c{i}", labels={"n": str(i), "even": str(i % 2 == 0).lower()}))
    code, evens = await client.get(CMS + "?labelSelector=even%3Dtrue")
    assert [i["metadata"]["name"] for i in evens["items"]] == ["c0", "c2", "c4"]
    code, notin = await client.get(CMS + "?labelSelector=n%20notin%20(0,1)")
    assert [i["metadata"]["name"] for i in notin["items"]] == ["c2", "c3", "c4"]
    code, byname = await client.get(CMS + "?fieldSelector=metadata.name%3Dc3")
    assert [i["metadata"]["name"] for i in byname["items"]] == ["c3"]
    names, cont = [], ""
    while True:
        code, page = await client.get(CMS + "?limit=2" + (f"&continue={cont}" if cont else ""))
        assert code == 200
        names += [i["metadata"]["name"] for i in page["items"]]
        cont = page["metadata"].get("continue", "")
        if not cont:
            break
    assert names == ["c0", "c1", "c2", "c3", "c4"]
    code, everywhere = await client.get("/api/v1/configmaps")
    assert len(everywhere["items"]) == 5


async def test_patches(client: Client) -> None:
    await client.post(CMS, cm("p", {"a": "1", "b": "2"}, labels={"x": "1"}))
    code, merged = await client.patch(f"{CMS}/p", {"data": {"b": None, "c": "3"}, "metadata": {"labels": {"y": "2"}}})
    assert code == 200 and merged["data"] == {"a": "1", "c": "3"} and merged["metadata"]["labels"] == {"x": "1", "y": "2"}
    code, jp = await client.patch(f"{CMS}/p", [{"op": "replace", "path": "/data/a", "value": "9"}],
                                  ct="application/json-patch+json")
    assert code == 200 and jp["data"]["a"] == "9"
    await client.post(PODS, pod("sm"))
    code, sm = await client.patch(f"{PODS}/sm", {"spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]}},
                                  ct="application/strategic-merge-patch+json")
    assert code == 200 and sm["spec"]["containers"][0]["image"] == "nginx:1.27"
    code, s = await client.patch(f"{CMS}/p", {"x": 1}, ct="text/plain")
    assert code == 415


async def test_generation_status_and_scale(client: Client) -> None:
    code, d = await client.post(DEPLOYS, deployment("web"))
    assert code == 201 and d["metadata"]["generation"] == 1
    assert d["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": "25%"}
    code, d2 = await client.patch(f"{DEPLOYS}/web", {"metadata": {"labels": {"a": "b"}}})
    assert d2["metadata"]["generation"] == 1  # metadata only: no new generation
    code, scale = await client.get(f"{DEPLOYS}/web/scale")
    assert code == 200 and scale["kind"] == "Scale" and scale["spec"]["replicas"] == 2
    assert scale["status"]["selector"] == "app=web"
    code, scaled = await client.patch(f"{DEPLOYS}/web/scale", {"spec": {"replicas": 5}})
    assert code == 200 and scaled["spec"]["replicas"] == 5
    code, d3 = await client.get(f"{DEPLOYS}/web")
    assert d3["spec"]["replicas"] == 5 and d3["metadata"]["generation"] == 2
    code, st = await client.put(f"{DEPLOYS}/web/status", {**d3, "status": {"replicas": 5, "readyReplicas": 3}})
    assert code == 200 and st["status"]["readyReplicas"] == 3 and st["metadata"]["generation"] == 2
    d3["status"] = {"replicas": 99}
    d3["metadata"].pop("resourceVersion")
    code, main = await client.put(f"{DEPLOYS}/web", d3)  # a main-resource write keeps the status
    assert code == 200 and main["status"]["replicas"] == 5


async def test_seed_replicaset_selector_mismatch_is_invalid(client: Client) -> None:
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "myapp-rs"},
          "spec": {"replicas": 3, "selector": {"matchLabels": {"type": "front-end"}},
                   "template": {"metadata": {"labels": {"app": "nginx-container"}},
                                "spec": {"containers": [{"name": "nginx-container", "image": "nginx"}]}}}}
    code, s = await client.post("/apis/apps/v1/namespaces/default/replicasets", rs)
    assert code == 422
    assert s["details"]["causes"][0]["field"] == "spec.template.metadata.labels"
    assert "`selector` does not match template `labels`" in s["message"]


async def test_finalizers_hold_deletion(client: Client) -> None:
    body = cm("held")
    body["metadata"]["finalizers"] = ["example.com/hold"]
    await client.post(CMS, body)
    code, marked = await client.delete(f"{CMS}/held")
    assert code == 200 and marked["metadata"]["deletionTimestamp"]
    code, still = await client.get(f"{CMS}/held")
    assert code == 200
    code, _ = await client.patch(f"{CMS}/held", {"metadata": {"finalizers": None}})
    assert code == 200
    code, _ = await client.get(f"{CMS}/held")
    assert code == 404


async def test_binding_sets_the_node_once(client: Client) -> None:
    await client.post(PODS, pod("b"))
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "b"},
               "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"}}
    code, _ = await client.post(f"{PODS}/b/binding", binding)
    assert code == 201
    code, p = await client.get(f"{PODS}/b")
    assert p["spec"]["nodeName"] == "node-1"
    assert any(c["type"] == "PodScheduled" and c["status"] == "True" for c in p["status"]["conditions"])
    code, s = await client.post(f"{PODS}/b/binding", binding)
    assert code == 409


async def test_binding_honours_the_uid_precondition(client: Client) -> None:
    _, created = await client.post(PODS, pod("u"))
    stale = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "u", "uid": "not-this-pod"},
             "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"}}
    code, s = await client.post(f"{PODS}/u/binding", stale)
    assert code == 409 and "Precondition failed: UID in precondition: not-this-pod" in s["message"]
    stale["metadata"]["uid"] = created["metadata"]["uid"]
    code, _ = await client.post(f"{PODS}/u/binding", stale)
    assert code == 201


async def test_tables(client: Client) -> None:
    await client.post(PODS, pod("t1"))
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
    code, table = await client.get(PODS + "?limit=500", headers={"Accept": accept})
    assert code == 200 and table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]][:5] == ["Name", "Ready", "Status", "Restarts", "Age"]
    assert table["rows"][0]["cells"][0] == "t1" and table["metadata"]["resourceVersion"]


async def test_discovery_documents(client: Client) -> None:
    agg = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    code, core = await client.get("/api", headers={"Accept": agg})
    assert code == 200 and core["kind"] == "APIGroupDiscoveryList"
    code, legacy = await client.get("/api")
    assert legacy["kind"] == "APIVersions" and legacy["versions"] == ["v1"]
    code, rl = await client.get("/apis/apps/v1")
    assert code == 200 and "deployments/scale" in {r["name"] for r in rl["resources"]}
    code, oa = await client.get("/openapi/v3")
    assert code == 200 and "api/v1" in oa["paths"]
