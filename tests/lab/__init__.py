"""The topology lab: the seed's deployments rebuilt with network namespaces, kernel NAT, haproxy
and nginx, and realip's answers checked against what really reaches the pod (issue 14)."""
