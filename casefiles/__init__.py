"""CaseDeck: a teaching-file and conference presentation manager for radiology.

The domain package. It never imports streamlit: pages and the CLI both call
into :mod:`casefiles.services`.
"""

__version__ = "0.1.0"
