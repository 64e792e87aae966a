"""sip-engine: the case-workflow engine for samordnad individuell plan (SIP).

The library holds the domain: models, the workflow runtime and the use cases (services).
It imports nothing from the web layer.
"""

__version__ = "0.1.0"
