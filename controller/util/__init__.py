"""What every controller builds on (Kubernetes' pkg/controller top-level helpers):
base.py (the Controller skeleton, its Context and Options), informers.py (one shared
informer per resource), controllerref.py (owner references, adoption and release),
expectations.py (writes not yet seen in the watch), pods.py (what controllers ask of a
pod) and servicepods.py (what the Endpoints and EndpointSlice controllers share)."""
