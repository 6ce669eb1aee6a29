"""Printers for Ingresses, EndpointSlices and Leases (networking, discovery and coordination groups).

Columns and cells follow Kubernetes' `pkg/printers/internalversion` (v1.32).
"""

from __future__ import annotations

from datetime import datetime

from .common import AGE, NAME, Cells, Column, Obj, Printer, age, list_with_more, load_balancer_ingress, meta, spec, status


def _ingress_hosts(ing: Obj) -> str:
    """`formatHosts`: up to three hosts, `*` when no rule names one."""
    rules = spec(ing).get("rules") or []
    hosts: list[str] = []
    more = False
    for rule in rules:
        if len(hosts) == 3:
            more = True
        if not more and rule.get("host"):
            hosts.append(rule["host"])
    if not hosts:
        return "*"
    joined = ",".join(hosts)
    return f"{joined} + {len(rules) - 3} more..." if more else joined


def _ingress_cells(ing: Obj, now: datetime) -> Cells:
    sp = spec(ing)
    return [
        meta(ing).get("name", ""), sp.get("ingressClassName") or "<none>", _ingress_hosts(ing),
        load_balancer_ingress(status(ing).get("loadBalancer")), "80, 443" if sp.get("tls") else "80", age(ing, now),
    ]


INGRESS = Printer(
    (
        NAME,
        Column("Class", description="The name of the IngressClass resource that should be used for additional configuration"),
        Column("Hosts", description="Hosts that incoming requests are matched against before the ingress rule"),
        Column("Address", description="Address is a list containing ingress points for the load-balancer"),
        Column("Ports", description="Ports of TLS configurations that open"),
        AGE,
    ),
    _ingress_cells,
)


def _slice_ports(es: Obj) -> str:
    shown: list[str] = []
    ports = es.get("ports") or []
    for port in ports[:3]:
        if port.get("port") is not None:
            shown.append(str(port["port"]))
        elif port.get("name") is not None:
            shown.append(str(port["name"]))
        else:
            shown.append("*")
    return list_with_more(shown, len(ports) > 3, len(ports), 3)


def _slice_endpoints(es: Obj) -> str:
    addresses = [a for ep in es.get("endpoints") or [] for a in ep.get("addresses") or []]
    return list_with_more(addresses[:3], len(addresses) > 3, len(addresses), 3)


ENDPOINTSLICE = Printer(
    (
        NAME,
        Column("AddressType", description="addressType specifies the type of address carried by this EndpointSlice."),
        Column("Ports", description="ports specifies the list of network ports exposed by each endpoint in this slice."),
        Column("Endpoints", description="endpoints is a list of unique endpoints in this slice."),
        AGE,
    ),
    lambda es, now: [meta(es).get("name", ""), es.get("addressType", ""), _slice_ports(es), _slice_endpoints(es),
                     age(es, now)],
)

LEASE = Printer(
    (NAME, Column("Holder", description="holderIdentity contains the identity of the holder of a current lease."), AGE),
    lambda lease, now: [meta(lease).get("name", ""), spec(lease).get("holderIdentity") or "", age(lease, now)],
)
