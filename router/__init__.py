"""routerd: a self-hosted omnichannel routing daemon for contact centers."""

__version__ = "0.1.0"
