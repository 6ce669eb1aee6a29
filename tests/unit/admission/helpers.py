"""Shared helpers for admission tests: kinds by name, the seed manifests, one-line checks."""

from __future__ import annotations

from typing import Any

import yaml

from core.defaults import apply_defaults
from core.errors import Cause
from core.kinds import REGISTRY, Kind
from core.validation import validate

# The documents' manifests, verbatim (trailing spaces included), as /work/shared/seed-manifests has them.
SEED_POD = """# pod-definition.yml

apiVersion: v1 
kind: Pod 
metadata:  
  name: nginx-pod  
  labels:    
   app: nginx 
spec:  
  containers:    
    - name: nginx-container      
      image: nginx
"""

SEED_RS = """# rs-definition.yml 

apiVersion: apps/v1 
kind: ReplicaSet 
metadata:  
  name: myapp-rs  
  labels:    
    app: myapp    
    type: front-end 
spec:  
  template:    
    metadata:      
      name: myapp-pod      
      labels:        
        app: nginx-container    
    spec:      
      containers:        
        - name: nginx-container          
          image: nginx
  replicas: 3  
  selector:    
    matchLabels:      
      type: front-end
"""

SEED_DEPLOYMENT_FIXED = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: myapp-deployment
  labels:
    app: myapp
    type: front-end
spec:
  strategy:
    type: RollingUpdate
  template:
    metadata:
      name: myapp-pod
      labels:
        app: nginx-container
    spec:
      containers:
        - name: nginx-container
          image: nginx
  replicas: 3
  selector:
    matchLabels:
      type: front-end
"""


def kind(name: str) -> Kind:
    for k in REGISTRY.kinds:
        if k.kind == name:
            return k
    raise KeyError(name)


def load(text: str, namespace: str | None = "default") -> dict[str, Any]:
    obj = yaml.safe_load(text)
    if namespace is not None:
        obj.setdefault("metadata", {})["namespace"] = namespace
    return obj


def admit(obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[Cause]:
    """Default then validate, as the API server does."""
    k = kind(obj["kind"])
    apply_defaults(k, obj)
    return validate(k, obj, old)


def fields(causes: list[Cause]) -> list[str]:
    return [c.field for c in causes]


def one(causes: list[Cause]) -> Cause:
    assert len(causes) == 1, causes
    return causes[0]


def pod(**spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"containers": [{"name": "app", "image": "nginx:1.25"}]}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"}, "spec": body}


def deployment(**spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}},
    }
    body.update(spec)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
            "spec": body}

