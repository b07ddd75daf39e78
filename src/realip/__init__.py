"""realip: the correct client IP for Python web apps behind proxies and Kubernetes.

>>> from realip import Resolver
>>> r = Resolver(trusted_proxies=["10.0.0.0/8"])
>>> r.resolve("10.0.3.4", {"X-Forwarded-For": "203.0.113.9, 10.0.1.2"}).client_ip
'203.0.113.9'
"""

from realip._errors import ConfigError, RealIPWarning
from realip._topologies import TOPOLOGIES
from realip._version import __version__
from realip.request import get_client_ip, get_result
from realip.resolver import Resolver, Result

__all__ = [
    "TOPOLOGIES",
    "ConfigError",
    "RealIPWarning",
    "Resolver",
    "Result",
    "__version__",
    "get_client_ip",
    "get_result",
]
